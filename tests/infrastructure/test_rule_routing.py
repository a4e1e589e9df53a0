"""Given the rule pattern from the synthesized template and EventBridge's matcher (moto's),
every shipped event is routed, or not, as the cases README says."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk import App
from aws_cdk.assertions import Annotations, Match, Template

from infra.function_asset import build
from infra.retrier_stack import RetrierStack
from infra.settings import StackSettings
from localsim.demo import event_pattern_matches
from tests.conftest import load_event
from tests.infrastructure.conftest import synthesize


def _event_rules(template: Template) -> list[dict[str, Any]]:
    rules = template.find_resources("AWS::Events::Rule").values()
    return [rule for rule in rules if "EventPattern" in rule["Properties"]]


ROUTED = {
    "distribution-failed.json": True,
    "distribution-failed-with-reason.json": True,
    "distribution-failed-again.json": True,
    "test-failed.json": True,
    "build-failed.json": True,
    "malformed-no-resources.json": True,
    "available.json": True,
    "distributing.json": False,
    "cancelled.json": False,
    "cve-detected.json": False,
}


@pytest.mark.parametrize(("event_file", "routed"), sorted(ROUTED.items()))
def test_shipped_event_is_routed_as_documented(
    template: Template, event_file: str, routed: bool
) -> None:
    (rule,) = _event_rules(template)

    assert (
        event_pattern_matches(rule["Properties"]["EventPattern"], load_event(event_file)) is routed
    )


def test_matcher_is_not_fooled_by_a_top_level_status(template: Template) -> None:
    (rule,) = _event_rules(template)
    event = load_event("distributing.json")
    event["detail"]["status"] = "FAILED"

    assert event_pattern_matches(rule["Properties"]["EventPattern"], event) is False


def test_included_image_names_are_filtered_by_the_rule_itself() -> None:
    template = synthesize(StackSettings(include_image_names=("web-*",)))
    (rule,) = _event_rules(template)
    pattern = rule["Properties"]["EventPattern"]

    assert pattern["resources"] == [{"wildcard": "arn:*:imagebuilder:*:*:image/web-*/*"}]
    assert event_pattern_matches(pattern, load_event("distribution-failed.json")) is True
    assert event_pattern_matches(pattern, load_event("build-failed.json")) is False
    assert event_pattern_matches(pattern, load_event("test-failed.json")) is False


def test_names_eventbridge_cannot_express_are_left_to_the_function() -> None:
    template = synthesize(StackSettings(include_image_names=("web-serve?",)))
    (rule,) = _event_rules(template)

    assert "resources" not in rule["Properties"]["EventPattern"]
    variables = next(iter(template.find_resources("AWS::Lambda::Function").values()))["Properties"][
        "Environment"
    ]["Variables"]
    assert json.loads(variables["SCOPE"])["include_image_names"] == ["web-serve?"]


def test_a_name_filter_over_the_pattern_quota_is_left_to_the_function_with_a_warning() -> None:
    names = tuple(f"team-{number:02d}-golden-image-for-the-web-fleet" for number in range(30))
    app = App()
    stack = RetrierStack(
        app, "ImageRetrier", settings=StackSettings(include_image_names=names), code_dir=build()
    )
    template = Template.from_stack(stack)
    (rule,) = _event_rules(template)

    pattern = rule["Properties"]["EventPattern"]
    assert "resources" not in pattern
    assert len(json.dumps(pattern)) <= 2048
    variables = next(iter(template.find_resources("AWS::Lambda::Function").values()))["Properties"][
        "Environment"
    ]["Variables"]
    assert json.loads(variables["SCOPE"])["include_image_names"] == list(names)
    (warning,) = Annotations.from_stack(stack).find_warning("*", Match.string_like_regexp(".*"))
    assert "over EventBridge's default quota of 2048" in str(warning.entry.data)
