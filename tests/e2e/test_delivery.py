"""Schedules and queue messages reach the handlers, as EventBridge and SQS would deliver them."""

from __future__ import annotations

import re
import uuid

import boto3
import pytest

from chalicelib.data.messages import PublishMessage
from tests.e2e.stack import WAIT_TIMEOUT

pytestmark = pytest.mark.e2e


@pytest.fixture
def sqs(stack):
    return boto3.client(
        "sqs",
        endpoint_url=stack.state["aws_endpoint_url"],
        region_name=stack.state["region"],
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


@pytest.fixture
def publish_queue(stack):
    return stack.state["queue_urls"]["publish"]


def queue_counts(sqs, url):
    attributes = sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]), int(attributes["ApproximateNumberOfMessagesNotVisible"])


def test_dispatcher_schedule_is_delivered(stack):
    tick = stack.wait_for_log("dispatch tick")
    # The event's time is the tick, to the second, as EventBridge sends it.
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", tick["scheduled_time"])
    stack.wait_for_log("reconcile tick")


def publish_message(stack) -> PublishMessage:
    return PublishMessage(
        workspace_id=stack.state["workspace_id"],
        mode="test",
        post_id=str(uuid.uuid4()),
        target_id=str(uuid.uuid4()),
        dispatch_id=str(uuid.uuid4()),
    )


def test_publish_message_is_handled_and_deleted(stack, sqs, publish_queue):
    message = publish_message(stack)
    before = queue_counts(sqs, publish_queue)  # another test's failed message may be in flight
    sqs.send_message(QueueUrl=publish_queue, MessageBody=message.model_dump_json())

    handled = stack.wait_for_log("publish message handled", post_id=message.post_id)
    # It names no post that exists (as after a cancel): the publisher drops it, and it is deleted.
    assert handled["target_id"] == message.target_id and handled["outcome"] == "dropped"
    stack.wait_for(lambda: queue_counts(sqs, publish_queue) == before, WAIT_TIMEOUT, "the message deleted")


def test_malformed_message_is_kept_and_its_batch_mate_deleted(stack, sqs, publish_queue):
    good = publish_message(stack)
    visible, in_flight = queue_counts(sqs, publish_queue)
    sent = sqs.send_message_batch(
        QueueUrl=publish_queue,
        Entries=[
            {"Id": "good", "MessageBody": good.model_dump_json()},
            {"Id": "malformed", "MessageBody": '{"post_id": "only this"}'},
        ],
    )
    malformed_id = next(entry["MessageId"] for entry in sent["Successful"] if entry["Id"] == "malformed")
    try:
        # Usually one batch: the publisher lists the malformed message in batchItemFailures and the
        # stack deletes only the good one. SQS delivers the other again after the visibility timeout
        # (and moves it to the dead-letter queue in the end).
        stack.wait_for_log("publish message handled", post_id=good.post_id)
        stack.wait_for(lambda: malformed_id in stack.output(), WAIT_TIMEOUT, "the malformed message reported")
        stack.wait_for(
            lambda: queue_counts(sqs, publish_queue) == (visible, in_flight + 1),
            WAIT_TIMEOUT,
            "only the malformed message left, in flight",
        )
    finally:
        sqs.purge_queue(QueueUrl=publish_queue)  # rather than wait out its visibility timeout
