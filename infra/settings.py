"""The stack's settings: CDK context values, read and validated once at synth.

Values come either typed, from cdk.json, or as strings, from ``cdk deploy -c key=value``;
both forms are accepted. Context keys that look like ours (lowerCamelCase) must be known,
and so must anything spelled like one of ours (``dry_run``), so a typo fails the synth.
Keys with ``:``, ``@`` or ``/`` belong to the CDK itself and are left alone.
"""

from __future__ import annotations

import difflib
import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

# Keys with these characters belong to the CDK itself (feature flags, look-up caches), as do
# a few plain ones; every other key is this app's, and one it does not read fails the synth.
CDK_KEY = re.compile(r"[:@/]")
CDK_PLAIN_KEYS = frozenset({"acknowledged-issue-numbers", "cli-telemetry"})
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+\Z")
IMAGE_NAME_PATTERN = re.compile(r"^[A-Za-z0-9._\-*?\[\]]{1,128}\Z")
PIPELINE_ARN_PATTERN = re.compile(
    r"^arn:[a-z*-]+:imagebuilder:[a-z0-9*-]+:[0-9*]+:image-pipeline/\S+\Z"
)
TAG = re.compile(r"^[^=\s][^=]{0,127}=[^=]{0,256}\Z")
GLOB_CHARACTERS = frozenset("*?[")
RETRYABLE_STAGES = ("DISTRIBUTING", "TESTING", "INTEGRATING")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
# The values CloudWatch Logs accepts for a log group's retention.
LOG_RETENTION_DAYS = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557,
    2922, 3288, 3653,
)  # fmt: skip
# A pattern matching each of these, or a lone space, matches nearly any failure message (".",
# "..", \w, \S\S, \b, \s). A safeguard against the broadest patterns, not a proof of narrowness.
NONDESCRIPT_MESSAGES = ("x7", "Zq", "3k")
# Lambda holds a function's whole environment to 4 KB (4,096 bytes); what the function needs
# besides the patterns and the scope (its other settings, the queue URLs, the table name and the
# topic ARN) takes about 1,100 bytes at most.
ENVIRONMENT_BYTES_FOR_CONTEXT = 3000
ENVIRONMENT_SOURCES = {
    "PERMANENT_PATTERNS": "permanentPatterns",
    "TRANSIENT_PATTERNS": "transientPatterns",
    "SCOPE": "the scope keys (include..., exclude..., optOutTag)",
}
# How long the dead-letter queues keep a message, counted from when it first arrived. The ledger
# must remember an image that long after the last hop of a deferred event, which can leave up to
# a day (the longest wait) after the attempt was reserved, so that a redriven event finds its
# attempts.
DEAD_LETTER_RETENTION_DAYS = 14
SHORTEST_LEDGER_TTL_DAYS = DEAD_LETTER_RETENTION_DAYS + 1
EVENT_BUS_NAME = re.compile(r"^[A-Za-z0-9._\-/]{1,256}\Z")


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
    unknown_causes: str = "retry"
    permanent_patterns: tuple[str, ...] = ()
    transient_patterns: tuple[str, ...] = ()
    include_image_names: tuple[str, ...] = ()
    exclude_image_names: tuple[str, ...] = ()
    include_pipeline_arns: tuple[str, ...] = ()
    exclude_pipeline_arns: tuple[str, ...] = ()
    include_tags: tuple[str, ...] = ()
    exclude_tags: tuple[str, ...] = ()
    opt_out_tag: str = "auto-retry=false"
    alarm_dead_letter_messages: int = 1
    alarm_function_errors: int = 1
    alarm_throttled_calls: int = 20
    alarm_give_ups: int = 1
    alarm_needs_fix: int = 1
    alarm_oldest_message_age_seconds: int = 3600
    sweeper_enabled: bool = True
    sweeper_rate_minutes: int = 60
    sweeper_look_back_hours: int = 24

    @property
    def context_environment(self) -> dict[str, str]:
        """The function's environment variables whose length the context decides."""
        return {
            "PERMANENT_PATTERNS": json.dumps(list(self.permanent_patterns)),
            "TRANSIENT_PATTERNS": json.dumps(list(self.transient_patterns)),
            "SCOPE": json.dumps(self.scope, separators=(",", ":")),
        }

    @property
    def image_arn_wildcards(self) -> tuple[str, ...]:
        """EventBridge wildcard filters for the included image names; () when it can't say."""
        names = [name.lower() for name in self.include_image_names]
        if not names or any(set("?[") & set(name) for name in names):
            return ()
        return tuple(
            f"arn:*:imagebuilder:*:*:image/{name if '*' in name else name + '*'}/*"
            for name in names
        )

    @property
    def scope(self) -> dict[str, object]:
        """The scope the function checks itself, as the JSON it reads from SCOPE."""
        return {
            "include_image_names": list(self.include_image_names),
            "exclude_image_names": list(self.exclude_image_names),
            "include_pipeline_arns": list(self.include_pipeline_arns),
            "exclude_pipeline_arns": list(self.exclude_pipeline_arns),
            "include_tags": list(self.include_tags),
            "exclude_tags": list(self.exclude_tags),
            "opt_out_tag": self.opt_out_tag,
        }

    @classmethod
    def from_context(cls, context: Mapping[str, Any]) -> StackSettings:
        _reject_unknown_keys(context)
        values = {
            key.field: key.parse(context[key.name])
            for key in CONTEXT_KEYS
            if context.get(key.name) is not None
        }
        settings = cls(**values)
        _reject_contradictions(settings)
        _reject_a_ledger_that_forgets_too_soon(settings)
        _reject_an_environment_too_large(settings)
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


