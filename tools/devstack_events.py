"""The events AWS hands openpost's functions, built locally in the shapes AWS sends them.

EventBridge rules and SQS event source mappings never fire under moto, so the local stack builds
their events itself. Keeping the shapes exact matters: the handlers (and Powertools' data classes)
read these very fields in production.
"""

from __future__ import annotations

import base64
import datetime as dt
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

# moto's default account: the ARNs it hands out (queues, keys) carry it, so ours do too.
ACCOUNT_ID = "123456789012"


def rule_arn(region: str, rule_name: str) -> str:
    return f"arn:aws:events:{region}:{ACCOUNT_ID}:rule/{rule_name}"


def scheduled_event(rule: str, region: str, when: dt.datetime) -> dict[str, Any]:
    """What an EventBridge schedule rule sends its target; ``time`` is the tick, to the second."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": ACCOUNT_ID,
        "time": when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [rule],
        "detail": {},
    }


def sqs_event(messages: Iterable[Mapping[str, Any]], queue_arn: str, region: str) -> dict[str, Any]:
    """What an SQS event source mapping sends its function, from ReceiveMessage's ``Messages``."""
    return {"Records": [_sqs_record(message, queue_arn, region) for message in messages]}


def _sqs_record(message: Mapping[str, Any], queue_arn: str, region: str) -> dict[str, Any]:
    record = {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        # ReceiveMessage was asked for all system attributes: ApproximateReceiveCount, SentTimestamp,
        # SenderId, ApproximateFirstReceiveTimestamp (and the FIFO ones), all strings, as Lambda has them.
        "attributes": dict(message.get("Attributes", {})),
        "messageAttributes": {
            name: _lambda_message_attribute(value) for name, value in message.get("MessageAttributes", {}).items()
        },
        "md5OfBody": message["MD5OfBody"],
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }
    if "MD5OfMessageAttributes" in message:
        record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
    return record


def _lambda_message_attribute(value: Mapping[str, Any]) -> dict[str, Any]:
    """SQS API spelling (``StringValue``, bytes) to Lambda's (``stringValue``, base64 text)."""
    converted: dict[str, Any] = {"stringListValues": [], "binaryListValues": [], "dataType": value["DataType"]}
    if "StringValue" in value:
        converted["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        converted["binaryValue"] = base64.b64encode(value["BinaryValue"]).decode("ascii")
    return converted


def messages_to_keep(response: Any, message_ids: list[str]) -> set[str] | None:
    """The messages a batch response asks SQS to deliver again (ReportBatchItemFailures).

    Returns the ids to keep, or None when the whole batch counts as failed. Lambda's rules: no
    response, an empty response or an empty/absent ``batchItemFailures`` is full success; a response
    it cannot read, or an ``itemIdentifier`` that is missing, empty or not in the batch, fails it all.
    """
    if response is None or response == {} or response == "":
        return set()
    if not isinstance(response, Mapping):
        return None
    failures = response.get("batchItemFailures")
    if failures is None:
        return set()
    if not isinstance(failures, list):
        return None
    keep = set()
    for failure in failures:
        identifier = failure.get("itemIdentifier") if isinstance(failure, Mapping) else None
        if not identifier or identifier not in message_ids:
            return None
        keep.add(identifier)
    return keep
