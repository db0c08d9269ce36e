"""The analytics refresh: SQS-triggered, one integration's targets at one slot per message (or a CSV
export), partial batch failures reported: a message that must wait for a platform's reset is made
visible again then and reported failed; after the queue's maxReceiveCount it moves to the
dead-letter queue."""

from __future__ import annotations

import json

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from chalicelib.container import services
from chalicelib.domain.publishing import RetryLaterError
from chalicelib.observability import logger

processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
# An export that failed this many deliveries is marked failed (and its message let go), so its
# status never stays pending; the queue's own maxReceiveCount is higher.
EXPORT_ATTEMPTS = 3


def _record_handler(record: SQSRecord) -> str:
    message = json.loads(record.body)
    if message.get("kind") == "export":
        try:
            return services().analytics.run_export(message["scope"], message["export_id"])
        except Exception:
            if int(record.attributes.approximate_receive_count or 1) < EXPORT_ATTEMPTS:
                raise
            logger.exception("analytics export failed", extra={"export_id": message["export_id"]})
            services().analytics.fail_export(message["scope"], message["export_id"])
            return "export_failed"
    try:
        return services().analytics_refresher.refresh(message)
    except RetryLaterError as later:
        services().analytics_queue.retry_in(record.receipt_handle, later.seconds)
        logger.info("analytics refresh deferred", extra={"retry_in": later.seconds, "reason": later.reason})
        raise


def handle(event, context):
    try:
        return process_partial_response(
            event=event, record_handler=_record_handler, processor=processor, context=context
        )
    finally:
        services().measures.flush()  # one EMF line per dimension set
