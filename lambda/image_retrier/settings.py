"""The function's settings, read from its environment once per cold start."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from image_retrier.classification import CauseRule, load_built_in_rules, team_rules
from image_retrier.scope import Scope

RETRYABLE_STAGES = frozenset({"DISTRIBUTING", "TESTING", "INTEGRATING"})


class SettingsError(ValueError):
    """The function's environment is not what the stack sets; the deployment is broken."""


@dataclass(frozen=True)
class RetrierSettings:
    max_attempts: int
    retry_stages: frozenset[str]
    dry_run: bool
    retry_delay_seconds: int = 0
    backoff_rate: float = 2.0
    max_retry_delay_seconds: int = 0
    notify_on_recovery: bool = False
    notify_on_unknown_cause: bool = False
    scope: Scope = field(default_factory=Scope)
    cause_rules: tuple[CauseRule, ...] = field(default_factory=load_built_in_rules)


@dataclass(frozen=True)
class Resources:
    """Where the function's queues, ledger and topic are."""

    queue_url: str
    dead_letter_queue_url: str
    ledger_table_name: str
    ledger_ttl_days: int
    notification_topic_arn: str


def _flag(environ: Mapping[str, str], name: str) -> bool:
    value = environ[name].lower()
    if value not in {"true", "false"}:
        raise SettingsError(f"{name} must be true or false, got {value!r}")
    return value == "true"


def settings_from_environment(environ: Mapping[str, str] | None = None) -> RetrierSettings:
    environ = os.environ if environ is None else environ
    try:
        settings = RetrierSettings(
            max_attempts=int(environ["MAX_ATTEMPTS"]),
            retry_stages=frozenset(
                stage.strip() for stage in environ["RETRY_STAGES"].split(",") if stage.strip()
            ),
            dry_run=_flag(environ, "DRY_RUN"),
            retry_delay_seconds=int(environ["RETRY_DELAY_SECONDS"]),
            backoff_rate=float(environ["BACKOFF_RATE"]),
            max_retry_delay_seconds=int(environ["MAX_RETRY_DELAY_SECONDS"]),
            notify_on_recovery=_flag(environ, "NOTIFY_ON_RECOVERY"),
            notify_on_unknown_cause=environ["UNKNOWN_CAUSES"] == "notify",
            scope=Scope.from_json(environ.get("SCOPE", "")),
            cause_rules=team_rules(
                json.loads(environ.get("PERMANENT_PATTERNS") or "[]"),
                json.loads(environ.get("TRANSIENT_PATTERNS") or "[]"),
            )
            + load_built_in_rules(),
        )
    except (KeyError, ValueError, TypeError, re.error) as error:
        if isinstance(error, SettingsError):
            raise
        raise SettingsError(f"function environment is incomplete or invalid: {error!r}") from None

    if settings.max_attempts < 1:
        raise SettingsError(f"MAX_ATTEMPTS must be at least 1, got {settings.max_attempts}")
    if not settings.retry_stages <= RETRYABLE_STAGES:
        raise SettingsError(f"RETRY_STAGES may hold only {sorted(RETRYABLE_STAGES)}")
    if environ["UNKNOWN_CAUSES"] not in {"retry", "notify"}:
        raise SettingsError("UNKNOWN_CAUSES must be retry or notify")
    if settings.backoff_rate < 1 or settings.retry_delay_seconds < 0:
        raise SettingsError("BACKOFF_RATE must be >= 1 and RETRY_DELAY_SECONDS >= 0")
    return settings


def resources_from_environment(environ: Mapping[str, str] | None = None) -> Resources:
    environ = os.environ if environ is None else environ
    try:
        return Resources(
            queue_url=environ["QUEUE_URL"],
            dead_letter_queue_url=environ["DEAD_LETTER_QUEUE_URL"],
            ledger_table_name=environ["LEDGER_TABLE_NAME"],
            ledger_ttl_days=int(environ["LEDGER_TTL_DAYS"]),
            notification_topic_arn=environ["NOTIFICATION_TOPIC_ARN"],
        )
    except (KeyError, ValueError) as error:
        raise SettingsError(f"function environment is incomplete or invalid: {error!r}") from None
