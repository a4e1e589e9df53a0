"""Lambda entry point: SQS batches of Image Builder events, one record at a time."""

from __future__ import annotations

from image_retrier.cold_start import CollectorHold

# First of all: the collector waits until the first invocation has ended (cold_start.py).
collector_hold = CollectorHold()

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar, cast

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
from wrapt import LazyObjectProxy

from image_retrier.dead_letters import DeadLetterQueue
from image_retrier.deferrals import DEFERRED_ATTRIBUTE, Deferrals
from image_retrier.events import MalformedEventError, parse_message_body
from image_retrier.image_builder import (
    ConfigurationError,
    ImageBuilder,
    TransientServiceError,
    create_client,
    create_session,
)
from image_retrier.ledger import AttemptLedger
from image_retrier.notifications import Notifier
from image_retrier.retrier import Retrier
from image_retrier.settings import resources_from_environment, settings_from_environment

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_sns import SNSClient
    from mypy_boto3_sqs import SQSClient

# A record is only started with this much time left; the rest of the batch comes back later
# rather than being cut off by the function timeout half-way through.
MIN_REMAINING_MILLIS = 60_000
RECORD_KEYS = ("event_id", "image_build_version_arn")

ClientT = TypeVar("ClientT")

logger = Logger()
# Only AWS calls are worth a subsegment; patching every library X-Ray knows costs a cold start.
tracer = Tracer(patch_modules=("botocore",))
metrics = Metrics()
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


def created_on_first_use(create: Callable[[], ClientT]) -> ClientT:
    """The client `create` makes, made when first used: a cold start pays only for the clients
    its first event needs (a skipped failure needs Image Builder's alone, an AVAILABLE event
    DynamoDB's alone)."""
    return cast(ClientT, LazyObjectProxy(create))


settings = settings_from_environment()
resources = resources_from_environment()
session = create_session()
image_builder_client = created_on_first_use(lambda: create_client(session=session))
sqs_client = created_on_first_use(lambda: cast("SQSClient", session.create_client("sqs")))
ledger = AttemptLedger(
    created_on_first_use(lambda: cast("DynamoDBClient", session.create_client("dynamodb"))),
    resources.ledger_table_name,
    resources.ledger_ttl_days,
)
retrier = Retrier(
    image_builder=ImageBuilder(
        image_builder_client,
        on_throttled=lambda: metrics.add_metric("ImageBuilderThrottled", MetricUnit.Count, 1),
    ),
    ledger=ledger,
    notifier=Notifier(
        created_on_first_use(lambda: cast("SNSClient", session.create_client("sns"))),
        resources.notification_topic_arn,
    ),
    deferrals=Deferrals(sqs_client, resources.queue_url),
    settings=settings,
    logger=logger,
    metrics=metrics,
)
dead_letters = DeadLetterQueue(sqs_client, resources.dead_letter_queue_url)


class OutOfTimeError(Exception):
    """Too little time is left to finish this record; it goes back to the queue."""


def keep_in_dead_letter_queue(record: SQSRecord, reason: str, detail: str) -> None:
    try:
        dead_letters.keep(record.body, record.message_id, reason, detail)
    except Exception:
        logger.exception("could not keep the record in the dead-letter queue; it will come back")
        metrics.add_metric("UnexpectedError", MetricUnit.Count, 1)
        raise


@tracer.capture_method
def process_record(record: SQSRecord) -> None:
    logger.set_correlation_id(None)
    logger.remove_keys(list(RECORD_KEYS))
    if processor.lambda_context.get_remaining_time_in_millis() < MIN_REMAINING_MILLIS:
        metrics.add_metric("RecordReturnedUnstarted", MetricUnit.Count, 1)
        raise OutOfTimeError(record.message_id)

    try:
        change = parse_message_body(record.body)
    except MalformedEventError as error:
        logger.set_correlation_id(error.event_id)
        logger.error(
            "event rejected",
            message_id=record.message_id,
            event_id=error.event_id,  # None (dropped from the line) when it has none
            reject_reason=error.reason,
            reject_detail=error.detail,
        )
        metrics.add_metric("EventRejected", MetricUnit.Count, 1)
        keep_in_dead_letter_queue(record, error.reason, error.detail)
        return

    logger.set_correlation_id(change.event_id)
    logger.append_keys(
        event_id=change.event_id, image_build_version_arn=change.image_build_version_arn
    )
    try:
        retrier.process(
            change, record.body, deferred_return=DEFERRED_ATTRIBUTE in record.message_attributes
        )
    except TransientServiceError as error:
        logger.warning("image builder unavailable; the record will come back", error=str(error))
        metrics.add_metric("TransientError", MetricUnit.Count, 1)
        raise
    except ConfigurationError as error:
        logger.error(
            "image builder refused the call; kept in the dead-letter queue",
            error_code=error.error_code,
            error=str(error),
        )
        metrics.add_metric("ConfigurationError", MetricUnit.Count, 1)
        keep_in_dead_letter_queue(record, error.error_code, str(error))
    except Exception:
        logger.exception("unexpected error; the record will come back")
        metrics.add_metric("UnexpectedError", MetricUnit.Count, 1)
        raise


@collector_hold.released_after
@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(
        event=event, record_handler=process_record, processor=processor, context=context
    )
