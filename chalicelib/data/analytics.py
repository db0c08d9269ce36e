"""Analytics in DynamoDB: append-only snapshots, tracked targets, and the refresh's own marks.

Access patterns (docs/analytics.md): a post's history = Query on the post's partition; a
workspace's or an integration's recent snapshots = Query on ``by_scope`` / ``by_integration``,
newest first; the targets a tier refreshes at a slot = one range Query per shard of the sparse
``by_publication`` index (never a Scan). A snapshot is one conditional PutItem.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from pynamodb.exceptions import PutError, UpdateError

from chalicelib.data.clients import LazyClient
from chalicelib.data.errors import is_condition_failure
from chalicelib.data.models import AnalyticsSnapshotRecord, AnalyticsTrackingRecord
from chalicelib.data.posts import sortable
from chalicelib.data.queues import sqs_visibility
from chalicelib.domain.analytics.model import IntegrationState, Snapshot, Tracked, month_of

SHARDS = 4
PLANNER_SCOPE = "planner"
BATCH_GET = 100
# A tracked target is kept a little past its last refresh (90 days), then TTL removes it.
TRACKED_DAYS = 92


def _shard(post_id: str, target_id: str) -> str:
    number = int(hashlib.sha256(f"{post_id}#{target_id}".encode()).hexdigest(), 16) % SHARDS
    return f"pub#{number}"


def _snapshot(record: AnalyticsSnapshotRecord) -> Snapshot:
    workspace_id, mode = record.scope.rsplit("#", 1)
    return Snapshot(
        id=record.id,
        workspace_id=workspace_id,
        mode=mode,
        post_id=record.post_id,
        target_id=record.target_id,
        integration_id=record.integration_id,
        platform=record.platform,
        slot=record.slot_key.split("#", 1)[1],
        captured_at=record.captured_at,
        impressions=_int(record.impressions),
        likes=_int(record.likes),
        comments=_int(record.comments),
        shares=_int(record.shares),
        platform_data=record.platform_data or {},
        username=record.username,
        post_url=record.post_url,
    )


def _int(value) -> int | None:
    return None if value is None else int(value)


class AnalyticsStore:
    # --- snapshots -----------------------------------------------------------------------------
    def append(self, snapshot: Snapshot) -> bool:
        """Write the snapshot unless this target already has one for its slot; True if written."""
        record = AnalyticsSnapshotRecord(
            post_key=f"{snapshot.scope}#{snapshot.post_id}",
            slot_key=f"{snapshot.target_id}#{snapshot.slot}",
            id=snapshot.id,
            scope=snapshot.scope,
            integration_key=f"{snapshot.scope}#{snapshot.integration_id}",
            captured_key=f"{sortable(snapshot.captured_at)}#{snapshot.id}",
            post_id=snapshot.post_id,
            target_id=snapshot.target_id,
            integration_id=snapshot.integration_id,
            platform=snapshot.platform,
            username=snapshot.username,
            post_url=snapshot.post_url,
            captured_at=snapshot.captured_at,
            impressions=snapshot.impressions,
            likes=snapshot.likes,
            comments=snapshot.comments,
            shares=snapshot.shares,
            platform_data=snapshot.platform_data,
        )
        try:
            record.save(condition=AnalyticsSnapshotRecord.slot_key.does_not_exist())
            return True
        except PutError as error:
            if is_condition_failure(error):
                return False
            raise

    def captured(self, scope: str, keys: Iterable[tuple[str, str, str]]) -> set[tuple[str, str]]:
        """Of (post_id, target_id, slot), the (target_id, slot) pairs already captured: reads, so
        a redelivered refresh asks the platform nothing."""
        wanted = [(f"{scope}#{post_id}", f"{target_id}#{slot}") for post_id, target_id, slot in keys]
        found: set[tuple[str, str]] = set()
        for start in range(0, len(wanted), BATCH_GET):
            for record in AnalyticsSnapshotRecord.batch_get(
                wanted[start : start + BATCH_GET], attributes_to_get=["post_key", "slot_key"]
            ):
                target_id, slot = record.slot_key.split("#", 1)
                found.add((target_id, slot))
        return found

    def recent(self, scope: str, since: dt.datetime, integration_id: str | None, limit: int) -> list[Snapshot]:
        """Newest first, captured at or after ``since``, at most ``limit``."""
        if integration_id:
            index, key = AnalyticsSnapshotRecord.by_integration, f"{scope}#{integration_id}"
        else:
            index, key = AnalyticsSnapshotRecord.by_scope, scope
        condition = AnalyticsSnapshotRecord.captured_key >= sortable(since)
        records = index.query(key, condition, scan_index_forward=False, limit=limit)
        return [_snapshot(record) for record in records]

    def all_since(self, scope: str, since: dt.datetime, integration_id: str | None) -> Iterator[Snapshot]:
        """Every snapshot since ``since``, newest first, page by page (for exports)."""
        if integration_id:
            index, key = AnalyticsSnapshotRecord.by_integration, f"{scope}#{integration_id}"
        else:
            index, key = AnalyticsSnapshotRecord.by_scope, scope
        condition = AnalyticsSnapshotRecord.captured_key >= sortable(since)
        for record in index.query(key, condition, scan_index_forward=False):
            yield _snapshot(record)

    def of_post(self, scope: str, post_id: str) -> list[Snapshot]:
        """Every snapshot of the post's targets (a post's history is bounded by the tiers)."""
        return [_snapshot(record) for record in AnalyticsSnapshotRecord.query(f"{scope}#{post_id}")]

    # --- tracked targets -----------------------------------------------------------------------
    def track(self, tracked: Tracked) -> None:
        published = sortable(tracked.published_at)
        AnalyticsTrackingRecord(
            scope=tracked.scope,
            item_key=f"target#{tracked.post_id}#{tracked.target_id}",
            published_shard=_shard(tracked.post_id, tracked.target_id),
            published_key=f"{published}#{tracked.post_id}#{tracked.target_id}",
            data=tracked.as_dict(),
            expires_at=int((tracked.published_at + dt.timedelta(days=TRACKED_DAYS)).timestamp()),
        ).save()

    def published_between(self, start: dt.datetime, end: dt.datetime) -> Iterator[Tracked]:
        """Every tracked target published in [start, end), over all shards."""
        low, high = sortable(start), sortable(end)
        for shard in range(SHARDS):
            condition = AnalyticsTrackingRecord.published_key.between(low, high)
            for record in AnalyticsTrackingRecord.by_publication.query(f"pub#{shard}", condition):
                if record.published_key < high:
                    yield Tracked.from_dict(record.data)

    def tracked_of_post(self, scope: str, post_id: str) -> list[Tracked]:
        records = AnalyticsTrackingRecord.query(
            scope, AnalyticsTrackingRecord.item_key.startswith(f"target#{post_id}#")
        )
        return [Tracked.from_dict(record.data) for record in records]

    # --- the planner's marks -------------------------------------------------------------------
    def claim_slot(self, tier: str, slot: str) -> bool:
        """True for the one tick that plans this tier's slot; False when it was planned already."""
        record = AnalyticsTrackingRecord(scope=PLANNER_SCOPE, item_key=tier)
        condition = AnalyticsTrackingRecord.slot.does_not_exist() | (AnalyticsTrackingRecord.slot < slot)
        return self._conditional(
            lambda: record.update(actions=[AnalyticsTrackingRecord.slot.set(slot)], condition=condition)
        )

    # --- integrations --------------------------------------------------------------------------
    def integration_state(self, scope: str, integration_id: str) -> IntegrationState:
        try:
            record = AnalyticsTrackingRecord.get(scope, f"integration#{integration_id}")
        except AnalyticsTrackingRecord.DoesNotExist:
            return IntegrationState()
        return IntegrationState(
            backoff_until=record.backoff_until,
            month=record.month,
            reads=int(record.reads or 0),
            exhausted=record.exhausted,
            unavailable=record.unavailable,
        )

    def back_off(self, scope: str, integration_id: str, until: dt.datetime) -> None:
        record = AnalyticsTrackingRecord(scope=scope, item_key=f"integration#{integration_id}")
        record.update(actions=[AnalyticsTrackingRecord.backoff_until.set(until)])

    def meter(self, scope: str, integration_id: str, now: dt.datetime, reads: int, budget: int) -> bool:
        """Count ``reads`` against this month's budget; False (nothing counted) when they do not fit.
        The first reads of a month start its count over; two workers doing that at once both count."""
        month = month_of(now)
        record = AnalyticsTrackingRecord(scope=scope, item_key=f"integration#{integration_id}")

        def add():
            return record.update(
                actions=[AnalyticsTrackingRecord.reads.add(reads)],
                condition=(AnalyticsTrackingRecord.month == month) & (AnalyticsTrackingRecord.reads <= budget - reads),
            )

        def start_month():
            return record.update(
                actions=[AnalyticsTrackingRecord.month.set(month), AnalyticsTrackingRecord.reads.set(reads)],
                condition=AnalyticsTrackingRecord.month.does_not_exist() | (AnalyticsTrackingRecord.month != month),
            )

        for _ in range(2):
            if self._conditional(add) or (reads <= budget and self._conditional(start_month)):
                return True
        return False

    def mark_exhausted(self, scope: str, integration_id: str, now: dt.datetime | None) -> None:
        """Say (or, with None, stop saying) that this month's read budget is spent."""
        record = AnalyticsTrackingRecord(scope=scope, item_key=f"integration#{integration_id}")
        action = (
            AnalyticsTrackingRecord.exhausted.set(month_of(now))
            if now is not None
            else AnalyticsTrackingRecord.exhausted.remove()
        )
        record.update(actions=[action])

    def mark_unavailable(self, scope: str, integration_id: str, reason: str | None) -> None:
        record = AnalyticsTrackingRecord(scope=scope, item_key=f"integration#{integration_id}")
        action = (
            AnalyticsTrackingRecord.unavailable.set(reason) if reason else AnalyticsTrackingRecord.unavailable.remove()
        )
        record.update(actions=[action])

    # --- refresh on request --------------------------------------------------------------------
    def claim_refresh(self, scope: str, post_id: str, now: dt.datetime, every: dt.timedelta) -> dt.datetime | None:
        """Mark the post refreshed now; None if so, else when the last refresh was."""
        record = AnalyticsTrackingRecord(scope=scope, item_key=f"refresh#{post_id}")
        condition = AnalyticsTrackingRecord.at.does_not_exist() | (AnalyticsTrackingRecord.at <= now - every)
        expires = int((now + every).timestamp()) + 3600
        if self._conditional(
            lambda: record.update(
                actions=[AnalyticsTrackingRecord.at.set(now), AnalyticsTrackingRecord.expires_at.set(expires)],
                condition=condition,
            )
        ):
            return None
        return AnalyticsTrackingRecord.get(scope, f"refresh#{post_id}", consistent_read=True).at

    # --- exports -------------------------------------------------------------------------------
    def save_export(self, scope: str, export_id: str, data: dict[str, Any], expires_at: dt.datetime) -> None:
        AnalyticsTrackingRecord(
            scope=scope, item_key=f"export#{export_id}", data=data, expires_at=int(expires_at.timestamp())
        ).save()

    def export(self, scope: str, export_id: str) -> dict[str, Any] | None:
        try:
            return AnalyticsTrackingRecord.get(scope, f"export#{export_id}", consistent_read=True).data
        except AnalyticsTrackingRecord.DoesNotExist:
            return None

    @staticmethod
    def _conditional(write: Callable[[], Any]) -> bool:
        try:
            write()
            return True
        except UpdateError as error:
            if is_condition_failure(error):
                return False
            raise


