"""The deployment stack: synthesized offline once, checked against the catalog, then by cfn-lint.

Expectations come from the catalog and the table models (so nothing they list can be left out of
the stack) and from a few literals (so the catalog cannot silently lose something either).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from types import SimpleNamespace

import pytest

# The CDK's Node process starts on the first import of aws_cdk and warns about Node 20 on every
# start, in one of two wordings depending on the date.
os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

import aws_cdk as cdk  # noqa: E402
from aws_cdk.assertions import Annotations, Match, Template  # noqa: E402
from chalice.utils import to_cfn_resource_name  # noqa: E402

from chalicelib.data.models import TABLE_MODELS, ttl_attribute  # noqa: E402
from chalicelib.platforms.app_credentials import APP_CREDENTIALS  # noqa: E402
from chalicelib.settings import app_secret_variable, get_settings, queue_url_variable  # noqa: E402
from infrastructure import catalog, outputs  # noqa: E402
from infrastructure.app import flag, origins  # noqa: E402
from infrastructure.stack import OpenpostStack  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[2]
LAMBDA_WHEELS = REPO_ROOT / ".cache" / "lambda-wheels"
STACK = "openpost-test"
CORS_ORIGINS = ["https://app.example.org"]
ALARM_EMAIL = "oncall@example.org"

# A platform app's credentials, set everywhere someone deploying might put them: the environment
# variables that once carried the X app, the local stack's, and CDK context. None may reach the
# template or any asset (test_no_platform_app_credential_reaches_the_template_or_an_asset).
SENTINELS = ("sentinel-x-client-id-7f3a9c", "sentinel-x-client-secret-91c2e4")
SENTINEL_ENVIRONMENT = {
    "OPENPOST_X_CLIENT_ID": SENTINELS[0],
    "OPENPOST_X_CLIENT_SECRET": SENTINELS[1],
    "OPENPOST_LOCAL_TWITTER_CLIENT_ID": SENTINELS[0],
    "OPENPOST_LOCAL_TWITTER_CLIENT_SECRET": SENTINELS[1],
}
SENTINEL_CONTEXT = {
    "x_client_id": SENTINELS[0],
    "x_client_secret": SENTINELS[1],
    "twitter_client_id": SENTINELS[0],
    "twitter_client_secret": SENTINELS[1],
}

# Chalice pip-installs the Lambda dependencies while the stack is built: from the wheels that
# `make install` fetched, never from an index.
OFFLINE_ENVIRONMENT = {
    "PIP_NO_INDEX": "1",
    "PIP_FIND_LINKS": str(LAMBDA_WHEELS),
    # Chalice asks boto3 for a region while packaging; nothing is sent to AWS.
    "AWS_DEFAULT_REGION": "us-east-1",
}


@pytest.fixture(scope="module")
def synthesized(tmp_path_factory):
    if not any(LAMBDA_WHEELS.glob("*.whl")):
        pytest.fail(f"no Lambda wheels in {LAMBDA_WHEELS}: run `rm -f .venv/.installed-* && make install`")
    workdir = tmp_path_factory.mktemp("synth")
    saved_environ, saved_cwd = dict(os.environ), os.getcwd()
    os.environ.update(OFFLINE_ENVIRONMENT)
    os.environ.update(SENTINEL_ENVIRONMENT)
    # Chalice writes its packages under ./chalice.out.
    os.chdir(workdir)
    try:
        app = cdk.App(outdir=str(workdir / "cdk.out"), context=SENTINEL_CONTEXT)
        stack = OpenpostStack(app, STACK, cors_origins=CORS_ORIGINS, alarm_email=ALARM_EMAIL)
        template = Template.from_stack(stack)
    finally:
        # Chalice puts the functions' environment (CDK tokens) into os.environ while it imports
        # app.py; none of it may leak into other tests.
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_environ)
        get_settings.cache_clear()
    _keep_only_newest_package(REPO_ROOT / ".chalice" / "deployments")
    return SimpleNamespace(stack=stack, template=template, json=template.to_json(), workdir=workdir)


def _keep_only_newest_package(cache):
    """Chalice caches a 20 MB package per version of the code and never removes one; every test run
    after a change adds one, so only the newest (the one a rerun can reuse) is kept."""
    packages = sorted(cache.glob("*-python3.*.zip"), key=lambda path: path.stat().st_mtime)
    for stale in packages[:-1]:
        stale.unlink(missing_ok=True)


@pytest.fixture(scope="module")
def template(synthesized):
    return synthesized.template


def resources_of(synthesized, resource_type):
    return {
        logical_id: resource
        for logical_id, resource in synthesized.json["Resources"].items()
        if resource["Type"] == resource_type
    }


def logical_id_where(synthesized, resource_type, **properties):
    matches = [
        logical_id
        for logical_id, resource in resources_of(synthesized, resource_type).items()
        if all(resource["Properties"].get(k) == v for k, v in properties.items())
    ]
    assert len(matches) == 1, f"{resource_type} with {properties}: {matches}"
    return matches[0]


def get_att_arn(logical_id):
    return {"Fn::GetAtt": [logical_id, "Arn"]}


def key_schema(boto_key_schema):
    """CloudFormation's form of a PynamoDB key schema: the HASH key first."""
    return sorted(boto_key_schema, key=lambda element: element["KeyType"] != "HASH")


def test_stack_builds_without_warnings(synthesized):
    annotations = Annotations.from_stack(synthesized.stack)
    annotations.has_no_warning("*", Match.any_value())
    annotations.has_no_error("*", Match.any_value())


