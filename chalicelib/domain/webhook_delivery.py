"""Delivering events to webhook endpoints: fan-out, attempts, retries, the log, auto-disable.

Fan-out: each event becomes one delivery per enabled endpoint that subscribed to its type, each its
own queue message, so one slow or dead endpoint never holds up another's delivery. A delivery's id
is derived from the event and the endpoint, so fanning the same event out twice writes nothing new.

Never lost: an attempt is written down before it is sent (``sending``, with a lease) and its
outcome after; the queue message is only let go once both are done. A worker that dies between
sending and recording leaves the message on the queue: it comes back, finds the attempt unfinished
with its lease run out, and sends it again with the same ``webhook-id`` (the event id), which the
receiver can recognise. A worker that dies after recording a failure but before queueing the next
attempt is covered the same way: the old message comes back and queues it.

Retries follow api-decisions: immediately, then 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and 10 h, each
with jitter; a 429 or 503 with ``Retry-After`` waits what it asks instead. SQS delays a message at
most 15 minutes, so a longer wait is a chain of hops, each message carrying when it is due.
A 410 disables the endpoint at once; an endpoint failing every attempt for 5 days is disabled too.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import json
import math
import random

from chalicelib.clock import Clock, format_timestamp
from chalicelib.data.messages import DeliveryMessage
from chalicelib.domain.events import Event, matches
from chalicelib.domain.records import Delivery, Webhook
from chalicelib.errors import ConflictError, NotFoundError
from chalicelib.ids import uuid7_for
from chalicelib.measures import NO_MEASURES, Measures
from chalicelib.observability import logger

# Seconds before each attempt (the first is immediate): 8 attempts over about 27.6 hours.
SCHEDULE = (0, 5, 300, 1800, 7200, 18000, 36000, 36000)
MAX_ATTEMPTS = len(SCHEDULE)
JITTER = 0.2  # each wait is moved by up to 20% either way, so retries of many events spread out
MAX_RETRY_AFTER = 36000  # an endpoint's Retry-After is honoured up to the longest scheduled wait
DISABLE_AFTER = dt.timedelta(days=5)
LEASE = dt.timedelta(seconds=30)  # longer than a send (10 s) and its two writes
MAX_BODY_BYTES = 20_000
MAX_HOP_SECONDS = 900  # SQS's longest DelaySeconds
HISTORY_KEPT = 20  # attempts shown per delivery (manual retries can add more than the schedule)


def retry_wait(attempt: int) -> float:
    """Seconds to wait after attempt ``attempt`` (1-based) failed, with jitter."""
    return SCHEDULE[attempt] * random.uniform(1 - JITTER, 1 + JITTER)


def parse_retry_after(value: str | None, now: dt.datetime) -> float | None:
    """Retry-After as seconds (RFC 9110: delay-seconds or an HTTP date); None if absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return max(0.0, (moment - now).total_seconds())


