"""What the dead-letter queue is sent: the body unchanged, why it was kept in attributes."""

from __future__ import annotations

from typing import Any

from image_retrier.dead_letters import DeadLetterQueue


class RecordingClient:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    def send_message(self, **request: Any) -> None:
        self.sent.append(request)


def test_a_reject_detail_that_sqs_cannot_carry_is_sent_with_those_characters_replaced() -> None:
    client = RecordingClient()

    DeadLetterQueue(client, "queue-url").keep(  # type: ignore[arg-type]
        '{"id": 1}', "message-1", "invalid_time", "bad \ud800 and \x00, kept\ttab é"
    )

    (request,) = client.sent
    assert request["MessageBody"] == '{"id": 1}'
    assert request["MessageAttributes"]["rejectDetail"]["StringValue"] == (
        "bad ? and ?, kept\ttab é"
    )


def test_an_empty_reject_detail_is_sent_as_a_dash() -> None:
    client = RecordingClient()

    DeadLetterQueue(client, "queue-url").keep("{}", "message-1", "no_id", "")  # type: ignore[arg-type]

    assert client.sent[0]["MessageAttributes"]["rejectDetail"]["StringValue"] == "-"
