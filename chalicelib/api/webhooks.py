"""/v1/webhooks: the endpoints a workspace's events are delivered to, and their delivery log."""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator

from chalicelib.api.routing import ApiBlueprint, Call, Page, Reply, page_in_memory
from chalicelib.api.schemas import PageQuery, RequestModel, ResponseModel, Timestamp, encode_cursor
from chalicelib.container import services
from chalicelib.domain.events import EVENT_TYPES
from chalicelib.domain.records import Delivery, Webhook
from chalicelib.errors import NotFoundError

blueprint = ApiBlueprint(__name__, tag="Webhooks")

_EVENTS_HELP = f"Event types to receive ({', '.join(EVENT_TYPES)}), or ['*'] for all."


class CreateWebhook(RequestModel):
    url: str = Field(min_length=1, max_length=2048, description="https URL that receives the events.")
    events: list[str] = Field(default_factory=lambda: ["*"], min_length=1, max_length=50, description=_EVENTS_HELP)
    description: str = Field(default="", max_length=500)
    enabled: bool = True


class UpdateWebhook(RequestModel):
    url: str | None = Field(default=None, min_length=1, max_length=2048)
    events: list[str] | None = Field(default=None, min_length=1, max_length=50, description=_EVENTS_HELP)
    description: str | None = Field(default=None, max_length=500)
    enabled: bool | None = Field(
        default=None, description="true resumes delivery of new events to a disabled endpoint."
    )

    @field_validator("url", "events", "description", "enabled")
    @classmethod
    def _not_null(cls, value):
        if value is None:
            raise ValueError("may be omitted, not null")
        return value


class WebhookOut(ResponseModel):
    id: str
    url: str
    events: list[str]
    description: str
    enabled: bool
    disabled_reason: str | None = Field(
        description="Why the endpoint is disabled: failing_for_5_days, endpoint_gone (it answered 410) "
        "or disabled_by_user."
    )
    failing_since: Timestamp | None = Field(
        description="The first failed attempt since the last success: 5 days of failures disable the endpoint."
    )
    secret_rotated_until: Timestamp | None = Field(
        description="After a rotation, until when the previous secret still signs every message too."
    )
    created_at: Timestamp
    updated_at: Timestamp

    @classmethod
    def of(cls, webhook: Webhook) -> WebhookOut:
        now = services().clock.now()
        rotating = (
            webhook.previous_secret_until
            if webhook.previous_secret_until and webhook.previous_secret_until > now
            else None
        )
        return cls(
            id=webhook.id,
            url=webhook.url,
            events=list(webhook.events),
            description=webhook.description,
            enabled=webhook.enabled,
            disabled_reason=webhook.disabled_reason,
            failing_since=webhook.failing_since,
            secret_rotated_until=rotating,
            created_at=webhook.created_at,
            updated_at=webhook.updated_at,
        )


class WebhookWithSecret(WebhookOut):
    secret: str = Field(description="The signing secret (whsec_...). Shown only in this response; store it now.")


class Attempt(ResponseModel):
    attempt: int
    at: str
    outcome: str = Field(description="succeeded, failed, or interrupted (the worker stopped before recording it)")
    status_code: int | None = None
    duration_ms: int | None = None
    response_body: str | None = Field(default=None, description="The start of the endpoint's answer.")
    error_code: str | None = None
    error: str | None = None
    next_attempt_at: str | None = None


class DeliveryOut(ResponseModel):
    id: str
    webhook_id: str
    event_id: str = Field(description="Also the webhook-id header: the same on every attempt.")
    event_type: str
    status: str = Field(description="pending, sending, succeeded or failed")
    attempts: int = Field(description="Attempts made so far.")
    status_code: int | None = Field(description="The last attempt's HTTP status, if it got an answer.")
    duration_ms: int | None
    response_body: str | None = Field(description="The start of the last answer's body.")
    error: str | None
    next_attempt_at: Timestamp | None
    created_at: Timestamp
    history: list[Attempt]

    @classmethod
    def of(cls, delivery: Delivery) -> DeliveryOut:
        last: dict[str, Any] = next(
            (item for item in reversed(delivery.history) if item.get("outcome") != "interrupted"), {}
        )
        return cls(
            id=delivery.id,
            webhook_id=delivery.webhook_id,
            event_id=delivery.event_id,
            event_type=delivery.event_type,
            status=delivery.status,
            attempts=delivery.attempts,
            status_code=last.get("status_code"),
            duration_ms=last.get("duration_ms"),
            response_body=last.get("response_body"),
            error=last.get("error"),
            next_attempt_at=delivery.next_attempt_at,
            created_at=delivery.created_at,
            history=[Attempt(**item) for item in delivery.history],
        )


def _secret_still_current(principal, data) -> bool:
    """A replay shows a secret only while the endpoint still exists."""
    try:
        services().webhooks.get(principal, data["id"])
    except NotFoundError:
        return False
    return True


