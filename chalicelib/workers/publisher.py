"""The publisher: SQS-triggered, one post target per message, partial batch failures reported.

A message that must come back later (a platform asked to wait, a transient failure, a post not due
yet) has its visibility set to that wait and is reported failed, so SQS redelivers it then. Waiting
is not failing: a message whose next failed receive would move it to the dead-letter queue is sent
again as a new message instead (the post's own counters bound the retries: MAX_ATTEMPTS and
MAX_RATE_LIMIT_WAITS). What reaches the dead-letter queue, where the reconciler settles it, is work
that crashed its worker again and again, or a message that does not parse.

The records of a batch run at once, one thread per post, each record with its own lease and its own
outcome: a post waiting out the last fraction of its second, or a slow platform call, must not hold
back another post due in the same batch. The work is waiting on the network, so threads suffice.
"""

from __future__ import annotations

import contextvars
import json
from concurrent.futures import ThreadPoolExecutor

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from chalicelib.container import services
from chalicelib.data.messages import PublishMessage
from chalicelib.data.queues import PUBLISH_MAX_RECEIVES
from chalicelib.domain.publishing import RetryLaterError
from chalicelib.observability import logger


class ConcurrentBatchProcessor(BatchProcessor):
    """Powertools' SQS batch processor with the records of different posts handled side by side.

    Each record still reports its own success or failure (``success_handler``/``failure_handler``
    only append to lists), so partial batch failures are reported exactly as before. The targets of
    one post run in turn in one thread: they write the same item, and side by side each would make
    the other's version-checked write conflict, read again and write again. Each thread runs in a
    copy of the invocation's context, so it sees the same container."""

    def process(self) -> list[tuple]:
        groups = _by_post(self.records)
        if len(groups) < 2:
            return super().process()
        with ThreadPoolExecutor(max_workers=len(groups), thread_name_prefix="publish-record") as pool:
            running = [pool.submit(contextvars.copy_context().run, self._process_group, group) for group in groups]
            return [outcome for future in running for outcome in future.result()]

    def _process_group(self, records: list[dict]) -> list[tuple]:
        return [self._process_record(record) for record in records]


def _by_post(records: list[dict]) -> list[list[dict]]:
    """The records grouped by the post they publish, in order; one that does not parse is alone."""
    groups: dict[str, list[dict]] = {}
    for number, record in enumerate(records):
        try:
            post_id = json.loads(record["body"])["post_id"]
        except (KeyError, TypeError, ValueError):
            post_id = f"unreadable#{number}"
        groups.setdefault(str(post_id), []).append(record)
    return list(groups.values())


def _record_handler(record: SQSRecord, lambda_context) -> str:
    message = PublishMessage.model_validate_json(record.body)
    logger.thread_safe_append_keys(post_id=message.post_id, target_id=message.target_id)
    try:
        outcome = services().publisher.publish(
            message.workspace_id,
            message.mode,
            message.post_id,
            message.target_id,
            message.dispatch_id,
            time_left=_time_left(lambda_context),
            integration_id=message.integration_id,
        )
        logger.info("publish message handled", extra={"outcome": outcome})
        return outcome
    except RetryLaterError as later:
        queue = services().publish_queue
        # Lambda's records always carry the count; one without it is deferred as before.
        if int(record.attributes.get("ApproximateReceiveCount", 0)) >= PUBLISH_MAX_RECEIVES - 1:
            # One receive is kept in reserve: the count is approximate, and a worker may yet crash.
            queue.renew(record.body, later.seconds)
            logger.info("publish message renewed", extra={"retry_in": later.seconds, "reason": later.reason})
            return "renewed"
        queue.retry_in(record.receipt_handle, later.seconds)
        logger.info("publish message deferred", extra={"retry_in": later.seconds, "reason": later.reason})
        raise
    finally:
        logger.thread_safe_remove_keys(["post_id", "target_id"])


# Seconds kept, of what the invocation has left, for what follows the last part: recording the
# outcome, deferring the message, reporting the batch. A function stopped at its timeout reports
# nothing, and its whole batch comes back.
MARGIN_SECONDS = 5.0


def _time_left(context):
    """The seconds this invocation has left, less the margin, read when a part starts (Powertools
    hands the record handler the Lambda context; every invocation has one)."""
    return lambda: max(0.0, context.get_remaining_time_in_millis() / 1000 - MARGIN_SECONDS)


def handle(event, context):
    # A processor per invocation: it holds the batch's records and outcomes, and invocations may
    # share this module (the local stack runs several containers in one process).
    # A batch whose every message failed is reported like any other (not raised), so it is
    # redelivered without counting as a function error.
    processor = ConcurrentBatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    try:
        return process_partial_response(
            event=event, record_handler=_record_handler, processor=processor, context=context
        )
    finally:
        services().measures.flush()  # one EMF line per dimension set
