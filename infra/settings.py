"""The stack's settings: CDK context values, read and validated once at synth.

Values come either typed, from cdk.json, or as strings, from ``cdk deploy -c key=value``;
both forms are accepted. Context keys that look like ours (lowerCamelCase) must be known,
and so must anything spelled like one of ours (``dry_run``), so a typo fails the synth.
Keys with ``:``, ``@`` or ``/`` belong to the CDK itself and are left alone.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

OUR_KEY = re.compile(r"^[a-z][A-Za-z0-9]*$")
# Keys with these characters belong to the CDK itself (feature flags, look-up caches).
CDK_KEY = re.compile(r"[:@/]")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
RETRYABLE_STAGES = ("DISTRIBUTING", "TESTING", "INTEGRATING")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
# The values CloudWatch Logs accepts for a log group's retention.
LOG_RETENTION_DAYS = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557,
    2922, 3288, 3653,
)  # fmt: skip
EVENT_BUS_NAME = re.compile(r"^[A-Za-z0-9._\-/]{1,256}$")


class ContextError(ValueError):
    """A context value the stack cannot be built with; the message says what to change."""


@dataclass(frozen=True)
class StackSettings:
    max_attempts: int = 3
    dry_run: bool = False
    retry_stages: tuple[str, ...] = ("DISTRIBUTING",)
    log_level: str = "INFO"
    log_retention_days: int = 30
    max_concurrency: int = 2
    event_bus_name: str = "default"
    retry_delay_seconds: int = 300
    backoff_rate: float = 2.0
    max_retry_delay_seconds: int = 3600
    ledger_ttl_days: int = 90
    notification_emails: tuple[str, ...] = ()
    notify_on_recovery: bool = False

    @classmethod
    def from_context(cls, context: Mapping[str, Any]) -> StackSettings:
        _reject_unknown_keys(context)
        values = {
            key.field: key.parse(context[key.name])
            for key in CONTEXT_KEYS
            if context.get(key.name) is not None
        }
        settings = cls(**values)
        cap, first = settings.max_retry_delay_seconds, settings.retry_delay_seconds
        if cap < first:
            raise ContextError(
                f"Context values contradict: maxRetryDelaySeconds={cap} is less than "
                f"retryDelaySeconds={first}. The cap must be at least the first delay."
            )
        return settings


class _Invalid(ValueError):
    pass


@dataclass(frozen=True)
class ContextKey:
    name: str
    field: str
    allowed: str
    meaning: str
    example: str
    convert: Callable[[Any], Any]

    def parse(self, value: Any) -> Any:
        try:
            return self.convert(value)
        except _Invalid as problem:
            detail = f" ({problem})" if str(problem) else ""
            raise ContextError(
                f"Context value {self.name}={json.dumps(value)} is not allowed{detail}. "
                f"Allowed: {self.allowed}. Example: -c {self.name}={self.example}"
            ) from None


def _whole_number(minimum: int, maximum: int) -> Callable[[Any], int]:
    def convert(value: Any) -> int:
        if isinstance(value, bool):
            raise _Invalid("a boolean is not a number")
        if isinstance(value, str) and re.fullmatch(r"\s*[+-]?[0-9]{1,9}\s*", value):
            value = int(value)
        if not isinstance(value, int):
            raise _Invalid("")
        if not minimum <= value <= maximum:
            raise _Invalid(f"out of range {minimum}..{maximum}")
        return value

    return convert


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in {"true", "false"}:
        return value.strip().lower() == "true"
    raise _Invalid("")


def _one_of(options: tuple[Any, ...], convert: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        converted = convert(value)
        if converted not in options:
            raise _Invalid("")
        return converted

    return check


def _upper_text(value: Any) -> str:
    if not isinstance(value, str):
        raise _Invalid("")
    return value.strip().upper()


def _string_list(value: Any) -> list[str]:
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                value = json.loads(text)
            except ValueError:
                raise _Invalid("not a valid JSON list") from None
        else:
            value = [item for item in text.split(",") if item.strip()]
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise _Invalid("")
    items = [item.strip() for item in value]
    if not all(items):
        raise _Invalid("an item is empty")
    return items


def _retry_stages(value: Any) -> tuple[str, ...]:
    stages = tuple(dict.fromkeys(stage.upper() for stage in _string_list(value)))
    if not stages:
        raise _Invalid("at least one stage is needed")
    if "BUILDING" in stages:
        raise _Invalid("RetryImage does not rebuild, so BUILDING cannot be retried")
    unknown = [stage for stage in stages if stage not in RETRYABLE_STAGES]
    if unknown:
        raise _Invalid(f"unknown stage {', '.join(unknown)}")
    return stages


def _number(minimum: float, maximum: float) -> Callable[[Any], float]:
    def convert(value: Any) -> float:
        if isinstance(value, bool):
            raise _Invalid("a boolean is not a number")
        if isinstance(value, str) and re.fullmatch(r"\s*[0-9]{1,6}(\.[0-9]{1,6})?\s*", value):
            value = float(value)
        if not isinstance(value, int | float):
            raise _Invalid("")
        if not minimum <= value <= maximum:
            raise _Invalid(f"out of range {minimum:g}..{maximum:g}")
        return float(value)

    return convert


def _emails(value: Any) -> tuple[str, ...]:
    emails = tuple(dict.fromkeys(_string_list(value)))
    wrong = [email for email in emails if not EMAIL.match(email)]
    if wrong:
        raise _Invalid(f"not an email address: {', '.join(wrong)}")
    return emails


def _event_bus_name(value: Any) -> str:
    if not isinstance(value, str) or not EVENT_BUS_NAME.fullmatch(value.strip()):
        raise _Invalid("")
    return value.strip()


CONTEXT_KEYS: tuple[ContextKey, ...] = (
    ContextKey(
        "maxAttempts",
        "max_attempts",
        "a whole number from 1 to 100",
        "The most RetryImage calls one image build version gets.",
        "3",
        _whole_number(1, 100),
    ),
    ContextKey(
        "dryRun",
        "dry_run",
        "true or false",
        "Decide and log, but never call RetryImage.",
        "true",
        _boolean,
    ),
    ContextKey(
        "retryStages",
        "retry_stages",
        f"a non-empty list of {', '.join(RETRYABLE_STAGES)}",
        "The failure stages that are retried. BUILDING never is: RetryImage does not rebuild.",
        '\'["DISTRIBUTING","TESTING"]\'',
        _retry_stages,
    ),
    ContextKey(
        "logLevel",
        "log_level",
        f"one of {', '.join(LOG_LEVELS)}",
        "The function's log level.",
        "DEBUG",
        _one_of(LOG_LEVELS, _upper_text),
    ),
    ContextKey(
        "logRetentionDays",
        "log_retention_days",
        f"one of {', '.join(map(str, LOG_RETENTION_DAYS))}",
        "How long the function's logs are kept, in days.",
        "90",
        _one_of(LOG_RETENTION_DAYS, _whole_number(1, 3653)),
    ),
    ContextKey(
        "maxConcurrency",
        "max_concurrency",
        "a whole number from 2 to 1000 (the SQS event source's limits)",
        "The most function instances reading the queue at once; bounds Image Builder calls.",
        "5",
        _whole_number(2, 1000),
    ),
    ContextKey(
        "eventBusName",
        "event_bus_name",
        "an event bus name of letters, digits, '.', '_', '-' or '/'",
        "The event bus the rule listens on; Image Builder sends to the default bus.",
        "default",
        _event_bus_name,
    ),
    ContextKey(
        "retryDelaySeconds",
        "retry_delay_seconds",
        "a whole number of seconds from 0 to 86400",
        "How long after a failure its first retry waits; later ones wait longer (backoffRate).",
        "600",
        _whole_number(0, 86400),
    ),
    ContextKey(
        "backoffRate",
        "backoff_rate",
        "a number from 1 to 10",
        "Each further attempt waits this many times longer than the one before.",
        "3",
        _number(1, 10),
    ),
    ContextKey(
        "maxRetryDelaySeconds",
        "max_retry_delay_seconds",
        "a whole number of seconds from 0 to 86400, at least retryDelaySeconds",
        "The longest any attempt waits after its failure event.",
        "7200",
        _whole_number(0, 86400),
    ),
    ContextKey(
        "ledgerTtlDays",
        "ledger_ttl_days",
        "a whole number of days from 1 to 3650",
        "How long the attempt ledger keeps an image's record after its last attempt.",
        "30",
        _whole_number(1, 3650),
    ),
    ContextKey(
        "notificationEmails",
        "notification_emails",
        "a list of email addresses (may be empty)",
        "Addresses subscribed to the notification topic; each must confirm by email.",
        "'[\"platform@example.com\"]'",
        _emails,
    ),
    ContextKey(
        "notifyOnRecovery",
        "notify_on_recovery",
        "true or false",
        "Also notify when an image the retrier retried becomes AVAILABLE.",
        "true",
        _boolean,
    ),
)

KNOWN_KEYS = tuple(key.name for key in CONTEXT_KEYS)


def _folded(name: str) -> str:
    return re.sub(r"[-_]", "", name).lower()


def _reject_unknown_keys(context: Mapping[str, Any]) -> None:
    folded_keys = {_folded(key): key for key in KNOWN_KEYS}
    for name in sorted(context):
        if name in KNOWN_KEYS or CDK_KEY.search(name):
            continue
        close = difflib.get_close_matches(_folded(name), list(folded_keys), n=1, cutoff=0.75)
        if not OUR_KEY.match(name) and not close:
            continue
        close = [folded_keys[match] for match in close] or difflib.get_close_matches(
            name, KNOWN_KEYS, n=1, cutoff=0.5
        )
        hint = f" Did you mean '{close[0]}'?" if close else ""
        raise ContextError(
            f"Unknown context key '{name}'.{hint} Keys this app reads: {', '.join(KNOWN_KEYS)}."
        )
