"""Scheduled reconciliation: find FAILED images whose event never arrived, and handle them.

Image Builder sends its events on a best-effort basis. The sweeper lists the recent images of
the account's pipelines and sends each FAILED one the ledger does not know through the same
decision path, as an event of its own whose id (and so client token) derives from the image
ARN and its failed run. The ledger gives one failed run one attempt, so a late event after
the sweeper acted, or the sweeper after the event, adds none.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger

from image_retrier.events import IMAGE_BUILDER_SOURCE, STATE_CHANGE_DETAIL_TYPE, parse_state_change
from image_retrier.ledger import AttemptLedger
from image_retrier.retrier import Retrier

if TYPE_CHECKING:
    from mypy_boto3_imagebuilder import ImagebuilderClient

SWEEP_NAMESPACE = uuid.UUID("0b6c3f3e-5f2a-5c1e-9d4e-7a8b9c0d1e2f")
# A sweep stops starting images with this much time left, and resumes on the next schedule:
# one image takes up to three Image Builder calls, each up to about 40 s with botocore's retries.
MIN_REMAINING_MILLIS = 150_000

logger = Logger(child=True)


def sweep_event_id(image_build_version_arn: str, failed_run: str) -> str:
    return f"sweep-{uuid.uuid5(SWEEP_NAMESPACE, f'{image_build_version_arn}#{failed_run}')}"


@dataclass
class SweepReport:
    pipelines: int = 0
    failed_images: int = 0
    known: int = 0
    without_run: int = 0
    swept: list[str] = field(default_factory=list)
    decisions: dict[str, str] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    stopped_early: bool = False


class Sweeper:
    def __init__(
        self,
        *,
        client: ImagebuilderClient,
        retrier: Retrier,
        ledger: AttemptLedger,
        look_back: timedelta,
        clock: Callable[[], datetime],
        seconds_between_images: float = 0.5,
    ) -> None:
        self._client = client
        self._retrier = retrier
        self._ledger = ledger
        self._look_back = look_back
        self._clock = clock
        self._pause = seconds_between_images

    def _pages(self, operation: str, key: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
        paginator = self._client.get_paginator(operation)  # type: ignore[call-overload]
        for page in paginator.paginate(**kwargs):
            yield from page.get(key, [])

    def recent_failed_images(self, report: SweepReport) -> Iterator[str]:
        since = self._clock() - self._look_back
        for pipeline in self._pages("list_image_pipelines", "imagePipelineList"):
            report.pipelines += 1
            for summary in self._pages(
                "list_image_pipeline_images",
                "imageSummaryList",
                imagePipelineArn=pipeline["arn"],
            ):
                created = datetime.fromisoformat(str(summary.get("dateCreated", "")))
                if summary.get("state", {}).get("status") == "FAILED" and created >= since:
                    report.failed_images += 1
                    yield summary["arn"]

    def sweep(self, remaining_millis: Callable[[], int]) -> SweepReport:
        report = SweepReport()
        for arn in self.recent_failed_images(report):
            if remaining_millis() < MIN_REMAINING_MILLIS:
                report.stopped_early = True
                break
            try:
                self._sweep_one(arn, report)
            except Exception:
                # One image must not stop the sweep: the same list comes back every run.
                logger.exception("sweeping an image failed", image_build_version_arn=arn)
                report.errors.append(arn)
            time.sleep(self._pause)
        return report

    def _sweep_one(self, arn: str, report: SweepReport) -> None:
        image = self._client.get_image(imageBuildVersionArn=arn)["image"]
        failed_run = image.get("state", {}).get("failureContext", {}).get("workflowExecutionId")
        if not failed_run:
            # Without the failed run the ledger cannot tell this failure from a later one.
            report.without_run += 1
            return
        if self._ledger.knows_run(arn, failed_run):
            report.known += 1
            return

        body = json.dumps(self._event(arn, failed_run))
        result = self._retrier.process(parse_state_change(json.loads(body)), body)
        self._ledger.mark_swept(arn, failed_run, self._clock())
        report.swept.append(arn)
        report.decisions[arn] = result.decision.decision.value

    def _event(self, arn: str, failed_run: str) -> dict[str, Any]:
        fields = arn.split(":")
        return {
            "version": "0",
            "id": sweep_event_id(arn, failed_run),
            "detail-type": STATE_CHANGE_DETAIL_TYPE,
            "source": IMAGE_BUILDER_SOURCE,
            "account": fields[4],
            "time": self._clock().isoformat(),
            "region": fields[3],
            "resources": [arn],
            "detail": {"state": {"status": "FAILED"}, "found-by": "image-retrier sweeper"},
        }
