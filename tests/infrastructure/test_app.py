"""Given the app as the CDK CLI runs it, bad context fails the synth with a clear message, and
the function asset carries a boto3 that knows RetryImage."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from aws_cdk.assertions import Template

from infra.function_asset import ASSET_DIR, FUNCTION_TARGET, build, host_target

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def _synth(context: dict[str, object], outdir: Path) -> subprocess.CompletedProcess[str]:
    # The CDK CLI hands context (cdk.json merged with -c values) to the app this way.
    environment = {**os.environ, "CDK_CONTEXT_JSON": json.dumps(context), "CDK_OUTDIR": str(outdir)}
    return subprocess.run(
        [sys.executable, "app.py"],
        cwd=PROJECT_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.mark.parametrize(
    ("context", "expected"),
    [
        ({"maxAttempts": "three"}, 'error: Context value maxAttempts="three" is not allowed'),
        ({"dryRun": "yes"}, 'error: Context value dryRun="yes" is not allowed'),
        ({"maxAtempts": "3"}, "Did you mean 'maxAttempts'?"),
    ],
)
def test_bad_context_fails_the_synth_with_a_message_not_a_traceback(
    tmp_path: Path, context: dict[str, object], expected: str
) -> None:
    result = _synth(context, tmp_path)

    assert result.returncode == 1
    assert expected in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "ImageRetrier.template.json").exists()


def test_string_context_from_the_command_line_synthesizes(tmp_path: Path) -> None:
    result = _synth(
        {"maxAttempts": "4", "dryRun": "false", "retryStages": "DISTRIBUTING"}, tmp_path
    )

    assert result.returncode == 0, result.stderr
    template = json.loads((tmp_path / "ImageRetrier.template.json").read_text())
    (function,) = [
        r
        for r in template["Resources"].values()
        if r["Type"] == "AWS::Lambda::Function"
        and r["Properties"]["Handler"].endswith(".handler.lambda_handler")
    ]
    assert function["Properties"]["Environment"]["Variables"]["MAX_ATTEMPTS"] == "4"


def test_function_asset_ships_a_boto3_that_models_retry_image_and_failure_context() -> None:
    asset = build()
    probe = (
        "import sys; sys.path.insert(0, sys.argv[1]);"
        "import boto3, botocore.session;"
        "from image_retrier.image_builder import create_client;"
        "model = create_client('us-east-1').meta.service_model;"
        "shape = model.shape_for('CallRateLimitExceededException');"
        "print(boto3.__file__.startswith(sys.argv[1]), 'RetryImage' in model.operation_names,"
        " 'failureContext' in model.shape_for('ImageState').members,"
        " dict(shape.metadata['retryable']))"
    )

    result = subprocess.run(
        [sys.executable, "-c", probe, str(asset)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )

    assert asset == ASSET_DIR
    assert result.stdout.split(" ", 3) == ["True", "True", "True", "{'throttling': True}\n"]


def test_the_asset_is_built_for_the_functions_runtime_and_the_benchmarks_one_apart(
    template: Template,
) -> None:
    functions = template.find_resources("AWS::Lambda::Function")
    runtimes = {
        (function["Properties"]["Runtime"], *function["Properties"]["Architectures"])
        for function in functions.values()
        if function["Properties"]["Handler"].startswith("image_retrier.")
    }
    assert runtimes == {
        (f"python{FUNCTION_TARGET.python_version}", "arm64"),
    }
    assert FUNCTION_TARGET.platform == "manylinux2014_aarch64"
    assert FUNCTION_TARGET.directory == ASSET_DIR
    # The cold-start benchmark builds the asset for this machine; if it shared build/function,
    # the next deploy would ship this machine's wheels to the arm64 function.
    host = host_target()
    assert host.directory != ASSET_DIR and host.stamp != FUNCTION_TARGET.stamp
    # One per Python: the benchmark run with two Pythons side by side rebuilds neither's.
    assert host.directory.name == f"function-host-{sys.version_info.major}.{sys.version_info.minor}"
