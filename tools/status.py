"""One screen for an operator: ``python -m tools.admin status --stack NAME``.

Read from the deployment (or the local stack, with ``--endpoint-url``), never written:

- each queue's messages waiting, in flight and delayed, and its dead-letter queue's depth; the
  oldest message's age from CloudWatch (``ApproximateAgeOfOldestMessage``, where it is published:
  SQS never says it itself, and receiving a message to look would count as a delivery);
- posts past due that no dispatch took (the ``due`` index, reaching back two minutes before now);
- posts publishing with targets that are neither finished nor held by a live worker (the ``inflight``
  index), exactly what the reconciler queues again;
- integrations that need a refresh, and disabled webhooks (Scans of those two small tables, filtered;
  the posts table is never scanned).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field

from chalicelib.clock import format_timestamp


@dataclass
class QueueStatus:
    name: str
    waiting: int
    in_flight: int
    delayed: int
    dead_letters: int
    oldest_age_seconds: float | None


@dataclass
class Status:
    at: str
    queues: list[QueueStatus] = field(default_factory=list)
    past_due: list[dict] = field(default_factory=list)
    stuck_publishing: list[dict] = field(default_factory=list)
    needs_refresh: list[dict] = field(default_factory=list)
    disabled_webhooks: list[dict] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


def read_status(services, now: dt.datetime | None = None) -> Status:
    now = now or services.clock.now()
    status = Status(at=format_timestamp(now))
    status.queues = _queues(services, now)
    status.past_due = _past_due(now)
    status.stuck_publishing = _stuck(now)
    status.needs_refresh, status.disabled_webhooks = _integrations_needing_refresh(), _disabled_webhooks()
    return status


def _queues(services, now: dt.datetime) -> list[QueueStatus]:
    from infrastructure import catalog

    sqs = services.aws_client("sqs")
    prefix = services.settings.resource_prefix
    found = []
    for spec in catalog.QUEUES:
        name = f"{prefix}-{spec.name}"
        attributes = _attributes(sqs, name)
        dead = _attributes(sqs, f"{prefix}-{spec.dlq_name}")
        found.append(
            QueueStatus(
                name=spec.name,
                waiting=int(attributes.get("ApproximateNumberOfMessages", 0)),
                in_flight=int(attributes.get("ApproximateNumberOfMessagesNotVisible", 0)),
                delayed=int(attributes.get("ApproximateNumberOfMessagesDelayed", 0)),
                dead_letters=int(dead.get("ApproximateNumberOfMessages", 0)),
                oldest_age_seconds=_oldest_age(services, name, now),
            )
        )
    return found


def _attributes(sqs, queue_name: str) -> dict:
    url = sqs.get_queue_url(QueueName=queue_name)["QueueUrl"]
    return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]


def _oldest_age(services, queue_name: str, now: dt.datetime) -> float | None:
    try:
        points = services.aws_client("cloudwatch").get_metric_statistics(
            Namespace="AWS/SQS",
            MetricName="ApproximateAgeOfOldestMessage",
            Dimensions=[{"Name": "QueueName", "Value": queue_name}],
            StartTime=now - dt.timedelta(minutes=10),
            EndTime=now,
            Period=60,
            Statistics=["Maximum"],
        )["Datapoints"]
    except Exception:  # noqa: BLE001 - no CloudWatch (or no permission): the age is unknown, not an error
        return None
    return max(points, key=lambda p: p["Timestamp"])["Maximum"] if points else None


def _past_due(now: dt.datetime) -> list[dict]:
    from chalicelib.data.posts import PostStore
    from chalicelib.domain.dispatching import REDISPATCH_AFTER
    from chalicelib.errors import NotFoundError

    store, found = PostStore(), []
    for scope, post_id in store.due(now - REDISPATCH_AFTER):
        try:
            post = store.get(scope, post_id)
        except NotFoundError:
            continue
        if post.status == "scheduled":
            found.append({"scope": scope, "post_id": post_id, "scheduled_at": format_timestamp(post.scheduled_at)})
    return found


def _stuck(now: dt.datetime) -> list[dict]:
    from chalicelib.data.posts import PostStore
    from chalicelib.domain.posts import target_finished
    from chalicelib.domain.reconciling import STUCK_AFTER, lease_alive
    from chalicelib.errors import NotFoundError

    store, found = PostStore(), []
    for scope, post_id in store.in_flight(started_before=now - STUCK_AFTER):
        try:
            post = store.get(scope, post_id)
        except NotFoundError:
            continue
        stuck = [t for t in post.targets if not target_finished(t) and not lease_alive(t, now)]
        if stuck:
            found.append(
                {
                    "scope": scope,
                    "post_id": post_id,
                    "since": format_timestamp(post.updated_at),
                    "targets": [{"id": t.id, "platform": t.platform, "in_flight_part": t.in_flight} for t in stuck],
                }
            )
    return found


def _integrations_needing_refresh() -> list[dict]:
    from chalicelib.data.models import IntegrationRecord

    return [
        {"scope": r.scope, "integration_id": r.id, "platform": r.platform, "username": r.username}
        for r in IntegrationRecord.scan(IntegrationRecord.status == "needs_refresh")
    ]


def _disabled_webhooks() -> list[dict]:
    from chalicelib.data.models import WebhookRecord

    return [
        {"scope": r.scope, "webhook_id": r.id, "url": r.url, "reason": r.disabled_reason}
        for r in WebhookRecord.scan(WebhookRecord.enabled == False)  # noqa: E712 - a PynamoDB condition
    ]


def render(status: Status) -> str:
    """The screen: a table of queues, then each list, or "none"."""

    def age(seconds):
        return "-" if seconds is None else f"{seconds:.0f} s"

    lines = [f"openpost status at {status.at}", "", "queue        waiting  in flight  delayed  dead letters  oldest"]
    for q in status.queues:
        lines.append(
            f"{q.name:<12} {q.waiting:>7}  {q.in_flight:>9}  {q.delayed:>7}  {q.dead_letters:>12}  "
            f"{age(q.oldest_age_seconds):>6}"
        )
    sections = (
        (
            "Posts past due, not dispatched",
            status.past_due,
            lambda p: f"{p['post_id']} ({p['scope']}) due {p['scheduled_at']}",
        ),
        (
            "Posts stuck publishing (no live worker)",
            status.stuck_publishing,
            lambda p: (
                f"{p['post_id']} ({p['scope']}) since {p['since']}: "
                + ", ".join(f"{t['platform']} {t['id']}" for t in p["targets"])
            ),
        ),
        (
            "Integrations needing a refresh",
            status.needs_refresh,
            lambda i: f"{i['integration_id']} ({i['scope']}) {i['platform']} @{i['username']}",
        ),
        (
            "Disabled webhooks",
            status.disabled_webhooks,
            lambda w: f"{w['webhook_id']} ({w['scope']}) {w['url']}: {w['reason']}",
        ),
    )
    for title, items, line in sections:
        lines += ["", f"{title}: {len(items) or 'none'}"]
        lines += [f"  {line(item)}" for item in items]
    return "\n".join(lines)
