"""Given SQS batches of Image Builder events, the real handler inspects, decides and acts:
one RetryImage effect per failure event, nothing lost, nothing called for bad input."""

from __future__ import annotations

import dataclasses
import importlib
import io
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import boto3
import botocore.session
import pytest

from image_retrier.decision import Decision
from image_retrier.events import parse_message_body
from localsim.image_builder_fake import ImageBuilderFake
from tests.conftest import DEAD_LETTER_QUEUE_URL, AwsResources, load_event, load_image
from tests.unit.test_tokens import PINNED_TOKENS

WEB_SERVER = "arn:aws:imagebuilder:us-east-1:111122223333:image/web-server/1.4.0/3"


@dataclass
class Harness:
    handler: ModuleType
    image_builder: ImageBuilderFake
    logs: io.StringIO
    context: Any

    def deliver(self, *event_files: str, bodies: tuple[str, ...] = ()) -> dict[str, Any]:
        all_bodies = [json.dumps(load_event(name)) for name in event_files] + list(bodies)
        records = [
            {
                "messageId": f"message-{index}",
                "receiptHandle": f"receipt-{index}",
                "body": body,
                "attributes": {"ApproximateReceiveCount": "1"},
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:failed-images",
                "awsRegion": "us-east-1",
            }
            for index, body in enumerate(all_bodies)
        ]
        response: dict[str, Any] = self.handler.lambda_handler({"Records": records}, self.context)
        return response

    def log_lines(self, message: str) -> list[dict[str, Any]]:
        lines = [json.loads(line) for line in self.logs.getvalue().splitlines() if line]
        return [line for line in lines if line["message"] == message]

    def dead_letters(self) -> list[dict[str, Any]]:
        sqs = boto3.client("sqs")
        return sqs.receive_message(
            QueueUrl=DEAD_LETTER_QUEUE_URL, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
        ).get("Messages", [])


@pytest.fixture
def harness(
    aws_resources: AwsResources, lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Harness]:
    monkeypatch.setattr("time.sleep", lambda _seconds: None)
    from image_retrier import handler

    fake = ImageBuilderFake()
    fake.attach(handler.image_builder_client)
    logs = io.StringIO()
    handler.logger.registered_handler.setStream(logs)
    try:
        yield Harness(handler, fake, logs, lambda_context)
    finally:
        fake.detach(handler.image_builder_client)


def test_distribution_failure_is_retried_once_with_the_pinned_token(harness: Harness) -> None:
    harness.image_builder.put_image(load_image("web-server-distribution-timed-out.json"))

    response = harness.deliver("distribution-failed.json")

    assert response == {"batchItemFailures": []}
    (call,) = harness.image_builder.retry_image_calls
    assert (call.image_build_version_arn, call.client_token, call.accepted) == (
        WEB_SERVER,
        PINNED_TOKENS["distribution-failed.json"],
        True,
    )


def test_one_structured_line_per_decision(harness: Harness) -> None:
    harness.image_builder.put_image(load_image("web-server-distribution-timed-out.json"))

    harness.deliver("distribution-failed.json")

    (line,) = harness.log_lines("retry decision")
    assert line["event_id"] == load_event("distribution-failed.json")["id"]
    assert line["correlation_id"] == line["event_id"]
    assert line["image_build_version_arn"] == WEB_SERVER
    assert (line["failure_stage"], line["decision"], line["reason"]) == (
        "DISTRIBUTING",
        "retry",
        "distributing_failure",
    )
    assert line["client_token"] == PINNED_TOKENS["distribution-failed.json"]
    assert line["outcome"] == "requested"


def test_duplicate_delivery_retries_once(harness: Harness) -> None:
    harness.image_builder.put_image(load_image("web-server-distribution-timed-out.json"))

    harness.deliver("distribution-failed.json")
    harness.deliver("distribution-failed.json")

    assert len(harness.image_builder.accepted_retries) == 1


