"""Test-wide environment: fake credentials, no real AWS endpoint, the function's settings."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CASES = Path(__file__).parent / "cases"
# moto's default account; the handler tests create this queue.
DEAD_LETTER_QUEUE_URL = "https://sqs.us-east-1.amazonaws.com/123456789012/dead-letters"

# Set before any test module imports boto3 or the handler, which reads them at import.
os.environ.update(
    {
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
        "DEAD_LETTER_QUEUE_URL": DEAD_LETTER_QUEUE_URL,
    }
)
os.environ.pop("AWS_PROFILE", None)


def load_event(name: str) -> dict[str, Any]:
    return json.loads((CASES / "events" / name).read_text())


def load_image(name: str) -> dict[str, Any]:
    return json.loads((CASES / "images" / name).read_text())


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
