"""Given CDK context values, typed (cdk.json) or strings (-c key=value), the settings are built
or the synth fails with a message naming the key, the value and what is allowed."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from infra.settings import CONTEXT_KEYS, ContextError, StackSettings

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def test_no_context_gives_the_defaults() -> None:
    assert StackSettings.from_context({}) == StackSettings()


def test_cdk_json_holds_exactly_the_defaults() -> None:
    context = json.loads((PROJECT_ROOT / "cdk.json").read_text())["context"]
    ours = {key.name: context[key.name] for key in CONTEXT_KEYS}

    assert StackSettings.from_context(ours) == StackSettings()


@pytest.mark.parametrize(
    ("context", "expected"),
    [
        ({"maxAttempts": 3}, {"max_attempts": 3}),
        ({"maxAttempts": "5"}, {"max_attempts": 5}),
        ({"dryRun": True}, {"dry_run": True}),
        ({"dryRun": "false"}, {"dry_run": False}),
        ({"dryRun": "TRUE"}, {"dry_run": True}),
        ({"retryStages": ["DISTRIBUTING", "TESTING"]},
         {"retry_stages": ("DISTRIBUTING", "TESTING")}),
        ({"retryStages": '["DISTRIBUTING","INTEGRATING"]'},
         {"retry_stages": ("DISTRIBUTING", "INTEGRATING")}),
        ({"retryStages": "distributing,testing"}, {"retry_stages": ("DISTRIBUTING", "TESTING")}),
        ({"logLevel": "debug"}, {"log_level": "DEBUG"}),
        ({"logRetentionDays": "90"}, {"log_retention_days": 90}),
        ({"maxConcurrency": 10}, {"max_concurrency": 10}),
        ({"eventBusName": "image-events"}, {"event_bus_name": "image-events"}),
        ({"retryDelaySeconds": "60"}, {"retry_delay_seconds": 60}),
        ({"backoffRate": "1.5"}, {"backoff_rate": 1.5}),
        ({"backoffRate": 3}, {"backoff_rate": 3.0}),
        ({"backoffRate": " +1.0000001 "}, {"backoff_rate": 1.0000001}),
        ({"maxRetryDelaySeconds": "7200"}, {"max_retry_delay_seconds": 7200}),
        ({"ledgerTtlDays": "30"}, {"ledger_ttl_days": 30}),
        ({"notificationEmails": '["a@example.com","b@example.com"]'},
         {"notification_emails": ("a@example.com", "b@example.com")}),
        ({"notificationEmails": "a@example.com"}, {"notification_emails": ("a@example.com",)}),
        ({"notificationEmails": []}, {"notification_emails": ()}),
        ({"notifyOnRecovery": "true"}, {"notify_on_recovery": True}),
    ],
)  # fmt: skip
def test_typed_and_string_forms_are_accepted(
    context: dict[str, Any], expected: dict[str, Any]
) -> None:
    settings = StackSettings.from_context(context)
    assert {field: getattr(settings, field) for field in expected} == expected


@pytest.mark.parametrize(
    ("key", "value", "allowed"),
    [
        ("maxAttempts", True, "a whole number from 1 to 100"),
        ("maxAttempts", "true", "a whole number from 1 to 100"),
        ("maxAttempts", -1, "a whole number from 1 to 100"),
        ("maxAttempts", "-1", "a whole number from 1 to 100"),
        ("maxAttempts", 0, "a whole number from 1 to 100"),
        ("maxAttempts", "three", "a whole number from 1 to 100"),
        ("maxAttempts", 2.5, "a whole number from 1 to 100"),
        ("dryRun", "yes", "true or false"),
        ("dryRun", 1, "true or false"),
        ("retryStages", ["BUILDING"], "RetryImage does not rebuild"),
        ("retryStages", ["DISTRIBUTING", "SHIPPING"], "unknown stage SHIPPING"),
        ("retryStages", [], "at least one stage"),
        ("retryStages", '["DISTRIBUTING"', "not a valid JSON list"),
        ("logLevel", "LOUD", "one of DEBUG, INFO, WARNING, ERROR"),
        ("logRetentionDays", 45, "one of 1, 3, 5, 7, 14, 30"),
        ("maxConcurrency", 1, "from 2 to 1000"),
        ("eventBusName", "my bus", "an event bus name"),
        ("maxAttempts", "9" * 5000, "a whole number from 1 to 100"),
        ("maxAttempts", "\u0663", "a whole number from 1 to 100"),
        ("retryStages", ["DISTRIBUTING", ""], "an item is empty"),
        ("retryDelaySeconds", -5, "from 0 to 86400"),
        ("backoffRate", "0.5", "a number from 1 to 10"),
        ("backoffRate", "fast", "a number from 1 to 10"),
        ("backoffRate", "-2", "(out of range 1..10)"),
        ("backoffRate", "10.5", "(out of range 1..10)"),
        ("ledgerTtlDays", 0, "from 15 (the 14 days the dead-letter queues keep a message, and"),
        ("ledgerTtlDays", 14, "(out of range 15..3650)"),
        ("notificationEmails", ["ops"], "not an email address: ops"),
        ("notifyOnRecovery", "sometimes", "true or false"),
        ("unknownCauses", "ignore", "retry or notify"),
        ("permanentPatterns", ["(unclosed"], "is not a valid regular expression"),
        ("transientPatterns", "[a-", "is not a valid regular expression"),
        ("includeImageNames", ["web server"], "not an image name, prefix or glob"),
        ("includePipelineArns", ["web-pipeline"], "not an image pipeline ARN"),
        ("excludeTags", ["team"], "not a key=value tag"),
        ("optOutTag", "skip-me", "one key=value image tag"),
    ],
)
def test_bad_values_fail_naming_key_value_and_what_is_allowed(
    key: str, value: Any, allowed: str
) -> None:
    with pytest.raises(ContextError) as failure:
        StackSettings.from_context({key: value})

    message = str(failure.value)
    assert key in message
    assert json.dumps(value) in message
    assert allowed in message


def test_unknown_key_fails_naming_the_closest_valid_key() -> None:
    with pytest.raises(
        ContextError, match=r"Unknown context key 'maxAttempt'\. Did you mean 'maxAttempts'"
    ):
        StackSettings.from_context({"maxAttempt": 3})


@pytest.mark.parametrize(
    ("typo", "meant"),
    [("dry_run", "dryRun"), ("DryRun", "dryRun"), ("max_attempts", "maxAttempts"),
     ("max-concurrency", "maxConcurrency")],
)  # fmt: skip
def test_other_spellings_of_a_key_fail_instead_of_being_ignored(typo: str, meant: str) -> None:
    with pytest.raises(ContextError, match=f"Did you mean '{meant}'"):
        StackSettings.from_context({typo: "true"})


@pytest.mark.parametrize(
    ("context", "message"),
    [
        ({"includeImageNames": ["web-*"], "excludeImageNames": "WEB-*"},
         "web-* is in both includeImageNames and excludeImageNames"),
        ({"includeTags": ["team=a"], "excludeTags": ["team=a"]},
         "team=a is in both includeTags and excludeTags"),
        ({"includeTags": ["auto-retry=false"]},
         "auto-retry=false is in both includeTags and optOutTag"),
        ({"permanentPatterns": ["denied"], "transientPatterns": ["denied"]},
         "is in both permanentPatterns and transientPatterns, so a failure it matches"),
        ({"includePipelineArns": ["arn:aws:imagebuilder:us-east-1:1:image-pipeline/p"],
          "excludePipelineArns": ["arn:aws:imagebuilder:us-east-1:1:image-pipeline/p"]},
         "is in both includePipelineArns and excludePipelineArns"),
    ],
)  # fmt: skip
def test_contradicting_scope_fails_the_synth(context: dict[str, Any], message: str) -> None:
    with pytest.raises(ContextError, match=re.escape(message)):
        StackSettings.from_context(context)


def test_a_regular_expression_with_commas_stays_one_pattern() -> None:
    settings = StackSettings.from_context({"permanentPatterns": "Denied{1,3}"})
    assert settings.permanent_patterns == ("Denied{1,3}",)


@pytest.mark.parametrize(
    ("names", "wildcards"),
    [
        ([], ()),
        (["web-*"], ("arn:*:imagebuilder:*:*:image/web-*/*",)),
        (["Batch"], ("arn:*:imagebuilder:*:*:image/batch*/*",)),
        (["web-?"], ()),
    ],
)
def test_included_names_become_rule_wildcards_when_eventbridge_can_say_them(
    names: list[str], wildcards: tuple[str, ...]
) -> None:
    assert StackSettings.from_context({"includeImageNames": names}).image_arn_wildcards == wildcards


def test_contradicting_delays_fail_the_synth() -> None:
    with pytest.raises(
        ContextError, match="maxRetryDelaySeconds=60 is less than retryDelaySeconds"
    ):
        StackSettings.from_context({"retryDelaySeconds": 300, "maxRetryDelaySeconds": "60"})


def test_a_ledger_the_sweeper_could_outlive_fails_the_synth() -> None:
    with pytest.raises(
        ContextError,
        match=r"ledgerTtlDays=30 is shorter than sweeperLookBackHours=720 plus "
        r"maxRetryDelaySeconds=3600\. .* Use ledgerTtlDays=31 or more",
    ):
        StackSettings.from_context({"ledgerTtlDays": 30, "sweeperLookBackHours": 720})


def test_the_ledger_may_be_a_day_longer_than_the_dead_letter_queues_keep_a_message() -> None:
    shortest = StackSettings.from_context(
        {"ledgerTtlDays": 15, "sweeperLookBackHours": 336, "maxRetryDelaySeconds": 86400}
    )
    without_sweeper = StackSettings.from_context(
        {"ledgerTtlDays": 15, "sweeperEnabled": "false", "sweeperLookBackHours": 720}
    )
    assert (shortest.ledger_ttl_days, without_sweeper.ledger_ttl_days) == (15, 15)


def test_the_same_pattern_in_both_lists_contradicts_whatever_its_case() -> None:
    with pytest.raises(ContextError, match="Denied is in both permanentPatterns and transient"):
        StackSettings.from_context({"permanentPatterns": "Denied", "transientPatterns": "denied"})


def test_patterns_whose_case_changes_their_meaning_do_not_contradict() -> None:
    settings = StackSettings.from_context(
        {"permanentPatterns": r"Error \S+ denied", "transientPatterns": r"Error \s+ denied"}
    )
    assert (settings.permanent_patterns, settings.transient_patterns) == (
        (r"Error \S+ denied",),
        (r"Error \s+ denied",),
    )


def test_context_values_too_long_for_the_function_environment_fail_the_synth() -> None:
    arns = [
        f"arn:aws:imagebuilder:us-east-1:111122223333:image-pipeline/team-{number:02d}-web-fleet"
        for number in range(60)
    ]

    with pytest.raises(ContextError) as failure:
        StackSettings.from_context({"includePipelineArns": json.dumps(arns)})

    message = str(failure.value)
    assert "Context values are too long together" in message
    assert "the scope keys (include..., exclude..., optOutTag) " in message
    assert "Lambda allows 4 KB for its whole environment, of which 3000 bytes" in message


def test_context_values_that_fit_the_function_environment_pass() -> None:
    arns = [
        f"arn:aws:imagebuilder:us-east-1:111122223333:image-pipeline/team-{number:02d}-web-fleet"
        for number in range(30)
    ]
    settings = StackSettings.from_context({"includePipelineArns": json.dumps(arns)})
    assert len(settings.include_pipeline_arns) == 30


def test_unknown_key_with_no_close_match_lists_the_valid_keys() -> None:
    with pytest.raises(ContextError, match="Keys this app reads: maxAttempts, dryRun"):
        StackSettings.from_context({"color": "blue"})


def test_cdk_own_context_keys_are_left_alone() -> None:
    context = {
        "@aws-cdk/core:target-partitions": ["aws"],
        "aws:cdk:enable-path-metadata": True,
        "acknowledged-issue-numbers": [1234],
        "availability-zones:account=111122223333:region=us-east-1": ["us-east-1a"],
    }
    assert StackSettings.from_context(context) == StackSettings()


@pytest.mark.parametrize("value", ["['MyOrgPolicyDenied']", "[MyOrgPolicyDenied]", '["X",]'])
def test_a_pattern_list_that_is_not_json_fails_instead_of_becoming_one_pattern(value: str) -> None:
    # As one regular expression, "['MyOrgPolicyDenied']" is a character class: it would match
    # almost every message and turn every failure into a permanent one.
    with pytest.raises(ContextError, match=r"permanentPatterns=.*not a valid JSON list"):
        StackSettings.from_context({"permanentPatterns": value})


def test_a_single_pattern_may_start_with_a_character_class() -> None:
    settings = StackSettings.from_context({"transientPatterns": "[Pp]olicy not ready"})
    assert settings.transient_patterns == ("[Pp]olicy not ready",)


@pytest.mark.parametrize("pattern", ["x*", "(Denied)?", "|Denied"])
def test_a_pattern_that_matches_an_empty_message_fails_the_synth(pattern: str) -> None:
    with pytest.raises(ContextError, match="matches an empty message"):
        StackSettings.from_context({"permanentPatterns": [pattern]})


@pytest.mark.parametrize(
    "pattern", [".", r"\b", r"\w+", "[a-z0-9]{1,3}", r"\s", r"\D", "..", r"\S\S", "^.{2}", ".+."]
)
def test_a_pattern_that_matches_nearly_any_message_fails_the_synth(pattern: str) -> None:
    with pytest.raises(ContextError, match="so it would match nearly every one"):
        StackSettings.from_context({"transientPatterns": pattern})


@pytest.mark.parametrize("pattern", [r"\d{3}", "Denied", "^Access", "x"])
def test_a_narrow_pattern_passes(pattern: str) -> None:
    assert StackSettings.from_context({"transientPatterns": pattern}).transient_patterns == (
        pattern,
    )


def test_addresses_that_differ_only_in_case_get_one_subscription() -> None:
    settings = StackSettings.from_context({"notificationEmails": "Ops@Example.com,ops@example.com"})
    assert settings.notification_emails == ("Ops@Example.com",)


@pytest.mark.parametrize("name", ["retry_delay", "RetryDelay", "Sweeper", "Email", "Foo"])
def test_any_plain_key_the_app_does_not_read_fails_the_synth(name: str) -> None:
    with pytest.raises(ContextError, match=f"Unknown context key '{name}'"):
        StackSettings.from_context({name: "600"})
