"""Read what GetImage says about a failed image: where it failed and what failed."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from image_retrier.events import ImageStateChange

UNKNOWN_STAGE = "UNKNOWN"

# Older GetImage responses carry no failureContext; the reason text still names the phase.
REASON_STAGE_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\bdistribut", re.IGNORECASE), "DISTRIBUTING"),
    (re.compile(r"\btest", re.IGNORECASE), "TESTING"),
    (re.compile(r"\bintegrat", re.IGNORECASE), "INTEGRATING"),
    (re.compile(r"\bbuil[dt]", re.IGNORECASE), "BUILDING"),
)

KNOWN_STAGES = frozenset(
    {"PENDING", "CREATING", "BUILDING", "TESTING", "DISTRIBUTING", "INTEGRATING"}
)


@dataclass(frozen=True)
class RegionFailure:
    region: str | None
    status: str | None
    target_account_id: str | None
    image_configuration_step: str | None
    error_message: str | None


@dataclass(frozen=True)
class FailureInspection:
    """What the retrier knows about one image after GetImage."""

    image_status: str
    failure_stage: str
    stage_source: str
    reason: str | None
    region_failures: tuple[RegionFailure, ...]
    image_name: str | None
    pipeline_arn: str | None
    # Each run of an image, a retry included, is a new workflow execution.
    workflow_execution_id: str | None = None


def inspect_image(image: Mapping[str, Any], change: ImageStateChange) -> FailureInspection:
    state = image.get("state") or {}
    failure_context = state.get("failureContext") or {}
    distribution_failure = failure_context.get("distributionFailure") or {}
    reason = state.get("reason") or change.reason

    failure_stage, stage_source = _failure_stage(failure_context, change, reason)

    return FailureInspection(
        image_status=state.get("status", "UNKNOWN"),
        failure_stage=failure_stage,
        stage_source=stage_source,
        reason=reason,
        region_failures=tuple(
            RegionFailure(
                region=failure.get("region"),
                status=failure.get("status"),
                target_account_id=failure.get("targetAccountId"),
                image_configuration_step=failure.get("imageConfigurationStep"),
                error_message=failure.get("errorMessage"),
            )
            for failure in distribution_failure.get("regionFailures") or ()
        ),
        image_name=image.get("name"),
        pipeline_arn=image.get("sourcePipelineArn"),
        workflow_execution_id=failure_context.get("workflowExecutionId"),
    )


def _failure_stage(
    failure_context: Mapping[str, Any], change: ImageStateChange, reason: str | None
) -> tuple[str, str]:
    if failure_context.get("imageStatus"):
        return failure_context["imageStatus"], "failureContext.imageStatus"
    if failure_context.get("distributionFailure"):
        return "DISTRIBUTING", "failureContext.distributionFailure"
    if change.previous_status in KNOWN_STAGES:
        return change.previous_status, "event.previous-state"
    for pattern, stage in REASON_STAGE_PATTERNS:
        if reason and pattern.search(reason):
            return stage, "state.reason"
    return UNKNOWN_STAGE, "none"
