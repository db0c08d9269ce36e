"""The event catalog: every event openpost sends to webhooks, one payload model per type.

This is the one list. The engine puts events on the events queue (chalicelib/data/queues.py checks
each against this catalog on the way), the delivery worker fans them out to the endpoints that
subscribed, the OpenAPI document's ``webhooks`` section is generated from it, and the README lists it.

Every event has a stable ``id``: the same happening always carries the same id (a post's outcome,
one disconnect), so a receiver that keeps the ids it has seen can drop repeats. It is sent as the
``webhook-id`` header too, unchanged across retries.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from chalicelib.clock import format_timestamp


class _Payload(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)  # built when first used


class TargetOutcome(_Payload):
    id: str
    integration_id: str
    platform: str
    status: str = Field(description="published, failed, or still publishing")
    platform_post_id: str | None = None
    platform_post_url: str | None = Field(default=None, description="The post on the platform, once published.")
    error: dict | None = Field(default=None, description="code and message, when this target failed.")


class PostOutcome(_Payload):
    post_id: str
    status: Literal["published", "failed"]
    published_at: str | None = None
    targets: list[TargetOutcome] = Field(description="Every target, so a partial failure is visible.")


class IntegrationChange(_Payload):
    integration_id: str
    platform: str
    username: str


class MediaOutcome(_Payload):
    media_id: str
    status: Literal["ready", "rejected"]
    kind: str | None = None
    reason: str | None = Field(default=None, description="Why a file was rejected, for people.")
    reason_code: str | None = Field(default=None, description="Why a file was rejected, for programs.")


class WebhookTest(_Payload):
    webhook_id: str
    message: str = "This is a test event sent from openpost."


class WebhookDisabled(_Payload):
    webhook_id: str
    url: str
    disabled_reason: str
    failing_since: str | None = None


# type -> (payload model, description). The order is the order of the docs.
CATALOG: dict[str, tuple[type[_Payload], str]] = {
    "post.published": (
        PostOutcome,
        "A post went out on at least one of its targets; every target's outcome is listed.",
    ),
    "post.failed": (PostOutcome, "Every target of a post failed; each target says why."),
    "integration.disconnected": (IntegrationChange, "An account was disconnected; its scheduled posts will fail."),
    "integration.needs_refresh": (
        IntegrationChange,
        "An account's access expired or was revoked on the platform: reconnect it before its next post.",
    ),
    "media.ready": (MediaOutcome, "An uploaded or fetched media file was checked and can be attached."),
    "media.rejected": (MediaOutcome, "An uploaded media file was refused; the reason says why."),
    "webhook.test": (WebhookTest, "Sent by POST /v1/webhooks/{id}/test to that endpoint only."),
    "webhook.disabled": (
        WebhookDisabled,
        "One of the workspace's webhook endpoints was disabled (it failed for 5 days, or answered 410); "
        "sent to every other enabled endpoint, whatever events it subscribed to.",
    ),
}
EVENT_TYPES: tuple[str, ...] = tuple(CATALOG)


class Event(BaseModel):
    """An event as it travels on the queue and as its body is sent (without workspace_id)."""

    model_config = ConfigDict(extra="forbid", defer_build=True)  # built when first used

    id: str = Field(min_length=1, max_length=200)
    type: str
    created_at: str = Field(description="When it happened, ISO 8601 UTC.")
    workspace_id: str
    mode: Literal["test", "live"]
    data: dict

    def checked(self) -> Event:
        """The event, its data validated by the payload model of its type (ValueError if unknown)."""
        if self.type not in CATALOG:
            raise ValueError(f"unknown event type {self.type!r}")
        model = CATALOG[self.type][0]
        return self.model_copy(update={"data": model.model_validate(self.data).model_dump(mode="json")})

    def body(self, max_bytes: int = 20_000) -> bytes:
        """What the endpoint receives: the event without the workspace it belongs to, under
        ``max_bytes``. A larger one (a post with very many targets and long platform errors) has
        its longest texts shortened, marked with an ellipsis, rather than not being sent."""
        body = self.model_dump_json(exclude={"workspace_id"}).encode()
        for cap in (1000, 300, 100, 40):
            if len(body) < max_bytes:
                break
            body = (
                self.model_copy(update={"data": _shorten(self.data, cap)})
                .model_dump_json(exclude={"workspace_id"})
                .encode()
            )
        return body


def event(id: str, type: str, created_at, workspace_id: str, mode: str, data: BaseModel | dict) -> dict:
    """An event, checked against the catalog, as the dict the events queue carries."""
    if not isinstance(created_at, str):
        created_at = format_timestamp(created_at)
    payload = data.model_dump(mode="json") if isinstance(data, BaseModel) else data
    built = Event(id=id, type=type, created_at=created_at, workspace_id=workspace_id, mode=mode, data=payload)
    return built.checked().model_dump(mode="json")


def integration_event(
    event_type: str, integration_id: str, platform: str, username: str, workspace_id: str, mode: str, now
) -> dict:
    """integration.needs_refresh / integration.disconnected. The id is the integration, the kind and
    the second it happened, so the publisher and the analytics refresh finding the same refusal in
    the same second send one event, and a redelivered message repeats its id."""
    change = IntegrationChange(integration_id=integration_id, platform=platform, username=username)
    suffix = event_type.rpartition(".")[2]
    return event(f"evt_{integration_id}_{suffix}_{int(now.timestamp())}", event_type, now, workspace_id, mode, change)


def _shorten(value, cap: int):
    if isinstance(value, str):
        return value if len(value) <= cap else value[: cap - 1] + "…"
    if isinstance(value, dict):
        return {key: _shorten(item, cap) for key, item in value.items()}
    if isinstance(value, list):
        return [_shorten(item, cap) for item in value]
    return value


def matches(subscribed: list[str], event_type: str) -> bool:
    return "*" in subscribed or event_type in subscribed