# --- tables -----------------------------------------------------------------------------------


def test_one_table_per_model(template):
    template.resource_count_is("AWS::DynamoDB::Table", len(TABLE_MODELS))


@pytest.mark.parametrize("model", TABLE_MODELS, ids=lambda m: m.logical_name)
def test_table_matches_its_model(template, model):
    schema = model._get_schema()
    ttl = ttl_attribute(model)
    template.has_resource(
        "AWS::DynamoDB::Table",
        {
            "Properties": {
                "TableName": f"{STACK}-{model.logical_name}",
                "KeySchema": key_schema(schema["key_schema"]),
                "BillingMode": "PAY_PER_REQUEST",
                "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
                "DeletionProtectionEnabled": True,
                "TimeToLiveSpecification": ({"AttributeName": ttl, "Enabled": True} if ttl else Match.absent()),
                "GlobalSecondaryIndexes": (
                    Match.absent()
                    if not schema["global_secondary_indexes"]
                    else [
                        {
                            "IndexName": index["index_name"],
                            "KeySchema": key_schema(index["key_schema"]),
                            "Projection": index["projection"],
                        }
                        for index in schema["global_secondary_indexes"]
                    ]
                ),
            },
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
        },
    )


def test_known_tables_keep_their_keys_indexes_and_ttl(synthesized):
    tables = {
        resource["Properties"]["TableName"]: resource["Properties"]
        for resource in resources_of(synthesized, "AWS::DynamoDB::Table").values()
    }
    known = ("workspaces", "api-keys", "integrations", "posts", "counters", "sandbox", "idempotency")
    assert {f"{STACK}-{name}" for name in known} <= set(tables)
    api_keys = tables[f"{STACK}-api-keys"]
    assert api_keys["KeySchema"] == [{"AttributeName": "key_hash", "KeyType": "HASH"}]
    assert api_keys["TimeToLiveSpecification"] == {"AttributeName": "purge_at", "Enabled": True}
    by_scope = api_keys["GlobalSecondaryIndexes"][0]
    assert by_scope["IndexName"] == "by_scope"
    assert by_scope["KeySchema"] == [
        {"AttributeName": "scope", "KeyType": "HASH"},
        {"AttributeName": "id", "KeyType": "RANGE"},
    ]
    assert tables[f"{STACK}-integrations"]["KeySchema"][0] == {"AttributeName": "scope", "KeyType": "HASH"}
    assert tables[f"{STACK}-idempotency"]["TimeToLiveSpecification"]["AttributeName"] == "expiration"


# --- queues -----------------------------------------------------------------------------------


def test_two_queues_per_spec(template):
    template.resource_count_is("AWS::SQS::Queue", 2 * len(catalog.QUEUES))


@pytest.mark.parametrize("spec", catalog.QUEUES, ids=lambda s: s.name)
def test_queue_redrives_to_its_dead_letter_queue(synthesized, template, spec):
    dead_letters = logical_id_where(synthesized, "AWS::SQS::Queue", QueueName=f"{STACK}-{spec.dlq_name}")
    template.has_resource_properties(
        "AWS::SQS::Queue",
        {
            "QueueName": f"{STACK}-{spec.name}",
            "VisibilityTimeout": spec.visibility_timeout,
            "MessageRetentionPeriod": spec.retention_days * 86400,
            "SqsManagedSseEnabled": True,
            "RedrivePolicy": {
                "deadLetterTargetArn": get_att_arn(dead_letters),
                "maxReceiveCount": spec.max_receive_count,
            },
        },
    )
    assert synthesized.json["Resources"][dead_letters]["Properties"]["MessageRetentionPeriod"] == (
        spec.dlq_retention_days * 86400
    )


def test_every_queue_refuses_plain_http(synthesized):
    policies = resources_of(synthesized, "AWS::SQS::QueuePolicy").values()
    covered = set()
    for policy in policies:
        statements = policy["Properties"]["PolicyDocument"]["Statement"]
        if any(
            s["Effect"] == "Deny" and s.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}
            for s in statements
        ):
            covered.update(queue["Ref"] for queue in policy["Properties"]["Queues"])
    assert covered == set(resources_of(synthesized, "AWS::SQS::Queue"))


def test_publish_queue_literals(synthesized):
    queues = {
        resource["Properties"]["QueueName"]: resource["Properties"]
        for resource in resources_of(synthesized, "AWS::SQS::Queue").values()
    }
    publish = queues[f"{STACK}-publish"]
    assert publish["RedrivePolicy"]["maxReceiveCount"] == 8
    assert publish["VisibilityTimeout"] == 360
    assert f"{STACK}-publish-dlq" in queues
    assert f"{STACK}-events" in queues and f"{STACK}-events-dlq" in queues


