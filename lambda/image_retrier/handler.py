"""Lambda entry point: SQS batches of Image Builder failure events, one record at a time."""

from __future__ import annotations

from typing import Any

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from image_retrier.dead_letters import DeadLetterQueue
from image_retrier.events import MalformedEventError, parse_message_body
from image_retrier.image_builder import (
    ConfigurationError,
    ImageBuilder,
    TransientServiceError,
    create_client,
)
from image_retrier.retrier import Retrier
from image_retrier.settings import RetrierSettings

logger = Logger()
tracer = Tracer()
metrics = Metrics()
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)

settings = RetrierSettings.from_environment()
image_builder_client = create_client()
sqs_client = boto3.client("sqs")
retrier = Retrier(ImageBuilder(image_builder_client), settings, logger, metrics)
dead_letters = DeadLetterQueue(sqs_client, settings.dead_letter_queue_url)


@tracer.capture_method
def process_record(record: SQSRecord) -> None:
    try:
        change = parse_message_body(record.body)
    except MalformedEventError as error:
        logger.error(
            "event rejected",
            message_id=record.message_id,
            reject_reason=error.reason,
            reject_detail=error.detail,
        )
        metrics.add_metric("EventRejected", MetricUnit.Count, 1)
        dead_letters.keep(record.body, record.message_id, error.reason, error.detail)
        return

    logger.set_correlation_id(change.event_id)
    try:
        retrier.process(change)
    except TransientServiceError as error:
        logger.warning(
            "image builder unavailable; the record will come back",
            event_id=change.event_id,
            image_build_version_arn=change.image_build_version_arn,
            error=str(error),
        )
        metrics.add_metric("TransientError", MetricUnit.Count, 1)
        raise
    except ConfigurationError as error:
        logger.error(
            "image builder refused the call; kept in the dead-letter queue",
            event_id=change.event_id,
            image_build_version_arn=change.image_build_version_arn,
            error_code=error.error_code,
            error=str(error),
        )
        metrics.add_metric("ConfigurationError", MetricUnit.Count, 1)
        dead_letters.keep(record.body, record.message_id, error.error_code, str(error))


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(
        event=event, record_handler=process_record, processor=processor, context=context
    )
