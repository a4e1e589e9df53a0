"""Test-wide environment: fake credentials, no real AWS endpoint, the function's settings."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

CASES = Path(__file__).parent / "cases"
# In moto's default account; tests that run the handler create them (see aws_resources).
QUEUE_URL = "https://sqs.us-east-1.amazonaws.com/123456789012/image-events"
DEAD_LETTER_QUEUE_URL = "https://sqs.us-east-1.amazonaws.com/123456789012/dead-letters"
LEDGER_TABLE_NAME = "attempt-ledger"
NOTIFICATION_TOPIC_ARN = "arn:aws:sns:us-east-1:123456789012:image-retrier"

# Set before any test module imports boto3 or the handler, which reads them at import.
FUNCTION_ENVIRONMENT = {
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "POWERTOOLS_SERVICE_NAME": "image-retrier",
    "POWERTOOLS_METRICS_NAMESPACE": "ImageRetrier",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "MAX_ATTEMPTS": "3",
    "RETRY_STAGES": "DISTRIBUTING",
    "DRY_RUN": "false",
    "RETRY_DELAY_SECONDS": "0",
    "BACKOFF_RATE": "2",
    "MAX_RETRY_DELAY_SECONDS": "0",
    "NOTIFY_ON_RECOVERY": "false",
    "UNKNOWN_CAUSES": "retry",
    "PERMANENT_PATTERNS": "[]",
    "TRANSIENT_PATTERNS": "[]",
    "SCOPE": "{}",
    "QUEUE_URL": QUEUE_URL,
    "DEAD_LETTER_QUEUE_URL": DEAD_LETTER_QUEUE_URL,
    "LEDGER_TABLE_NAME": LEDGER_TABLE_NAME,
    "LEDGER_TTL_DAYS": "90",
    "NOTIFICATION_TOPIC_ARN": NOTIFICATION_TOPIC_ARN,
}
os.environ.update(FUNCTION_ENVIRONMENT)
# Some tests run Python processes on the built function assets: bytecode they wrote there, for
# this machine's Python, would be deployed with the asset.
os.environ["PYTHONDONTWRITEBYTECODE"] = "1"
os.environ.pop("AWS_PROFILE", None)


def load_event(name: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((CASES / "events" / name).read_text())
    return event


def load_image(name: str) -> dict[str, Any]:
    image: dict[str, Any] = json.loads((CASES / "images" / name).read_text())
    return image


@pytest.fixture
def lambda_context() -> Any:
    class Context:
        function_name = "image-retrier"
        memory_limit_in_mb = 256
        invoked_function_arn = "arn:aws:lambda:us-east-1:111122223333:function:image-retrier"
        aws_request_id = "52fdfc07-2182-454f-963f-5f0f9a621d72"

        @staticmethod
        def get_remaining_time_in_millis() -> int:
            return 60_000

    return Context()


@pytest.fixture
def aws() -> Iterator[None]:
    from moto import mock_aws

    with mock_aws():
        yield


@dataclass(frozen=True)
class AwsResources:
    notification_inbox_url: str


@pytest.fixture
def aws_resources(aws: None) -> AwsResources:
    return create_aws_resources()


def create_aws_resources() -> AwsResources:
    """The queues, ledger table and topic the function's environment names, in moto."""
    import boto3

    sqs = boto3.client("sqs")
    sqs.create_queue(QueueName="image-events")
    sqs.create_queue(QueueName="dead-letters")
    boto3.client("dynamodb").create_table(
        TableName=LEDGER_TABLE_NAME,
        KeySchema=[{"AttributeName": "image_build_version_arn", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "image_build_version_arn", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    sns = boto3.client("sns")
    sns.create_topic(Name="image-retrier")
    inbox_url = sqs.create_queue(QueueName="notification-inbox")["QueueUrl"]
    inbox_arn = sqs.get_queue_attributes(QueueUrl=inbox_url, AttributeNames=["QueueArn"])
    sns.subscribe(
        TopicArn=NOTIFICATION_TOPIC_ARN,
        Protocol="sqs",
        Endpoint=inbox_arn["Attributes"]["QueueArn"],
        Attributes={"RawMessageDelivery": "true"},
    )
    return AwsResources(notification_inbox_url=inbox_url)
