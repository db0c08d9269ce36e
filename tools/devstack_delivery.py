"""Deliver what moto stores but never fires: schedule ticks and queue messages, to the real handlers.

``ScheduleTrigger`` stands in for an EventBridge rate rule, ``QueuePoller`` for an SQS event source
mapping with ReportBatchItemFailures. Each is a thread that stops within about a second of ``stop``.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from typing import Any

import boto3
from botocore.config import Config as BotoConfig

from infrastructure.catalog import QueueSpec, ScheduleSpec
from tools import devstack_events as events
from tools.devstack_lambda import LocalFunction

log = logging.getLogger("devstack")

# Long-poll this long per ReceiveMessage: short enough for a prompt stop, long enough not to spin.
POLL_WAIT_SECONDS = 1
EMPTY_POLL_PAUSE_SECONDS = 0.1


class ScheduleTrigger(threading.Thread):
    """Invokes a function once at start-up, then every ``rate_minutes`` on a whole minute."""

    def __init__(self, spec: ScheduleSpec, function: LocalFunction, rule: str, region: str, stopping: threading.Event):
        super().__init__(name=f"schedule-{spec.name}", daemon=True)
        self.spec = spec
        self._function = function
        self._rule = rule
        self._region = region
        self._stopping = stopping

    def run(self) -> None:
        started = _utc_now()
        # EventBridge would wait for the first tick; firing now shows the developer it works at once.
        self._fire(started.replace(microsecond=0))
        rate = dt.timedelta(minutes=self.spec.rate_minutes)
        due = started.replace(second=0, microsecond=0) + rate
        while not self._stopping.wait(max(0.0, (due - _utc_now()).total_seconds())):
            self._fire(due)
            due += rate
            # Ticks missed while the machine slept or a handler overran are skipped, not replayed.
            while due <= _utc_now() - dt.timedelta(seconds=1):
                due += rate

    def _fire(self, when: dt.datetime) -> None:
        event = events.scheduled_event(self._rule, self._region, when)
        self._function.invoke(event, cause=f"schedule {self.spec.name} at {event['time']}")


class QueuePoller(threading.Thread):
    """Receives batches from a queue, invokes its consumer, deletes what the consumer did not fail."""

    def __init__(
        self,
        spec: QueueSpec,
        function: LocalFunction,
        queue_url: str,
        region: str,
        endpoint_url: str,
        stopping: threading.Event,
    ):
        super().__init__(name=f"queue-{spec.name}", daemon=True)
        self.spec = spec
        self._function = function
        self._queue_url = queue_url
        self._region = region
        self._stopping = stopping
        self._sqs = boto3.client(
            "sqs",
            region_name=region,
            endpoint_url=endpoint_url,
            config=BotoConfig(
                connect_timeout=2, read_timeout=POLL_WAIT_SECONDS + 5, retries={"max_attempts": 2, "mode": "standard"}
            ),
        )
        self._queue_arn = self._sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]

    def run(self) -> None:
        while not self._stopping.is_set():
            try:
                batch = self._receive_batch()
                if batch:
                    self._deliver(batch)
            except Exception:  # noqa: BLE001 - keep polling; moto may be stopping, or a call failed once
                if self._stopping.is_set():
                    return
                log.exception("polling queue %s failed; retrying", self.spec.name)
                self._stopping.wait(1)

    def _receive_batch(self) -> list[dict[str, Any]]:
        """Up to ``batch_size`` messages, waiting up to ``max_batching_window`` to fill the batch."""
        batch = self._receive(self.spec.batch_size)
        window_ends = time.monotonic() + self.spec.max_batching_window
        while (
            batch
            and len(batch) < self.spec.batch_size
            and time.monotonic() < window_ends
            and not self._stopping.is_set()
        ):
            batch += self._receive(self.spec.batch_size - len(batch))
        return batch

    def _receive(self, count: int) -> list[dict[str, Any]]:
        # A short poll, then a short pause: moto does not wake a long poll when a delayed message
        # comes due, so a long wait would add up to its length to every scheduled post's lateness.
        messages = self._sqs.receive_message(
            QueueUrl=self._queue_url,
            MaxNumberOfMessages=min(count, 10),  # SQS's limit per call
            WaitTimeSeconds=0,
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            self._stopping.wait(EMPTY_POLL_PAUSE_SECONDS)
        return messages

    def _deliver(self, batch: list[dict[str, Any]]) -> None:
        event = events.sqs_event(batch, self._queue_arn, self._region)
        ids = [message["MessageId"] for message in batch]
        invocation = self._function.invoke(event, cause=f"{len(batch)} message(s) from queue {self.spec.name}")
        keep = None if invocation.failed else events.messages_to_keep(invocation.result, ids)
        if keep is None:
            log.warning(
                "queue %s: the whole batch failed (%s); SQS delivers it again after %d s",
                self.spec.name,
                ", ".join(ids),
                self.spec.visibility_timeout,
            )
            return
        if keep:
            log.warning(
                "queue %s: %d of %d message(s) failed (%s); SQS delivers them again after %d s",
                self.spec.name,
                len(keep),
                len(batch),
                ", ".join(sorted(keep)),
                self.spec.visibility_timeout,
            )
        done = [message for message in batch if message["MessageId"] not in keep]
        for start in range(0, len(done), 10):
            chunk = done[start : start + 10]
            answer = self._sqs.delete_message_batch(
                QueueUrl=self._queue_url,
                Entries=[
                    {"Id": str(index), "ReceiptHandle": message["ReceiptHandle"]} for index, message in enumerate(chunk)
                ],
            )
            for failure in answer.get("Failed", []):
                log.warning("queue %s: could not delete a handled message: %s", self.spec.name, failure)


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
