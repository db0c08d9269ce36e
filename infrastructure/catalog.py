"""What openpost runs on, as data: the one list that deployment and the local stack both read.

The CDK stack (infrastructure/stack.py) builds each entry into CloudFormation; the local stack
(tools/devstack.py) creates the same resources in moto and delivers the same schedules and queue
messages to the same handlers. Tables are not listed here: the PynamoDB models in
chalicelib/data/models.py are their definition, and both sides read them (``TABLE_MODELS``).
"""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.data.models import TABLE_MODELS  # noqa: F401  (re-exported: tables are part of the catalog)
from chalicelib.data.queues import PUBLISH_MAX_RECEIVES


@dataclass(frozen=True)
class QueueSpec:
    name: str  # logical name; its URL reaches functions as OPENPOST_QUEUE_URL_<NAME>
    consumer: str | None  # the Chalice lambda_function that the queue triggers, if any
    visibility_timeout: int  # seconds; at least six times the consumer's timeout, as AWS advises
    max_receive_count: int  # deliveries before a message moves to the queue's dead-letter queue
    batch_size: int = 10
    max_batching_window: int = 0  # seconds the event source waits to fill a batch
    retention_days: int = 4
    dlq_retention_days: int = 14

    @property
    def dlq_name(self) -> str:
        return f"{self.name}-dlq"


@dataclass(frozen=True)
class ScheduleSpec:
    name: str
    function: str  # the Chalice lambda_function it invokes
    rate_minutes: int
    description: str

    @property
    def expression(self) -> str:
        unit = "minute" if self.rate_minutes == 1 else "minutes"
        return f"rate({self.rate_minutes} {unit})"


@dataclass(frozen=True)
class FunctionSpec:
    name: str  # the name given to @app.lambda_function in app.py
    timeout: int  # seconds
    memory_mb: int
    description: str


# What every function runs with besides its resources' names, deployed and in the local stack alike.
RUNTIME_ENVIRONMENT = {
    "POWERTOOLS_SERVICE_NAME": "openpost",
    "POWERTOOLS_METRICS_NAMESPACE": "openpost",
    # No Pydantic plugin is installed. Left on, the first model a container builds (its first
    # request's) first reads the metadata of every package in the bundle looking for one (~6 ms).
    "PYDANTIC_DISABLE_PLUGINS": "__all__",
}

# The HTTP API: Chalice's API handler behind API Gateway, on the stage below. API Gateway gives up
# on an integration after 29 seconds, so a longer Lambda timeout would buy nothing.
API = FunctionSpec("api", timeout=29, memory_mb=512, description="The HTTP API")
API_STAGE = "api"

# The workers: each is an @app.lambda_function in app.py of the same name.
FUNCTIONS: tuple[FunctionSpec, ...] = (
    FunctionSpec(
        "dispatcher",
        timeout=50,
        memory_mb=512,
        description="Finds posts due before the next tick and queues their targets on time",
    ),
    # Mostly waiting on the network (the platform's answer, the last fraction of a second before a post
    # is due): about 10 ms of our own CPU a target, so 512 MB (0.29 vCPU) serves a batch of 5 side by
    # side and halves what the waits cost. A container's first Bluesky publish imports atproto at that
    # CPU (about 3 s instead of 1.5 s), once per container.
    FunctionSpec(
        "publisher", timeout=60, memory_mb=512, description="Publishes one post target at a time to its platform"
    ),
    FunctionSpec(
        "reconciler",
        timeout=120,
        memory_mb=512,
        description="Settles targets stuck past their lease, missed schedules and dead letters",
    ),
    # Reads only a file's header by range and copies it inside S3: its memory does not grow with
    # the file, so a 1 GB video needs no more than a thumbnail.
    FunctionSpec(
        "verifier", timeout=60, memory_mb=256, description="Checks each uploaded file's real type, size and dimensions"
    ),
    # A batch's records run side by side; each send ends within 10 s.
    FunctionSpec(
        "webhooks", timeout=30, memory_mb=256, description="Fans events out to webhook endpoints and delivers them"
    ),
    FunctionSpec(
        "analytics_planner",
        timeout=60,
        memory_mb=512,
        description="Queues the published targets each analytics tier refreshes now, grouped by integration",
    ),
    FunctionSpec(
        "analytics_refresh",
        timeout=120,
        memory_mb=512,
        description="Reads post metrics from each platform in its largest batches; writes CSV exports",
    ),
)

QUEUES: tuple[QueueSpec, ...] = (
    QueueSpec(
        "publish", consumer="publisher", visibility_timeout=360, max_receive_count=PUBLISH_MAX_RECEIVES, batch_size=5
    ),
    # S3 sends a message here for every object created under MEDIA_UPLOAD_PREFIX.
    QueueSpec("media", consumer="verifier", visibility_timeout=360, max_receive_count=5),
    # Events, and the webhook delivery attempts they fan out into (one message per endpoint).
    QueueSpec("events", consumer="webhooks", visibility_timeout=180, max_receive_count=8),
    # One message: one integration's targets at one refresh slot (or a CSV export).
    QueueSpec("analytics", consumer="analytics_refresh", visibility_timeout=720, max_receive_count=6, batch_size=5),
)

SCHEDULES: tuple[ScheduleSpec, ...] = (
    ScheduleSpec(
        "dispatch",
        function="dispatcher",
        rate_minutes=1,
        description="Queue every post due before the next tick, to the second",
    ),
    ScheduleSpec(
        "reconcile",
        function="reconciler",
        rate_minutes=5,
        description="Settle stuck targets, missed schedules and dead letters",
    ),
    ScheduleSpec(
        "analytics-plan",
        function="analytics_planner",
        # Slots start on the half hour: a tick at most 10 minutes late is well inside the cadence.
        rate_minutes=10,
        description="Queue the analytics refresh of every target whose tier slot has come",
    ),
)

# Media uploads: browsers PUT to presigned URLs, so the bucket allows cross-origin PUT; an upload
# that was never confirmed is removed by the bucket lifecycle after this many days.
MEDIA_UPLOAD_PREFIX = "uploads/"
ABANDONED_UPLOAD_DAYS = 1
# The queue S3 notifies of each object created under MEDIA_UPLOAD_PREFIX; verified files move to
# MEDIA_STORED_PREFIX, which no lifecycle rule touches.
MEDIA_UPLOAD_QUEUE = "media"
MEDIA_STORED_PREFIX = "media/"

# The KMS key that encrypts platform tokens at rest.
TOKENS_KEY_ALIAS = "platform-tokens"


def function(name: str) -> FunctionSpec:
    return next(spec for spec in FUNCTIONS if spec.name == name)