def _parse(text: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None


class _SupersededError(Exception):
    """The delivery changed under this worker (its lease ran out and another worker took it over)."""


class WebhookDeliveries:
    def __init__(
        self,
        webhooks,
        store,
        queue,
        clock: Clock,
        *,
        allow_local: bool,
        stamp_clock: Clock | None = None,
        measures: Measures = NO_MEASURES,
        send_timeout: float | None = None,
    ):
        from chalicelib.clock import SystemClock

        self._measures = measures
        self._webhooks = webhooks  # WebhookService
        self._store = store  # DeliveryStore
        self._queue = queue  # EventQueue
        self._clock = clock
        # webhook-timestamp is checked by the receiver against its own clock (replay protection), so
        # it is the wall clock's time even where the schedule runs on a moved clock (tests).
        self._stamp_clock = stamp_clock or SystemClock()
        self._allow_local = allow_local
        # How long an endpoint may take to answer (webhook_sender.TIMEOUT_SECONDS unless told):
        # shortened only where an endpoint that hangs must cost less wall-clock time (tests).
        self._send_timeout = send_timeout

    # --- fan-out -------------------------------------------------------------------------------
    def fan_out(self, event: Event) -> int:
        """One delivery per enabled endpoint subscribed to the event's type; returns how many.
        webhook.disabled goes to every other enabled endpoint whatever it subscribed to, so an
        endpoint is never disabled unnoticed; webhook.test only ever goes to the one it tests."""
        disabled = event.data.get("webhook_id") if event.type == "webhook.disabled" else None
        endpoints = [
            webhook
            for webhook in self._webhooks.of_workspace(event.workspace_id, event.mode)
            if webhook.enabled
            and webhook.id != disabled
            and event.type != "webhook.test"
            and (disabled is not None or matches(list(webhook.events), event.type))
        ]
        return self.enqueue(event, endpoints)

    def enqueue(self, event: Event, endpoints: list[Webhook]) -> int:
        """Queue the first attempt for each endpoint, each message carrying the event; the delivery
        is written by the worker that starts it. Its id derives from the event and the endpoint."""
        if not endpoints:
            return 0
        body = event.body(MAX_BODY_BYTES).decode()
        created_at = _parse(event.created_at) or self._clock.now()
        messages = [
            DeliveryMessage(
                workspace_id=webhook.workspace_id,
                mode=webhook.mode,
                webhook_id=webhook.id,
                delivery_id=delivery_id(event.id, webhook.id, created_at),
                attempt=1,
                event_id=event.id,
                event_type=event.type,
                body=body,
            )
            for webhook in endpoints
        ]
        self._queue.send_deliveries(messages)
        return len(messages)

    # --- one attempt ---------------------------------------------------------------------------
    def attempt(self, message: DeliveryMessage) -> str:
        """Make the attempt the message asks for, if it is still due; returns what happened."""
        try:
            return self._attempt(message)
        except _SupersededError:
            # This worker outlived its lease and another took the delivery over (same webhook-id):
            # that worker records the outcome; this one lets go. Expected under at-least-once.
            logger.info(
                "webhook attempt superseded by another worker",
                extra={
                    "delivery_id": message.delivery_id,
                    "webhook_id": message.webhook_id,
                    "attempt": message.attempt,
                },
            )
            return "superseded"

    def _attempt(self, message: DeliveryMessage) -> str:
        now = self._clock.now()
        due = _parse(message.not_before)
        if due is not None and (due - now).total_seconds() > 1:
            self._queue.send_deliveries([message], (due - now).total_seconds())
            return "waiting"
        if message.body is not None:
            outcome = self._first_attempt(message, now)
            if outcome is not None:
                return outcome
        try:
            delivery = self._store.get(message.workspace_id, message.mode, message.webhook_id, message.delivery_id)
        except NotFoundError:
            return "dropped"
        if delivery.attempts == message.attempt and delivery.status == "pending":
            # This attempt failed and was recorded, but the worker may have died before queueing
            # the next one: queue it (a duplicate of it is dropped by this same check).
            self._queue.send_deliveries(
                [self._message(delivery, message.attempt + 1)], self._seconds_until(delivery.next_attempt_at, now)
            )
            return "requeued"
        resumed = delivery.attempts == message.attempt and delivery.status == "sending"
        if resumed and delivery.lease_until and delivery.lease_until > now:
            # Another worker is sending it right now; look again once its lease runs out.
            self._queue.send_deliveries([message], (delivery.lease_until - now).total_seconds() + 1)
            return "waiting"
        if not resumed and not (delivery.attempts == message.attempt - 1 and delivery.status == "pending"):
            return "duplicate"
        try:
            webhook = self._webhooks.find(message.workspace_id, message.mode, message.webhook_id)
        except NotFoundError:
            return "dropped"
        if not webhook.enabled:
            self._finish(delivery, "failed", {"error_code": "webhook_disabled", "error": "The webhook is disabled."})
            return "failed"
        started = self._start(delivery, message.attempt, now)
        if started is None:
            return "duplicate"
        return self._send_and_record(webhook, started, message.attempt)

    def _first_attempt(self, message: DeliveryMessage, now: dt.datetime) -> str | None:
        """Write the delivery as its first attempt starts, and make it; None when it was written
        before (a repeated fan-out, or this message delivered again): then it is judged like any other."""
        try:
            webhook = self._webhooks.find(message.workspace_id, message.mode, message.webhook_id)
        except NotFoundError:
            return "dropped"
        delivery = Delivery(
            id=message.delivery_id,
            workspace_id=message.workspace_id,
            mode=message.mode,
            webhook_id=message.webhook_id,
            event_id=message.event_id or "",
            event_type=message.event_type or "",
            body=message.body or "",
            status="sending",
            attempts=1,
            created_at=now,
            updated_at=now,
            lease_until=now + LEASE,
        )
        if not webhook.enabled:
            delivery = _replace(delivery, status="pending", attempts=0, lease_until=None)
            if self._store.create(delivery):
                self._finish(
                    delivery, "failed", {"error_code": "webhook_disabled", "error": "The webhook is disabled."}
                )
                return "failed"
            return None
        if not self._store.create(delivery):
            return None
        return self._send_and_record(webhook, delivery, 1)

    def _start(self, delivery: Delivery, attempt: int, now: dt.datetime) -> Delivery | None:
        history = list(delivery.history)
        if delivery.status == "sending":
            # The worker that sent this attempt died before recording what came of it.
            history.append({"attempt": attempt, "at": format_timestamp(delivery.updated_at), "outcome": "interrupted"})
        started = _replace(
            delivery,
            status="sending",
            attempts=attempt,
            lease_until=now + LEASE,
            next_attempt_at=None,
            history=tuple(history[-HISTORY_KEPT:]),
            updated_at=now,
        )
        try:
            return self._store.replace(delivery, started)
        except ConflictError:
            return None

    def _send_and_record(self, webhook: Webhook, delivery: Delivery, attempt: int) -> str:
        now = self._clock.now()
        body = delivery.body.encode()
        from chalicelib.webhook_sender import TIMEOUT_SECONDS, send, signed_headers

        stamp = int(self._stamp_clock.now().timestamp())
        headers = signed_headers(self._webhooks.signing_secrets(webhook, now), delivery.event_id, stamp, body)
        # The endpoint's answer takes real time, whatever the schedule's clock: the wall clock times it.
        answer = send(
            webhook.url,
            body,
            headers,
            allow_local=self._allow_local,
            clock=self._stamp_clock,
            timeout=self._send_timeout or TIMEOUT_SECONDS,
        )
        entry = {
            "attempt": attempt,
            "at": format_timestamp(now),
            "status_code": answer.status,
            "duration_ms": answer.duration_ms,
            "response_body": answer.body,
            "error_code": answer.error_code,
            "error": answer.error,
        }
        log = {"delivery_id": delivery.id, "webhook_id": webhook.id, "attempt": attempt, "status_code": answer.status}
        if answer.ok:
            self._finish(delivery, "succeeded", {**entry, "outcome": "succeeded"})
            self._webhooks.succeeded(webhook)
            logger.info("webhook delivered", extra=log)
            return "succeeded"
        self._measures.count("WebhookAttemptsFailed")
        if answer.status == 410:
            self._finish(delivery, "failed", {**entry, "outcome": "failed"})
            if self._webhooks.disable(webhook, "endpoint_gone") is not None:
                self._measures.count("WebhookEndpointsDisabled")
            logger.warning("webhook endpoint gone; disabled", extra=log)
            return "failed"
        wait = None
        if answer.status in (429, 503):
            wait = parse_retry_after(answer.retry_after, now)
            if wait is not None:
                wait = min(MAX_RETRY_AFTER, max(1.0, wait))
        if wait is None and attempt < MAX_ATTEMPTS:
            wait = retry_wait(attempt)
        disabled = self._webhooks.failed(webhook, now, DISABLE_AFTER)
        if disabled is not None:
            self._measures.count("WebhookEndpointsDisabled")
        retrying = attempt < MAX_ATTEMPTS and wait is not None and disabled is None
        next_at = now + dt.timedelta(seconds=math.ceil(wait)) if retrying else None
        self._finish(
            delivery,
            "pending" if retrying else "failed",
            {**entry, "outcome": "failed", "next_attempt_at": format_timestamp(next_at)},
            next_at,
        )
        if retrying:
            later = _replace(delivery, attempts=attempt, next_attempt_at=next_at)
            self._queue.send_deliveries([self._message(later, attempt + 1)], self._seconds_until(next_at, now))
        logger.warning(
            "webhook delivery failed", extra={**log, "error_code": answer.error_code, "retry_at": str(next_at)}
        )
        return "retrying" if retrying else "failed"

    def _finish(self, delivery: Delivery, status: str, entry: dict, next_at: dt.datetime | None = None) -> None:
        now = self._clock.now()
        history = [*delivery.history, {key: value for key, value in entry.items() if value is not None}]
        after = _replace(
            delivery,
            status=status,
            lease_until=None,
            next_attempt_at=next_at,
            history=tuple(history[-HISTORY_KEPT:]),
            updated_at=now,
        )
        try:
            self._store.replace(delivery, after)
        except ConflictError as exc:
            raise _SupersededError(delivery.id) from exc
        if status == "failed":
            self._measures.count("WebhookDeliveriesFailed")

    # --- by hand -------------------------------------------------------------------------------
    def retry(self, workspace_id: str, mode: str, webhook_id: str, delivery_id: str) -> Delivery:
        """Send a finished delivery again (one more attempt, same webhook-id)."""
        webhook = self._webhooks.find(workspace_id, mode, webhook_id)
        delivery = self._store.get(workspace_id, mode, webhook_id, delivery_id)
        if not webhook.enabled:
            raise ConflictError(
                "The webhook is disabled; enable it (PATCH enabled: true) before retrying.", code="webhook_disabled"
            )
        now = self._clock.now()
        if delivery.status in ("pending", "sending") and not _stuck(delivery, now):
            raise ConflictError("This delivery is still being attempted.", code="delivery_in_progress")
        queued = _replace(delivery, status="pending", next_attempt_at=now, updated_at=now)
        self._store.replace(delivery, queued)
        self._queue.send_deliveries([self._message(queued, delivery.attempts + 1)])
        return queued

    def test(self, webhook: Webhook) -> Delivery:
        """A webhook.test event to this endpoint only; the delivery as it stands when queued."""
        from chalicelib.domain.events import WebhookTest, event
        from chalicelib.ids import uuid7

        now = self._clock.now()
        payload = WebhookTest(webhook_id=webhook.id)
        test_event = Event.model_validate(
            event(f"evt_test_{uuid7(self._clock)}", "webhook.test", now, webhook.workspace_id, webhook.mode, payload)
        )
        self.enqueue(test_event, [webhook])
        return Delivery(
            id=delivery_id(test_event.id, webhook.id, _parse(test_event.created_at)),
            workspace_id=webhook.workspace_id,
            mode=webhook.mode,
            webhook_id=webhook.id,
            event_id=test_event.id,
            event_type=test_event.type,
            body=test_event.body().decode(),
            status="pending",
            attempts=0,
            created_at=now,
            updated_at=now,
            next_attempt_at=now,
        )

    def settle_dead_letters(self, dead_letters) -> int:
        """What reached the events queue's dead-letter queue (a message whose handling kept failing):
        a delivery is marked failed with the reason, so the log shows it and it can be retried by
        hand; an event is fanned out once more, and left there (kept 14 days) if that fails too."""
        from chalicelib.data.messages import DeliveryMessage

        settled = 0
        for receipt, body in dead_letters.receive():
            try:
                parsed = json.loads(body)
                if isinstance(parsed, dict) and parsed.get("kind") == "delivery":
                    self._give_up(DeliveryMessage.model_validate(parsed))
                else:
                    self.fan_out(Event.model_validate(parsed).checked())
            except NotFoundError:
                pass
            except Exception:  # noqa: BLE001 - left in the dead-letter queue for an operator
                logger.exception("events dead letter could not be settled", extra={"body": body[:200]})
                continue
            dead_letters.delete(receipt)
            settled += 1
        self._measures.count("WebhookDeadLettersSettled", settled)
        return settled

    def _give_up(self, message: DeliveryMessage) -> None:
        delivery = self._store.get(message.workspace_id, message.mode, message.webhook_id, message.delivery_id)
        if delivery.status in ("succeeded", "failed"):
            return
        entry = {
            "attempt": delivery.attempts,
            "at": format_timestamp(self._clock.now()),
            "outcome": "failed",
            "error_code": "gave_up",
            "error": "The delivery kept failing on our side and was given up; retry it by hand.",
        }
        self._finish(delivery, "failed", entry)

    def page(self, workspace_id: str, mode: str, webhook_id: str, limit: int, offset: int, after: str | None):
        self._webhooks.find(workspace_id, mode, webhook_id)  # 404 for an unknown endpoint
        return self._store.page(workspace_id, mode, webhook_id, limit, offset, after, self._clock.now())

    # --- helpers -------------------------------------------------------------------------------
    @staticmethod
    def _message(delivery: Delivery, attempt: int) -> DeliveryMessage:
        return DeliveryMessage(
            workspace_id=delivery.workspace_id,
            mode=delivery.mode,
            webhook_id=delivery.webhook_id,
            delivery_id=delivery.id,
            attempt=attempt,
            not_before=format_timestamp(delivery.next_attempt_at) if attempt > 1 else None,
        )

    @staticmethod
    def _seconds_until(moment: dt.datetime | None, now: dt.datetime) -> float:
        return max(0.0, (moment - now).total_seconds()) if moment else 0.0


STUCK_AFTER = dt.timedelta(minutes=30)


def _stuck(delivery: Delivery, now: dt.datetime) -> bool:
    """Unfinished, and nothing has moved it for long past when something should have (its message
    was lost): a retry by hand may take it over."""
    due = delivery.lease_until if delivery.status == "sending" else delivery.next_attempt_at
    return due is None or now - due > STUCK_AFTER


def delivery_id(event_id: str, webhook_id: str, created_at: dt.datetime) -> str:
    """The same event and endpoint always give the same delivery id (UUIDv7 of the event's time)."""
    return uuid7_for(int(created_at.timestamp() * 1000), f"{event_id}|{webhook_id}")


def _replace(delivery: Delivery, **changes) -> Delivery:
    import dataclasses

    return dataclasses.replace(delivery, **changes)
