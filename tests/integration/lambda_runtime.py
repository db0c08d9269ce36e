"""Delivers what AWS would deliver to the very handlers Lambda runs: SQS batches from moto's queues,
and scheduled events, built as the event source mapping and EventBridge build them."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import boto3

import app as application
from infrastructure import catalog
from tools.devstack_events import messages_to_keep, scheduled_event, sqs_event
from tools.devstack_lambda import LocalLambdaContext
from tools.emulated_aws import REGION


class LambdaRuntime:
    def __init__(self, provisioned):
        self.sqs = boto3.client("sqs", region_name=REGION)
        self.queues = provisioned.queue_urls
        self.dead_letters = provisioned.dlq_urls
        self.in_flight: dict[str, list[str]] = {}  # queue -> receipt handles of messages kept

    def _context(self, name: str) -> LocalLambdaContext:
        spec = catalog.function(name)
        return LocalLambdaContext(name, spec.memory_mb, spec.timeout, REGION, "test")

    def receive(self, queue: str = "publish") -> list[dict[str, Any]]:
        url = self.queues[queue] if queue in self.queues else self.dead_letters[queue.removesuffix("-dlq")]
        return self.sqs.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=0,
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])

    def peek(self, queue: str = "publish") -> list[dict[str, Any]]:
        """The messages visible now, left visible."""
        return self.sqs.receive_message(
            QueueUrl=self.queues[queue], MaxNumberOfMessages=10, WaitTimeSeconds=0, VisibilityTimeout=0
        ).get("Messages", [])

    def deliver(self, queue: str = "publish", messages: list[dict[str, Any]] | None = None):
        """One batch to the queue's consumer; deletes what it did not report failed."""
        spec = next(s for s in catalog.QUEUES if s.name == queue)
        messages = self.receive(queue) if messages is None else messages
        if not messages:
            return None
        arn = self.sqs.get_queue_attributes(QueueUrl=self.queues[queue], AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        handler = getattr(application, spec.consumer)
        # Until the handler reports, every message is in flight (a worker that dies leaves them so).
        self.in_flight.setdefault(queue, []).extend(m["ReceiptHandle"] for m in messages)
        response = handler(sqs_event(messages, arn, REGION), self._context(spec.consumer))
        keep = messages_to_keep(response, [m["MessageId"] for m in messages])
        for message in messages:
            if keep is not None and message["MessageId"] not in keep:
                self.sqs.delete_message(QueueUrl=self.queues[queue], ReceiptHandle=message["ReceiptHandle"])
                self.in_flight[queue].remove(message["ReceiptHandle"])
        return response

    def drain(self, queue: str = "publish", rounds: int = 10) -> int:
        """Deliver until the queue has nothing visible; returns how many batches ran."""
        ran = 0
        for _ in range(rounds):
            if self.deliver(queue) is None:
                break
            ran += 1
        return ran

    def time_passes(self, queue: str = "publish") -> None:
        """What the wait would do: every message held back by a failure becomes visible again now."""
        for handle in self.in_flight.pop(queue, []):
            try:
                self.sqs.change_message_visibility(
                    QueueUrl=self.queues[queue], ReceiptHandle=handle, VisibilityTimeout=0
                )
            except self.sqs.exceptions.ClientError:
                pass  # already deleted

    def tick(self, function: str, when: dt.datetime):
        schedule = next(s for s in catalog.SCHEDULES if s.function == function)
        return getattr(application, function)(scheduled_event(schedule.name, REGION, when), self._context(function))

    def events(self) -> list[dict[str, Any]]:
        found = []
        while True:
            batch = self.sqs.receive_message(
                QueueUrl=self.queues["events"], MaxNumberOfMessages=10, WaitTimeSeconds=0
            ).get("Messages", [])
            if not batch:
                return found
            for message in batch:
                found.append(json.loads(message["Body"]))
                self.sqs.delete_message(QueueUrl=self.queues["events"], ReceiptHandle=message["ReceiptHandle"])
