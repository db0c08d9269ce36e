"""The one IAM role every openpost function runs as, granting only what the code calls."""

from __future__ import annotations

from collections.abc import Iterable

from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sqs as sqs
from constructs import Construct

# Item-level calls only: the code reads by key and by index, never scans, and never manages tables.
TABLE_ACTIONS = (
    "dynamodb:GetItem",
    "dynamodb:BatchGetItem",
    "dynamodb:Query",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:BatchWriteItem",
    "dynamodb:ConditionCheckItem",
)

QUEUE_ACTIONS = (
    "sqs:SendMessage",
    "sqs:ReceiveMessage",
    "sqs:DeleteMessage",
    "sqs:GetQueueAttributes",
    # The publisher backs a message off (a platform's Retry-After, exponential backoff).
    "sqs:ChangeMessageVisibility",
)

# PutObject also covers the steps of a multipart upload (media fetched from a URL); aborting one
# that failed is its own action.
MEDIA_OBJECT_ACTIONS = ("s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload")

TOKEN_KEY_ACTIONS = ("kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey")

# The functions only read the platform apps' secrets; an operator puts their values. The secrets
# are encrypted with Secrets Manager's own AWS managed key, which needs no KMS grant.
APP_SECRET_ACTIONS = ("secretsmanager:GetSecretValue",)

# The stack creates each function's log group (with a retention), so no CreateLogGroup.
LOG_ACTIONS = ("logs:CreateLogStream", "logs:PutLogEvents")

TRACE_ACTIONS = ("xray:PutTraceSegments", "xray:PutTelemetryRecords")


def function_role(
    scope: Construct,
    *,
    tables: Iterable[dynamodb.ITable],
    queues: Iterable[sqs.IQueue],
    media_bucket: s3.IBucket,
    tokens_key: kms.IKey,
    app_secrets: Iterable[secretsmanager.ISecret],
    log_groups: Iterable[logs.ILogGroup],
) -> iam.Role:
    """The role, with its whole policy inline.

    Inline, because Lambda checks the role when an SQS event source mapping is created: a separate
    AWS::IAM::Policy could be attached after the mapping and make the deployment fail.
    """
    tables = list(tables)
    app_secrets = list(app_secrets)
    statements = [
        iam.PolicyStatement(
            sid="Tables",
            actions=list(TABLE_ACTIONS),
            resources=[t.table_arn for t in tables] + [f"{t.table_arn}/index/*" for t in tables],
        ),
        iam.PolicyStatement(sid="Queues", actions=list(QUEUE_ACTIONS), resources=[q.queue_arn for q in queues]),
        iam.PolicyStatement(
            sid="MediaObjects",
            actions=list(MEDIA_OBJECT_ACTIONS),
            resources=[media_bucket.arn_for_objects("*")],
        ),
        # Without ListBucket, S3 answers a HEAD or GET of a missing key with 403 instead of 404,
        # and the code could not tell "not uploaded yet" from "not allowed".
        iam.PolicyStatement(sid="MediaListing", actions=["s3:ListBucket"], resources=[media_bucket.bucket_arn]),
        iam.PolicyStatement(sid="TokensKey", actions=list(TOKEN_KEY_ACTIONS), resources=[tokens_key.key_arn]),
        *(
            [
                iam.PolicyStatement(
                    sid="AppSecrets",
                    actions=list(APP_SECRET_ACTIONS),
                    resources=[secret.secret_arn for secret in app_secrets],
                )
            ]
            if app_secrets
            else []
        ),
        iam.PolicyStatement(
            sid="Logs",
            actions=list(LOG_ACTIONS),
            # A log group's ARN ends in ":*", which covers its streams.
            resources=[group.log_group_arn for group in log_groups],
        ),
        # X-Ray has no resource-level permissions: AWS only accepts "*" for these two actions.
        # (Metrics need no statement: Powertools writes them as embedded metric format log lines.)
        iam.PolicyStatement(sid="Traces", actions=list(TRACE_ACTIONS), resources=["*"]),
    ]
    return iam.Role(
        scope,
        "FunctionRole",
        assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
        description="Runs openpost's API and workers",
        inline_policies={"openpost": iam.PolicyDocument(statements=statements)},
    )
