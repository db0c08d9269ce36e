"""The openpost deployment: one CDK stack built from infrastructure/catalog.py and the table models.

Nothing here lists a table, queue, function or schedule by hand: each comes from a loop over the
catalog, so the deployment and the local stack cannot drift apart.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from aws_cdk import (
    CfnOutput,
    Duration,
    RemovalPolicy,
    SecretValue,
    Stack,
)
from aws_cdk import (
    aws_apigateway as apigateway,
)
from aws_cdk import (
    aws_events as events,
)
from aws_cdk import (
    aws_events_targets as targets,
)
from aws_cdk import (
    aws_iam as iam,
)
from aws_cdk import (
    aws_kms as kms,
)
from aws_cdk import (
    aws_lambda as lambda_,
)
from aws_cdk import (
    aws_logs as logs,
)
from aws_cdk import (
    aws_s3 as s3,
)
from aws_cdk import (
    aws_secretsmanager as secretsmanager,
)
from aws_cdk import (
    aws_sqs as sqs,
)
from chalice.cdk import Chalice
from chalice.utils import to_cfn_resource_name
from constructs import Construct

from chalicelib.api.edges import GATEWAY_PROBLEMS
from chalicelib.platforms.app_credentials import APP_CREDENTIALS
from chalicelib.settings import app_secret_variable, queue_url_variable
from infrastructure import catalog, outputs
from infrastructure.monitoring import add_monitoring
from infrastructure.parameters import add_parameters
from infrastructure.permissions import function_role
from infrastructure.tables import add_tables

REPO_ROOT = Path(__file__).resolve().parent.parent

# Chalice's handler for the HTTP API (its resource id in the
# template `chalice package` writes is "APIHandler").
API_FUNCTION = catalog.API.name
API_STAGE = catalog.API_STAGE
API_TIMEOUT_SECONDS = catalog.API.timeout
API_MEMORY_MB = catalog.API.memory_mb
LOG_RETENTION = logs.RetentionDays.ONE_MONTH


class OpenpostStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        cors_origins: Sequence[str] = ("*",),
        tracing: bool = False,
        public_base_url: str | None = None,
        alarm_email: str | None = None,
        **kwargs,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        # The stack name prefixes every named resource, so several deployments can share an account.
        prefix = self.stack_name
        function_names = {API_FUNCTION: f"{prefix}-{API_FUNCTION}"}
        function_names.update({spec.name: f"{prefix}-{spec.name}" for spec in catalog.FUNCTIONS})

        tables = add_tables(self, prefix)
        queues, dead_letter_queues = self._add_queues(prefix)
        media_bucket = self._add_media_bucket(list(cors_origins))
        tokens_key = kms.Key(
            self,
            "TokensKey",
            description="Encrypts the platform tokens openpost stores",
            enable_key_rotation=True,
            # Alias names are unique per account and region: the stack name keeps deployments apart.
            alias=f"alias/{prefix}-{catalog.TOKENS_KEY_ALIAS}",
            # Destroying the key would make every stored token unreadable.
            removal_policy=RemovalPolicy.RETAIN,
            # The key policy stays AWS's default (kms:* for the account root): it adds no access of
            # its own, it lets IAM policies decide, and the function role allows three actions.
        )
        app_secrets = self._add_app_secrets()
        log_groups = [
            logs.LogGroup(
                self,
                f"{name}-logs",
                log_group_name=f"/aws/lambda/{function_name}",
                retention=LOG_RETENTION,
                removal_policy=RemovalPolicy.DESTROY,
            )
            for name, function_name in function_names.items()
        ]
        role = function_role(
            self,
            tables=tables.values(),
            queues=[*queues.values(), *dead_letter_queues.values()],
            media_bucket=media_bucket,
            tokens_key=tokens_key,
            app_secrets=app_secrets.values(),
            log_groups=log_groups,
        )

        environment = {
            "OPENPOST_STAGE": prefix,
            "OPENPOST_RESOURCE_PREFIX": prefix,
            "OPENPOST_MEDIA_BUCKET": media_bucket.bucket_name,
            "OPENPOST_TOKENS_KEY_ID": tokens_key.key_id,
            **catalog.RUNTIME_ENVIRONMENT,
            "POWERTOOLS_TRACE_DISABLED": "false" if tracing else "true",
            **{queue_url_variable(name): queue.queue_url for name, queue in queues.items()},
            # The reconciler settles what reaches the dead-letter queues.
            **{queue_url_variable(f"{name}-dlq"): queue.queue_url for name, queue in dead_letter_queues.items()},
            # Where each platform app's credentials are: the secret's ARN, never its value.
            **{app_secret_variable(platform): secret.secret_arn for platform, secret in app_secrets.items()},
            **add_parameters(self),
        }
        if public_base_url:
            environment["OPENPOST_PUBLIC_BASE_URL"] = public_base_url
        environment["OPENPOST_CORS_ORIGINS"] = ",".join(cors_origins)

        # Chalice packages app.py, chalicelib/ and requirements.txt here, during synthesis. Its
        # stage is named after the stack.
        self.chalice = Chalice(
            self,
            "App",
            source_dir=str(REPO_ROOT),
            stage_config={
                "api_gateway_stage": API_STAGE,
                "manage_iam_role": False,
                "iam_role_arn": role.role_arn,
                "autogen_policy": False,
                "xray": tracing,
                "lambda_timeout": API_TIMEOUT_SECONDS,
                "lambda_memory_size": API_MEMORY_MB,
                "environment_variables": environment,
            },
        )
        self._functions: dict[str, lambda_.IFunction] = {}
        self._configure_functions(function_names)
        self._connect_queues(queues)
        self._notify_uploads(media_bucket, queues[catalog.MEDIA_UPLOAD_QUEUE])
        self._add_schedules()
        self._add_gateway_responses()
        self._add_outputs(prefix, queues, dead_letter_queues, media_bucket, tokens_key, app_secrets)
        # Alarms on one topic (an address subscribed when alarm_email is given), and a dashboard.
        self.monitoring = add_monitoring(self, prefix, function_names, queues, dead_letter_queues, alarm_email)
        CfnOutput(self, "AlarmTopicArnOutput", key=outputs.ALARM_TOPIC_ARN, value=self.monitoring.topic.topic_arn)

    def _add_gateway_responses(self) -> None:
        """What API Gateway answers itself (an unknown path, a body over 10 MB, throttling, the 29 s
        timeout) as problem+json, like every answer of the API (chalicelib/api/edges.py)."""
        rest_api = self.chalice.get_resource("RestAPI")
        for kind, problem in GATEWAY_PROBLEMS.items():
            generic = kind.startswith("DEFAULT_")
            # The generic ones keep API Gateway's status and say its message; the others say ours.
            body = problem.body()
            if generic:
                body.pop("status")
                body["detail"] = "$context.error.messageString"
            template = json.dumps(body).replace('"$context.error.messageString"', "$context.error.messageString")
            apigateway.CfnGatewayResponse(
                self,
                f"{kind.lower()}-response",
                rest_api_id=rest_api.ref,
                response_type=kind,
                status_code=None if generic else str(problem.status),
                response_parameters={"gatewayresponse.header.Content-Type": "'application/problem+json'"},
                response_templates={"application/json": template},
            )

    def _add_app_secrets(self) -> dict[str, secretsmanager.Secret]:
        """One Secrets Manager secret per platform that declares app credentials, for the operator
        to fill (docs/deploy.md). It starts as an empty JSON object: the same constant on every
        deploy, so CloudFormation never touches a value put there since, and nothing of the value
        is ever in the template.

        Named by CloudFormation (found through the stack's outputs): a fixed name would stop the
        stack from being created again while a deleted secret of that name awaits its deletion.
        Removed with the stack: the credentials can be had again from the platform's developer
        portal, unlike the users' data the stack keeps."""
        return {
            platform: secretsmanager.Secret(
                self,
                f"{platform}-app-secret",
                description=f"openpost ({self.stack_name}): the {platform} app's credentials, a JSON object "
                f"with {', '.join(names)}",
                secret_string_value=SecretValue.unsafe_plain_text("{}"),
                removal_policy=RemovalPolicy.DESTROY,
            )
            for platform, names in APP_CREDENTIALS.items()
        }

    def _add_queues(self, prefix: str) -> tuple[dict[str, sqs.Queue], dict[str, sqs.Queue]]:
        """Each catalog queue and its dead-letter queue, by the queue's logical name."""
        queues: dict[str, sqs.Queue] = {}
        dead_letter_queues: dict[str, sqs.Queue] = {}
        for spec in catalog.QUEUES:
            dead_letters = sqs.Queue(
                self,
                f"{spec.name}-dlq",
                queue_name=f"{prefix}-{spec.dlq_name}",
                retention_period=Duration.days(spec.dlq_retention_days),
                encryption=sqs.QueueEncryption.SQS_MANAGED,
                enforce_ssl=True,
            )
            queues[spec.name] = sqs.Queue(
                self,
                f"{spec.name}-queue",
                queue_name=f"{prefix}-{spec.name}",
                visibility_timeout=Duration.seconds(spec.visibility_timeout),
                retention_period=Duration.days(spec.retention_days),
                encryption=sqs.QueueEncryption.SQS_MANAGED,
                enforce_ssl=True,
                dead_letter_queue=sqs.DeadLetterQueue(queue=dead_letters, max_receive_count=spec.max_receive_count),
            )
            dead_letter_queues[spec.name] = dead_letters
        return queues, dead_letter_queues

    def _add_media_bucket(self, cors_origins: list) -> s3.Bucket:
        return s3.Bucket(
            self,
            "MediaBucket",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            # Our users' media: kept when the stack goes.
            removal_policy=RemovalPolicy.RETAIN,
            # Browsers upload straight to presigned URLs and read the result back.
            cors=[
                s3.CorsRule(
                    allowed_methods=[s3.HttpMethods.PUT, s3.HttpMethods.GET, s3.HttpMethods.HEAD],
                    allowed_origins=cors_origins,
                    allowed_headers=["*"],
                    exposed_headers=["ETag"],
                    max_age=3600,
                )
            ],
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="expire-abandoned-uploads",
                    prefix=catalog.MEDIA_UPLOAD_PREFIX,
                    expiration=Duration.days(catalog.ABANDONED_UPLOAD_DAYS),
                ),
                s3.LifecycleRule(
                    id="abort-incomplete-multipart-uploads",
                    abort_incomplete_multipart_upload_after=Duration.days(1),
                ),
            ],
        )

    def _notify_uploads(self, bucket: s3.Bucket, queue: sqs.Queue) -> None:
        """Each object created under the upload prefix is announced on the media queue, whose
        consumer (the verifier) judges it. Chalice's own S3 trigger cannot be packaged, and a queue
        keeps what a failing verifier has not taken.

        Declared on the bucket itself rather than through CDK's notification helper, which adds a
        custom-resource Lambda function and a second role. S3 checks that it may send to the queue
        when the configuration is set, so the queue's policy comes first; it names the account, not
        the bucket, since the bucket's ARN in the policy would make the two depend on each other."""
        allowed = queue.add_to_resource_policy(
            iam.PolicyStatement(
                sid="UploadNotifications",
                principals=[iam.ServicePrincipal("s3.amazonaws.com")],
                actions=["sqs:SendMessage"],
                resources=[queue.queue_arn],
                conditions={"StringEquals": {"aws:SourceAccount": self.account}},
            )
        )
        cfn_bucket = bucket.node.default_child
        cfn_bucket.notification_configuration = s3.CfnBucket.NotificationConfigurationProperty(
            queue_configurations=[
                s3.CfnBucket.QueueConfigurationProperty(
                    event="s3:ObjectCreated:*",
                    queue=queue.queue_arn,
                    filter=s3.CfnBucket.NotificationFilterProperty(
                        s3_key=s3.CfnBucket.S3KeyFilterProperty(
                            rules=[s3.CfnBucket.FilterRuleProperty(name="prefix", value=catalog.MEDIA_UPLOAD_PREFIX)]
                        )
                    ),
                )
            ]
        )
        cfn_bucket.node.add_dependency(allowed.policy_dependable)

    def _configure_functions(self, function_names: dict[str, str]) -> None:
        # Fixed names, so each function writes to the log group made for it above.
        self.chalice.get_resource("APIHandler").add_property_override("FunctionName", function_names[API_FUNCTION])
        # Chalice reads per-function settings only from .chalice/config.json, never from the
        # stage_config handed to the construct, so the catalog's sizes go onto the resources.
        for spec in catalog.FUNCTIONS:
            function = self.chalice.get_resource(to_cfn_resource_name(spec.name))
            function.add_property_override("FunctionName", function_names[spec.name])
            function.add_property_override("Timeout", spec.timeout)
            function.add_property_override("MemorySize", spec.memory_mb)
            function.add_property_override("Description", spec.description)

    def _connect_queues(self, queues: dict[str, sqs.Queue]) -> None:
        for spec in catalog.QUEUES:
            if spec.consumer is None:
                continue
            lambda_.EventSourceMapping(
                self,
                f"{spec.name}-to-{spec.consumer}",
                target=self._function(spec.consumer),
                event_source_arn=queues[spec.name].queue_arn,
                batch_size=spec.batch_size,
                max_batching_window=Duration.seconds(spec.max_batching_window),
                # The consumer reports which messages failed; only those are delivered again.
                report_batch_item_failures=True,
            )

    def _add_schedules(self) -> None:
        for spec in catalog.SCHEDULES:
            events.Rule(
                self,
                f"{spec.name}-schedule",
                description=spec.description,
                schedule=events.Schedule.expression(spec.expression),
                targets=[targets.LambdaFunction(self._function(spec.function))],
            )

    def _function(self, name: str) -> lambda_.IFunction:
        """A catalog function, as a CDK function of this stack.

        Not Chalice's get_function(): CDK takes the function that returns for one of unknown
        account and region, and then silently adds no invoke permission for an EventBridge rule.
        """
        if name not in self._functions:
            resource = self.chalice.get_resource(to_cfn_resource_name(name))
            self._functions[name] = lambda_.Function.from_function_attributes(
                self,
                f"{name}-function",
                function_arn=resource.get_att("Arn").to_string(),
                same_environment=True,
            )
        return self._functions[name]

    def _add_outputs(self, prefix, queues, dead_letter_queues, media_bucket, tokens_key, app_secrets) -> None:
        def output(key: str, value: str, description: str | None = None) -> None:
            # The key is what describe-stacks shows; the construct id only has to be unique.
            CfnOutput(self, f"{key}Output", key=key, value=value, description=description)

        output(outputs.API_URL, self.chalice.sam_template.get_output("EndpointURL").value, "Base URL of the HTTP API")
        output(outputs.RESOURCE_PREFIX, prefix, "Tables are named <prefix>-<logical name>")
        output(outputs.MEDIA_BUCKET, media_bucket.bucket_name)
        output(outputs.TOKENS_KEY_ID, tokens_key.key_id)
        for platform, secret in app_secrets.items():
            output(
                outputs.app_secret_arn(platform),
                secret.secret_arn,
                f"Put the {platform} app's credentials here (docs/deploy.md)",
            )
        for name, queue in queues.items():
            output(outputs.queue_url(name), queue.queue_url)
            output(outputs.dead_letter_queue_url(name), dead_letter_queues[name].queue_url)
