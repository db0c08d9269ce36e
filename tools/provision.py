"""Create every openpost resource on an AWS endpoint (moto's server or in-process mock) from the catalog.

Deployment builds the same catalog into CloudFormation (infrastructure/stack.py); this is its local
twin, so there is no second hand-kept list of tables and queues.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field

import boto3

from chalicelib.data import models, sessions
from chalicelib.platforms.app_credentials import APP_CREDENTIALS
from chalicelib.settings import app_secret_variable, queue_url_variable
from infrastructure import catalog


@dataclass
class Provisioned:
    prefix: str
    region: str
    endpoint_url: str | None
    queue_urls: dict[str, str] = field(default_factory=dict)
    dlq_urls: dict[str, str] = field(default_factory=dict)
    media_bucket: str = ""
    tokens_key_id: str = ""
    # Platform name -> the ARN of the secret holding its app credentials (created empty: "{}").
    app_secrets: dict[str, str] = field(default_factory=dict)

    def environment(self) -> dict[str, str]:
        """The variables the functions read (chalicelib/settings.py), as deployment sets them."""
        env = {
            "OPENPOST_RESOURCE_PREFIX": self.prefix,
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
            "OPENPOST_MEDIA_BUCKET": self.media_bucket,
            "OPENPOST_TOKENS_KEY_ID": self.tokens_key_id,
        }
        if self.endpoint_url:
            env["AWS_ENDPOINT_URL"] = self.endpoint_url
        env.update({queue_url_variable(name): url for name, url in self.queue_urls.items()})
        env.update({queue_url_variable(f"{name}-dlq"): url for name, url in self.dlq_urls.items()})
        env.update({app_secret_variable(platform): arn for platform, arn in self.app_secrets.items()})
        return env


def provision(prefix: str, region: str = "us-east-1", endpoint_url: str | None = None) -> Provisioned:
    result = Provisioned(prefix=prefix, region=region, endpoint_url=endpoint_url)

    def client(service: str):
        return _client(service, region, endpoint_url)

    models.bind(lambda name: f"{prefix}-{name}", region, endpoint_url)
    _create_tables(region, endpoint_url)

    sqs = client("sqs")
    for spec in catalog.QUEUES:
        dlq_url = sqs.create_queue(
            QueueName=f"{prefix}-{spec.dlq_name}",
            Attributes={"MessageRetentionPeriod": str(spec.dlq_retention_days * 86400)},
        )["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        url = sqs.create_queue(
            QueueName=f"{prefix}-{spec.name}",
            Attributes={
                "VisibilityTimeout": str(spec.visibility_timeout),
                "MessageRetentionPeriod": str(spec.retention_days * 86400),
                "RedrivePolicy": json.dumps(
                    {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": spec.max_receive_count}
                ),
            },
        )["QueueUrl"]
        result.queue_urls[spec.name] = url
        result.dlq_urls[spec.name] = dlq_url

    s3 = client("s3")
    bucket = f"{prefix}-media"
    if region == "us-east-1":
        s3.create_bucket(Bucket=bucket)
    else:
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region})
    s3.put_bucket_cors(
        Bucket=bucket,
        CORSConfiguration={
            "CORSRules": [
                {
                    "AllowedMethods": ["PUT", "GET", "HEAD"],
                    "AllowedOrigins": ["*"],
                    "AllowedHeaders": ["*"],
                    "ExposeHeaders": ["ETag"],
                    "MaxAgeSeconds": 3600,
                }
            ]
        },
    )
    s3.put_bucket_lifecycle_configuration(
        Bucket=bucket,
        LifecycleConfiguration={
            "Rules": [
                {
                    "ID": "abandoned-uploads",
                    "Status": "Enabled",
                    "Filter": {"Prefix": catalog.MEDIA_UPLOAD_PREFIX},
                    "Expiration": {"Days": catalog.ABANDONED_UPLOAD_DAYS},
                    "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1},
                }
            ]
        },
    )
    result.media_bucket = bucket
    media_queue_arn = sqs.get_queue_attributes(
        QueueUrl=result.queue_urls[catalog.MEDIA_UPLOAD_QUEUE], AttributeNames=["QueueArn"]
    )["Attributes"]["QueueArn"]
    s3.put_bucket_notification_configuration(
        Bucket=bucket,
        NotificationConfiguration={
            "QueueConfigurations": [
                {
                    "Id": "uploads-to-verifier",
                    "QueueArn": media_queue_arn,
                    "Events": ["s3:ObjectCreated:*"],
                    "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": catalog.MEDIA_UPLOAD_PREFIX}]}},
                }
            ]
        },
    )

    kms = client("kms")
    key_id = kms.create_key(Description="openpost platform tokens")["KeyMetadata"]["KeyId"]
    kms.create_alias(AliasName=f"alias/{prefix}-{catalog.TOKENS_KEY_ALIAS}", TargetKeyId=key_id)
    result.tokens_key_id = key_id

    # As deployed: one secret per platform app, holding an empty JSON object until someone puts the
    # app's credentials in it (put_app_credentials here, `aws secretsmanager put-secret-value` there).
    secretsmanager = client("secretsmanager")
    for platform in APP_CREDENTIALS:
        result.app_secrets[platform] = secretsmanager.create_secret(
            Name=f"{prefix}-{platform}-app",
            SecretString="{}",
            Description=f"openpost: the {platform} app's credentials",
        )["ARN"]
    return result


def _client(service: str, region: str, endpoint_url: str | None):
    """A client on this thread's shared botocore session, made once per thread, service and endpoint."""
    return _kept(service, region, endpoint_url, lambda: sessions.client(service, region, endpoint_url))