def test_analytics_literals(synthesized, template):
    """The planner's schedule, the analytics queue with its DLQ feeding the refresh function with
    partial batch failures, and the snapshot and tracking tables with their indexes."""
    queues = {
        resource["Properties"]["QueueName"]: resource["Properties"]
        for resource in resources_of(synthesized, "AWS::SQS::Queue").values()
    }
    assert f"{STACK}-analytics" in queues and f"{STACK}-analytics-dlq" in queues
    assert queues[f"{STACK}-analytics"]["RedrivePolicy"]["maxReceiveCount"] == 6
    queue = logical_id_where(synthesized, "AWS::SQS::Queue", QueueName=f"{STACK}-analytics")
    mapping = logical_id_where(synthesized, "AWS::Lambda::EventSourceMapping", EventSourceArn=get_att_arn(queue))
    properties = synthesized.json["Resources"][mapping]["Properties"]
    assert properties["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert get_att_arn("AnalyticsRefresh") in _nested_values(properties["FunctionName"])
    rule = logical_id_where(synthesized, "AWS::Events::Rule", ScheduleExpression="rate(10 minutes)")
    assert synthesized.json["Resources"][rule]["Properties"]["Targets"][0]["Arn"] == get_att_arn("AnalyticsPlanner")
    tables = {
        resource["Properties"]["TableName"]: resource["Properties"]
        for resource in resources_of(synthesized, "AWS::DynamoDB::Table").values()
    }
    snapshots = tables[f"{STACK}-analytics-snapshots"]
    assert snapshots["KeySchema"] == [
        {"AttributeName": "post_key", "KeyType": "HASH"},
        {"AttributeName": "slot_key", "KeyType": "RANGE"},
    ]
    assert {index["IndexName"] for index in snapshots["GlobalSecondaryIndexes"]} == {"by_scope", "by_integration"}
    tracking = tables[f"{STACK}-analytics-tracking"]
    (by_publication,) = tracking["GlobalSecondaryIndexes"]
    assert by_publication["KeySchema"] == [
        {"AttributeName": "published_shard", "KeyType": "HASH"},
        {"AttributeName": "published_key", "KeyType": "RANGE"},
    ]
    assert tracking["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}


# --- media bucket and key ---------------------------------------------------------------------


def test_media_bucket(template):
    template.resource_count_is("AWS::S3::Bucket", 1)
    template.has_resource(
        "AWS::S3::Bucket",
        {
            "Properties": {
                "PublicAccessBlockConfiguration": {
                    "BlockPublicAcls": True,
                    "BlockPublicPolicy": True,
                    "IgnorePublicAcls": True,
                    "RestrictPublicBuckets": True,
                },
                "CorsConfiguration": {
                    "CorsRules": [
                        Match.object_like(
                            {
                                "AllowedMethods": Match.array_with(["PUT", "GET", "HEAD"]),
                                "AllowedOrigins": CORS_ORIGINS,
                            }
                        )
                    ]
                },
                "LifecycleConfiguration": {
                    "Rules": Match.array_with(
                        [
                            Match.object_like(
                                {
                                    "Prefix": catalog.MEDIA_UPLOAD_PREFIX,
                                    "ExpirationInDays": catalog.ABANDONED_UPLOAD_DAYS,
                                    "Status": "Enabled",
                                }
                            ),
                            Match.object_like({"AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1}}),
                        ]
                    )
                },
            },
            "DeletionPolicy": "Retain",
        },
    )
    template.has_resource_properties(
        "AWS::S3::BucketPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Effect": "Deny",
                                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                            }
                        )
                    ]
                )
            }
        },
    )


def test_abandoned_uploads_literals(synthesized):
    (bucket,) = resources_of(synthesized, "AWS::S3::Bucket").values()
    rules = bucket["Properties"]["LifecycleConfiguration"]["Rules"]
    assert {"uploads/": 1} == {r["Prefix"]: r["ExpirationInDays"] for r in rules if "Prefix" in r}


def test_tokens_key_rotates_and_has_its_alias(synthesized, template):
    template.resource_count_is("AWS::KMS::Key", 1)
    key = logical_id_where(synthesized, "AWS::KMS::Key", EnableKeyRotation=True)
    assert synthesized.json["Resources"][key]["DeletionPolicy"] == "Retain"
    template.has_resource_properties(
        "AWS::KMS::Alias",
        {"AliasName": f"alias/{STACK}-platform-tokens", "TargetKeyId": get_att_arn(key)},
    )


# --- functions, schedules and queue consumers --------------------------------------------------


@pytest.mark.parametrize("spec", catalog.FUNCTIONS, ids=lambda s: s.name)
def test_function_is_sized_and_configured_from_the_catalog(synthesized, spec):
    role = logical_id_where(synthesized, "AWS::IAM::Role")
    bucket = logical_id_where(synthesized, "AWS::S3::Bucket")
    key = logical_id_where(synthesized, "AWS::KMS::Key")
    queue_refs = {
        queue_url_variable(q.name): {
            "Ref": logical_id_where(synthesized, "AWS::SQS::Queue", QueueName=f"{STACK}-{q.name}")
        }
        for q in catalog.QUEUES
    }
    synthesized.template.has_resource_properties(
        "AWS::Serverless::Function",
        {
            "FunctionName": f"{STACK}-{spec.name}",
            "Timeout": spec.timeout,
            "MemorySize": spec.memory_mb,
            "Role": get_att_arn(role),
            "Environment": {
                "Variables": Match.object_like(
                    {
                        "OPENPOST_RESOURCE_PREFIX": STACK,
                        "OPENPOST_MEDIA_BUCKET": {"Ref": bucket},
                        "OPENPOST_TOKENS_KEY_ID": {"Ref": key},
                        "POWERTOOLS_TRACE_DISABLED": "true",
                        "PYDANTIC_DISABLE_PLUGINS": "__all__",
                        **queue_refs,
                    }
                )
            },
        },
    )
    assert to_cfn_resource_name(spec.name) in synthesized.json["Resources"]


