"""Given the ledger in DynamoDB (moto), the attempt budget holds across events, duplicates,
threads and crashes, give-ups are told once, and recoveries are recorded."""

from __future__ import annotations

import dataclasses
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from image_retrier.decision import Decision
from image_retrier.image_builder import CLIENT_CONFIG
from localsim.image_builder_fake import ImageBuilderFake
from tests.conftest import QUEUE_URL, AwsResources, load_event, load_image
from tests.integration.retrier_harness import SETTINGS, WEB_SERVER, RetrierHarness


@pytest.fixture
def harness(aws_resources: AwsResources, monkeypatch: pytest.MonkeyPatch) -> RetrierHarness:
    monkeypatch.setattr("time.sleep", lambda _seconds: None)
    harness = RetrierHarness(aws_resources)
    harness.image_builder.put_image(load_image("web-server-distribution-timed-out.json"))
    return harness


def _fail_again(image_builder: ImageBuilderFake) -> None:
    image_builder.set_status(WEB_SERVER, "FAILED")


def test_same_event_ten_times_makes_one_retry_call_and_one_attempt(
    harness: RetrierHarness,
) -> None:
    event = harness.failure_event("6f1c2a8e-3b4d-4e5f-9a0b-1c2d3e4f5a6b")

    for _ in range(10):
        harness.deliver(event)

    assert len(harness.image_builder.retry_image_calls) == 1
    assert harness.attempts() == 1


def test_same_event_ten_times_before_the_retry_shows_keeps_one_token_and_one_effect(
    harness: RetrierHarness,
) -> None:
    event = harness.failure_event("6f1c2a8e-3b4d-4e5f-9a0b-1c2d3e4f5a6b")

    for _ in range(10):
        # The image still reads as the same failed run, as if the retry had not shown yet.
        harness.image_builder.put_image(load_image("web-server-distribution-timed-out.json"))
        harness.deliver(event)

    assert len(harness.image_builder.accepted_retries) == 1
    assert {call.client_token for call in harness.image_builder.retry_image_calls} == {
        "f50a9535-04ec-5a0b-b07d-7788287f5d66"
    }
    assert harness.attempts() == 1


def test_a_late_duplicate_after_the_image_failed_again_does_not_retry(
    harness: RetrierHarness,
) -> None:
    first = harness.failure_event("event-1")
    harness.deliver(first)
    _fail_again(harness.image_builder)
    harness.image_builder.forget_tokens()

    late = harness.deliver(first)

    assert late.decision.reason == "attempt_superseded"
    assert len(harness.image_builder.retry_image_calls) == 1


def test_a_late_duplicate_after_the_give_up_does_not_retry(aws_resources: AwsResources) -> None:
    harness = RetrierHarness(aws_resources, dataclasses.replace(SETTINGS, max_attempts=1))
    harness.image_builder.put_image(load_image("web-server-distribution-timed-out.json"))
    harness.deliver(harness.failure_event("event-1"))
    _fail_again(harness.image_builder)
    harness.deliver(harness.failure_event("event-2"))
    harness.image_builder.forget_tokens()

    late = harness.deliver(harness.failure_event("event-1"))

    assert late.decision.reason == "attempt_superseded"
    assert len(harness.image_builder.retry_image_calls) == 1
    assert len(harness.notifications()) == 1


@pytest.mark.parametrize("stamped", ["9999-12-31T23:59:00Z", "2026-11-30T12:10:00Z"])
def test_an_event_stamped_in_the_future_waits_once_from_its_first_arrival(
    aws_resources: AwsResources, stamped: str
) -> None:
    backoff = dataclasses.replace(
        SETTINGS, retry_delay_seconds=300, backoff_rate=2.0, max_retry_delay_seconds=3600
    )
    harness = RetrierHarness(aws_resources, backoff)
    harness.image_builder.put_image(load_image("web-server-distribution-timed-out.json"))
    harness.clock.now = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    event = harness.failure_event("event-1", time=stamped)

    first = harness.deliver(event)
    assert first.decision.decision is Decision.DEFER
    assert first.deferred_seconds is not None
    assert first.deferred_seconds <= 300
    harness.clock.now += timedelta(seconds=first.deferred_seconds)
    back = harness.deliver(event, deferred_return=True)

    # Its return finds the wait over, though the event's time is still ahead.
    assert back.decision.decision is Decision.RETRY
    assert len(harness.image_builder.accepted_retries) == 1
    assert harness.attempts() == 1


