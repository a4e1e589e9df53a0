"""One Image Builder event through the retrier's steps: inspect, decide, reserve, act, record."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from image_retrier.backoff import retry_due_at
from image_retrier.decision import Decision, RetryDecision, decide, decide_attempt
from image_retrier.deferrals import Deferrals
from image_retrier.events import ImageStateChange
from image_retrier.image_builder import ImageBuilder, RetryOutcome, RetryResult
from image_retrier.inspection import FailureInspection, inspect_image
from image_retrier.ledger import AttemptLedger, utc_now
from image_retrier.notifications import Notifier
from image_retrier.settings import RetrierSettings
from image_retrier.tokens import client_token_for_event

OUTCOME_METRICS = {
    RetryOutcome.REQUESTED: "RetryRequested",
    RetryOutcome.ALREADY_RUNNING: "RetryAlreadyRunning",
    RetryOutcome.NOT_RETRYABLE: "RetryRefused",
}


@dataclass(frozen=True)
class RetrierResult:
    decision: RetryDecision
    client_token: str | None = None
    retry: RetryResult | None = None
    deferred_seconds: int | None = None
    notified: bool = False

    @property
    def outcome(self) -> str:
        if self.retry is not None:
            return self.retry.outcome.value
        if self.decision.decision is Decision.RETRY and self.decision.dry_run:
            return "dry_run"
        if self.deferred_seconds is not None:
            return "deferred"
        if self.notified:
            return "notified"
        return "no_call"


class Retrier:
    def __init__(
        self,
        *,
        image_builder: ImageBuilder,
        ledger: AttemptLedger,
        notifier: Notifier,
        deferrals: Deferrals,
        settings: RetrierSettings,
        logger: Logger,
        metrics: Metrics,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._image_builder = image_builder
        self._ledger = ledger
        self._notifier = notifier
        self._deferrals = deferrals
        self._settings = settings
        self._logger = logger
        self._metrics = metrics
        self.clock = clock

    def process(
        self, change: ImageStateChange, message_body: str, deferred_return: bool = False
    ) -> RetrierResult:
        if change.status == "AVAILABLE":
            return self._record_recovery(change)

        inspection = None
        if change.status == "FAILED":
            image = self._image_builder.get_image(change.image_build_version_arn)
            inspection = inspect_image(image, change) if image is not None else None

        decision = decide(change, inspection, self._settings)

        result = self._act(change, message_body, decision, inspection, deferred_return)

        self._record(change, result, inspection)
        return result

    def _act(
        self,
        change: ImageStateChange,
        message_body: str,
        decision: RetryDecision,
        inspection: FailureInspection | None,
        deferred_return: bool,
    ) -> RetrierResult:
        if decision.decision is not Decision.RETRY:
            return RetrierResult(decision)
        client_token = client_token_for_event(change.event_id)
        if decision.dry_run:
            return RetrierResult(decision, client_token)

        now = self.clock()
        reservation = self._ledger.reserve_attempt(
            change.image_build_version_arn,
            change.event_id,
            client_token,
            self._settings.max_attempts,
            now,
            reason=decision.reason,
        )
        due_at = retry_due_at(
            change.failed_at, reservation.attempt, change.event_id, self._settings
        )
        decision = decide_attempt(decision, reservation, due_at, now, deferred_return)

        if decision.decision is Decision.DEFER:
            waited = self._deferrals.defer(
                message_body, reservation.attempt, (due_at - now).total_seconds()
            )
            return RetrierResult(decision, client_token, deferred_seconds=waited)
        if decision.decision is Decision.GIVE_UP:
            return RetrierResult(decision, notified=self._give_up(change, decision, inspection))
        retry = self._image_builder.retry_image(change.image_build_version_arn, client_token)
        return RetrierResult(decision, client_token, retry)

    def _give_up(
        self,
        change: ImageStateChange,
        decision: RetryDecision,
        inspection: FailureInspection | None,
    ) -> bool:
        arn = change.image_build_version_arn
        if not self._ledger.claim_give_up_notice(arn, decision.reason, self.clock()):
            return False
        try:
            self._notifier.gave_up(arn, decision.attempt or 0, inspection)
        except Exception:
            self._ledger.release_give_up_notice(arn)
            raise
        self._ledger.confirm_give_up_notice(arn)
        return True

    def _record_recovery(self, change: ImageStateChange) -> RetrierResult:
        arn = change.image_build_version_arn
        attempts = self._ledger.record_recovery(arn, self.clock())
        if attempts is None:
            result = RetrierResult(RetryDecision(Decision.SKIP, "not_retried_by_us", "AVAILABLE"))
            self._record(change, result, None)
            return result

        if self._settings.notify_on_recovery:
            self._notifier.recovered(arn, attempts)
        result = RetrierResult(
            RetryDecision(Decision.RECOVERED, "available_after_retry", "AVAILABLE", attempts),
            notified=self._settings.notify_on_recovery,
        )
        self._record(change, result, None)
        return result

    def _record(
        self,
        change: ImageStateChange,
        result: RetrierResult,
        inspection: FailureInspection | None,
    ) -> None:
        decision = result.decision
        self._logger.info(
            "retry decision",
            event_id=change.event_id,
            image_build_version_arn=change.image_build_version_arn,
            event_status=change.status,
            failure_stage=decision.failure_stage,
            stage_source=inspection.stage_source if inspection else None,
            decision=decision.decision.value,
            reason=decision.reason,
            attempt=decision.attempt,
            max_attempts=self._settings.max_attempts,
            duplicate=decision.duplicate,
            client_token=result.client_token,
            due_at=decision.due_at.isoformat() if decision.due_at else None,
            outcome=result.outcome,
            outcome_detail=result.retry.detail if result.retry else None,
            dry_run=decision.dry_run,
        )

        if decision.duplicate:
            self._metrics.add_metric("DuplicateDelivery", MetricUnit.Count, 1)
        if result.retry is not None:
            self._metrics.add_metric(OUTCOME_METRICS[result.retry.outcome], MetricUnit.Count, 1)
        elif decision.decision is Decision.RETRY:
            self._metrics.add_metric("RetryDryRun", MetricUnit.Count, 1)
        elif decision.decision is Decision.DEFER:
            self._metrics.add_metric("RetryDeferred", MetricUnit.Count, 1)
        elif decision.decision is Decision.GIVE_UP:
            self._metrics.add_metric("GaveUp", MetricUnit.Count, 1)
        elif decision.decision is Decision.RECOVERED:
            self._metrics.add_metric("RecoveredAfterRetry", MetricUnit.Count, decision.attempt or 0)
        else:
            self._metrics.add_metric(f"Skipped_{decision.reason}", MetricUnit.Count, 1)