def test_redelivery_before_the_retry_shows_reuses_the_token_for_no_second_effect(
    harness: Harness,
) -> None:
    # The image still reads FAILED (the first retry has not started yet), so RetryImage is
    # called again; the same client token makes Image Builder return the original result.
    harness.image_builder.put_image(load_image("web-server-distribution-timed-out.json"))
    harness.deliver("distribution-failed.json")
    harness.image_builder.put_image(load_image("web-server-distribution-timed-out.json"))

    response = harness.deliver("distribution-failed.json")

    assert response == {"batchItemFailures": []}
    calls = harness.image_builder.retry_image_calls
    assert [call.client_token for call in calls] == [PINNED_TOKENS["distribution-failed.json"]] * 2
    assert len(harness.image_builder.accepted_retries) == 1


def test_second_failure_event_gets_its_own_token(harness: Harness) -> None:
    harness.image_builder.put_image(load_image("web-server-distribution-timed-out.json"))
    harness.deliver("distribution-failed.json")
    harness.image_builder.set_status(WEB_SERVER, "FAILED")

    harness.deliver("distribution-failed-again.json")

    tokens = [call.client_token for call in harness.image_builder.accepted_retries]
    assert tokens == [
        PINNED_TOKENS["distribution-failed.json"],
        PINNED_TOKENS["distribution-failed-again.json"],
    ]


def test_build_failure_makes_no_retry_call(harness: Harness) -> None:
    harness.image_builder.put_image(load_image("batch-worker-build-failed.json"))

    response = harness.deliver("build-failed.json")

    assert response == {"batchItemFailures": []}
    assert harness.image_builder.requests == ["GetImage"]


def test_malformed_event_is_kept_in_the_dead_letter_queue_without_any_call(
    harness: Harness,
) -> None:
    response = harness.deliver("malformed-no-resources.json")

    assert response == {"batchItemFailures": []}
    assert harness.image_builder.requests == []
    (kept,) = harness.dead_letters()
    assert kept["Body"] == json.dumps(load_event("malformed-no-resources.json"))
    assert kept["MessageAttributes"]["rejectReason"]["StringValue"] == "no_resources"
    (line,) = harness.log_lines("event rejected")
    assert line["reject_reason"] == "no_resources"
    # The event's id, so that the rejection is found by it as every other line of the event.
    event_id = load_event("malformed-no-resources.json")["id"]
    assert (line["event_id"], line["correlation_id"]) == (event_id, event_id)


@pytest.mark.parametrize("region", ["us-east-1\ud800", "us-east-1\u0000"])
def test_an_event_whose_fields_sqs_cannot_carry_is_still_kept_with_its_reason(
    harness: Harness, region: str
) -> None:
    body = json.dumps(load_event("distribution-failed.json") | {"region": region})

    response = harness.deliver(bodies=(body,))

    assert response == {"batchItemFailures": []}
    (kept,) = harness.dead_letters()
    assert kept["Body"] == body
    assert kept["MessageAttributes"]["rejectReason"]["StringValue"] == "image_arn_mismatch"
    # Real SQS refuses both characters; the detail names them escaped instead.
    detail = kept["MessageAttributes"]["rejectDetail"]["StringValue"]
    assert region[-1] not in detail
    assert "us-east-1\\" in detail
    (line,) = harness.log_lines("event rejected")
    assert line["reject_reason"] == "image_arn_mismatch"