def test_http_api_is_served_from_the_api_stage(synthesized, template):
    template.has_resource_properties("AWS::Serverless::Api", {"StageName": "api"})
    template.has_resource_properties(
        "AWS::Serverless::Function", {"FunctionName": f"{STACK}-api", "Handler": "app.app"}
    )
    functions = resources_of(synthesized, "AWS::Serverless::Function")
    assert len(functions) == len(catalog.FUNCTIONS) + 1


def test_publisher_literals(synthesized):
    publisher = synthesized.json["Resources"]["Publisher"]["Properties"]
    assert (publisher["Timeout"], publisher["MemorySize"]) == (60, 512)


@pytest.mark.parametrize("spec", catalog.SCHEDULES, ids=lambda s: s.name)
def test_schedule_invokes_its_function(synthesized, template, spec):
    function = to_cfn_resource_name(spec.function)
    rule = logical_id_where(synthesized, "AWS::Events::Rule", ScheduleExpression=spec.expression)
    targets = synthesized.json["Resources"][rule]["Properties"]["Targets"]
    assert [target["Arn"] for target in targets] == [get_att_arn(function)]
    template.has_resource_properties(
        "AWS::Lambda::Permission",
        {
            "Action": "lambda:InvokeFunction",
            "FunctionName": get_att_arn(function),
            "Principal": "events.amazonaws.com",
            "SourceArn": get_att_arn(rule),
        },
    )


def test_schedule_literals(synthesized, template):
    template.resource_count_is("AWS::Events::Rule", len(catalog.SCHEDULES))
    rules = {
        r["Properties"]["ScheduleExpression"]: r["Properties"]["Targets"][0]["Arn"]
        for r in resources_of(synthesized, "AWS::Events::Rule").values()
    }
    assert rules["rate(1 minute)"] == get_att_arn("Dispatcher")
    assert rules["rate(5 minutes)"] == get_att_arn("Reconciler")


def consumed_queues():
    return [spec for spec in catalog.QUEUES if spec.consumer]


def test_one_event_source_mapping_per_consumed_queue(template):
    template.resource_count_is("AWS::Lambda::EventSourceMapping", len(consumed_queues()))


