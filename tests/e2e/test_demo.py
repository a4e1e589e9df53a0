"""Given the synthesized template, when the demo plays every shipped case through the rule,
the queue and the real handler, then each scenario ends as scenarios.json says."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Template

from infra.function_asset import build
from tests.conftest import CASES
from tests.unit.test_tokens import PINNED_TOKENS

WEB_SERVER = "arn:aws:imagebuilder:us-east-1:111122223333:image/web-server/1.4.0/3"
PROJECT_ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = json.loads((CASES / "scenarios.json").read_text())["scenarios"]


@pytest.fixture(scope="module")
def demo_results(template: Template, tmp_path_factory: pytest.TempPathFactory) -> list[Any]:
    template_path = tmp_path_factory.mktemp("synth") / "ImageRetrier.template.json"
    template_path.write_text(json.dumps(template.to_json()))
    # A process of its own, as `make demo` runs it: the handler reads its settings at import.
    result = subprocess.run(
        [sys.executable, "-m", "localsim.demo", "--template", str(template_path), "--json"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    results: list[Any] = json.loads(result.stdout)
    return results


@pytest.mark.e2e
@pytest.mark.parametrize("index", range(len(SCENARIOS)), ids=[s["name"] for s in SCENARIOS])
def test_scenario_ends_as_documented(demo_results: list[Any], index: int) -> None:
    expected = SCENARIOS[index]["expect"]
    result = demo_results[index]

    assert result["routed"] == expected["routed"]
    assert [line["decision"] for line in result["decisions"]] == expected["decisions"]
    assert [line["reason"] for line in result["decisions"]] == expected["reasons"]
    accepted = [call for call in result["retry_image_calls"] if call["accepted"]]
    assert len(accepted) == expected["accepted_retries"]
    assert len(result["dead_lettered"]) == expected["dead_lettered"]
    assert len(result["notifications"]) == expected["notifications"]
    if "ledger" in expected:
        assert {key: result["ledger"][key] for key in expected["ledger"]} == expected["ledger"]


@pytest.mark.e2e
def test_timed_out_distribution_makes_exactly_one_call_with_the_pinned_token(
    demo_results: list[Any],
) -> None:
    (call,) = demo_results[0]["retry_image_calls"]
    (deferred, retried) = demo_results[0]["decisions"]
    assert deferred["client_token"] == retried["client_token"] == call["client_token"]
    assert call == {
        "image_build_version_arn": WEB_SERVER,
        "client_token": PINNED_TOKENS["distribution-failed.json"],
        "accepted": True,
    }


@pytest.mark.e2e
def test_demo_prints_a_readable_report(template: Template, tmp_path: Path) -> None:
    template_path = tmp_path / "ImageRetrier.template.json"
    template_path.write_text(json.dumps(template.to_json()))

    report = subprocess.run(
        [sys.executable, "-m", "localsim.demo", "--template", str(template_path)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    ).stdout

    assert "retry attempt 1 (distributing_failure) -> requested" in report
    assert "3 event(s): none routed by the rule" in report
    assert "kept in the dead-letter queue: no_resources" in report
    assert "| Image Builder retrier gave up on" in report
    assert "cause: permanent (managed_key_snapshot_share)" in report
    assert "What to change: Encrypt the image with a customer managed KMS key" in report


# What the handler imports of the asset: its own code and the libraries the asset ships for it.
SHIPPED_MODULES = (
    "image_retrier",
    "botocore",
    "urllib3",
    "jmespath",
    "dateutil",
    "aws_lambda_powertools",
    "wrapt",
    "typing_extensions",
)


@pytest.mark.e2e
def test_the_trimmed_function_asset_serves_every_shipped_case(
    template: Template, demo_results: list[Any], tmp_path: Path
) -> None:
    # The function's code and every library it ships (botocore with only the service models the
    # function calls) come from the built asset here: a library missing from it would otherwise
    # be found in the test environment, which has them all.
    asset = build()
    template_path = tmp_path / "ImageRetrier.template.json"
    template_path.write_text(json.dumps(template.to_json()))
    origins_path = tmp_path / "origins.json"
    probe = """
import json, runpy, sys
asset, template, origins = sys.argv[1:4]
sys.argv = ["demo", "--template", template, "--json"]
try:
    runpy.run_module("localsim.demo", run_name="__main__")
finally:
    top_level = {name: module for name, module in sys.modules.items() if "." not in name}
    files = {name: getattr(module, "__file__", None) or "" for name, module in top_level.items()}
    with open(origins, "w") as written:
        json.dump(files, written)
"""
    environment = {**os.environ, "PYTHONPATH": f"{asset}{os.pathsep}{PROJECT_ROOT}"}

    result = subprocess.run(
        [sys.executable, "-c", probe, str(asset), str(template_path), str(origins_path)],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    origins = json.loads(origins_path.read_text())
    for name in SHIPPED_MODULES:
        assert origins.get(name, "").startswith(str(asset)), (name, origins.get(name))
    from_asset = json.loads(result.stdout)
    assert [r["decisions"] for r in from_asset] == [r["decisions"] for r in demo_results]
    assert [r["retry_image_calls"] for r in from_asset] == [
        r["retry_image_calls"] for r in demo_results
    ]
