"""Webhook endpoints and their delivery log in DynamoDB.

Endpoints are few per workspace and read whole (one Query on the scope). A delivery is one item,
written before each attempt is sent (``sending``, with a lease) and after it (its outcome), each
write conditional on what the writer last read, so two workers never both record one attempt.
"""

from __future__ import annotations

import builtins
import datetime as dt

from chalicelib.data.errors import conflict_on_condition
from chalicelib.data.models import WebhookDeliveryRecord, WebhookRecord, scope_of
from chalicelib.domain.records import Delivery, Webhook
from chalicelib.errors import NotFoundError

KEEP_DELIVERIES = dt.timedelta(days=30)


def _webhook(record: WebhookRecord) -> Webhook:
    workspace_id, _, mode = record.scope.rpartition("#")
    return Webhook(
        id=record.id,
        workspace_id=workspace_id,
        mode=mode,
        url=record.url,
        events=tuple(record.events or ()),
        description=record.description or "",
        enabled=bool(record.enabled),
        sealed_secret=record.secret,
        created_at=record.created_at,
        updated_at=record.updated_at,
        version=int(record.version),
        sealed_previous_secret=record.previous_secret,
        previous_secret_until=record.previous_secret_until,
        disabled_reason=record.disabled_reason,
        failing_since=record.failing_since,
    )


def _webhook_record(webhook: Webhook) -> WebhookRecord:
    return WebhookRecord(
        scope=scope_of(webhook.workspace_id, webhook.mode),
        id=webhook.id,
        version=webhook.version,
        url=webhook.url,
        events=list(webhook.events),
        description=webhook.description,
        enabled=webhook.enabled,
        secret=webhook.sealed_secret,
        previous_secret=webhook.sealed_previous_secret,
        previous_secret_until=webhook.previous_secret_until,
        disabled_reason=webhook.disabled_reason,
        failing_since=webhook.failing_since,
        created_at=webhook.created_at,
        updated_at=webhook.updated_at,
    )


class WebhookStore:
    def list(self, workspace_id: str, mode: str) -> builtins.list[Webhook]:
        return [_webhook(record) for record in WebhookRecord.query(scope_of(workspace_id, mode))]

    def get(self, workspace_id: str, mode: str, webhook_id: str) -> Webhook:
        try:
            return _webhook(WebhookRecord.get(scope_of(workspace_id, mode), webhook_id, consistent_read=True))
        except WebhookRecord.DoesNotExist:
            raise NotFoundError(f"No webhook {webhook_id} in this workspace.", code="webhook_not_found") from None

    def create(self, webhook: Webhook) -> None:
        with conflict_on_condition("A webhook with this id already exists."):
            _webhook_record(webhook).save(WebhookRecord.id.does_not_exist())

    def replace(self, before: Webhook, after: Webhook) -> Webhook:
        """Write ``after`` if nobody changed the endpoint since ``before`` was read (ConflictError)."""
        after = _with_version(after, before.version + 1)
        with conflict_on_condition("The webhook changed meanwhile.", code="webhook_changed"):
            _webhook_record(after).save(WebhookRecord.version == before.version)
        return after

    def delete(self, webhook: Webhook) -> None:
        with conflict_on_condition("The webhook was already deleted.", code="webhook_not_found"):
            WebhookRecord(scope_of(webhook.workspace_id, webhook.mode), webhook.id).delete(WebhookRecord.id.exists())


def _with_version(webhook: Webhook, version: int) -> Webhook:
    from dataclasses import replace

    return replace(webhook, version=version)


def endpoint_key(workspace_id: str, mode: str, webhook_id: str) -> str:
    return f"{scope_of(workspace_id, mode)}#{webhook_id}"


def _delivery(record: WebhookDeliveryRecord) -> Delivery:
    workspace_id, mode, webhook_id = record.endpoint_key.split("#")
    return Delivery(
        id=record.id,
        workspace_id=workspace_id,
        mode=mode,
        webhook_id=webhook_id,
        event_id=record.event_id,
        event_type=record.event_type,
        body=record.body,
        status=record.status,
        attempts=int(record.attempts or 0),
        created_at=record.created_at,
        updated_at=record.updated_at,
        history=tuple(record.history or ()),
        next_attempt_at=record.next_attempt_at,
        lease_until=record.lease_until,
    )


def _delivery_record(delivery: Delivery) -> WebhookDeliveryRecord:
    return WebhookDeliveryRecord(
        endpoint_key=endpoint_key(delivery.workspace_id, delivery.mode, delivery.webhook_id),
        id=delivery.id,
        event_id=delivery.event_id,
        event_type=delivery.event_type,
        body=delivery.body,
        status=delivery.status,
        attempts=delivery.attempts,
        history=list(delivery.history),
        next_attempt_at=delivery.next_attempt_at,
        lease_until=delivery.lease_until,
        created_at=delivery.created_at,
        updated_at=delivery.updated_at,
        expires_at=int((delivery.created_at + KEEP_DELIVERIES).timestamp()),
    )


class DeliveryStore:
    def create(self, delivery: Delivery) -> bool:
        """Write a new delivery; False when it already exists (the event was fanned out before)."""
        from pynamodb.exceptions import PutError

        from chalicelib.data.errors import is_condition_failure

        try:
            _delivery_record(delivery).save(WebhookDeliveryRecord.id.does_not_exist())
        except PutError as error:
            if is_condition_failure(error):
                return False
            raise
        return True

    def get(self, workspace_id: str, mode: str, webhook_id: str, delivery_id: str) -> Delivery:
        try:
            record = WebhookDeliveryRecord.get(
                endpoint_key(workspace_id, mode, webhook_id), delivery_id, consistent_read=True
            )
        except WebhookDeliveryRecord.DoesNotExist:
            raise NotFoundError(f"No delivery {delivery_id} for this webhook.", code="delivery_not_found") from None
        return _delivery(record)

    def replace(self, before: Delivery, after: Delivery) -> Delivery:
        """Write ``after`` if the delivery is still as ``before`` left it (same attempts, status
        and update time); ConflictError otherwise."""
        condition = (
            (WebhookDeliveryRecord.attempts == before.attempts)
            & (WebhookDeliveryRecord.status == before.status)
            & (WebhookDeliveryRecord.updated_at == before.updated_at)
        )
        with conflict_on_condition("The delivery changed meanwhile.", code="delivery_changed"):
            _delivery_record(after).save(condition)
        return after

    def page(
        self,
        workspace_id: str,
        mode: str,
        webhook_id: str,
        limit: int,
        offset: int,
        after: str | None,
        now: dt.datetime,
    ) -> tuple[builtins.list[Delivery], int, bool]:
        """Newest first: offset + limit + 1 items from the cursor, and the exact count of the
        deliveries still kept (one Query counting the endpoint's items, never a Scan)."""
        key = endpoint_key(workspace_id, mode, webhook_id)
        kept = WebhookDeliveryRecord.expires_at > int(now.timestamp())
        older = WebhookDeliveryRecord.id < after if after is not None else None
        records = WebhookDeliveryRecord.query(
            key, older, filter_condition=kept, scan_index_forward=False, limit=offset + limit + 1
        )
        read = [_delivery(record) for record in records]
        total = WebhookDeliveryRecord.count(key, filter_condition=kept)
        return read[offset : offset + limit], total, len(read) > offset + limit