def _kept(kind: str, region: str, endpoint_url: str | None, make):
    """What ``make`` builds, made once per thread, kind and endpoint.

    The test suite provisions a fresh world for each of several hundred tests; a new client costs
    ~15 ms (its service model built again), so provisioning's own clients are kept. They hold no state
    of the world they created: moto's state lives in its backends, reset between tests."""
    key = (threading.get_ident(), kind, region, endpoint_url)
    if key not in _clients:
        _clients[key] = make()
    return _clients[key]


_clients: dict[tuple, object] = {}


def _create_tables(region: str, endpoint_url: str | None) -> None:
    """Every table as its PynamoDB model declares it, through one connection (a model's own
    create_table makes a client per model and reads its table back twice), with time-to-live where
    declared. DynamoDB may answer CREATING; the waiter reads the table until it is ACTIVE."""
    from pynamodb.connection import Connection

    connection = _kept("pynamodb", region, endpoint_url, lambda: Connection(region=region, host=endpoint_url))
    for model in models.TABLE_MODELS:
        schema = model._get_schema()
        name = model.Meta.table_name
        created = connection.create_table(
            name,
            attribute_definitions=schema["attribute_definitions"],
            key_schema=schema["key_schema"],
            global_secondary_indexes=schema["global_secondary_indexes"],
            local_secondary_indexes=schema["local_secondary_indexes"],
            billing_mode="PAY_PER_REQUEST",
        )
        if created["TableDescription"]["TableStatus"] != "ACTIVE":
            connection.client.get_waiter("table_exists").wait(TableName=name)
        ttl = models.ttl_attribute(model)
        if ttl:
            connection.update_time_to_live(name, ttl)


def put_app_credentials(provisioned: Provisioned, platform: str, credentials: dict[str, str]) -> None:
    """Put a platform app's credentials into its secret, as an operator does in a deployment."""
    secretsmanager = boto3.client(
        "secretsmanager", region_name=provisioned.region, endpoint_url=provisioned.endpoint_url
    )
    secretsmanager.put_secret_value(SecretId=provisioned.app_secrets[platform], SecretString=json.dumps(credentials))