SQS_BATCH = 10
# SQS refuses a batch whose messages together pass 256 KiB (the classic limit; newer queues take
# 1 MiB): a batch is cut at whichever comes first, 10 messages or this many bytes.
SQS_BATCH_BYTES = 250_000


class AnalyticsQueue(LazyClient):
    """The analytics queue: refresh work grouped by integration, and CSV exports."""

    def __init__(self, sqs_client_factory: Callable[[], object], url: str):
        super().__init__(sqs_client_factory)
        self._url = url

    def send(self, messages: list[dict[str, Any]]) -> None:
        batch: list[dict[str, str]] = []
        size = 0
        for index, body in enumerate(messages):
            text = json.dumps(body, separators=(",", ":"))
            if batch and (len(batch) == SQS_BATCH or size + len(text.encode()) > SQS_BATCH_BYTES):
                self._send_batch(batch)
                batch, size = [], 0
            batch.append({"Id": str(index), "MessageBody": text})
            size += len(text.encode())
        if batch:
            self._send_batch(batch)

    def _send_batch(self, entries: list[dict[str, str]]) -> None:
        result = self.client.send_message_batch(QueueUrl=self._url, Entries=entries)
        if result.get("Failed"):
            raise RuntimeError(f"{len(result['Failed'])} analytics messages were refused: {result['Failed'][0]}")

    def retry_in(self, receipt_handle: str, seconds: float) -> None:
        self.client.change_message_visibility(
            QueueUrl=self._url, ReceiptHandle=receipt_handle, VisibilityTimeout=sqs_visibility(seconds)
        )


class ExportFiles(LazyClient):
    """CSV exports in the bucket, under ``exports/``, handed out by presigned GET."""

    PREFIX = "exports/"

    def __init__(self, s3_client_factory: Callable[[], object], bucket: str):
        super().__init__(s3_client_factory)
        self._bucket = bucket

    def put(self, key: str, body: bytes) -> None:
        self.client.put_object(
            Bucket=self._bucket,
            Key=key,
            Body=body,
            ContentType="text/csv; charset=utf-8",
            ContentDisposition="attachment",
        )

    def url(self, key: str, expires_in: int) -> str:
        return self.client.generate_presigned_url(
            "get_object", Params={"Bucket": self._bucket, "Key": key}, ExpiresIn=expires_in
        )
