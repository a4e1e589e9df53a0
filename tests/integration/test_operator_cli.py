"""Given a deployed retrier (moto) and Image Builder (the fake), the operator commands explain
what would happen to an image and show its ledger history, or fail with a clear message."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from image_retrier import operator_cli
from image_retrier.image_builder import create_client
from localsim.image_builder_fake import ImageBuilderFake
from tests.conftest import AwsResources, load_image
from tests.integration.retrier_harness import WEB_SERVER, RetrierHarness

FUNCTION = "image-retrier"
ENVIRONMENT_KEYS = [
    "MAX_ATTEMPTS",
    "RETRY_STAGES",
    "DRY_RUN",
    "RETRY_DELAY_SECONDS",
    "BACKOFF_RATE",
    "MAX_RETRY_DELAY_SECONDS",
    "NOTIFY_ON_RECOVERY",
    "UNKNOWN_CAUSES",
    "PERMANENT_PATTERNS",
    "TRANSIENT_PATTERNS",
    "SCOPE",
    "QUEUE_URL",
    "DEAD_LETTER_QUEUE_URL",
    "LEDGER_TABLE_NAME",
    "LEDGER_TTL_DAYS",
    "NOTIFICATION_TOPIC_ARN",
]


@pytest.fixture
def deployed(
    aws_resources: AwsResources, monkeypatch: pytest.MonkeyPatch
) -> Iterator[ImageBuilderFake]:
    import os

    role = boto3.client("iam").create_role(
        RoleName="retrier",
        AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}),
    )["Role"]["Arn"]
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("handler.py", "")
    boto3.client("lambda").create_function(
        FunctionName=FUNCTION,
        Runtime="python3.12",
        Role=role,
        Handler="handler.handler",
        Code={"ZipFile": code.getvalue()},
        Environment={"Variables": {key: os.environ[key] for key in ENVIRONMENT_KEYS}},
    )
    fake = ImageBuilderFake()

    def client_with_fake(region_name: str | None = None) -> Any:
        client = create_client(region_name)
        fake.attach(client)
        return client

    monkeypatch.setattr(operator_cli, "create_client", client_with_fake)
    yield fake


def _run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    status = operator_cli.main([*argv, "--function-name", FUNCTION], out=out)
    return status, out.getvalue()


def test_explain_a_transient_failure_names_the_stage_cause_and_next_attempt(
    deployed: ImageBuilderFake,
) -> None:
    deployed.put_image(load_image("web-server-distribution-timed-out.json"))

    status, text = _run("explain", WEB_SERVER)

    assert status == 0
    assert "failure stage: DISTRIBUTING (from failureContext.imageStatus)" in text
    assert "region ap-southeast-2 account 111122223333: transient (timed_out)" in text
    assert "scope:         in scope" in text
    assert "attempts:      0 of 3" in text
    assert "decision:      retry (distributing_failure)" in text
    assert "next:          the next failure event takes attempt 1 of 3" in text


def test_explain_a_permanent_failure_says_what_to_change(deployed: ImageBuilderFake) -> None:
    deployed.put_image(load_image("web-server-distribution-managed-key.json"))

    status, text = _run("explain", WEB_SERVER)

    assert status == 0
    assert "cause:         permanent" in text
    assert "what to change: Encrypt the image with a customer managed KMS key" in text
    assert "decision:      needs_fix (permanent_cause)" in text


def test_explain_a_build_failure_says_the_retrier_leaves_it(deployed: ImageBuilderFake) -> None:
    body = load_image("batch-worker-build-failed.json")
    deployed.put_image(body)

    status, text = _run("explain", body["image"]["arn"])

    assert status == 0
    assert "decision:      skip (build_failure_not_retryable)" in text
    assert "next:          nothing" in text


def test_history_lists_attempts_tokens_and_outcome(
    deployed: ImageBuilderFake, aws_resources: AwsResources, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("time.sleep", lambda _seconds: None)
    harness = RetrierHarness(aws_resources)
    harness.image_builder.put_image(load_image("web-server-distribution-timed-out.json"))
    harness.deliver(harness.failure_event("6f1c2a8e-3b4d-4e5f-9a0b-1c2d3e4f5a6b"))

    status, text = _run("history", WEB_SERVER)

    assert status == 0
    assert "outcome:       retrying" in text
    assert "attempts:      1" in text
    assert (
        "1. event 6f1c2a8e-3b4d-4e5f-9a0b-1c2d3e4f5a6b token f50a9535-04ec-5a0b-b07d-7788287f5d66"
        in text
    )


def test_history_of_an_image_never_retried_says_so(deployed: ImageBuilderFake) -> None:
    status, text = _run("history", WEB_SERVER)
    assert (status, "never acted on it" in text) == (0, True)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["explain", "ami-0123456789abcdef0", "--function-name", FUNCTION],
         "is not an image build version ARN"),
        (["explain", WEB_SERVER.replace("/3", "/99"), "--function-name", FUNCTION],
         "does not exist"),
        (["explain", WEB_SERVER, "--function-name", "missing"], "cannot read the retrier function"),
    ],
)  # fmt: skip
def test_bad_input_fails_with_one_clear_line(
    deployed: ImageBuilderFake, argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status = operator_cli.main(argv, out=io.StringIO())

    assert status == 2
    assert message in capsys.readouterr().err


def test_a_missing_ledger_table_is_named(
    deployed: ImageBuilderFake, capsys: pytest.CaptureFixture[str]
) -> None:
    deployed.put_image(load_image("web-server-distribution-timed-out.json"))
    boto3.client("dynamodb").delete_table(TableName="attempt-ledger")

    assert operator_cli.main(["history", WEB_SERVER, "--function-name", FUNCTION]) == 2
    assert "the ledger table attempt-ledger does not exist" in capsys.readouterr().err


def test_a_missing_stack_is_named(aws: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert operator_cli.main(["explain", WEB_SERVER]) == 2
    assert "stack ImageRetrier not found" in capsys.readouterr().err


def test_missing_credentials_are_named(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Any
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")

    assert operator_cli.main(["explain", WEB_SERVER]) == 2
    assert "no AWS credentials" in capsys.readouterr().err


def test_the_stack_lookup_picks_the_event_path_function_beside_the_sweeper() -> None:
    from botocore.stub import Stubber

    client = boto3.client("cloudformation")
    stubber = Stubber(client)
    resource = {"ResourceType": "AWS::Lambda::Function", "Timestamp": "2026-12-01T00:00:00Z"}
    resource |= {"ResourceStatus": "CREATE_COMPLETE", "StackName": "ImageRetrier"}
    stubber.add_response(
        "describe_stack_resources",
        {
            "StackResources": [
                resource | {"LogicalResourceId": "SweeperFunction1A2B", "PhysicalResourceId": "s"},
                resource | {"LogicalResourceId": "RetrierFunctionCCCE", "PhysicalResourceId": "r"},
            ]
        },
        {"StackName": "ImageRetrier"},
    )

    class Session:
        region_name = "us-east-1"

        @staticmethod
        def client(name: str) -> Any:
            return client

    with stubber:
        assert operator_cli._stack_function(Session(), "ImageRetrier") == "r"  # type: ignore[arg-type]
