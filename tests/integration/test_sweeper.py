"""Given images whose failure events went missing, the sweeper finds them and sends them
through the same decision path, once, without doubling the event path."""

from __future__ import annotations

import copy
from datetime import timedelta
from typing import Any

import boto3
import pytest

from image_retrier.image_builder import create_client
from image_retrier.sweeper import Sweeper, sweep_event_id
from image_retrier.tokens import client_token_for_event
from tests.conftest import AwsResources, load_image
from tests.integration.retrier_harness import RetrierHarness

TIMED_OUT = load_image("web-server-distribution-timed-out.json")


def _image(name: str, pipeline: str, status: str = "FAILED", created: str | None = None) -> Any:
    body = copy.deepcopy(TIMED_OUT)
    image = body["image"]
    image["arn"] = f"arn:aws:imagebuilder:us-east-1:111122223333:image/{name}/1.0.0/1"
    image["name"] = name
    image["sourcePipelineArn"] = (
        f"arn:aws:imagebuilder:us-east-1:111122223333:image-pipeline/{pipeline}"
    )
    image["state"]["failureContext"]["workflowExecutionId"] = f"wf-{name}"
    if status != "FAILED":
        image["state"] = {"status": status}
    if created:
        image["dateCreated"] = created
    return body


@pytest.fixture
def harness(aws_resources: AwsResources, monkeypatch: pytest.MonkeyPatch) -> RetrierHarness:
    monkeypatch.setattr("time.sleep", lambda _seconds: None)
    harness = RetrierHarness(aws_resources)
    for body in (
        _image("web-a", "web"),
        _image("web-b", "web"),
        _image("api-a", "api"),
        _image("api-b", "api", status="AVAILABLE"),
        _image("old-a", "old", created="2026-11-20T08:00:00.000Z"),
        _image("db-a", "db"),
    ):
        harness.image_builder.put_image(body)
    return harness


def _sweeper(harness: RetrierHarness) -> Sweeper:
    client = create_client("us-east-1")
    harness.image_builder.attach(client)
    return Sweeper(
        client=client,
        retrier=harness.retrier,
        ledger=harness.ledger,
        look_back=timedelta(hours=24),
        clock=harness.clock,
        seconds_between_images=0,
    )


def _arn(name: str) -> str:
    return f"arn:aws:imagebuilder:us-east-1:111122223333:image/{name}/1.0.0/1"


def test_lost_failures_are_found_across_every_page_and_retried(harness: RetrierHarness) -> None:
    report = _sweeper(harness).sweep(lambda: 300_000)

    assert report.pipelines == 4
    assert sorted(report.swept) == [_arn("api-a"), _arn("db-a"), _arn("web-a"), _arn("web-b")]
    assert set(report.decisions.values()) == {"retry"}
    assert harness.image_builder.requests.count("ListImagePipelineImages") >= 4
    assert len(harness.image_builder.accepted_retries) == 4


def test_the_token_derives_from_the_image_and_its_failed_run(harness: RetrierHarness) -> None:
    _sweeper(harness).sweep(lambda: 300_000)

    tokens = {
        call.image_build_version_arn: call.client_token
        for call in harness.image_builder.retry_image_calls
    }
    expected = client_token_for_event(sweep_event_id(_arn("web-a"), "wf-web-a"))
    assert tokens[_arn("web-a")] == expected


def test_images_the_event_path_handled_are_left_alone(harness: RetrierHarness) -> None:
    harness.deliver(harness.failure_event("event-1") | {"resources": [_arn("web-a")]})
    # The event path's retry has not shown yet: the image still reads the same failed run.
    harness.image_builder.put_image(_image("web-a", "web"))

    report = _sweeper(harness).sweep(lambda: 300_000)

    assert report.known == 1
    assert _arn("web-a") not in report.swept
    assert [call.image_build_version_arn for call in harness.image_builder.accepted_retries].count(
        _arn("web-a")
    ) == 1


