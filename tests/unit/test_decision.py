"""The retry decision as a table: the event, what GetImage said, the settings -> the verdict."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta

import pytest

from image_retrier.decision import Decision, decide, decide_attempt
from image_retrier.events import ImageStateChange, parse_message_body
from image_retrier.inspection import FailureInspection, inspect_image
from image_retrier.ledger import Reservation, ReservationKind
from image_retrier.settings import RetrierSettings
from tests.conftest import load_event, load_image

DEFAULTS = RetrierSettings(max_attempts=3, retry_stages=frozenset({"DISTRIBUTING"}), dry_run=False)
WITH_TESTS = dataclasses.replace(DEFAULTS, retry_stages=frozenset({"DISTRIBUTING", "TESTING"}))
DRY_RUN = dataclasses.replace(DEFAULTS, dry_run=True)


def _change(event_file: str) -> ImageStateChange:
    return parse_message_body(json.dumps(load_event(event_file)))


def _inspection(event_file: str, image_file: str) -> FailureInspection:
    return inspect_image(load_image(image_file)["image"], _change(event_file))


@pytest.mark.parametrize(
    ("event_file", "image_file", "settings", "decision", "reason"),
    [
        ("distribution-failed.json", "web-server-distribution-timed-out.json", DEFAULTS,
         Decision.RETRY, "distributing_failure"),
        ("distribution-failed-with-reason.json", "web-server-distribution-no-context.json",
         DEFAULTS, Decision.RETRY, "distributing_failure"),
        ("distribution-failed.json", "web-server-available.json", DEFAULTS,
         Decision.SKIP, "image_no_longer_failed"),
        ("build-failed.json", "batch-worker-build-failed.json", DEFAULTS,
         Decision.SKIP, "build_failure_not_retryable"),
        ("build-failed.json", "batch-worker-build-failed.json", WITH_TESTS,
         Decision.SKIP, "build_failure_not_retryable"),
        ("test-failed.json", "batch-worker-test-failed.json", DEFAULTS,
         Decision.SKIP, "stage_not_enabled"),
        ("test-failed.json", "batch-worker-test-failed.json", WITH_TESTS,
         Decision.RETRY, "testing_failure"),
    ],
)  # fmt: skip
def test_decision_table(
    event_file: str,
    image_file: str,
    settings: RetrierSettings,
    decision: Decision,
    reason: str,
) -> None:
    verdict = decide(_change(event_file), _inspection(event_file, image_file), settings)

    assert (verdict.decision, verdict.reason) == (decision, reason)


NOW = datetime(2026, 11, 30, 9, 20, tzinfo=UTC)
PAST = NOW - timedelta(seconds=1)
LATER = NOW + timedelta(seconds=300)
NEW, DUPLICATE, SPENT = ReservationKind


@pytest.mark.parametrize(
    ("kind", "attempt", "made", "due_at", "deferred_return", "decision", "reason", "duplicate"),
    [
        (NEW, 1, 1, PAST, False, Decision.RETRY, "distributing_failure", False),
        (NEW, 2, 2, NOW, False, Decision.RETRY, "distributing_failure", False),
        (NEW, 1, 1, LATER, False, Decision.DEFER, "distributing_failure", False),
        (DUPLICATE, 1, 2, PAST, False, Decision.RETRY, "distributing_failure", True),
        (DUPLICATE, 1, 1, PAST, True, Decision.RETRY, "distributing_failure", False),
        (DUPLICATE, 1, 1, LATER, True, Decision.DEFER, "distributing_failure", False),
        (SPENT, 3, 3, PAST, False, Decision.GIVE_UP, "attempt_budget_spent", False),
        (SPENT, 3, 3, LATER, False, Decision.GIVE_UP, "attempt_budget_spent", False),
    ],
)  # fmt: skip
def test_attempt_decision_table(
    kind: ReservationKind,
    attempt: int,
    made: int,
    due_at: datetime,
    deferred_return: bool,
    decision: Decision,
    reason: str,
    duplicate: bool,
) -> None:
    eligible = decide(
        _change("distribution-failed.json"),
        _inspection("distribution-failed.json", "web-server-distribution-timed-out.json"),
        DEFAULTS,
    )

    verdict = decide_attempt(
        eligible, Reservation(kind, attempt, made), due_at, NOW, deferred_return
    )

    assert (verdict.decision, verdict.reason, verdict.duplicate) == (decision, reason, duplicate)
    assert verdict.attempt == attempt


@pytest.mark.parametrize(
    ("reservation", "failed_execution"),
    [
        (Reservation(DUPLICATE, 1, 2, superseded=True), None),
        (Reservation(DUPLICATE, 1, 1, superseded=False, failed_execution="wf-1"), "wf-2"),
    ],
)
def test_a_duplicate_whose_failure_is_over_is_skipped(
    reservation: Reservation, failed_execution: str | None
) -> None:
    eligible = decide(
        _change("distribution-failed.json"),
        _inspection("distribution-failed.json", "web-server-distribution-timed-out.json"),
        DEFAULTS,
    )

    verdict = decide_attempt(eligible, reservation, PAST, NOW, False, failed_execution)

    assert (verdict.decision, verdict.reason) == (Decision.SKIP, "attempt_superseded")


def test_a_duplicate_for_the_same_failed_run_retries_with_its_attempt() -> None:
    eligible = decide(
        _change("distribution-failed.json"),
        _inspection("distribution-failed.json", "web-server-distribution-timed-out.json"),
        DEFAULTS,
    )
    reservation = Reservation(DUPLICATE, 1, 1, failed_execution="wf-1")

    verdict = decide_attempt(eligible, reservation, PAST, NOW, False, "wf-1")

    assert (verdict.decision, verdict.attempt, verdict.duplicate) == (Decision.RETRY, 1, True)


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