def _string_list(value: Any, split_commas: bool = True) -> list[str]:
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                value = json.loads(text)
            except ValueError:
                # One regular expression may start with a character class ("[Pp]olicy"), but
                # one that also ends with "]" is a list gone wrong ("['Denied']" would become
                # a class matching almost any message).
                if split_commas or text.endswith("]"):
                    raise _Invalid(
                        "not a valid JSON list; write a list of strings in double quotes, "
                        'e.g. ["Denied", "Not allowed"]'
                    ) from None
                value = [text]
        elif split_commas:
            value = [item for item in text.split(",") if item.strip()]
        else:
            value = [text] if text else []
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
        if isinstance(value, str) and re.fullmatch(r"\s*[+-]?[0-9]{1,9}(\.[0-9]{1,30})?\s*", value):
            value = float(value)
        if not isinstance(value, int | float):
            raise _Invalid("")
        if not minimum <= value <= maximum:
            raise _Invalid(f"out of range {minimum:g}..{maximum:g}")
        return float(value)

    return convert


def _emails(value: Any) -> tuple[str, ...]:
    # One subscription per mailbox: addresses that differ only in case are one address.
    first_spellings: dict[str, str] = {}
    for email in _string_list(value):
        first_spellings.setdefault(email.lower(), email)
    emails = tuple(first_spellings.values())
    wrong = [email for email in emails if not EMAIL.match(email)]
    if wrong:
        raise _Invalid(f"not an email address: {', '.join(wrong)}")
    return emails


def _patterned_list(pattern: re.Pattern[str], what: str) -> Callable[[Any], tuple[str, ...]]:
    def convert(value: Any) -> tuple[str, ...]:
        items = tuple(dict.fromkeys(_string_list(value)))
        wrong = [item for item in items if not pattern.match(item)]
        if wrong:
            raise _Invalid(f"not {what}: {', '.join(wrong)}")
        return items

    return convert


def _regular_expressions(value: Any) -> tuple[str, ...]:
    # A regular expression may hold commas: a plain string is one pattern, not a list.
    patterns = tuple(dict.fromkeys(_string_list(value, split_commas=False)))
    for pattern in patterns:
        try:
            # As the function compiles it.
            compiled = re.compile(pattern, re.IGNORECASE)
        except re.error as error:
            raise _Invalid(f"{pattern!r} is not a valid regular expression: {error}") from None
        if compiled.search(""):
            raise _Invalid(f"{pattern!r} matches an empty message, so it would match every one")
        if compiled.search(" ") or all(compiled.search(text) for text in NONDESCRIPT_MESSAGES):
            raise _Invalid(
                f"{pattern!r} matches a message of one space, or each of the two-character "
                f"messages {', '.join(NONDESCRIPT_MESSAGES)}, so it would match nearly every one"
            )
    return patterns


