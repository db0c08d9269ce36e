"""The verifier: S3 tells the media queue each upload that lands; this judges each file.

One message may name several objects. A message that fails (S3 or DynamoDB briefly unavailable) is
reported failed and comes back; judging is conditional on the record still being pending, so a
repeated message does nothing twice.
"""

from __future__ import annotations

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from chalicelib.container import services
from chalicelib.data.messages import UploadNotification
from chalicelib.observability import logger

processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


def _record_handler(record: SQSRecord) -> list:
    notification = UploadNotification.model_validate_json(record.body)
    if notification.Event == "s3:TestEvent":
        return []
    verdicts = []
    for key in notification.created_keys():
        verdicts.append(services().media.verify_upload(key))
    logger.info("upload notification handled", extra={"verdicts": verdicts})
    return verdicts


def handle(event, context):
    return process_partial_response(event=event, record_handler=_record_handler, processor=processor, context=context)
