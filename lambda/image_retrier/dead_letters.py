"""Keeps a message the retrier cannot act on, unchanged, in the dead-letter queue."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

# The characters SQS accepts in a message; anything else would fail the send, and the record
# would come back instead of being kept.
NOT_SENDABLE = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


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
                "rejectDetail": {"DataType": "String", "StringValue": _sendable(detail[:1024])},
                "sourceMessageId": {"DataType": "String", "StringValue": source_message_id},
            },
        )


def _sendable(text: str) -> str:
    return NOT_SENDABLE.sub("?", text) or "-"