def _tag(value: Any) -> str:
    if not isinstance(value, str) or not TAG.match(value.strip()):
        raise _Invalid("")
    return value.strip()


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
        f"a whole number of days from {SHORTEST_LEDGER_TTL_DAYS} (the {DEAD_LETTER_RETENTION_DAYS} "
        "days the dead-letter queues keep a message, and a day's wait) to 3650",
        "How long the attempt ledger keeps an image's record after its last attempt.",
        "30",
        _whole_number(SHORTEST_LEDGER_TTL_DAYS, 3650),
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
    ContextKey(
        "unknownCauses",
        "unknown_causes",
        "retry or notify",
        "What to do with a distribution failure no rule recognises: retry it within the budget, "
        "or only tell a person.",
        "notify",
        _one_of(("retry", "notify"), lambda value: _upper_text(value).lower()),
    ),
    ContextKey(
        "permanentPatterns",
        "permanent_patterns",
        "a list of Python regular expressions",
        "Messages that mean a failure a retry cannot fix; checked before the built-in rules.",
        "'[\"MyOrgPolicyDenied\"]'",
        _regular_expressions,
    ),
    ContextKey(
        "transientPatterns",
        "transient_patterns",
        "a list of Python regular expressions",
        "Messages that mean a failure worth retrying; checked after permanentPatterns.",
        "'[\"SnapshotCopyQueued\"]'",
        _regular_expressions,
    ),
    ContextKey(
        "includeImageNames",
        "include_image_names",
        "a list of image names, prefixes or globs (*, ?, [])",
        "Retry only images whose name matches one; empty means every image.",
        "'[\"web-*\"]'",
        _patterned_list(IMAGE_NAME_PATTERN, "an image name, prefix or glob"),
    ),
    ContextKey(
        "excludeImageNames",
        "exclude_image_names",
        "a list of image names, prefixes or globs (*, ?, [])",
        "Never retry images whose name matches one.",
        "'[\"legacy-*\"]'",
        _patterned_list(IMAGE_NAME_PATTERN, "an image name, prefix or glob"),
    ),
    ContextKey(
        "includePipelineArns",
        "include_pipeline_arns",
        "a list of image pipeline ARNs (globs allowed)",
        "Retry only images built by one of these pipelines; empty means every pipeline.",
        "'[\"arn:aws:imagebuilder:us-east-1:111122223333:image-pipeline/web-*\"]'",
        _patterned_list(PIPELINE_ARN_PATTERN, "an image pipeline ARN"),
    ),
    ContextKey(
        "excludePipelineArns",
        "exclude_pipeline_arns",
        "a list of image pipeline ARNs (globs allowed)",
        "Never retry images built by one of these pipelines.",
        "'[\"arn:aws:imagebuilder:us-east-1:111122223333:image-pipeline/canary\"]'",
        _patterned_list(PIPELINE_ARN_PATTERN, "an image pipeline ARN"),
    ),
    ContextKey(
        "includeTags",
        "include_tags",
        "a list of key=value image tags",
        "Retry only images carrying one of these tags; empty means any tags.",
        "'[\"team=platform\"]'",
        _patterned_list(TAG, "a key=value tag"),
    ),
    ContextKey(
        "excludeTags",
        "exclude_tags",
        "a list of key=value image tags",
        "Never retry images carrying one of these tags.",
        "'[\"stage=experimental\"]'",
        _patterned_list(TAG, "a key=value tag"),
    ),
    ContextKey(
        "optOutTag",
        "opt_out_tag",
        "one key=value image tag",
        "An image carrying this tag is never retried, whatever the includes say.",
        "auto-retry=off",
        _tag,
    ),
    ContextKey(
        "alarmDeadLetterMessages",
        "alarm_dead_letter_messages",
        "a whole number from 1 to 100000",
        "Alarm when either dead-letter queue holds at least this many messages.",
        "5",
        _whole_number(1, 100000),
    ),
    ContextKey(
        "alarmFunctionErrors",
        "alarm_function_errors",
        "a whole number from 1 to 100000",
        "Alarm when the function fails at least this many invocations in 5 minutes.",
        "3",
        _whole_number(1, 100000),
    ),
    ContextKey(
        "alarmThrottledCalls",
        "alarm_throttled_calls",
        "a whole number from 1 to 100000",
        "Alarm when Image Builder throttles at least this many calls in 5 minutes.",
        "50",
        _whole_number(1, 100000),
    ),
    ContextKey(
        "alarmGiveUps",
        "alarm_give_ups",
        "a whole number from 1 to 100000",
        "Alarm when the retrier gives up on at least this many images in 5 minutes.",
        "2",
        _whole_number(1, 100000),
    ),
    ContextKey(
        "alarmNeedsFix",
        "alarm_needs_fix",
        "a whole number from 1 to 100000",
        "Alarm when at least this many failures in 5 minutes need a person's fix.",
        "2",
        _whole_number(1, 100000),
    ),
    ContextKey(
        "alarmOldestMessageAgeSeconds",
        "alarm_oldest_message_age_seconds",
        "a whole number of seconds from 60 to 1209600",
        "Alarm when the oldest event in the queue is at least this old.",
        "7200",
        _whole_number(60, 1209600),
    ),
    ContextKey(
        "sweeperEnabled",
        "sweeper_enabled",
        "true or false",
        "Run the scheduled sweeper that finds FAILED images whose event went missing.",
        "false",
        _boolean,
    ),
    ContextKey(
        "sweeperRateMinutes",
        "sweeper_rate_minutes",
        "a whole number of minutes from 5 to 1440",
        "How often the sweeper runs.",
        "120",
        _whole_number(5, 1440),
    ),
    ContextKey(
        "sweeperLookBackHours",
        "sweeper_look_back_hours",
        "a whole number of hours from 1 to 720",
        "How far back the sweeper looks for FAILED images.",
        "48",
        _whole_number(1, 720),
    ),
)

