"""One Image Builder event through the retrier's steps: inspect, decide, reserve, act, record."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from image_retrier.backoff import retry_due_at
from image_retrier.classification import Classification, classify
from image_retrier.decision import Decision, RetryDecision, decide, decide_attempt
from image_retrier.deferrals import Deferrals
from image_retrier.events import ImageStateChange
from image_retrier.image_builder import ImageBuilder, RetryOutcome, RetryResult
from image_retrier.inspection import FailureInspection, inspect_image
from image_retrier.ledger import AttemptLedger, Notice, utc_now
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
        if self.decision.decision in {Decision.GIVE_UP, Decision.NEEDS_FIX}:
            return "already_notified"
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

        inspection = classification = out_of_scope = None
        if change.status == "FAILED":
            image = self._image_builder.get_image(change.image_build_version_arn)
            if image is not None:
                inspection = inspect_image(image, change)
                out_of_scope = self._settings.scope.check(image)
                if (
                    inspection.failure_stage == "DISTRIBUTING"
                    and inspection.image_status == "FAILED"
                ):
                    classification = classify(inspection, self._settings.cause_rules)

        decision = decide(change, inspection, self._settings, classification, out_of_scope)

        result = self._act(
            change, message_body, decision, inspection, classification, deferred_return
        )

        self._record(change, result, inspection, classification)
        return result

    def _act(
        self,
        change: ImageStateChange,
        message_body: str,
        decision: RetryDecision,
        inspection: FailureInspection | None,
        classification: Classification | None,
        deferred_return: bool,
    ) -> RetrierResult:
        if decision.decision is Decision.NEEDS_FIX and inspection and classification:
            return RetrierResult(
                decision, notified=self._needs_fix(change, decision, inspection, classification)
            )
        if decision.decision is not Decision.RETRY:
            return RetrierResult(decision)
        client_token = client_token_for_event(change.event_id)
        if decision.dry_run:
            return RetrierResult(decision, client_token)

        now = self.clock()
        failed_execution = inspection.workflow_execution_id if inspection else None
        reservation = self._ledger.reserve_attempt(
            change.image_build_version_arn,
            change.event_id,
            client_token,
            self._settings.max_attempts,
            now,
            reason=decision.reason,
            failed_execution=failed_execution,
            cause=inspection.reason if inspection else None,
        )
        # An event stamped in the future (sent by hand, or a clock gone wrong) waits from its
        # attempt's reservation, so that coming back from a wait does not start the wait again.
        failed_at = min(change.failed_at, reservation.reserved_at or now)
        due_at = retry_due_at(failed_at, reservation.attempt, change.event_id, self._settings)
        decision = decide_attempt(
            decision, reservation, due_at, now, deferred_return, failed_execution
        )

        if decision.decision is Decision.DEFER:
            waited = self._deferrals.defer(
                message_body, reservation.attempt, (due_at - now).total_seconds()
            )
            return RetrierResult(decision, client_token, deferred_seconds=waited)
        if decision.decision is Decision.GIVE_UP:
            # The refusal read the item: a give-up already told needs no claim to be refused.
            if Notice.GAVE_UP in reservation.notices_sent:
                return RetrierResult(decision)
            return RetrierResult(decision, notified=self._give_up(change, decision, inspection))
        if decision.decision is not Decision.RETRY:
            return RetrierResult(decision)
        # A duplicate repeats its attempt's call exactly, with the token that attempt was given.
        client_token = reservation.client_token or client_token
        retry = self._image_builder.retry_image(change.image_build_version_arn, client_token)
        return RetrierResult(decision, client_token, retry)

    def _give_up(
        self,
        change: ImageStateChange,
        decision: RetryDecision,
        inspection: FailureInspection | None,
    ) -> bool:
        arn = change.image_build_version_arn
        return self._notify_once(
            arn,
            Notice.GAVE_UP,
            decision.reason,
            lambda attempts: self._notifier.gave_up(
                arn, attempts, self._settings.max_attempts, inspection
            ),
        )

    def _needs_fix(
        self,
        change: ImageStateChange,
        decision: RetryDecision,
        inspection: FailureInspection,
        classification: Classification,
    ) -> bool:
        arn = change.image_build_version_arn
        return self._notify_once(
            arn,
            Notice.NEEDS_FIX,
            decision.reason,
            lambda attempts: self._notifier.needs_fix(
                arn,
                inspection,
                classification,
                decision.reason,
                attempts,
                self._settings.max_attempts,
            ),
        )

    def _notify_once(
        self, arn: str, notice: Notice, reason: str, send: Callable[[int], None]
    ) -> bool:
        attempts = self._ledger.claim_notice(arn, notice, reason, self.clock())
        if attempts is None:
            return False
        try:
            send(attempts)
        except Exception:
            self._ledger.release_notice(arn, notice)
            raise
        try:
            self._ledger.confirm_notice(arn, notice)
        except Exception:
            # The notice is out; failing the record now would only send it a second time.
            self._logger.exception("could not mark the notice sent", notice=notice.value)
        return True

    def _record_recovery(self, change: ImageStateChange) -> RetrierResult:
        arn = change.image_build_version_arn
        attempts = self._ledger.record_recovery(arn, self.clock())
        if attempts is None:
            result = RetrierResult(RetryDecision(Decision.SKIP, "not_retried_by_us", "AVAILABLE"))
            self._record(change, result, None, None)
            return result

        notified = False
        if self._settings.notify_on_recovery:
            # The recovery is recorded; a lost "good news" message is not worth a redelivery,
            # which would find the recovery already recorded.
            try:
                self._notifier.recovered(arn, attempts, self._settings.max_attempts)
                notified = True
            except Exception:
                self._logger.exception("could not send the recovery notification")
        result = RetrierResult(
            RetryDecision(Decision.RECOVERED, "available_after_retry", "AVAILABLE", attempts),
            notified=notified,
        )
        self._record(change, result, None, None)
        return result

    def _record(
        self,
        change: ImageStateChange,
        result: RetrierResult,
        inspection: FailureInspection | None,
        classification: Classification | None,
    ) -> None:
        decision = result.decision
        self._logger.info(
            "retry decision",
            event_id=change.event_id,
            image_build_version_arn=change.image_build_version_arn,
            event_status=change.status,
            failure_stage=decision.failure_stage,
            stage_source=inspection.stage_source if inspection else None,
            failure_class=classification.failure_class.value if classification else None,
            cause_rules=classification.rules if classification else None,
            region_failures=[
                {
                    "region": verdict.region,
                    "target_account_id": verdict.target_account_id,
                    "configuration_step": verdict.configuration_step,
                    "failure_class": verdict.failure_class.value,
                    "rule": verdict.rule,
                }
                for verdict in classification.verdicts
            ]
            if classification
            else None,
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
        elif decision.decision is Decision.NEEDS_FIX:
            self._metrics.add_metric("NeedsFix", MetricUnit.Count, 1)
        elif decision.decision is Decision.RECOVERED:
            self._metrics.add_metric("RecoveredAfterRetry", MetricUnit.Count, decision.attempt or 0)
        else:
            self._metrics.add_metric(f"Skipped_{decision.reason}", MetricUnit.Count, 1)
