"""The retry decision: pure functions of the event, the inspection, the ledger and the settings.

``decide`` says whether a failure is one the retrier should retry at all; once the ledger has
reserved (or refused) an attempt, ``decide_attempt`` says whether to retry now, later, or to
give up.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from image_retrier.classification import Classification, FailureClass
from image_retrier.events import ImageStateChange
from image_retrier.inspection import UNKNOWN_STAGE, FailureInspection
from image_retrier.ledger import Reservation, ReservationKind
from image_retrier.settings import RETRYABLE_STAGES, RetrierSettings


class Decision(StrEnum):
    RETRY = "retry"
    DEFER = "defer"
    SKIP = "skip"
    GIVE_UP = "give_up"
    RECOVERED = "recovered"
    NEEDS_FIX = "needs_fix"


@dataclass(frozen=True)
class RetryDecision:
    decision: Decision
    reason: str
    failure_stage: str
    attempt: int | None = None
    dry_run: bool = False
    duplicate: bool = False
    due_at: datetime | None = None


def decide(
    change: ImageStateChange,
    inspection: FailureInspection | None,
    settings: RetrierSettings,
    classification: Classification | None = None,
    out_of_scope: str | None = None,
) -> RetryDecision:
    if change.status != "FAILED":
        return _skip("not_a_failure_event", UNKNOWN_STAGE)
    if inspection is None:
        return _skip("image_not_found", UNKNOWN_STAGE)

    stage = inspection.failure_stage
    if inspection.image_status != "FAILED":
        return _skip("image_no_longer_failed", stage)
    if out_of_scope:
        return _skip(out_of_scope, stage)
    if stage == "BUILDING":
        return _skip("build_failure_not_retryable", stage)
    if stage == UNKNOWN_STAGE:
        return _skip("failure_stage_unknown", stage)
    if stage not in RETRYABLE_STAGES:
        return _skip("stage_not_retryable", stage)
    if stage not in settings.retry_stages:
        return _skip("stage_not_enabled", stage)
    if classification and classification.failure_class is FailureClass.PERMANENT:
        return RetryDecision(Decision.NEEDS_FIX, "permanent_cause", stage)
    if (
        classification
        and classification.failure_class is FailureClass.UNKNOWN
        and settings.notify_on_unknown_cause
    ):
        return RetryDecision(Decision.NEEDS_FIX, "unknown_cause", stage)

    return RetryDecision(
        Decision.RETRY, f"{stage.lower()}_failure", stage, dry_run=settings.dry_run
    )


def decide_attempt(
    eligible: RetryDecision,
    reservation: Reservation,
    due_at: datetime,
    now: datetime,
    deferred_return: bool = False,
    failed_execution: str | None = None,
) -> RetryDecision:
    if reservation.kind is ReservationKind.BUDGET_SPENT:
        return dataclasses.replace(
            eligible,
            decision=Decision.GIVE_UP,
            reason="attempt_budget_spent",
            attempt=reservation.attempts_made,
        )

    # A deferred event coming back finds its own attempt; only an unplanned one is a duplicate.
    duplicate = reservation.kind is ReservationKind.DUPLICATE and not deferred_return
    if reservation.kind is ReservationKind.DUPLICATE and (
        reservation.superseded
        or (
            reservation.failed_execution is not None
            and failed_execution is not None
            and reservation.failed_execution != failed_execution
        )
    ):
        # The image has failed again, or been given up or recovered, since this attempt was
        # reserved: the failure it was for is over, and a newer event speaks for the image.
        return dataclasses.replace(
            eligible,
            decision=Decision.SKIP,
            reason="attempt_superseded",
            attempt=reservation.attempt,
            duplicate=duplicate,
        )
    if now < due_at:
        return dataclasses.replace(
            eligible,
            decision=Decision.DEFER,
            attempt=reservation.attempt,
            duplicate=duplicate,
            due_at=due_at,
        )
    return dataclasses.replace(
        eligible, attempt=reservation.attempt, duplicate=duplicate, due_at=due_at
    )


def _skip(reason: str, stage: str) -> RetryDecision:
    return RetryDecision(Decision.SKIP, reason, stage)
