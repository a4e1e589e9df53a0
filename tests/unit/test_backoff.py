"""Given the backoff settings, attempt n of a failure waits retryDelaySeconds x rate^(n-1),
capped, with a per-event jitter, counted from the failure event's time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from image_retrier.backoff import JITTER, jitter_factor, retry_delay_seconds, retry_due_at
from image_retrier.settings import RetrierSettings

SETTINGS = RetrierSettings(
    max_attempts=5,
    retry_stages=frozenset({"DISTRIBUTING"}),
    dry_run=False,
    retry_delay_seconds=300,
    backoff_rate=2.0,
    max_retry_delay_seconds=3600,
)
EVENT_ID = "6f1c2a8e-3b4d-4e5f-9a0b-1c2d3e4f5a6b"


@pytest.mark.parametrize(
    ("attempt", "base_seconds"),
    [(1, 300), (2, 600), (3, 1200), (4, 2400), (5, 4800)],
)
def test_backoff_schedule(attempt: int, base_seconds: int) -> None:
    delay = retry_delay_seconds(attempt, EVENT_ID, SETTINGS)

    expected = min(base_seconds, SETTINGS.max_retry_delay_seconds) * jitter_factor(EVENT_ID)
    assert delay == pytest.approx(expected)
    assert delay <= SETTINGS.max_retry_delay_seconds


def test_jitter_stays_within_its_band_and_spreads_events() -> None:
    factors = [jitter_factor(f"event-{number}") for number in range(500)]

    assert all(1 - JITTER < factor <= 1 for factor in factors)
    assert max(factors) - min(factors) > JITTER * 0.9
    assert jitter_factor(EVENT_ID) == jitter_factor(EVENT_ID)


def test_events_that_reach_the_cap_still_spread_out() -> None:
    delays = {retry_delay_seconds(9, f"event-{number}", SETTINGS) for number in range(50)}

    assert max(delays) <= SETTINGS.max_retry_delay_seconds
    assert len(delays) == 50


def test_due_time_counts_from_the_failure_event() -> None:
    failed_at = datetime(2026, 11, 30, 9, 14, 7, tzinfo=UTC)

    due = retry_due_at(failed_at, 1, EVENT_ID, SETTINGS)

    assert due - failed_at == timedelta(seconds=retry_delay_seconds(1, EVENT_ID, SETTINGS))


def test_zero_delay_retries_at_once() -> None:
    immediate = RetrierSettings(
        max_attempts=3, retry_stages=frozenset({"DISTRIBUTING"}), dry_run=False
    )
    assert retry_delay_seconds(3, EVENT_ID, immediate) == 0
