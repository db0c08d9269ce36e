"""The publisher: SQS-triggered, one post target per message, partial batch failures reported.

A message that must come back later (a platform asked to wait, a transient failure, a post not due
yet) has its visibility set to that wait and is reported failed, so SQS redelivers it then; after
the queue's maxReceiveCount it moves to the dead-letter queue, where the reconciler settles it.
A message that does not parse fails the same way and ends there too.
"""

from __future__ import annotations

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from chalicelib.container import services
from chalicelib.data.messages import PublishMessage
from chalicelib.domain.publishing import RetryLaterError
from chalicelib.observability import logger

# A batch whose every message failed is reported like any other (not raised), so it is redelivered
# without counting as a function error.
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


def _record_handler(record: SQSRecord, lambda_context) -> str:
    message = PublishMessage.model_validate_json(record.body)
    logger.append_keys(post_id=message.post_id, target_id=message.target_id)
    try:
        outcome = services().publisher.publish(
            message.workspace_id,
            message.mode,
            message.post_id,
            message.target_id,
            message.dispatch_id,
            time_left=_time_left(lambda_context),
        )
        logger.info("publish message handled", extra={"outcome": outcome})
        return outcome
    except RetryLaterError as later:
        services().publish_queue.retry_in(record.receipt_handle, later.seconds)
        logger.info("publish message deferred", extra={"retry_in": later.seconds, "reason": later.reason})
        raise
    finally:
        logger.remove_keys(["post_id", "target_id"])


# Seconds kept, of what the invocation has left, for what follows the last part: recording the
# outcome, deferring the message, reporting the batch. A function stopped at its timeout reports
# nothing, and its whole batch comes back.
MARGIN_SECONDS = 5.0


def _time_left(context):
    """The seconds this invocation has left, less the margin, read when a part starts (Powertools
    hands the record handler the Lambda context; every invocation has one)."""
    return lambda: max(0.0, context.get_remaining_time_in_millis() / 1000 - MARGIN_SECONDS)


def handle(event, context):
    try:
        return process_partial_response(
            event=event, record_handler=_record_handler, processor=processor, context=context
        )
    finally:
        services().measures.flush()  # one EMF line per dimension set
