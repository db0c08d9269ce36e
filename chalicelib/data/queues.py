"""The queues: publish (one message per post target) and events (what happened, for webhooks)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chalicelib.data.clients import LazyClient
from chalicelib.data.messages import DeliveryMessage, PublishMessage
from chalicelib.domain.posts import Post, Target

SQS_BATCH = 10
MAX_DELAY_SECONDS = 900  # SQS's limit on DelaySeconds
MAX_VISIBILITY_SECONDS = 43200  # SQS's limit on a visibility timeout (12 hours)
# Receives of one publish message before SQS moves it to the dead-letter queue (the stack's redrive
# policy, infrastructure/catalog.py, reads it from here).
PUBLISH_MAX_RECEIVES = 8


class QueueSendError(Exception):
    pass


def sqs_delay(seconds: float) -> int:
    """Whole seconds a new message is held back, within what SQS takes (0 to 15 minutes)."""
    return max(0, min(MAX_DELAY_SECONDS, int(seconds)))


def sqs_visibility(seconds: float) -> int:
    """Whole seconds a received message stays hidden, within what SQS takes (0 to 12 hours)."""
    return max(0, min(MAX_VISIBILITY_SECONDS, int(seconds)))


def publish_message(post: Post, target: Target) -> PublishMessage:
    """The message that publishes one target of the post, as every sender queues it."""
    return PublishMessage(
        workspace_id=post.workspace_id,
        mode=post.mode,
        post_id=post.id,
        target_id=target.id,
        dispatch_id=post.dispatch_id,
        integration_id=target.integration_id,
    )


class _Queue(LazyClient):
    def __init__(self, sqs_client_factory: Callable[[], object], url: str):
        super().__init__(sqs_client_factory)
        self._url = url

    @property
    def _sqs(self):
        return self.client


class PublishQueue(_Queue):
    def retry_in(self, receipt_handle: str, seconds: int) -> None:
        """Make a received message visible again after ``seconds`` (SQS allows up to 12 hours)."""
        self._sqs.change_message_visibility(
            QueueUrl=self._url, ReceiptHandle=receipt_handle, VisibilityTimeout=sqs_visibility(seconds)
        )

    def renew(self, body: str, delay_seconds: int) -> None:
        """Send a received message's body again as a new message, visible after ``delay_seconds``
        (at most SQS's 15 minutes: a longer wait is taken up when it comes back)."""
        self._sqs.send_message(QueueUrl=self._url, MessageBody=body, DelaySeconds=sqs_delay(delay_seconds))

    def send_targets(self, post: Post, delay_seconds: int = 0) -> None:
        """Queue every target of the post, visible after ``delay_seconds`` (0 to 900)."""
        delay = sqs_delay(delay_seconds)
        entries = [
            {
                "Id": str(index),
                "MessageBody": publish_message(post, target).model_dump_json(),
                "DelaySeconds": delay,
            }
            for index, target in enumerate(post.targets)
        ]
        for start in range(0, len(entries), SQS_BATCH):
            result = self._sqs.send_message_batch(QueueUrl=self._url, Entries=entries[start : start + SQS_BATCH])
            if result.get("Failed"):
                raise QueueSendError(f"{len(result['Failed'])} publish messages were refused: {result['Failed'][0]}")


class EventQueue(_Queue):
    """Events for webhook delivery, and the delivery attempts they fan out into. Each event has a
    stable id, so a repeated send is recognisable; each is checked against the event catalog."""

    def send(self, event: dict[str, Any]) -> None:
        from chalicelib.domain.events import Event

        checked = Event.model_validate(event).checked()
        self._sqs.send_message(
            QueueUrl=self._url,
            MessageBody=checked.model_dump_json(),
            MessageAttributes={"type": {"DataType": "String", "StringValue": checked.type}},
        )

    def send_deliveries(self, messages: list[DeliveryMessage], delay_seconds: float = 0) -> None:
        """Queue delivery attempts, each its own message (one slow endpoint never holds up another),
        visible after ``delay_seconds`` (at most 900: longer waits are chained by the consumer)."""
        delay = sqs_delay(delay_seconds)
        entries = [
            {
                "Id": str(index),
                "MessageBody": message.model_dump_json(),
                "DelaySeconds": delay,
                "MessageAttributes": {"type": {"DataType": "String", "StringValue": "webhook.delivery"}},
            }
            for index, message in enumerate(messages)
        ]
        batch: list[dict] = []
        for entry in entries:
            # A batch is at most 10 messages and 256 KB in all; a first attempt carries its event.
            if batch and (
                len(batch) == SQS_BATCH
                or sum(len(e["MessageBody"]) for e in batch) + len(entry["MessageBody"]) > 200_000
            ):
                self._send_batch(batch)
                batch = []
            batch.append(entry)
        if batch:
            self._send_batch(batch)

    def _send_batch(self, entries: list[dict]) -> None:
        result = self._sqs.send_message_batch(QueueUrl=self._url, Entries=entries)
        if result.get("Failed"):
            raise QueueSendError(f"{len(result['Failed'])} delivery messages were refused: {result['Failed'][0]}")


class DeadLetters(_Queue):
    """A dead-letter queue, read by the reconciler."""

    def receive(self, batches: int = 10):
        """Yield (receipt handle, body) of up to ``batches`` x 10 messages waiting now."""
        for _ in range(batches):
            messages = self._sqs.receive_message(QueueUrl=self._url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get(
                "Messages", []
            )
            if not messages:
                return
            for message in messages:
                yield message["ReceiptHandle"], message["Body"]

    def delete(self, receipt_handle: str) -> None:
        self._sqs.delete_message(QueueUrl=self._url, ReceiptHandle=receipt_handle)
