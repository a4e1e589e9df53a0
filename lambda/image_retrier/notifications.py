"""Messages to a person, through the project's SNS topic."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import quote

if TYPE_CHECKING:
    from mypy_boto3_sns import SNSClient

    from image_retrier.classification import Classification
    from image_retrier.inspection import FailureInspection


CONSOLE_HOSTS = {
    "aws": "console.aws.amazon.com",
    "aws-cn": "console.amazonaws.cn",
    "aws-us-gov": "console.amazonaws-us-gov.com",
}


def console_link(image_build_version_arn: str) -> str:
    partition, region = image_build_version_arn.split(":")[1], image_build_version_arn.split(":")[3]
    host = CONSOLE_HOSTS.get(partition, CONSOLE_HOSTS["aws"])
    return (
        f"https://{host}/imagebuilder/home?region={region}"
        f"#/images/{quote(image_build_version_arn, safe=':')}/details"
    )


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
        self,
        image_build_version_arn: str,
        attempts: int,
        max_attempts: int,
        inspection: FailureInspection | None,
    ) -> None:
        name = image_build_version_arn.split(":image/", 1)[-1]
        lines = [
            f"Image Builder retrier gave up on {image_build_version_arn}.",
            f"Pipeline: {inspection.pipeline_arn if inspection else 'unknown'}",
            f"RetryImage attempts made: {attempts} of {max_attempts}; the budget is spent.",
            f"Last failure stage: {inspection.failure_stage if inspection else 'unknown'}",
            f"Last failure reason: {inspection.reason if inspection else 'unknown'}",
        ]
        for failure in inspection.region_failures if inspection else ():
            lines += [
                f"Region: {failure.region or 'unknown'}"
                f"  target account: {failure.target_account_id or 'unknown'}"
                f"  status: {failure.status or 'unknown'}"
                + (
                    f"  step: {failure.image_configuration_step}"
                    if failure.image_configuration_step
                    else ""
                ),
                f"  {failure.error_message or 'no message'}",
            ]
        lines += [
            "Next: the retrier will not retry this image again; fix the cause, then retry it.",
            f"Console: {console_link(image_build_version_arn)}",
        ]
        self._publish(f"Image retrier gave up: {name}", lines, "gave_up", image_build_version_arn)

    def needs_fix(
        self,
        image_build_version_arn: str,
        inspection: FailureInspection,
        classification: Classification,
        reason: str,
        attempts: int,
        max_attempts: int,
    ) -> None:
        name = image_build_version_arn.split(":image/", 1)[-1]
        cause = "a cause a retry cannot fix" if reason == "permanent_cause" else "an unknown cause"
        lines = [
            f"{image_build_version_arn} failed in {inspection.failure_stage} with {cause}.",
            f"Pipeline: {inspection.pipeline_arn or 'unknown'}",
            f"RetryImage attempts made: {attempts} of {max_attempts}.",
            "The retrier did not call RetryImage for this failure and will not retry the image.",
            "",
        ]
        for verdict in classification.verdicts:
            lines += [
                f"Region: {verdict.region or 'unknown'}"
                f"  target account: {verdict.target_account_id or 'unknown'}"
                + (f"  step: {verdict.configuration_step}" if verdict.configuration_step else ""),
                f"  {verdict.failure_class.value}"
                + (f" ({verdict.rule})" if verdict.rule else "")
                + f": {verdict.message or inspection.reason or 'no message'}",
            ]
            if verdict.fix:
                lines.append(f"  What to change: {verdict.fix}")
        lines += [
            "",
            "Next: after the fix, retry the image (aws imagebuilder retry-image) or rebuild.",
            f"Console: {console_link(image_build_version_arn)}",
        ]
        self._publish(f"Image needs a fix: {name}", lines, "needs_fix", image_build_version_arn)

    def recovered(self, image_build_version_arn: str, attempts: int, max_attempts: int) -> None:
        name = image_build_version_arn.split(":image/", 1)[-1]
        lines = [
            f"{image_build_version_arn} is AVAILABLE after {attempts} of {max_attempts} "
            "RetryImage attempt(s).",
            "Next: nothing; the retrier has recorded the recovery.",
            f"Console: {console_link(image_build_version_arn)}",
        ]
        self._publish(
            f"Image recovered after retry: {name}", lines, "recovered", image_build_version_arn
        )
