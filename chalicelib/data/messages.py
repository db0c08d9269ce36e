"""The messages the queues carry, validated on the way in. They live with the queues
(chalicelib/data/queues.py sends them; the workers and the reconciler read them), so the data and
domain layers never import the workers."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class PublishMessage(BaseModel):
    """One post target to publish. ``dispatch_id`` names the publishing run that sent it: a post
    edited, rescheduled, cancelled or re-dispatched since then carries another one (or none), and the
    work is dropped. ``integration_id`` is the target's account as it was when the message was sent."""

    # A field this version does not know was added by a newer one, during a deploy that has not
    # reached this worker yet: ignored, not refused (refused, the message would come back only
    # after the queue's visibility timeout, 6 minutes late).
    model_config = ConfigDict(extra="ignore")

    workspace_id: str
    mode: Literal["test", "live"]
    post_id: str
    target_id: str
    dispatch_id: str = Field(min_length=1)
    # The account the target publishes to, so the worker reads it with the post in one call. Optional:
    # a message queued before it was sent (or naming an account the target no longer has) costs a
    # separate read of the account, as it always did.
    integration_id: str | None = None


class StoredObject(BaseModel):
    model_config = ConfigDict(extra="ignore")
    key: str  # URL-encoded, as S3 sends it (spaces as "+")
    size: int = 0


class _S3Detail(BaseModel):
    model_config = ConfigDict(extra="ignore")
    object: StoredObject


class _S3Record(BaseModel):
    model_config = ConfigDict(extra="ignore")
    eventName: str  # noqa: N815 - S3's own field name
    s3: _S3Detail


class UploadNotification(BaseModel):
    """What S3 sends to the media queue when an object lands under uploads/ (its event
    notification format, version 2.x). S3 also sends one ``s3:TestEvent`` when the notification is
    configured; it has no records."""

    model_config = ConfigDict(extra="ignore")
    Records: list[_S3Record] = Field(default_factory=list)  # noqa: N815
    Event: str | None = None  # noqa: N815 - "s3:TestEvent"

    def created_keys(self) -> list[str]:
        from urllib.parse import unquote_plus

        return [
            unquote_plus(record.s3.object.key)
            for record in self.Records
            if record.eventName.startswith("ObjectCreated:")
        ]


class DeliveryMessage(BaseModel):
    """One attempt at delivering an event to one webhook endpoint, on the events queue beside the
    events themselves. ``attempt`` is the attempt it asks for; ``not_before`` is when it is due
    (a wait longer than SQS's 15-minute delay arrives early and is sent on again)."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["delivery"] = "delivery"
    workspace_id: str
    mode: Literal["test", "live"]
    webhook_id: str
    delivery_id: str
    attempt: int = Field(ge=1)
    not_before: str | None = None
    # On the first attempt only, the event itself: the worker writes the delivery as it starts it,
    # so the fan-out writes nothing per endpoint (a repeated fan-out finds the delivery there).
    event_id: str | None = None
    event_type: str | None = None
    body: str | None = None
