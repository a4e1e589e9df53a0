"""The retry decision: a pure function of the event, the inspection and the settings."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from image_retrier.events import ImageStateChange
from image_retrier.inspection import UNKNOWN_STAGE, FailureInspection
from image_retrier.settings import RETRYABLE_STAGES, RetrierSettings


class Decision(StrEnum):
    RETRY = "retry"
    SKIP = "skip"
    GIVE_UP = "give_up"


@dataclass(frozen=True)
class RetryDecision:
    decision: Decision
    reason: str
    failure_stage: str
    attempt: int | None = None
    dry_run: bool = False


def decide(
    change: ImageStateChange,
    inspection: FailureInspection | None,
    settings: RetrierSettings,
    attempts_made: int = 0,
) -> RetryDecision:
    if change.status != "FAILED":
        return _skip("not_a_failure_event", UNKNOWN_STAGE)
    if inspection is None:
        return _skip("image_not_found", UNKNOWN_STAGE)

    stage = inspection.failure_stage
    if inspection.image_status != "FAILED":
        return _skip("image_no_longer_failed", stage)
    if stage == "BUILDING":
        return _skip("build_failure_not_retryable", stage)
    if stage == UNKNOWN_STAGE:
        return _skip("failure_stage_unknown", stage)
    if stage not in RETRYABLE_STAGES:
        return _skip("stage_not_retryable", stage)
    if stage not in settings.retry_stages:
        return _skip("stage_not_enabled", stage)
    if attempts_made >= settings.max_attempts:
        return RetryDecision(Decision.GIVE_UP, "attempt_budget_spent", stage, attempts_made)

    return RetryDecision(
        Decision.RETRY,
        f"{stage.lower()}_failure",
        stage,
        attempt=attempts_made + 1,
        dry_run=settings.dry_run,
    )


def _skip(reason: str, stage: str) -> RetryDecision:
    return RetryDecision(Decision.SKIP, reason, stage)
