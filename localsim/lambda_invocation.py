"""What Lambda hands the function, for invocations on this machine: a context and SQS records."""

from __future__ import annotations

import json
from typing import Any

REGION = "us-east-1"
QUEUE_ARN = f"arn:aws:sqs:{REGION}:123456789012:image-events"


class LocalLambdaContext:
    """What the handler reads of its Lambda context."""

    function_name = "image-retrier"
    memory_limit_in_mb = 512
    invoked_function_arn = f"arn:aws:lambda:{REGION}:111122223333:function:image-retrier"
    aws_request_id = "00000000-0000-4000-8000-000000000000"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 120_000


def sqs_record(body: str | dict[str, Any], message_id: str) -> dict[str, Any]:
    """The SQS record the event source mapping hands the function for one first delivery of a
    message whose body is `body` (an event is sent as its JSON)."""
    return {
        "messageId": message_id,
        "receiptHandle": f"receipt-{message_id}",
        "body": body if isinstance(body, str) else json.dumps(body),
        "attributes": {"ApproximateReceiveCount": "1"},
        "messageAttributes": {},
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "eventSourceARN": QUEUE_ARN,
        "awsRegion": REGION,
    }
