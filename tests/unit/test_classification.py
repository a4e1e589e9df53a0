"""Given realistic region failures, each gets the class and decision the corpus says, and the
image takes the gravest class of its regions."""

from __future__ import annotations

import dataclasses
import json
import re
from typing import Any

import pytest

from image_retrier.classification import (
    FailureClass,
    classify,
    load_built_in_rules,
    team_rules,
)
from image_retrier.decision import Decision, decide
from image_retrier.events import parse_message_body
from image_retrier.inspection import FailureInspection, RegionFailure, inspect_image
from image_retrier.settings import RetrierSettings
from tests.conftest import CASES, load_event, load_image

CORPUS = json.loads((CASES / "failure_corpus.json").read_text())["cases"]
RULES = load_built_in_rules()
SETTINGS = RetrierSettings(max_attempts=3, retry_stages=frozenset({"DISTRIBUTING"}), dry_run=False)
CHANGE = parse_message_body(json.dumps(load_event("distribution-failed.json")))


def _inspection(*failures: RegionFailure, reason: str | None = None) -> FailureInspection:
    return FailureInspection(
        image_status="FAILED",
        failure_stage="DISTRIBUTING",
        stage_source="failureContext.imageStatus",
        reason=reason,
        region_failures=failures,
        image_name="web-server",
        pipeline_arn="arn:aws:imagebuilder:us-east-1:111122223333:image-pipeline/web-server",
    )


def _failure(case: dict[str, Any]) -> RegionFailure:
    return RegionFailure(
        region="us-east-1",
        status=case["status"],
        target_account_id="444455556666",
        image_configuration_step=case.get("step"),
        error_message=case["message"],
    )


def test_the_corpus_is_large_enough_and_covers_every_built_in_rule() -> None:
    assert len(CORPUS) >= 20
    assert {rule.name for rule in RULES} <= {case["rule"] for case in CORPUS}


@pytest.mark.parametrize("case", CORPUS, ids=[f"{c['rule']}-{n}" for n, c in enumerate(CORPUS)])
def test_corpus_case_gets_its_class_rule_and_decision(case: dict[str, Any]) -> None:
    inspection = _inspection(_failure(case))

    classification = classify(inspection, RULES)
    decision = decide(CHANGE, inspection, SETTINGS, classification)

    (verdict,) = classification.verdicts
    assert (verdict.failure_class.value, verdict.rule) == (case["class"], case["rule"])
    assert decision.decision.value == case["decision"]


def test_every_permanent_rule_says_why_and_what_to_change() -> None:
    for rule in RULES:
        assert rule.why
        assert rule.fix
        if rule.failure_class is FailureClass.PERMANENT:
            assert len(rule.fix) > 30, rule.name


def test_one_permanent_region_makes_the_image_need_a_fix() -> None:
    timed_out = next(case for case in CORPUS if case["rule"] == "timed_out")
    managed_key = next(case for case in CORPUS if case["rule"] == "managed_key_snapshot_share")

    classification = classify(_inspection(_failure(timed_out), _failure(managed_key)), RULES)

    assert classification.failure_class is FailureClass.PERMANENT
    assert classification.rules == ["managed_key_snapshot_share", "timed_out"]


def test_an_unknown_region_beside_transient_ones_makes_the_image_unknown() -> None:
    timed_out = next(case for case in CORPUS if case["rule"] == "timed_out")
    unknown = next(case for case in CORPUS if case["rule"] is None)

    classification = classify(_inspection(_failure(timed_out), _failure(unknown)), RULES)

    assert classification.failure_class is FailureClass.UNKNOWN


@pytest.mark.parametrize(
    ("image_file", "failure_class"),
    [
        ("web-server-distribution-timed-out.json", FailureClass.TRANSIENT),
        ("web-server-distribution-managed-key.json", FailureClass.PERMANENT),
        ("web-server-distribution-no-context.json", FailureClass.UNKNOWN),
    ],
)
def test_shipped_images_are_classified_as_their_readme_says(
    image_file: str, failure_class: FailureClass
) -> None:
    inspection = inspect_image(load_image(image_file)["image"], CHANGE)
    assert classify(inspection, RULES).failure_class is failure_class


def test_without_failure_context_the_reason_is_classified() -> None:
    managed_key = next(case for case in CORPUS if case["rule"] == "managed_key_snapshot_share")

    classification = classify(_inspection(reason=managed_key["message"]), RULES)

    (verdict,) = classification.verdicts
    assert (verdict.region, verdict.rule) == (None, "managed_key_snapshot_share")


def test_team_patterns_come_before_the_built_in_rules() -> None:
    timed_out = next(case for case in CORPUS if case["rule"] == "timed_out")
    rules = team_rules(["did not complete within"], []) + RULES

    (verdict,) = classify(_inspection(_failure(timed_out)), rules).verdicts

    assert (verdict.failure_class, verdict.rule) == (FailureClass.PERMANENT, "team_permanent_1")


def test_a_team_transient_pattern_makes_an_unknown_cause_retryable() -> None:
    unknown = next(case for case in CORPUS if case["rule"] is None)
    rules = team_rules([], [r"AMI Copy Reported Failure"]) + RULES

    assert classify(_inspection(_failure(unknown)), rules).failure_class is FailureClass.TRANSIENT


def test_unknown_causes_can_be_made_notify_only() -> None:
    unknown = next(case for case in CORPUS if case["rule"] is None)
    inspection = _inspection(_failure(unknown))
    notify = dataclasses.replace(SETTINGS, notify_on_unknown_cause=True)

    decision = decide(CHANGE, inspection, notify, classify(inspection, RULES))

    assert (decision.decision, decision.reason) == (Decision.NEEDS_FIX, "unknown_cause")


# A repetition without an upper bound: `*`, `+` or `{n,}` not escaped.
UNBOUNDED_REPETITION = re.compile(r"(?<!\\)([*+]|\{\d*,\})")


def test_every_gap_a_built_in_rule_allows_is_bounded() -> None:
    # An unbounded gap ("key[^.]*denied") is tried from every place its first word occurs, to the
    # end of the sentence: a long message without full stops took seconds per rule.
    for rule in RULES:
        assert not UNBOUNDED_REPETITION.search(rule.pattern.pattern), rule.name


def test_a_long_message_is_classified_by_the_cause_at_its_end() -> None:
    message = "key " * 10_000 + ". Rate exceeded for CopyImage"
    failure = RegionFailure(
        region="eu-west-1",
        status="FAILED",
        target_account_id=None,
        image_configuration_step=None,
        error_message=message,
    )

    classification = classify(_inspection(failure), RULES)

    assert classification.failure_class is FailureClass.TRANSIENT
    assert classification.rules == ["throttled"]
