"""Messages to a person, through the project's SNS topic."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mypy_boto3_sns import SNSClient

    from image_retrier.inspection import FailureInspection


class Notifier:
    def __init__(self, client: SNSClient, topic_arn: str) -> None:
        self._client = client
        self._topic_arn = topic_arn

    def _publish(self, subject: str, lines: list[str], outcome: str, arn: str) -> None:
        self._client.publish(
            TopicArn=self._topic_arn,
            Subject=subject[:100],
            Message="\n".join(lines),
            MessageAttributes={
                "outcome": {"DataType": "String", "StringValue": outcome},
                "image_build_version_arn": {"DataType": "String", "StringValue": arn},
            },
        )

    def gave_up(
        self, image_build_version_arn: str, attempts: int, inspection: FailureInspection | None
    ) -> None:
        name = image_build_version_arn.split(":image/", 1)[-1]
        lines = [
            f"Image Builder retrier gave up on {image_build_version_arn}.",
            f"Pipeline: {inspection.pipeline_arn if inspection else 'unknown'}",
            f"RetryImage attempts made: {attempts}; the attempt budget is spent.",
            f"Last failure stage: {inspection.failure_stage if inspection else 'unknown'}",
            f"Last failure reason: {inspection.reason if inspection else 'unknown'}",
        ]
        if inspection:
            lines += [
                f"Region failure: {json.dumps(failure.__dict__)}"
                for failure in inspection.region_failures
            ]
        lines.append("The retrier will not retry this image again; fix the cause and retry it.")
        self._publish(f"Image retrier gave up: {name}", lines, "gave_up", image_build_version_arn)

    def recovered(self, image_build_version_arn: str, attempts: int) -> None:
        name = image_build_version_arn.split(":image/", 1)[-1]
        lines = [
            f"{image_build_version_arn} is AVAILABLE after {attempts} RetryImage attempt(s).",
        ]
        self._publish(
            f"Image recovered after retry: {name}", lines, "recovered", image_build_version_arn
        )
