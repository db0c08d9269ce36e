"""The publisher: SQS-triggered, one post target per message, partial batch failures reported.

A message that does not parse is reported as failed so SQS redelivers it and, after the queue's
maxReceiveCount, moves it to the dead-letter queue where the reconciler finds it. Publishing itself
(claim, platform call, result) is the publishing engine's work and plugs in at ``publish``.
"""
from __future__ import annotations

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from chalicelib.observability import logger
from chalicelib.workers.messages import PublishMessage

# A batch whose every message failed is reported like any other (not raised), so it is redelivered
# without counting as a function error.
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


def publish(message: PublishMessage) -> None:
    logger.info("publish requested", extra={"post_id": message.post_id, "target_id": message.target_id})


def _record_handler(record: SQSRecord) -> None:
    publish(PublishMessage.model_validate_json(record.body))


def handle(event, context):
    return process_partial_response(event=event, record_handler=_record_handler, processor=processor,
                                    context=context)