@blueprint.operation(
    "POST",
    "/v1/webhooks",
    summary="Create a webhook endpoint",
    status=201,
    body=CreateWebhook,
    response=WebhookWithSecret,
    idempotent=True,
    sensitive=True,
    still_valid=_secret_still_current,
    errors=(422,),
)
def create_webhook(call: Call):
    """Events of the caller's workspace and mode go to this URL, signed per Standard Webhooks with the
    secret in this response (shown once). The URL must be https and reach a public address."""
    body = call.body
    webhook, secret = services().webhooks.create(call.principal, body.url, body.events, body.description, body.enabled)
    return WebhookWithSecret(**WebhookOut.of(webhook).model_dump(), secret=secret)


@blueprint.operation(
    "GET", "/v1/webhooks", summary="List webhook endpoints", query=PageQuery, response=WebhookOut, paginated=True
)
def list_webhooks(call: Call):
    """The endpoints of the caller's workspace and mode, newest first, secrets never shown."""
    return page_in_memory(services().webhooks.list(call.principal), call.query, descending=True, render=WebhookOut.of)


@blueprint.operation("GET", "/v1/webhooks/{webhook_id}", summary="Get a webhook endpoint", response=WebhookOut)
def get_webhook(call: Call, webhook_id: str):
    """The endpoint, with disabled_reason and failing_since when it is failing."""
    return WebhookOut.of(services().webhooks.get(call.principal, webhook_id))


@blueprint.operation(
    "PATCH",
    "/v1/webhooks/{webhook_id}",
    summary="Update a webhook endpoint",
    body=UpdateWebhook,
    response=WebhookOut,
    idempotent=True,
    errors=(409, 422),
)
def patch_webhook(call: Call, webhook_id: str):
    """Omitted fields keep their value. enabled: true re-enables a disabled endpoint."""
    changes = call.body.model_dump(exclude_unset=True)
    return WebhookOut.of(services().webhooks.update(call.principal, webhook_id, changes))


@blueprint.operation("DELETE", "/v1/webhooks/{webhook_id}", summary="Delete a webhook endpoint", status=204)
def delete_webhook(call: Call, webhook_id: str):
    """Deletes the endpoint at once: nothing more is sent to it."""
    services().webhooks.delete(call.principal, webhook_id)
    return Reply(status=204)


@blueprint.operation(
    "POST",
    "/v1/webhooks/{webhook_id}/rotate-secret",
    summary="Rotate a webhook's signing secret",
    response=WebhookWithSecret,
    idempotent=True,
    sensitive=True,
    still_valid=_secret_still_current,
    errors=(409,),
)
def rotate_webhook_secret(call: Call, webhook_id: str):
    """A new secret (shown once). For 24 hours every message is signed with both the new and the
    previous secret (two v1 signatures), so receivers can switch without losing a message."""
    webhook, secret = services().webhooks.rotate_secret(call.principal, webhook_id)
    return WebhookWithSecret(**WebhookOut.of(webhook).model_dump(), secret=secret)


@blueprint.operation(
    "POST",
    "/v1/webhooks/{webhook_id}/test",
    summary="Send a test event",
    status=202,
    response=DeliveryOut,
    idempotent=True,
    errors=(409,),
)
def test_webhook(call: Call, webhook_id: str):
    """Queues a webhook.test event to this endpoint only; follow it in the delivery log."""
    webhook = services().webhooks.get(call.principal, webhook_id)
    if not webhook.enabled:
        from chalicelib.errors import ConflictError

        raise ConflictError("The webhook is disabled; enable it first.", code="webhook_disabled")
    return DeliveryOut.of(services().webhook_deliveries.test(webhook))


@blueprint.operation(
    "GET",
    "/v1/webhooks/{webhook_id}/deliveries",
    summary="List a webhook's deliveries",
    query=PageQuery,
    response=DeliveryOut,
    paginated=True,
)
def list_deliveries(call: Call, webhook_id: str):
    """Newest first, kept 30 days: each event sent to this endpoint, its attempts and their answers."""
    query, principal = call.query, call.principal
    items, total, more = services().webhook_deliveries.page(
        principal.workspace_id, principal.mode, webhook_id, query.limit, query.offset, query.after
    )
    return Page(
        [DeliveryOut.of(item) for item in items],
        total=total,
        limit=query.limit,
        offset=query.offset,
        next_cursor=encode_cursor(items[-1].id) if more and items else None,
    )


@blueprint.operation(
    "POST",
    "/v1/webhooks/{webhook_id}/deliveries/{delivery_id}/retry",
    summary="Retry a delivery",
    status=202,
    response=DeliveryOut,
    idempotent=True,
    errors=(409,),
)
def retry_delivery(call: Call, webhook_id: str, delivery_id: str):
    """Sends a finished delivery (failed, or succeeded) once more, with the same webhook-id."""
    principal = call.principal
    delivery = services().webhook_deliveries.retry(principal.workspace_id, principal.mode, webhook_id, delivery_id)
    return DeliveryOut.of(delivery)
