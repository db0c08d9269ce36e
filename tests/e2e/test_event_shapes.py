"""The events the local stack delivers have AWS's shapes, judged by Powertools' models of them.

Fast: no stack is started; the SQS messages come from moto in-process (tests/conftest.py ``aws``).
"""

from __future__ import annotations

import datetime as dt

import boto3
import pytest
from aws_lambda_powertools.utilities.parser.models import EventBridgeModel, SqsModel

from tools import devstack_events as events

pytestmark = pytest.mark.e2e


def test_scheduled_event_is_an_eventbridge_scheduled_event():
    rule = events.rule_arn("us-east-1", "openpost-local-dispatch")
    when = dt.datetime(2026, 5, 1, 12, 4, tzinfo=dt.UTC)
    event = EventBridgeModel.model_validate(events.scheduled_event(rule, "us-east-1", when))
    assert event.detail_type == "Scheduled Event" and event.source == "aws.events"
    assert event.resources == [rule] and event.detail == {} and event.time == when
    assert events.scheduled_event(rule, "us-east-1", when)["time"] == "2026-05-01T12:04:00Z"


def test_sqs_event_is_what_the_event_source_mapping_sends(aws):
    sqs = boto3.client("sqs", region_name=aws.region)
    url = aws.queue_urls["publish"]
    sqs.send_message(
        QueueUrl=url,
        MessageBody='{"hello": "world"}',
        MessageAttributes={
            "origin": {"DataType": "String", "StringValue": "dispatcher"},
            "blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01"},
        },
    )
    received = sqs.receive_message(QueueUrl=url, MessageSystemAttributeNames=["All"], MessageAttributeNames=["All"])[
        "Messages"
    ]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]

    event = SqsModel.model_validate(events.sqs_event(received, arn, aws.region))
    record = event.Records[0]
    assert record.messageId == received[0]["MessageId"] and record.body == '{"hello": "world"}'
    assert record.attributes.ApproximateReceiveCount == "1" and record.eventSourceARN == arn
    assert record.messageAttributes["origin"].stringValue == "dispatcher"
    assert record.messageAttributes["blob"].binaryValue == "AAE="  # base64, as Lambda has it
    assert record.md5OfMessageAttributes == received[0]["MD5OfMessageAttributes"]


@pytest.mark.parametrize(
    "response, keep",
    [
        (None, set()),
        ({}, set()),
        ({"batchItemFailures": []}, set()),
        ({"batchItemFailures": None}, set()),
        ({"batchItemFailures": [{"itemIdentifier": "b"}]}, {"b"}),
        ({"batchItemFailures": [{"itemIdentifier": "a"}, {"itemIdentifier": "b"}]}, {"a", "b"}),
        # Lambda fails the whole batch on a response it cannot act on:
        ({"batchItemFailures": [{"itemIdentifier": ""}]}, None),
        ({"batchItemFailures": [{"itemIdentifier": None}]}, None),
        ({"batchItemFailures": [{"id": "a"}]}, None),
        ({"batchItemFailures": [{"itemIdentifier": "not-in-batch"}]}, None),
        ("not a response", None),
    ],
)
def test_batch_item_failures_follow_lambda(response, keep):
    assert events.messages_to_keep(response, ["a", "b"]) == keep
