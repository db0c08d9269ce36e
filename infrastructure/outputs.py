"""Names of the stack outputs, which is how tools find a deployment's resources after deploy.

Kept free of CDK imports so a command-line tool can read them with boto3 alone
(CloudFormation describe-stacks, then look these keys up in the stack's Outputs).
"""

API_URL = "ApiUrl"
RESOURCE_PREFIX = "ResourcePrefix"  # every table is named f"{prefix}-{logical name}"
MEDIA_BUCKET = "MediaBucket"
TOKENS_KEY_ID = "TokensKeyId"
ALARM_TOPIC_ARN = "AlarmTopicArn"  # the SNS topic every alarm notifies (docs/operations.md)


def queue_url(queue_name: str) -> str:
    """The output holding a catalog queue's URL, e.g. "publish" -> "PublishQueueUrl"."""
    return f"{_pascal(queue_name)}QueueUrl"


def dead_letter_queue_url(queue_name: str) -> str:
    return f"{_pascal(queue_name)}DeadLetterQueueUrl"


def app_secret_arn(platform: str) -> str:
    """The output holding the ARN of a platform app's secret, e.g. "twitter" -> "TwitterAppSecretArn"."""
    return f"{_pascal(platform)}AppSecretArn"


def _pascal(name: str) -> str:
    return "".join(part.capitalize() for part in name.replace("_", "-").split("-"))
