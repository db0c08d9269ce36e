"""The webhook worker, on the events queue: fans each event out, and makes each delivery attempt.

The queue carries two kinds of message: events (from the engine) and delivery attempts (one per
endpoint, queued by the fan-out and by retries). The records of a batch are handled at the same
time, each in its own thread, so an endpoint that hangs until the 10 s timeout holds up no other
delivery. A record that raises (DynamoDB or SQS briefly failing, the worker dying) is reported in
``batchItemFailures`` and comes back; everything else is done (a wait is a new, delayed message).
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

from chalicelib.container import services
from chalicelib.observability import logger


def _handle_record(record: dict) -> str:
    from chalicelib.data.messages import DeliveryMessage
    from chalicelib.domain.events import Event

    body = json.loads(record["body"])
    if isinstance(body, dict) and body.get("kind") == "delivery":
        return services().webhook_deliveries.attempt(DeliveryMessage.model_validate(body))
    event = Event.model_validate(body).checked()
    return f"fanned out to {services().webhook_deliveries.fan_out(event)}"


def _safely(record: dict) -> str | None:
    """The record's message id if it must come back, else None."""
    try:
        outcome = _handle_record(record)
        logger.info("events queue message handled", extra={"message_id": record.get("messageId"), "outcome": outcome})
        return None
    except Exception:  # noqa: BLE001 - reported as a failed item; the queue brings it back
        logger.exception("events queue message failed", extra={"message_id": record.get("messageId")})
        return record.get("messageId")


def handle(event, context):
    try:
        return _handle(event)
    finally:
        services().measures.flush()


def _handle(event):
    records = event.get("Records") or []
    if len(records) <= 1:
        failed = [_safely(record) for record in records]
    else:
        with ThreadPoolExecutor(max_workers=len(records)) as pool:
            failed = list(pool.map(_safely, records))
    return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in failed if message_id]}