KNOWN_KEYS = tuple(key.name for key in CONTEXT_KEYS)


def _reject_contradictions(settings: StackSettings) -> None:
    pairs = (
        ("includeImageNames", "excludeImageNames", settings.include_image_names,
         settings.exclude_image_names),
        ("includePipelineArns", "excludePipelineArns", settings.include_pipeline_arns,
         settings.exclude_pipeline_arns),
        ("includeTags", "excludeTags", settings.include_tags, settings.exclude_tags),
        ("includeTags", "optOutTag", settings.include_tags, (settings.opt_out_tag,)),
    )  # fmt: skip
    for include_key, exclude_key, included, excluded in pairs:
        both = sorted({item.lower() for item in included} & {item.lower() for item in excluded})
        if both:
            raise ContextError(
                f"Context values contradict: {', '.join(both)} is in both {include_key} and "
                f"{exclude_key}, so it would be included and excluded at once. Remove it from one."
            )
    transient = {_as_matched(pattern) for pattern in settings.transient_patterns}
    both = [pattern for pattern in settings.permanent_patterns if _as_matched(pattern) in transient]
    if both:
        raise ContextError(
            f"Context values contradict: {', '.join(both)} is in both permanentPatterns and "
            "transientPatterns, so a failure it matches would be permanent and transient at "
            "once. Remove it from one."
        )


def _as_matched(pattern: str) -> str:
    """A pattern as the function, which ignores case, tells it from others: lowercase, unless
    lowering would change what it means (an escape such as \\S, or an inline flag)."""
    return pattern if "\\" in pattern or "(?" in pattern else pattern.lower()


def _reject_an_environment_too_large(settings: StackSettings) -> None:
    sizes = {
        ENVIRONMENT_SOURCES[variable]: len(value)
        for variable, value in settings.context_environment.items()
    }
    if sum(sizes.values()) > ENVIRONMENT_BYTES_FOR_CONTEXT:
        parts = ", ".join(f"{name} {size}" for name, size in sizes.items())
        raise ContextError(
            f"Context values are too long together: the function's environment would carry "
            f"{sum(sizes.values())} bytes of them ({parts}), and Lambda allows 4 KB for its whole "
            f"environment, of which {ENVIRONMENT_BYTES_FOR_CONTEXT} bytes are left for these. "
            "Use fewer or shorter entries: globs in includeImageNames and includePipelineArns "
            "cover many names with one entry."
        )


def _reject_a_ledger_that_forgets_too_soon(settings: StackSettings) -> None:
    """The sweeper finds failed images by their creation time, which comes before their last
    attempt (or, were a retry to renew it, at most one wait after): an image's ledger item must
    outlive that look-back, or the sweeper would give the image a fresh budget."""
    if not settings.sweeper_enabled:
        return
    needed_seconds = settings.sweeper_look_back_hours * 3600 + settings.max_retry_delay_seconds
    if settings.ledger_ttl_days * 86400 < needed_seconds:
        raise ContextError(
            f"Context values contradict: ledgerTtlDays={settings.ledger_ttl_days} is shorter than "
            f"sweeperLookBackHours={settings.sweeper_look_back_hours} plus "
            f"maxRetryDelaySeconds={settings.max_retry_delay_seconds}. The sweeper could find a "
            "failed image whose ledger item has expired and give it a fresh attempt budget. Use "
            f"ledgerTtlDays={math.ceil(needed_seconds / 86400)} or more."
        )


def _folded(name: str) -> str:
    return re.sub(r"[-_]", "", name).lower()


def _reject_unknown_keys(context: Mapping[str, Any]) -> None:
    folded_keys = {_folded(key): key for key in KNOWN_KEYS}
    for name in sorted(context):
        if name in KNOWN_KEYS or name in CDK_PLAIN_KEYS or CDK_KEY.search(name):
            continue
        close = difflib.get_close_matches(_folded(name), list(folded_keys), n=1, cutoff=0.75)
        close = [folded_keys[match] for match in close] or difflib.get_close_matches(
            name, KNOWN_KEYS, n=1, cutoff=0.5
        )
        hint = f" Did you mean '{close[0]}'?" if close else ""
        raise ContextError(
            f"Unknown context key '{name}'.{hint} Keys this app reads: {', '.join(KNOWN_KEYS)}."
        )