@pytest.mark.parametrize("spec", consumed_queues(), ids=lambda s: s.name)
def test_queue_feeds_its_consumer_with_partial_batch_failures(synthesized, spec):
    queue = logical_id_where(synthesized, "AWS::SQS::Queue", QueueName=f"{STACK}-{spec.name}")
    mapping = logical_id_where(synthesized, "AWS::Lambda::EventSourceMapping", EventSourceArn=get_att_arn(queue))
    properties = synthesized.json["Resources"][mapping]["Properties"]
    assert properties["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert properties["BatchSize"] == spec.batch_size
    assert properties["MaximumBatchingWindowInSeconds"] == spec.max_batching_window
    assert get_att_arn(to_cfn_resource_name(spec.consumer)) in _nested_values(properties["FunctionName"])


def test_publish_queue_feeds_the_publisher(synthesized):
    (mapping,) = [
        mapping
        for mapping in resources_of(synthesized, "AWS::Lambda::EventSourceMapping").values()
        if get_att_arn("Publisher") in _nested_values(mapping["Properties"]["FunctionName"])
    ]
    assert mapping["Properties"]["BatchSize"] == 5


def test_events_queue_feeds_the_webhooks_worker(synthesized):
    """Webhook delivery: the events queue (events and delivery attempts) drives the webhooks function,
    which reports failed items; a message failing 8 times rests in the dead-letter queue."""
    queues = {
        resource["Properties"]["QueueName"]: resource["Properties"]
        for resource in resources_of(synthesized, "AWS::SQS::Queue").values()
    }
    events = queues[f"{STACK}-events"]
    assert events["RedrivePolicy"]["maxReceiveCount"] == 8 and events["VisibilityTimeout"] == 180
    assert f"{STACK}-events-dlq" in queues
    (mapping,) = [
        mapping
        for mapping in resources_of(synthesized, "AWS::Lambda::EventSourceMapping").values()
        if get_att_arn("Webhooks") in _nested_values(mapping["Properties"]["FunctionName"])
    ]
    assert mapping["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["Properties"]["BatchSize"] == 10
    worker = synthesized.json["Resources"]["Webhooks"]["Properties"]
    assert worker["Timeout"] == 30 and worker["Timeout"] * 6 <= events["VisibilityTimeout"]


def test_no_local_development_switch_reaches_a_deployment(synthesized):
    """http and loopback webhook receivers, and loopback media URLs, are for `make run` only."""
    text = json.dumps(synthesized.json)
    assert "OPENPOST_ALLOW_LOCAL_WEBHOOKS" not in text and "OPENPOST_ALLOW_LOOPBACK" not in text


def test_webhook_tables_keys_and_ttl(synthesized):
    tables = {
        resource["Properties"]["TableName"]: resource["Properties"]
        for resource in resources_of(synthesized, "AWS::DynamoDB::Table").values()
    }
    assert tables[f"{STACK}-webhooks"]["KeySchema"] == [
        {"AttributeName": "scope", "KeyType": "HASH"},
        {"AttributeName": "id", "KeyType": "RANGE"},
    ]
    deliveries = tables[f"{STACK}-webhook-deliveries"]
    assert deliveries["KeySchema"] == [
        {"AttributeName": "endpoint_key", "KeyType": "HASH"},
        {"AttributeName": "id", "KeyType": "RANGE"},
    ]
    assert deliveries["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}


def test_uploads_are_announced_to_the_verifier(synthesized):
    """S3 sends each object created under uploads/ to the media queue, which feeds the verifier;
    the queue's policy lets S3 send from this account only, and exists before the bucket's
    notification is set (S3 checks the permission then)."""
    ((bucket_id, bucket),) = resources_of(synthesized, "AWS::S3::Bucket").items()
    (notification,) = bucket["Properties"]["NotificationConfiguration"]["QueueConfigurations"]
    assert notification["Event"] == "s3:ObjectCreated:*"
    assert notification["Filter"] == {"S3Key": {"Rules": [{"Name": "prefix", "Value": "uploads/"}]}}
    queue_id = logical_id_where(synthesized, "AWS::SQS::Queue", QueueName=f"{STACK}-media")
    assert notification["Queue"] == get_att_arn(queue_id)
    (mapping,) = [
        mapping
        for mapping in resources_of(synthesized, "AWS::Lambda::EventSourceMapping").values()
        if get_att_arn(queue_id) in _nested_values(mapping["Properties"]["EventSourceArn"])
    ]
    assert get_att_arn("Verifier") in _nested_values(mapping["Properties"]["FunctionName"])
    ((policy_id, policy),) = [
        (pid, policy)
        for pid, policy in resources_of(synthesized, "AWS::SQS::QueuePolicy").items()
        if {"Ref": queue_id} in policy["Properties"]["Queues"]
    ]
    allowed = [
        statement for statement in policy["Properties"]["PolicyDocument"]["Statement"] if statement["Effect"] == "Allow"
    ]
    assert allowed == [
        {
            "Sid": "UploadNotifications",
            "Effect": "Allow",
            "Action": "sqs:SendMessage",
            "Principal": {"Service": "s3.amazonaws.com"},
            "Resource": get_att_arn(queue_id),
            "Condition": {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}},
        }
    ]
    assert policy_id in as_list(bucket.get("DependsOn", []))


def _nested_values(value):
    yield value
    if isinstance(value, dict):
        for item in value.values():
            yield from _nested_values(item)
    elif isinstance(value, list):
        for item in value:
            yield from _nested_values(item)


# --- permissions ------------------------------------------------------------------------------


def identity_statements(synthesized):
    statements = []
    for role in resources_of(synthesized, "AWS::IAM::Role").values():
        for policy in role["Properties"].get("Policies", []):
            statements.extend(policy["PolicyDocument"]["Statement"])
    for policy in resources_of(synthesized, "AWS::IAM::Policy").values():
        statements.extend(policy["Properties"]["PolicyDocument"]["Statement"])
    return statements


def as_list(value):
    return value if isinstance(value, list) else [value]


def test_one_role_with_its_whole_policy_inline(synthesized, template):
    # Inline, so the policy exists before the SQS event source mapping is created.
    template.resource_count_is("AWS::IAM::Role", 1)
    template.resource_count_is("AWS::IAM::Policy", 0)
    template.resource_count_is("AWS::IAM::ManagedPolicy", 0)
    (role,) = resources_of(synthesized, "AWS::IAM::Role").values()
    assert "ManagedPolicyArns" not in role["Properties"]


def test_no_wildcard_actions_and_no_scan(synthesized):
    statements = identity_statements(synthesized)
    assert statements
    actions = [action for s in statements for action in as_list(s["Action"])]
    assert not [action for action in actions if "*" in action]
    assert "dynamodb:Scan" not in actions
    assert not [action for action in actions if action.startswith("iam:")]
    assert all(s["Effect"] == "Allow" for s in statements)


def test_resource_star_only_for_xray(synthesized):
    for statement in identity_statements(synthesized):
        if "*" in as_list(statement["Resource"]):
            assert set(as_list(statement["Action"])) <= {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}


def test_resource_policies_allow_nothing_but_the_key_delegation(synthesized):
    """Bucket and queue policies only deny (plain HTTP), but for S3's upload notifications (tested
    above); the key policy hands its key to IAM."""
    account_root = {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":iam::", {"Ref": "AWS::AccountId"}, ":root"]]}
    for policy_type in ("AWS::S3::BucketPolicy", "AWS::SQS::QueuePolicy"):
        for policy in resources_of(synthesized, policy_type).values():
            statements = policy["Properties"]["PolicyDocument"]["Statement"]
            assert all(
                statement["Effect"] == "Deny" or statement.get("Sid") == "UploadNotifications"
                for statement in statements
            )
    (key,) = resources_of(synthesized, "AWS::KMS::Key").values()
    assert key["Properties"]["KeyPolicy"]["Statement"] == [
        {"Action": "kms:*", "Effect": "Allow", "Principal": {"AWS": account_root}, "Resource": "*"}
    ]


def test_role_reaches_every_table_index_and_queue(synthesized):
    statements = identity_statements(synthesized)
    resources = [r for s in statements for r in as_list(s["Resource"])]
    for table in resources_of(synthesized, "AWS::DynamoDB::Table"):
        assert get_att_arn(table) in resources
        assert {"Fn::Join": ["", [get_att_arn(table), "/index/*"]]} in resources
    for queue in resources_of(synthesized, "AWS::SQS::Queue"):
        assert get_att_arn(queue) in resources
    granted = {action for s in statements for action in as_list(s["Action"])}
    assert {
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:Query",
        "sqs:SendMessage",
        "sqs:ReceiveMessage",
        "sqs:DeleteMessage",
        "sqs:GetQueueAttributes",
        "sqs:ChangeMessageVisibility",
        "s3:GetObject",
        "s3:PutObject",
        "s3:DeleteObject",
        "kms:Encrypt",
        "kms:Decrypt",
        "kms:GenerateDataKey",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "xray:PutTraceSegments",
    } <= granted


