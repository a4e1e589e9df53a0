"""Given the environment the stack sets, the function reads its settings once, or refuses."""

from __future__ import annotations

import pytest

from image_retrier.settings import (
    SettingsError,
    resources_from_environment,
    settings_from_environment,
)

ENVIRONMENT = {
    "MAX_ATTEMPTS": "4",
    "RETRY_STAGES": "DISTRIBUTING,TESTING",
    "DRY_RUN": "true",
    "RETRY_DELAY_SECONDS": "300",
    "BACKOFF_RATE": "1.5",
    "MAX_RETRY_DELAY_SECONDS": "3600",
    "NOTIFY_ON_RECOVERY": "false",
    "UNKNOWN_CAUSES": "notify",
    "PERMANENT_PATTERNS": '["MyOrgPolicyDenied"]',
    "TRANSIENT_PATTERNS": "[]",
    "SCOPE": '{"include_image_names": ["web-*"], "opt_out_tag": "auto-retry=off"}',
    "QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/111122223333/events",
    "DEAD_LETTER_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/111122223333/dlq",
    "LEDGER_TABLE_NAME": "ledger",
    "LEDGER_TTL_DAYS": "90",
    "NOTIFICATION_TOPIC_ARN": "arn:aws:sns:us-east-1:111122223333:retrier",
}


def test_environment_from_the_stack_is_read() -> None:
    settings = settings_from_environment(ENVIRONMENT)
    resources = resources_from_environment(ENVIRONMENT)

    assert settings.max_attempts == 4
    assert settings.retry_stages == {"DISTRIBUTING", "TESTING"}
    assert settings.dry_run is True
    assert (settings.retry_delay_seconds, settings.backoff_rate) == (300, 1.5)
    assert resources.ledger_table_name == "ledger"
    assert settings.notify_on_unknown_cause is True
    assert settings.cause_rules[0].name == "team_permanent_1"
    assert settings.scope.include_image_names == ("web-*",)
    assert settings.scope.opt_out_tag == "auto-retry=off"
    assert resources.ledger_ttl_days == 90


@pytest.mark.parametrize(
    "broken",
    [
        {"MAX_ATTEMPTS": "0"},
        {"MAX_ATTEMPTS": "many"},
        {"RETRY_STAGES": "BUILDING"},
        {"DRY_RUN": "maybe"},
        {"BACKOFF_RATE": "0.5"},
        {"NOTIFY_ON_RECOVERY": "1"},
        {"UNKNOWN_CAUSES": "ignore"},
        {"PERMANENT_PATTERNS": '["(unclosed"]'},
        {"SCOPE": "not json"},
    ],
)
def test_broken_environment_is_refused_at_cold_start(broken: dict[str, str]) -> None:
    with pytest.raises(SettingsError):
        settings_from_environment({**ENVIRONMENT, **broken})


@pytest.mark.parametrize("missing", ["DEAD_LETTER_QUEUE_URL", "LEDGER_TABLE_NAME", "QUEUE_URL"])
def test_missing_resource_is_refused_at_cold_start(missing: str) -> None:
    environment = dict(ENVIRONMENT)
    del environment[missing]
    with pytest.raises(SettingsError, match=missing):
        resources_from_environment(environment)