def test_a_rejected_event_that_cannot_be_kept_comes_back_and_says_why(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    def unavailable(*_: Any) -> None:
        raise ConnectionError("SQS unavailable")

    monkeypatch.setattr(harness.handler.dead_letters, "keep", unavailable)

    response = harness.deliver("malformed-no-resources.json")

    assert response == {"batchItemFailures": [{"itemIdentifier": "message-0"}]}
    (line,) = harness.log_lines(
        "could not keep the record in the dead-letter queue; it will come back"
    )
    assert "SQS unavailable" in line["exception"]


def test_a_bad_record_does_not_hold_up_the_good_ones_in_its_batch(harness: Harness) -> None:
    harness.image_builder.put_image(load_image("web-server-distribution-timed-out.json"))

    response = harness.deliver("distribution-failed.json", bodies=("{not json",))

    assert response == {"batchItemFailures": []}
    assert len(harness.image_builder.accepted_retries) == 1
    (kept,) = harness.dead_letters()
    assert kept["MessageAttributes"]["rejectReason"]["StringValue"] == "body_not_json"


def test_throttled_image_builder_returns_the_record_to_the_queue(harness: Harness) -> None:
    harness.image_builder.put_image(load_image("web-server-distribution-timed-out.json"))
    harness.image_builder.fail_next("RetryImage", "CallRateLimitExceededException", times=5)

    response = harness.deliver("distribution-failed.json")

    assert response == {"batchItemFailures": [{"itemIdentifier": "message-0"}]}
    assert harness.dead_letters() == []

    retried = harness.deliver("distribution-failed.json")

    assert retried == {"batchItemFailures": []}
    assert len(harness.image_builder.accepted_retries) == 1


def test_permission_refusal_is_kept_in_the_dead_letter_queue(harness: Harness) -> None:
    harness.image_builder.put_image(load_image("web-server-distribution-timed-out.json"))
    harness.image_builder.fail_next("RetryImage", "ForbiddenException")

    response = harness.deliver("distribution-failed.json")

    assert response == {"batchItemFailures": []}
    (kept,) = harness.dead_letters()
    assert kept["MessageAttributes"]["rejectReason"]["StringValue"] == "ForbiddenException"


def test_image_that_cannot_be_retried_is_recorded_not_looped(harness: Harness) -> None:
    harness.image_builder.put_image(load_image("web-server-distribution-timed-out.json"))
    harness.image_builder.fail_next("RetryImage", "InvalidRequestException")

    response = harness.deliver("distribution-failed.json")

    assert response == {"batchItemFailures": []}
    assert harness.dead_letters() == []
    (line,) = harness.log_lines("retry decision")
    assert line["outcome"] == "not_retryable"


def test_retry_already_running_is_not_a_failure(harness: Harness) -> None:
    harness.image_builder.put_image(load_image("web-server-distribution-timed-out.json"))
    harness.image_builder.fail_next("RetryImage", "ResourceInUseException")

    response = harness.deliver("distribution-failed.json")

    assert response == {"batchItemFailures": []}
    (line,) = harness.log_lines("retry decision")
    assert line["outcome"] == "already_running"


def test_deleted_image_gets_no_action(harness: Harness) -> None:
    response = harness.deliver("distribution-failed.json")

    assert response == {"batchItemFailures": []}
    assert harness.image_builder.requests == ["GetImage"]
    (line,) = harness.log_lines("retry decision")
    assert line["reason"] == "image_not_found"


def test_dry_run_decides_and_logs_but_never_calls_retry_image(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    harness.image_builder.put_image(load_image("web-server-distribution-timed-out.json"))
    retrier = harness.handler.retrier
    monkeypatch.setattr(retrier, "_settings", dataclasses.replace(retrier._settings, dry_run=True))
    body = json.dumps(load_event("distribution-failed.json"))

    result = retrier.process(parse_message_body(body), body)

    assert result.decision.decision is Decision.RETRY
    assert result.outcome == "dry_run"
    assert harness.image_builder.requests == ["GetImage"]
    (line,) = harness.log_lines("retry decision")
    assert line["dry_run"] is True


def test_access_denied_by_iam_is_kept_in_the_dead_letter_queue(harness: Harness) -> None:
    harness.image_builder.put_image(load_image("web-server-distribution-timed-out.json"))
    harness.image_builder.fail_next("GetImage", "AccessDeniedException")

    response = harness.deliver("distribution-failed.json")

    assert response == {"batchItemFailures": []}
    (kept,) = harness.dead_letters()
    assert kept["MessageAttributes"]["rejectReason"]["StringValue"] == "AccessDeniedException"


def test_unexpected_error_is_logged_with_the_event_and_the_record_comes_back(
    harness: Harness,
) -> None:
    harness.image_builder.put_image(load_image("web-server-distribution-timed-out.json"))
    harness.image_builder.fail_next("RetryImage", "ValidationException")

    response = harness.deliver("distribution-failed.json")

    assert response == {"batchItemFailures": [{"itemIdentifier": "message-0"}]}
    (line,) = harness.log_lines("unexpected error; the record will come back")
    assert line["event_id"] == load_event("distribution-failed.json")["id"]
    assert "ValidationException" in line["exception"]


def test_a_rejected_record_does_not_inherit_the_previous_records_correlation_id(
    harness: Harness,
) -> None:
    harness.image_builder.put_image(load_image("web-server-distribution-timed-out.json"))

    harness.deliver("distribution-failed.json", bodies=("[1]",))

    (line,) = harness.log_lines("event rejected")
    assert line.get("correlation_id") is None
    assert "event_id" not in line


def test_records_are_not_started_without_time_to_finish(harness: Harness) -> None:
    harness.image_builder.put_image(load_image("web-server-distribution-timed-out.json"))
    harness.context.get_remaining_time_in_millis = lambda: 10_000

    response = harness.deliver("distribution-failed.json")

    assert response == {"batchItemFailures": [{"itemIdentifier": "message-0"}]}
    assert harness.image_builder.requests == []


@pytest.fixture
def fresh_handler(
    aws_resources: AwsResources, lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Harness, list[tuple[botocore.session.Session, str]]]]:
    """The function's modules imported anew, as in a cold start, recording every client made."""
    created: list[tuple[botocore.session.Session, str]] = []
    create_client = botocore.session.Session.create_client

    def recording(self: botocore.session.Session, service_name: str, **kwargs: Any) -> Any:
        created.append((self, service_name))
        return create_client(self, service_name, **kwargs)

    monkeypatch.setattr(botocore.session.Session, "create_client", recording)
    # Every module of the function runs again, not only the handler's (restored afterwards).
    for name in [name for name in sys.modules if name.split(".")[0] == "image_retrier"]:
        monkeypatch.delitem(sys.modules, name)
    module = importlib.import_module("image_retrier.handler")
    fake = ImageBuilderFake()
    # On the session, so that the fake answers the Image Builder client without making it.
    module.session.register("before-send.imagebuilder", fake.answer)
    logs = io.StringIO()
    module.logger.registered_handler.setStream(logs)
    yield Harness(module, fake, logs, lambda_context), created


def test_a_cold_start_creates_only_the_clients_its_events_need(
    fresh_handler: tuple[Harness, list[tuple[botocore.session.Session, str]]],
) -> None:
    harness, created = fresh_handler

    def clients() -> list[str]:
        # Outside Lambda, the X-Ray SDK makes xray clients of its own; every other client is the
        # function's, and comes from its one session: another would load botocore's data again.
        function_clients = [(owner, service) for owner, service in created if service != "xray"]
        assert all(owner is harness.handler.session for owner, _ in function_clients)
        return [service for _, service in function_clients]

    assert clients() == []

    assert harness.deliver("available.json") == {"batchItemFailures": []}
    assert clients() == ["dynamodb"]

    harness.image_builder.put_image(load_image("batch-worker-build-failed.json"))
    assert harness.deliver("build-failed.json") == {"batchItemFailures": []}
    assert clients() == ["dynamodb", "imagebuilder"]

    harness.image_builder.put_image(load_image("web-server-distribution-timed-out.json"))
    assert harness.deliver("distribution-failed.json") == {"batchItemFailures": []}
    assert len(harness.image_builder.accepted_retries) == 1
    assert clients() == ["dynamodb", "imagebuilder"]

    assert harness.deliver("malformed-no-resources.json") == {"batchItemFailures": []}
    assert clients() == ["dynamodb", "imagebuilder", "sqs"]

    harness.image_builder.put_image(load_image("web-server-distribution-managed-key.json"))
    assert harness.deliver("distribution-failed-with-reason.json") == {"batchItemFailures": []}
    event_id = load_event("distribution-failed-with-reason.json")["id"]
    (line,) = [line for line in harness.log_lines("retry decision") if line["event_id"] == event_id]
    assert line["decision"] == "needs_fix"
    assert clients() == ["dynamodb", "imagebuilder", "sqs", "sns"]
    assert len(harness.dead_letters()) == 1