# --- platform apps' secrets ---------------------------------------------------------------------


def test_each_platform_app_has_a_secret_the_functions_find_by_arn(synthesized, template):
    secrets = resources_of(synthesized, "AWS::SecretsManager::Secret")
    assert len(secrets) == len(APP_CREDENTIALS) >= 1
    for platform in APP_CREDENTIALS:
        (secret_id,) = [
            logical_id
            for logical_id, secret in secrets.items()
            if f"the {platform} app's credentials" in secret["Properties"]["Description"]
        ]
        secret = secrets[secret_id]
        # Created as an empty JSON object, a constant: a deploy never overwrites what an operator put.
        assert secret["Properties"]["SecretString"] == "{}"
        assert "GenerateSecretString" not in secret["Properties"] and "Name" not in secret["Properties"]
        for spec in (catalog.API, *catalog.FUNCTIONS):
            template.has_resource_properties(
                "AWS::Serverless::Function",
                {
                    "FunctionName": f"{STACK}-{spec.name}",
                    "Environment": {
                        "Variables": Match.object_like({app_secret_variable(platform): {"Ref": secret_id}})
                    },
                },
            )
        assert synthesized.json["Outputs"][outputs.app_secret_arn(platform)]["Value"] == {"Ref": secret_id}
    assert outputs.app_secret_arn("twitter") == "TwitterAppSecretArn"


def test_the_functions_may_only_read_the_app_secrets(synthesized):
    secret_refs = [{"Ref": logical_id} for logical_id in resources_of(synthesized, "AWS::SecretsManager::Secret")]
    touching = [
        s
        for s in identity_statements(synthesized)
        if any(action.startswith("secretsmanager:") for action in as_list(s["Action"]))
    ]
    assert [(as_list(s["Action"]), as_list(s["Resource"])) for s in touching] == [
        (["secretsmanager:GetSecretValue"], secret_refs)
    ]


def _strings_in(path):
    """Every file's bytes under a directory, and those of each member of every zip in it."""
    for file in sorted(p for p in path.rglob("*") if p.is_file()):
        data = file.read_bytes()
        yield str(file), data
        if zipfile.is_zipfile(file):
            with zipfile.ZipFile(file) as archive:
                for member in archive.namelist():
                    yield f"{file}!{member}", archive.read(member)


def test_no_platform_app_credential_reaches_the_template_or_an_asset(synthesized):
    """Synthesized with an X app's id and secret in the deployer's environment and in CDK context:
    neither is anywhere in the template, the cloud assembly, or the Lambda package and its files."""
    template_text = json.dumps(synthesized.json)
    assert not [s for s in SENTINELS if s in template_text]
    scanned, found = 0, []
    for where, data in _strings_in(synthesized.workdir):
        scanned += 1
        found += [(where, s) for s in SENTINELS if s.encode() in data]
    assert not found
    assert scanned > 100  # the package's members were read, not just a template


# --- outputs, package, lint -------------------------------------------------------------------


def test_outputs_name_every_resource_a_tool_needs(synthesized):
    keys = set(synthesized.json["Outputs"])
    expected = {outputs.API_URL, outputs.RESOURCE_PREFIX, outputs.MEDIA_BUCKET, outputs.TOKENS_KEY_ID}
    expected |= {outputs.queue_url(q.name) for q in catalog.QUEUES}
    expected |= {outputs.dead_letter_queue_url(q.name) for q in catalog.QUEUES}
    assert expected <= keys
    assert {"ApiUrl", "ResourcePrefix", "PublishQueueUrl", "EventsQueueUrl"} <= keys
    assert synthesized.json["Outputs"]["ResourcePrefix"]["Value"] == STACK


def test_package_holds_the_app_and_its_linux_dependencies(synthesized):
    (package,) = synthesized.workdir.glob("chalice.out/*/deployment.zip")
    names = zipfile.ZipFile(package).namelist()
    top_level = {name.split("/", 1)[0] for name in names}
    assert {
        "app.py",
        "chalicelib",
        "chalice",
        "pynamodb",
        "aws_lambda_powertools",
        "requests",
        "pydantic",
        "pydantic_core",
        "aws_xray_sdk",
    } <= top_level
    assert any(n.startswith("pydantic_core/") and n.endswith("x86_64-linux-gnu.so") for n in names)


