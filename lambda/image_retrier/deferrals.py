"""Puts a failure event back on the queue to come back when its retry is due."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

# SQS's limit for a message delay. Longer waits take several hops, each a fresh message, so
# waiting never counts as a failed receive toward the dead-letter redrive.
MAX_DELAY_SECONDS = 900
# Marks a message the retrier put back itself, so its return is not counted as a duplicate.
DEFERRED_ATTRIBUTE = "retrierDeferredAttempt"


class Deferrals:
    def __init__(self, client: SQSClient, queue_url: str) -> None:
        self._client = client
        self._queue_url = queue_url

    def defer(self, body: str, attempt: int, wait_seconds: float) -> int:
        delay = max(1, min(MAX_DELAY_SECONDS, math.ceil(wait_seconds)))
        self._client.send_message(
            QueueUrl=self._queue_url,
            MessageBody=body,
            DelaySeconds=delay,
            MessageAttributes={
                DEFERRED_ATTRIBUTE: {"DataType": "Number", "StringValue": str(attempt)}
            },
        )
        return delay
