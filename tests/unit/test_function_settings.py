"""Given the environment the stack sets, the function reads its settings once, or refuses."""

from __future__ import annotations

import pytest

from image_retrier.settings import RetrierSettings, SettingsError

ENVIRONMENT = {
    "MAX_ATTEMPTS": "4",
    "RETRY_STAGES": "DISTRIBUTING,TESTING",
    "DRY_RUN": "true",
    "DEAD_LETTER_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/111122223333/dlq",
}


def test_environment_from_the_stack_is_read() -> None:
    settings = RetrierSettings.from_environment(ENVIRONMENT)

    assert settings.max_attempts == 4
    assert settings.retry_stages == {"DISTRIBUTING", "TESTING"}
    assert settings.dry_run is True


@pytest.mark.parametrize(
    "broken",
    [
        {"MAX_ATTEMPTS": "0"},
        {"MAX_ATTEMPTS": "many"},
        {"RETRY_STAGES": "BUILDING"},
        {"DRY_RUN": "maybe"},
    ],
)
def test_broken_environment_is_refused_at_cold_start(broken: dict[str, str]) -> None:
    with pytest.raises(SettingsError):
        RetrierSettings.from_environment({**ENVIRONMENT, **broken})


def test_missing_variable_is_refused_at_cold_start() -> None:
    environment = dict(ENVIRONMENT)
    del environment["DEAD_LETTER_QUEUE_URL"]
    with pytest.raises(SettingsError, match="DEAD_LETTER_QUEUE_URL"):
        RetrierSettings.from_environment(environment)