def test_a_notice_that_went_out_is_not_sent_again_when_marking_it_fails(
    harness: RetrierHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    for number in range(3):
        _fail_again(harness.image_builder)
        harness.deliver(harness.failure_event(f"event-{number}"))
    _fail_again(harness.image_builder)

    def ledger_unavailable(*_: Any) -> None:
        raise ConnectionError("DynamoDB unavailable")

    monkeypatch.setattr(harness.ledger, "confirm_notice", ledger_unavailable)
    result = harness.deliver(harness.failure_event("event-3"))

    assert result.notified is True
    assert len(harness.notifications()) == 1


def test_a_failed_recovery_notification_still_records_and_counts_the_recovery(
    aws_resources: AwsResources, monkeypatch: pytest.MonkeyPatch
) -> None:
    harness = RetrierHarness(aws_resources, dataclasses.replace(SETTINGS, notify_on_recovery=True))
    harness.image_builder.put_image(load_image("web-server-distribution-timed-out.json"))
    harness.deliver(harness.failure_event("event-1"))

    def sns_unavailable(*_: Any) -> None:
        raise ConnectionError("SNS unavailable")

    monkeypatch.setattr(harness.retrier._notifier, "recovered", sns_unavailable)
    result = harness.deliver(load_event("available.json"))

    assert result.decision.decision is Decision.RECOVERED
    item = harness.ledger.history(WEB_SERVER)
    assert item is not None
    assert item["outcome"]["S"] == "recovered"


def test_the_budget_caps_retries_across_different_failure_events(harness: RetrierHarness) -> None:
    decisions = []
    for number in range(5):
        _fail_again(harness.image_builder)
        decisions.append(harness.deliver(harness.failure_event(f"event-{number}")).decision)

    assert [decision.decision for decision in decisions] == [Decision.RETRY] * 3 + [
        Decision.GIVE_UP
    ] * 2
    assert len(harness.image_builder.accepted_retries) == SETTINGS.max_attempts
    assert harness.attempts() == SETTINGS.max_attempts


def test_give_up_is_told_exactly_once_even_under_duplicates(harness: RetrierHarness) -> None:
    for number in range(3):
        _fail_again(harness.image_builder)
        harness.deliver(harness.failure_event(f"event-{number}"))
    _fail_again(harness.image_builder)
    spent = harness.failure_event("event-3")

    results = [harness.deliver(spent) for _ in range(3)]
    results.append(harness.deliver(harness.failure_event("event-4")))

    (notification,) = harness.notifications()
    assert [result.notified for result in results] == [True, False, False, False]
    assert WEB_SERVER in notification
    assert "web-server-pipeline" in notification
    assert "RetryImage attempts made: 3 of 3" in notification
    assert (
        "Console: https://console.aws.amazon.com/imagebuilder/home?region=us-east-1#"
        in notification
    )
    assert "TIMED_OUT" in notification
    item = harness.ledger.history(WEB_SERVER)
    assert item is not None
    assert item["outcome"]["S"] == "gave_up"


def test_a_give_up_already_told_makes_no_claim_write(harness: RetrierHarness) -> None:
    for number in range(3):
        _fail_again(harness.image_builder)
        harness.deliver(harness.failure_event(f"event-{number}"))
    _fail_again(harness.image_builder)
    assert harness.deliver(harness.failure_event("event-3")).notified is True
    writes: list[str] = []
    harness.ledger._client.meta.events.register(
        "before-parameter-build.dynamodb.UpdateItem",
        lambda params, **_: writes.append(params["UpdateExpression"].split()[0]),
    )

    later = [harness.deliver(harness.failure_event(name)) for name in ("event-3", "event-4")]

    assert [(result.decision.decision, result.outcome) for result in later] == [
        (Decision.GIVE_UP, "already_notified")
    ] * 2
    # Only the reservations, each refused: the refusal showed the give-up notice as sent.
    assert writes == ["ADD", "ADD"]
    assert len(harness.notifications()) == 1


def test_failed_notification_is_released_for_the_next_delivery(
    harness: RetrierHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    for number in range(3):
        _fail_again(harness.image_builder)
        harness.deliver(harness.failure_event(f"event-{number}"))
    _fail_again(harness.image_builder)
    spent = harness.failure_event("event-3")
    notifier = harness.retrier._notifier

    def unavailable(*_: Any) -> None:
        raise ConnectionError("SNS unavailable")

    with monkeypatch.context() as patch:
        patch.setattr(notifier, "gave_up", unavailable)
        with pytest.raises(ConnectionError):
            harness.deliver(spent)

    assert harness.deliver(spent).notified is True
    assert len(harness.notifications()) == 1


def test_two_failure_events_at_once_take_two_attempts_never_more(
    aws_resources: AwsResources, monkeypatch: pytest.MonkeyPatch
) -> None:
    # DynamoDB applies each conditional write atomically; moto does not lock, so the test
    # gives it that one guarantee of the real service and nothing more.
    from moto.dynamodb.models import DynamoDBBackend

    lock = threading.Lock()
    update_item = DynamoDBBackend.update_item

    def atomic_update_item(self: DynamoDBBackend, *args: Any, **kwargs: Any) -> Any:
        with lock:
            return update_item(self, *args, **kwargs)

    monkeypatch.setattr(DynamoDBBackend, "update_item", atomic_update_item)
    monkeypatch.setattr("time.sleep", lambda _seconds: None)
    harness = RetrierHarness(aws_resources)
    harness.image_builder.put_image(load_image("web-server-distribution-timed-out.json"))
    events = [harness.failure_event(f"concurrent-{number}") for number in range(6)]
    # The fake would turn the image to DISTRIBUTING after the first retry; keep it FAILED so
    # every thread reaches the ledger at the same time.
    harness.image_builder.status_after_retry = "FAILED"
    # Each event sees a failed run of its own, as if the image failed again in between.
    harness.image_builder.new_run_each_read = True

    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(harness.deliver, events))

    retried = [result for result in results if result.decision.decision is Decision.RETRY]
    assert len(retried) == SETTINGS.max_attempts
    assert harness.attempts() == SETTINGS.max_attempts
    assert len(harness.image_builder.accepted_retries) == SETTINGS.max_attempts


def test_crash_after_the_ledger_write_repeats_the_same_retry_on_redelivery(
    harness: RetrierHarness,
) -> None:
    event = harness.failure_event("6f1c2a8e-3b4d-4e5f-9a0b-1c2d3e4f5a6b")
    attempts_per_call = CLIENT_CONFIG.retries["total_max_attempts"]
    harness.image_builder.fail_next("RetryImage", "ServiceUnavailableException", attempts_per_call)
    with pytest.raises(Exception, match="ServiceUnavailableException"):
        harness.deliver(event)
    assert harness.attempts() == 1

    result = harness.deliver(event)

    assert result.decision.attempt == 1
    assert result.decision.duplicate is True
    assert len(harness.image_builder.accepted_retries) == 1
    assert harness.attempts() == 1


def test_crash_after_retry_image_before_the_ack_adds_no_effect(harness: RetrierHarness) -> None:
    event = harness.failure_event("6f1c2a8e-3b4d-4e5f-9a0b-1c2d3e4f5a6b")
    harness.deliver(event)
    # The record was not acknowledged; it comes back while the image still reads FAILED.
    harness.image_builder.put_image(load_image("web-server-distribution-timed-out.json"))

    harness.deliver(event)

    assert len(harness.image_builder.retry_image_calls) == 2
    assert len(harness.image_builder.accepted_retries) == 1
    assert harness.attempts() == 1


def test_available_after_a_retry_is_recorded_as_recovered(harness: RetrierHarness) -> None:
    harness.deliver(harness.failure_event("event-1"))

    result = harness.deliver(load_event("available.json"))

    assert result.decision.decision is Decision.RECOVERED
    assert result.decision.attempt == 1
    item = harness.ledger.history(WEB_SERVER)
    assert item is not None
    assert item["outcome"]["S"] == "recovered"
    assert harness.deliver(load_event("available.json")).decision.decision is Decision.SKIP


def test_available_for_an_image_never_retried_records_nothing(harness: RetrierHarness) -> None:
    result = harness.deliver(load_event("available.json"))

    assert result.decision.reason == "not_retried_by_us"
    assert harness.ledger.history(WEB_SERVER) is None


def test_recovery_notification_is_optional(aws_resources: AwsResources) -> None:
    harness = RetrierHarness(aws_resources, dataclasses.replace(SETTINGS, notify_on_recovery=True))
    harness.image_builder.put_image(load_image("web-server-distribution-timed-out.json"))
    harness.deliver(harness.failure_event("event-1"))

    harness.deliver(load_event("available.json"))

    (notification,) = harness.notifications()
    assert "AVAILABLE after 1 of 3 RetryImage attempt(s)" in notification
    assert "Next: nothing" in notification


def test_a_retry_not_yet_due_waits_in_the_queue_and_comes_back(
    aws_resources: AwsResources,
) -> None:
    backoff = dataclasses.replace(
        SETTINGS, retry_delay_seconds=300, backoff_rate=2.0, max_retry_delay_seconds=3600
    )
    harness = RetrierHarness(aws_resources, backoff)
    harness.image_builder.put_image(load_image("web-server-distribution-timed-out.json"))
    event = harness.failure_event("event-1", time="2026-11-30T09:14:07Z")
    harness.clock.now = datetime(2026, 11, 30, 9, 14, 8, tzinfo=UTC)

    deferred = harness.deliver(event)

    assert deferred.decision.decision is Decision.DEFER
    assert deferred.deferred_seconds is not None
    assert 240 <= deferred.deferred_seconds <= 360
    assert harness.image_builder.retry_image_calls == []
    waiting = harness.sqs.get_queue_attributes(
        QueueUrl=QUEUE_URL, AttributeNames=["ApproximateNumberOfMessagesDelayed"]
    )
    assert waiting["Attributes"]["ApproximateNumberOfMessagesDelayed"] == "1"

    harness.clock.now += timedelta(seconds=deferred.deferred_seconds)
    returned = harness.deliver(event, deferred_return=True)

    assert returned.decision.decision is Decision.RETRY
    assert returned.decision.duplicate is False
    assert harness.attempts() == 1
    assert len(harness.image_builder.accepted_retries) == 1


def test_a_long_wait_takes_several_hops_of_at_most_fifteen_minutes(
    aws_resources: AwsResources,
) -> None:
    backoff = dataclasses.replace(
        SETTINGS, retry_delay_seconds=3000, backoff_rate=2.0, max_retry_delay_seconds=7200
    )
    harness = RetrierHarness(aws_resources, backoff)
    harness.image_builder.put_image(load_image("web-server-distribution-timed-out.json"))
    event = harness.failure_event("event-1", time="2026-11-30T09:14:07Z")
    harness.clock.now = datetime(2026, 11, 30, 9, 14, 8, tzinfo=UTC)

    hops = []
    while (result := harness.deliver(event, deferred_return=bool(hops))).deferred_seconds:
        hops.append(result.deferred_seconds)
        harness.clock.now += timedelta(seconds=result.deferred_seconds)

    assert max(hops) == 900
    assert len(hops) >= 3
    assert result.decision.decision is Decision.RETRY
    assert harness.attempts() == 1


def test_a_permanent_failure_is_told_once_and_never_retried(harness: RetrierHarness) -> None:
    harness.image_builder.put_image(load_image("web-server-distribution-managed-key.json"))

    first = harness.deliver(harness.failure_event("event-1"))
    _fail_again(harness.image_builder)
    second = harness.deliver(harness.failure_event("event-2"))

    assert (first.decision.decision, first.decision.reason) == (
        Decision.NEEDS_FIX,
        "permanent_cause",
    )
    assert (first.notified, second.notified) == (True, False)
    assert harness.image_builder.retry_image_calls == []
    (notification,) = harness.notifications()
    assert "Region: us-east-1  target account: 444455556666" in notification
    assert "AWS Managed CMK" in notification
    assert "customer managed KMS key" in notification
    item = harness.ledger.history(WEB_SERVER)
    assert item is not None
    assert item["outcome"]["S"] == "needs_fix"
    assert "attempts" not in item


def test_an_opted_out_image_is_left_alone_before_any_attempt(harness: RetrierHarness) -> None:
    body = load_image("web-server-distribution-timed-out.json")
    body["image"]["tags"]["auto-retry"] = "false"
    harness.image_builder.put_image(body)

    result = harness.deliver(harness.failure_event("event-1"))

    assert (result.decision.decision, result.decision.reason) == (
        Decision.SKIP,
        "opted_out_by_tag",
    )
    assert harness.image_builder.requests == ["GetImage"]
    assert harness.ledger.history(WEB_SERVER) is None


def test_two_events_for_the_same_failed_run_share_one_attempt_and_one_token(
    harness: RetrierHarness,
) -> None:
    harness.image_builder.status_after_retry = "FAILED"

    first = harness.deliver(harness.failure_event("event-1"))
    second = harness.deliver(harness.failure_event("event-2"))

    assert (first.decision.attempt, second.decision.attempt) == (1, 1)
    assert second.client_token == first.client_token
    assert harness.attempts() == 1
    assert len(harness.image_builder.accepted_retries) == 1
