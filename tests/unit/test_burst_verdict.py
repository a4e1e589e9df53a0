"""Given the RetryImage calls of a burst, then its verdict counts each way a retrier can go wrong:
a second retry of one event, a budget overrun, a token taken again, an image left short."""

from __future__ import annotations

from benchmarks.burst import BurstVerdict, burst_verdict
from image_retrier.tokens import client_token_for_event
from localsim.image_builder_fake import RetryImageCall

IMAGE_A = "arn:aws:imagebuilder:us-east-1:111122223333:image/a/1.0.0/1"
IMAGE_B = "arn:aws:imagebuilder:us-east-1:111122223333:image/b/1.0.0/1"
# Two images, two events each, one of them delivered twice; a budget of two attempts.
EVENTS = {"a-1": IMAGE_A, "a-2": IMAGE_A, "b-1": IMAGE_B, "b-2": IMAGE_B}
DELIVERED = ["a-1", "a-2", "b-1", "b-2", "a-1"]


def _retry(event_id: str, accepted: bool = True, token: str | None = None) -> RetryImageCall:
    return RetryImageCall(EVENTS[event_id], token or client_token_for_event(event_id), accepted)


def _verdict(calls: list[RetryImageCall]) -> BurstVerdict:
    return burst_verdict(DELIVERED, calls, [IMAGE_A, IMAGE_B], max_attempts=2)


def test_one_retry_per_event_within_the_budget_is_a_clean_verdict() -> None:
    calls = [_retry(event_id) for event_id in EVENTS]

    assert _verdict(calls) == BurstVerdict(0, 0, 0, 0)


def test_a_token_not_derived_from_an_event_is_a_duplicate_retry() -> None:
    calls = [_retry(event_id) for event_id in EVENTS] + [_retry("b-1", token="random-token")]

    assert _verdict(calls).duplicate_retries == 1


def test_more_calls_than_deliveries_for_an_event_is_a_duplicate_retry() -> None:
    calls = [_retry(event_id) for event_id in EVENTS] + [_retry("b-1", accepted=False)]

    verdict = _verdict(calls)

    assert verdict.duplicate_retries == 1
    assert verdict.repeated_tokens == 1


def test_a_redelivery_repeating_its_token_is_counted_as_a_repeat_not_a_duplicate() -> None:
    calls = [_retry(event_id) for event_id in EVENTS] + [_retry("a-1", accepted=False)]

    verdict = _verdict(calls)

    assert verdict.duplicate_retries == 0
    assert verdict.repeated_tokens == 1


def test_two_retries_started_for_one_event_are_a_duplicate() -> None:
    calls = [_retry(event_id) for event_id in EVENTS] + [_retry("a-1")]

    assert _verdict(calls).duplicate_retries == 1


def test_an_image_retried_beyond_its_budget_is_an_overrun() -> None:
    third = RetryImageCall(IMAGE_A, "some-other-token", accepted=True)
    calls = [_retry(event_id) for event_id in EVENTS] + [third]

    verdict = _verdict(calls)

    assert verdict.budget_overruns == 1
    assert verdict.duplicate_retries == 1


def test_an_image_retried_less_than_its_budget_is_short() -> None:
    calls = [_retry("a-1"), _retry("a-2"), _retry("b-1")]

    assert _verdict(calls).images_short_of_budget == 1


def test_a_retrier_that_never_retries_leaves_every_image_short() -> None:
    assert _verdict([]).images_short_of_budget == 2
