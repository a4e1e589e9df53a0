"""The retry decision as a table: the event, what GetImage said, the settings -> the verdict."""

from __future__ import annotations

import dataclasses
import json

import pytest

from image_retrier.decision import Decision, decide
from image_retrier.events import ImageStateChange, parse_message_body
from image_retrier.inspection import FailureInspection, inspect_image
from image_retrier.settings import RetrierSettings
from tests.conftest import load_event, load_image

DEFAULTS = RetrierSettings(
    max_attempts=3,
    retry_stages=frozenset({"DISTRIBUTING"}),
    dry_run=False,
    dead_letter_queue_url="unused",
)
WITH_TESTS = dataclasses.replace(DEFAULTS, retry_stages=frozenset({"DISTRIBUTING", "TESTING"}))
DRY_RUN = dataclasses.replace(DEFAULTS, dry_run=True)


def _change(event_file: str) -> ImageStateChange:
    return parse_message_body(json.dumps(load_event(event_file)))


def _inspection(event_file: str, image_file: str) -> FailureInspection:
    return inspect_image(load_image(image_file)["image"], _change(event_file))


@pytest.mark.parametrize(
    ("event_file", "image_file", "settings", "attempts", "decision", "reason"),
    [
        ("distribution-failed.json", "web-server-distribution-timed-out.json", DEFAULTS, 0,
         Decision.RETRY, "distributing_failure"),
        ("distribution-failed-with-reason.json", "web-server-distribution-no-context.json",
         DEFAULTS, 0, Decision.RETRY, "distributing_failure"),
        ("distribution-failed.json", "web-server-distribution-timed-out.json", DEFAULTS, 2,
         Decision.RETRY, "distributing_failure"),
        ("distribution-failed.json", "web-server-distribution-timed-out.json", DEFAULTS, 3,
         Decision.GIVE_UP, "attempt_budget_spent"),
        ("distribution-failed.json", "web-server-available.json", DEFAULTS, 0,
         Decision.SKIP, "image_no_longer_failed"),
        ("build-failed.json", "batch-worker-build-failed.json", DEFAULTS, 0,
         Decision.SKIP, "build_failure_not_retryable"),
        ("build-failed.json", "batch-worker-build-failed.json", WITH_TESTS, 0,
         Decision.SKIP, "build_failure_not_retryable"),
        ("test-failed.json", "batch-worker-test-failed.json", DEFAULTS, 0,
         Decision.SKIP, "stage_not_enabled"),
        ("test-failed.json", "batch-worker-test-failed.json", WITH_TESTS, 0,
         Decision.RETRY, "testing_failure"),
    ],
)  # fmt: skip
def test_decision_table(
    event_file: str,
    image_file: str,
    settings: RetrierSettings,
    attempts: int,
    decision: Decision,
    reason: str,
) -> None:
    verdict = decide(
        _change(event_file), _inspection(event_file, image_file), settings, attempts_made=attempts
    )

    assert (verdict.decision, verdict.reason) == (decision, reason)


def test_retry_counts_the_attempt_it_will_make() -> None:
    verdict = decide(
        _change("distribution-failed.json"),
        _inspection("distribution-failed.json", "web-server-distribution-timed-out.json"),
        DEFAULTS,
        attempts_made=1,
    )
    assert verdict.attempt == 2


def test_dry_run_still_decides_retry_but_marks_it() -> None:
    verdict = decide(
        _change("distribution-failed.json"),
        _inspection("distribution-failed.json", "web-server-distribution-timed-out.json"),
        DRY_RUN,
    )
    assert (verdict.decision, verdict.dry_run) == (Decision.RETRY, True)


def test_image_that_no_longer_exists_is_skipped() -> None:
    verdict = decide(_change("distribution-failed.json"), None, DEFAULTS)
    assert (verdict.decision, verdict.reason) == (Decision.SKIP, "image_not_found")


def test_event_that_is_not_a_failure_is_skipped() -> None:
    change = dataclasses.replace(_change("distribution-failed.json"), status="AVAILABLE")
    verdict = decide(change, None, DEFAULTS)
    assert (verdict.decision, verdict.reason) == (Decision.SKIP, "not_a_failure_event")


def test_failure_with_no_known_stage_is_not_retried() -> None:
    change = dataclasses.replace(
        _change("distribution-failed.json"), previous_status=None, reason=None
    )
    image = load_image("web-server-distribution-no-context.json")["image"]
    image["state"] = {"status": "FAILED"}

    verdict = decide(change, inspect_image(image, change), DEFAULTS)

    assert (verdict.decision, verdict.reason) == (Decision.SKIP, "failure_stage_unknown")


def test_failure_in_a_stage_retry_image_cannot_resume_is_not_retried() -> None:
    change = dataclasses.replace(_change("distribution-failed.json"), previous_status="PENDING")
    image = load_image("web-server-distribution-no-context.json")["image"]
    image["state"] = {"status": "FAILED", "failureContext": {"imageStatus": "PENDING"}}

    verdict = decide(change, inspect_image(image, change), WITH_TESTS)

    assert (verdict.decision, verdict.reason) == (Decision.SKIP, "stage_not_retryable")
