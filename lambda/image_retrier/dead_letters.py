"""Keeps a message the retrier cannot act on, unchanged, in the dead-letter queue."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient


class DeadLetterQueue:
    def __init__(self, client: SQSClient, queue_url: str) -> None:
        self._client = client
        self._queue_url = queue_url

    def keep(self, body: str, source_message_id: str, reason: str, detail: str) -> None:
        # The body stays byte for byte what EventBridge delivered, so a redrive to the source
        # queue replays it; why it was kept travels in the attributes.
        self._client.send_message(
            QueueUrl=self._queue_url,
            MessageBody=body,
            MessageAttributes={
                "rejectReason": {"DataType": "String", "StringValue": reason},
                "rejectDetail": {"DataType": "String", "StringValue": detail[:1024] or "-"},
                "sourceMessageId": {"DataType": "String", "StringValue": source_message_id},
            },
        )
