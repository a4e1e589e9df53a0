"""One failure event through the retrier's steps: inspect, decide, act, record."""

from __future__ import annotations

from dataclasses import dataclass

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from image_retrier.decision import Decision, RetryDecision, decide
from image_retrier.events import ImageStateChange
from image_retrier.image_builder import ImageBuilder, RetryOutcome, RetryResult
from image_retrier.inspection import inspect_image
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
    client_token: str | None
    retry: RetryResult | None

    @property
    def outcome(self) -> str:
        if self.retry is not None:
            return self.retry.outcome.value
        if self.decision.decision is Decision.RETRY and self.decision.dry_run:
            return "dry_run"
        return "no_call"


class Retrier:
    def __init__(
        self,
        image_builder: ImageBuilder,
        settings: RetrierSettings,
        logger: Logger,
        metrics: Metrics,
    ) -> None:
        self._image_builder = image_builder
        self._settings = settings
        self._logger = logger
        self._metrics = metrics

    def process(self, change: ImageStateChange) -> RetrierResult:
        inspection = None
        if change.status == "FAILED":
            image = self._image_builder.get_image(change.image_build_version_arn)
            inspection = inspect_image(image, change) if image is not None else None

        decision = decide(change, inspection, self._settings)

        client_token = None
        retry = None
        if decision.decision is Decision.RETRY:
            client_token = client_token_for_event(change.event_id)
            if not decision.dry_run:
                retry = self._image_builder.retry_image(
                    change.image_build_version_arn, client_token
                )

        result = RetrierResult(decision, client_token, retry)
        self._record(change, result, inspection.stage_source if inspection else None)
        return result

    def _record(
        self, change: ImageStateChange, result: RetrierResult, stage_source: str | None
    ) -> None:
        decision = result.decision
        self._logger.info(
            "retry decision",
            event_id=change.event_id,
            image_build_version_arn=change.image_build_version_arn,
            failure_stage=decision.failure_stage,
            stage_source=stage_source,
            decision=decision.decision.value,
            reason=decision.reason,
            attempt=decision.attempt,
            client_token=result.client_token,
            outcome=result.outcome,
            outcome_detail=result.retry.detail if result.retry else None,
            dry_run=decision.dry_run,
        )

        if result.retry is not None:
            self._metrics.add_metric(OUTCOME_METRICS[result.retry.outcome], MetricUnit.Count, 1)
        elif decision.decision is Decision.RETRY:
            self._metrics.add_metric("RetryDryRun", MetricUnit.Count, 1)
        elif decision.decision is Decision.GIVE_UP:
            self._metrics.add_metric("GaveUp", MetricUnit.Count, 1)
        else:
            self._metrics.add_metric(f"Skipped_{decision.reason}", MetricUnit.Count, 1)
