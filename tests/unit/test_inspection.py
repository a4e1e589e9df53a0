"""Given a GetImage body, the retrier finds where the image failed, preferring the service."""

from __future__ import annotations

import dataclasses
import json

import pytest

from image_retrier.events import ImageStateChange, parse_message_body
from image_retrier.inspection import UNKNOWN_STAGE, inspect_image
from tests.conftest import load_event, load_image


def _change(event_file: str = "distribution-failed.json") -> ImageStateChange:
    return parse_message_body(json.dumps(load_event(event_file)))


@pytest.mark.parametrize(
    ("image_file", "event_file", "stage", "source"),
    [
        ("web-server-distribution-timed-out.json", "distribution-failed.json",
         "DISTRIBUTING", "failureContext.imageStatus"),
        ("web-server-distribution-managed-key.json", "distribution-failed.json",
         "DISTRIBUTING", "failureContext.imageStatus"),
        ("web-server-distribution-no-context.json", "distribution-failed-with-reason.json",
         "DISTRIBUTING", "event.previous-state"),
        ("batch-worker-build-failed.json", "build-failed.json",
         "BUILDING", "failureContext.imageStatus"),
        ("batch-worker-test-failed.json", "test-failed.json",
         "TESTING", "failureContext.imageStatus"),
    ],
)  # fmt: skip
def test_failure_stage_and_where_it_came_from(
    image_file: str, event_file: str, stage: str, source: str
) -> None:
    inspection = inspect_image(load_image(image_file)["image"], _change(event_file))
    assert (inspection.failure_stage, inspection.stage_source) == (stage, source)


def test_failure_context_wins_over_the_event_previous_state() -> None:
    change = dataclasses.replace(_change(), previous_status="TESTING")
    image = load_image("web-server-distribution-timed-out.json")["image"]
    assert inspect_image(image, change).failure_stage == "DISTRIBUTING"


def test_distribution_failure_without_image_status_means_distributing() -> None:
    image = load_image("web-server-distribution-timed-out.json")["image"]
    del image["state"]["failureContext"]["imageStatus"]
    change = dataclasses.replace(_change(), previous_status=None)

    inspection = inspect_image(image, change)

    assert inspection.failure_stage == "DISTRIBUTING"
    assert inspection.stage_source == "failureContext.distributionFailure"


def test_without_context_or_previous_state_the_reason_names_the_stage() -> None:
    image = load_image("web-server-distribution-no-context.json")["image"]
    change = dataclasses.replace(_change(), previous_status=None)

    inspection = inspect_image(image, change)

    assert (inspection.failure_stage, inspection.stage_source) == ("DISTRIBUTING", "state.reason")


def test_with_nothing_to_go_on_the_stage_is_unknown() -> None:
    image = {"arn": "x", "state": {"status": "FAILED"}}
    change = dataclasses.replace(_change(), previous_status=None, reason=None)
    assert inspect_image(image, change).failure_stage == UNKNOWN_STAGE


def test_region_failures_are_read_with_region_account_and_message() -> None:
    image = load_image("web-server-distribution-managed-key.json")["image"]

    (failure,) = inspect_image(image, _change()).region_failures

    assert failure.region == "us-east-1"
    assert failure.target_account_id == "444455556666"
    assert failure.error_message is not None
    assert "AWS Managed CMK" in failure.error_message
