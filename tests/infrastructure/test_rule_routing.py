"""Given the rule pattern from the synthesized template and EventBridge's matcher (moto's),
every shipped event is routed, or not, as the cases README says."""

from __future__ import annotations

import pytest
from aws_cdk.assertions import Template

from localsim.demo import event_pattern_matches
from tests.conftest import load_event

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
    (rule,) = template.find_resources("AWS::Events::Rule").values()

    assert (
        event_pattern_matches(rule["Properties"]["EventPattern"], load_event(event_file)) is routed
    )


def test_matcher_is_not_fooled_by_a_top_level_status(template: Template) -> None:
    (rule,) = template.find_resources("AWS::Events::Rule").values()
    event = load_event("distributing.json")
    event["detail"]["status"] = "FAILED"

    assert event_pattern_matches(rule["Properties"]["EventPattern"], event) is False