def test_a_late_event_after_the_sweeper_adds_no_attempt(harness: RetrierHarness) -> None:
    _sweeper(harness).sweep(lambda: 300_000)
    # The retry the sweeper started has not shown yet: the image still reads the same failed run.
    harness.image_builder.put_image(_image("web-a", "web"))

    late = harness.deliver(harness.failure_event("late-event") | {"resources": [_arn("web-a")]})

    assert late.decision.attempt == 1
    assert harness.attempts(_arn("web-a")) == 1
    web_a = [
        c
        for c in harness.image_builder.accepted_retries
        if c.image_build_version_arn == _arn("web-a")
    ]
    assert len(web_a) == 1


def test_a_sweep_that_runs_out_of_time_stops_cleanly(harness: RetrierHarness) -> None:
    report = _sweeper(harness).sweep(lambda: 10_000)

    assert report.stopped_early is True
    assert report.swept == []
    assert harness.image_builder.retry_image_calls == []


def test_failures_without_a_failed_run_are_left_to_the_event_path(
    harness: RetrierHarness,
) -> None:
    body = _image("web-a", "web")
    del body["image"]["state"]["failureContext"]
    harness.image_builder.put_image(body)

    report = _sweeper(harness).sweep(lambda: 300_000)

    assert report.without_run == 1
    assert _arn("web-a") not in report.swept


def test_sweeper_handler_runs_with_the_functions_environment(
    aws_resources: AwsResources, lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SWEEP_LOOK_BACK_HOURS", "24")
    lambda_context.get_remaining_time_in_millis = lambda: 300_000
    monkeypatch.setattr("time.sleep", lambda _seconds: None)
    from image_retrier import sweeper_handler

    fake_client = sweeper_handler.image_builder_client
    from localsim.image_builder_fake import ImageBuilderFake

    fake = ImageBuilderFake()
    fake.put_image(_image("web-a", "web", created="2099-01-01T00:00:00.000Z"))
    fake.attach(fake_client)
    try:
        report = sweeper_handler.lambda_handler({}, lambda_context)
    finally:
        fake.detach(fake_client)

    assert report["swept"] == [_arn("web-a")]
    assert len(fake.accepted_retries) == 1
    item = boto3.client("dynamodb").get_item(
        TableName="attempt-ledger", Key={"image_build_version_arn": {"S": _arn("web-a")}}
    )
    assert item["Item"]["attempts"]["N"] == "1"


def test_a_skipped_image_is_not_swept_again_every_hour(harness: RetrierHarness) -> None:
    harness.image_builder.put_image(_image("web-a", "web") | {})
    body = load_image("batch-worker-build-failed.json")
    body["image"]["dateCreated"] = "2026-11-30T08:00:00.000Z"
    harness.image_builder.put_image(body)
    sweeper = _sweeper(harness)

    first = sweeper.sweep(lambda: 300_000)
    second = sweeper.sweep(lambda: 300_000)

    assert body["image"]["arn"] in first.swept
    assert first.decisions[body["image"]["arn"]] == "skip"
    assert second.swept == []
    assert second.known == second.failed_images == 1


def test_a_lost_event_after_our_own_retry_is_swept(harness: RetrierHarness) -> None:
    harness.deliver(harness.failure_event("event-1") | {"resources": [_arn("web-a")]})
    # The retried run failed too, and its event went missing.
    harness.image_builder.set_status(_arn("web-a"), "FAILED")

    report = _sweeper(harness).sweep(lambda: 300_000)

    assert _arn("web-a") in report.swept
    assert harness.attempts(_arn("web-a")) == 2


def test_one_failing_image_does_not_stop_the_sweep(harness: RetrierHarness) -> None:
    harness.image_builder.fail_next("GetImage", "ForbiddenException")

    report = _sweeper(harness).sweep(lambda: 300_000)

    assert len(report.errors) == 1
    assert len(report.swept) == 3