def test_cfn_lint_finds_no_errors(synthesized, tmp_path):
    template_path = tmp_path / "template.json"
    template_path.write_text(json.dumps(synthesized.json))
    cfn_lint = Path(sys.executable).with_name("cfn-lint")
    result = subprocess.run(
        [str(cfn_lint), "--format", "json", "--", str(template_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    findings = json.loads(result.stdout or "[]")
    errors = [f for f in findings if f["Level"] == "Error"]
    assert not errors, json.dumps(errors, indent=1)
    assert result.returncode in (0, 4, 8, 12), result.stderr


# --- CDK context --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "given, expected",
    [
        (None, ["*"]),
        (["https://a.example"], ["https://a.example"]),
        ("https://a.example, https://b.example", ["https://a.example", "https://b.example"]),
        ('["https://a.example"]', ["https://a.example"]),
    ],
)
def test_cors_origins_from_context(given, expected):
    assert origins(given) == expected


@pytest.mark.parametrize("given, expected", [(None, False), ("true", True), ("false", False), (True, True)])
def test_tracing_flag_from_context(given, expected):
    assert flag(given) is expected


def test_api_gateway_answers_in_problems_of_its_own(synthesized):
    """Unknown paths, bodies over 10 MB, throttling, the 29 s timeout: what API Gateway answers
    itself is problem+json too, the same body the local server sends (chalicelib/api/edges.py)."""
    from chalicelib.api.edges import GATEWAY_PROBLEMS

    responses = {
        resource["Properties"]["ResponseType"]: resource["Properties"]
        for resource in resources_of(synthesized, "AWS::ApiGateway::GatewayResponse").values()
    }
    assert set(responses) == set(GATEWAY_PROBLEMS)
    api_id = next(iter(resources_of(synthesized, "AWS::Serverless::Api")))
    for kind, properties in responses.items():
        assert properties["RestApiId"] == {"Ref": api_id}
        assert properties["ResponseParameters"] == {"gatewayresponse.header.Content-Type": "'application/problem+json'"}
        template = properties["ResponseTemplates"]["application/json"]
        if kind.startswith("DEFAULT_"):
            assert "StatusCode" not in properties and "$context.error.messageString" in template
        else:
            assert properties["StatusCode"] == str(GATEWAY_PROBLEMS[kind].status)
            assert json.loads(template) == GATEWAY_PROBLEMS[kind].body()
    assert responses["MISSING_AUTHENTICATION_TOKEN"]["StatusCode"] == "404"


def test_every_path_declares_every_method_so_none_is_the_gateways_403(synthesized):
    from chalicelib.api.edges import DECLARABLE

    (api,) = resources_of(synthesized, "AWS::Serverless::Api").values()
    paths = api["Properties"]["DefinitionBody"]["paths"]
    assert "/v1/posts" in paths and "/v1/posts/{post_id}" in paths
    for path, methods in paths.items():
        assert {method.upper() for method in methods} >= set(DECLARABLE), path


def test_the_api_knows_the_cors_origins(synthesized):
    api = synthesized.json["Resources"]["APIHandler"]
    assert api["Properties"]["Environment"]["Variables"]["OPENPOST_CORS_ORIGINS"] == ",".join(CORS_ORIGINS)


def test_rate_limits_and_the_read_budget_are_stack_parameters_the_functions_read(synthesized):
    from chalicelib.settings import RATE_LIMIT_PREFIX, Settings, default_rate_limits
    from infrastructure.parameters import MAX_SHARDS, METERED_READS, RATE_LIMITS_ENABLED, SHARD_RATE, parameter_name

    parameters = synthesized.json["Parameters"]
    expected = {
        RATE_LIMITS_ENABLED: "RateLimitsEnabled",
        SHARD_RATE: "RateLimitShardRate",
        MAX_SHARDS: "RateLimitMaxShards",
        METERED_READS: "MeteredReadsPerMonth",
        **{f"{RATE_LIMIT_PREFIX}{policy.upper()}": parameter_name(policy) for policy in default_rate_limits()},
    }
    assert parameters["RateLimitPosts"]["AllowedPattern"] and parameters["RateLimitsEnabled"]["AllowedValues"]
    for function in resources_of(synthesized, "AWS::Serverless::Function").values():
        variables = function["Properties"]["Environment"]["Variables"]
        assert {name: variables[name] for name in expected} == {
            name: {"Ref": parameter} for name, parameter in expected.items()
        }
    # Deployed with the parameters' defaults, the functions have the code's defaults.
    environment = {name: str(parameters[parameter]["Default"]) for name, parameter in expected.items()}
    assert Settings.from_environ(environment).model_dump() == Settings().model_dump()
    assert Settings.from_environ({**environment, METERED_READS: "250"}).metered_reads_per_month == 250
    assert Settings.from_environ({**environment, f"{RATE_LIMIT_PREFIX}POSTS": "120/30"}).rate_limits["posts"] == (
        default_rate_limits()["posts"].model_copy(update={"quota": 120, "window": 30})
    )


# --- alarms and the dashboard (infrastructure/monitoring.py, docs/operations.md) ---------------------

SERVICE = {"service": "openpost"}  # on every openpost metric (chalicelib/measures.py)


def alarms_by_name(synthesized):
    return {
        r["Properties"]["AlarmName"]: r["Properties"]
        for r in resources_of(synthesized, "AWS::CloudWatch::Alarm").values()
    }


def test_one_alarm_topic_with_the_email_from_context(synthesized, template):
    template.resource_count_is("AWS::SNS::Topic", 1)
    (topic_id,) = resources_of(synthesized, "AWS::SNS::Topic")
    assert synthesized.json["Resources"][topic_id]["Properties"]["TopicName"] == f"{STACK}-alarms"
    template.has_resource_properties(
        "AWS::SNS::Subscription", {"Protocol": "email", "Endpoint": ALARM_EMAIL, "TopicArn": {"Ref": topic_id}}
    )
    assert synthesized.json["Outputs"][outputs.ALARM_TOPIC_ARN]["Value"] == {"Ref": topic_id}


def test_every_alarm_notifies_the_topic_and_names_its_runbook(synthesized):
    (topic_id,) = resources_of(synthesized, "AWS::SNS::Topic")
    alarms = alarms_by_name(synthesized)
    assert alarms
    for name, alarm in alarms.items():
        assert alarm["AlarmActions"] == [{"Ref": topic_id}], name
        assert alarm["OKActions"] == [{"Ref": topic_id}], name
        key = name.removeprefix(f"{STACK}-")
        assert alarm["AlarmDescription"].endswith(f"docs/operations.md#{key}"), name


def _expect(alarm, namespace, metric, statistic, threshold, comparison, period, periods, missing, dimensions):
    assert alarm["Namespace"] == namespace and alarm["MetricName"] == metric
    assert alarm.get("Statistic", alarm.get("ExtendedStatistic")) == statistic
    assert alarm["Threshold"] == threshold and alarm["ComparisonOperator"] == comparison
    assert alarm["Period"] == period and alarm["EvaluationPeriods"] == periods
    assert alarm["DatapointsToAlarm"] == periods and alarm["TreatMissingData"] == missing
    assert {d["Name"]: d["Value"] for d in alarm.get("Dimensions", [])} == dimensions


@pytest.mark.parametrize("queue", [spec.name for spec in catalog.QUEUES])
def test_any_dead_letter_alarms(synthesized, queue):
    alarm = alarms_by_name(synthesized)[f"{STACK}-{queue}-dead-letters"]
    dlq = logical_id_where(synthesized, "AWS::SQS::Queue", QueueName=f"{STACK}-{queue}-dlq")
    _expect(
        alarm,
        "AWS/SQS",
        "ApproximateNumberOfMessagesVisible",
        "Maximum",
        0,
        "GreaterThanThreshold",
        300,
        1,
        "notBreaching",
        {"QueueName": {"Fn::GetAtt": [dlq, "QueueName"]}},
    )


def test_lateness_p99_above_5_seconds_for_5_minutes(synthesized):
    alarm = alarms_by_name(synthesized)[f"{STACK}-publish-lateness"]
    _expect(alarm, "openpost", "PublishLateness", "p99", 5, "GreaterThanThreshold", 60, 5, "notBreaching", SERVICE)


@pytest.mark.parametrize("function", ["publisher", "dispatcher", "webhooks"])
def test_function_errors_and_throttles_alarm(synthesized, function):
    alarms = alarms_by_name(synthesized)
    dimensions = {"FunctionName": f"{STACK}-{function}"}
    _expect(
        alarms[f"{STACK}-{function}-errors"],
        "AWS/Lambda",
        "Errors",
        "Sum",
        2,
        "GreaterThanThreshold",
        300,
        1,
        "notBreaching",
        dimensions,
    )
    _expect(
        alarms[f"{STACK}-{function}-throttles"],
        "AWS/Lambda",
        "Throttles",
        "Sum",
        0,
        "GreaterThanThreshold",
        300,
        1,
        "notBreaching",
        dimensions,
    )


def test_outcome_unknown_and_a_disabled_webhook_alarm_at_once(synthesized):
    alarms = alarms_by_name(synthesized)
    _expect(
        alarms[f"{STACK}-outcome-unknown"],
        "openpost",
        "TargetFailures",
        "Sum",
        0,
        "GreaterThanThreshold",
        300,
        1,
        "notBreaching",
        {**SERVICE, "code": "outcome_unknown"},
    )
    _expect(
        alarms[f"{STACK}-webhook-endpoint-disabled"],
        "openpost",
        "WebhookEndpointsDisabled",
        "Sum",
        0,
        "GreaterThanThreshold",
        300,
        1,
        "notBreaching",
        SERVICE,
    )


def test_a_silent_dispatcher_alarms_after_3_minutes_missing_data_breaching(synthesized):
    alarm = alarms_by_name(synthesized)[f"{STACK}-dispatcher-silent"]
    _expect(
        alarm,
        "AWS/Lambda",
        "Invocations",
        "Sum",
        1,
        "LessThanThreshold",
        60,
        3,
        "breaching",
        {"FunctionName": f"{STACK}-dispatcher"},
    )


def test_no_alarm_beyond_those_the_runbook_explains(synthesized):
    expected = {f"{queue.name}-dead-letters" for queue in catalog.QUEUES}
    expected |= {f"{f}-{kind}" for f in ("publisher", "dispatcher", "webhooks") for kind in ("errors", "throttles")}
    expected |= {"publish-lateness", "outcome-unknown", "webhook-endpoint-disabled", "dispatcher-silent"}
    assert {name.removeprefix(f"{STACK}-") for name in alarms_by_name(synthesized)} == expected
    runbook = (REPO_ROOT / "docs" / "operations.md").read_text()
    for key in expected:
        assert f'<a id="{key}"></a>' in runbook, key


def test_the_dashboard_shows_publishing_queues_functions_webhooks_and_analytics(synthesized):
    (dashboard,) = resources_of(synthesized, "AWS::CloudWatch::Dashboard").values()
    assert dashboard["Properties"]["DashboardName"] == f"{STACK}-operations"
    body = json.dumps(dashboard["Properties"]["DashboardBody"])
    for shown in (
        "TargetsPublished",
        "TargetsFailed",
        "TargetFailures",
        "PublishLateness",
        "p99",
        "ApproximateNumberOfMessagesVisible",
        "ApproximateAgeOfOldestMessage",
        "Duration",
        "Errors",
        "Throttles",
        "WebhookDeliveriesFailed",
        "WebhookEndpointsDisabled",
        "AnalyticsRefreshLag",
        "AnalyticsPlatformCalls",
        "RateLimitedRequests",
    ):
        assert shown in body, shown
    for spec in catalog.FUNCTIONS:
        assert f"{STACK}-{spec.name}" in body, spec.name
