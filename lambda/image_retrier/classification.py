"""Tell transient distribution failures from permanent ones, region by region.

The rules are data (cause_rules.json); teams put their own patterns in front of them. A
region failure is classified by the first rule whose pattern matches its status, its
configuration step and its message; the image takes the gravest class of its regions.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from image_retrier.inspection import FailureInspection

RULES_FILE = Path(__file__).with_name("cause_rules.json")


class FailureClass(StrEnum):
    TRANSIENT = "transient"
    UNKNOWN = "unknown"
    PERMANENT = "permanent"


# The image's class is the gravest of its regions': one permanent region needs a person.
GRAVITY = {FailureClass.TRANSIENT: 0, FailureClass.UNKNOWN: 1, FailureClass.PERMANENT: 2}


@dataclass(frozen=True)
class CauseRule:
    name: str
    failure_class: FailureClass
    pattern: re.Pattern[str]
    why: str
    fix: str


@dataclass(frozen=True)
class RegionVerdict:
    region: str | None
    target_account_id: str | None
    configuration_step: str | None
    message: str
    failure_class: FailureClass
    rule: str | None
    fix: str | None


@dataclass(frozen=True)
class Classification:
    failure_class: FailureClass
    verdicts: tuple[RegionVerdict, ...]

    @property
    def rules(self) -> list[str]:
        return sorted({verdict.rule for verdict in self.verdicts if verdict.rule})


def load_built_in_rules() -> tuple[CauseRule, ...]:
    rules = json.loads(RULES_FILE.read_text())["rules"]
    return tuple(
        CauseRule(
            name=rule["name"],
            failure_class=FailureClass(rule["class"]),
            pattern=re.compile(rule["pattern"], re.IGNORECASE),
            why=rule["why"],
            fix=rule["fix"],
        )
        for rule in rules
    )


def team_rules(
    permanent_patterns: Iterable[str], transient_patterns: Iterable[str]
) -> tuple[CauseRule, ...]:
    def rules(patterns: Iterable[str], failure_class: FailureClass) -> list[CauseRule]:
        return [
            CauseRule(
                name=f"team_{failure_class.value}_{number}",
                failure_class=failure_class,
                pattern=re.compile(pattern, re.IGNORECASE),
                why="a pattern this deployment's team configured",
                fix="see your team's runbook for this pattern",
            )
            for number, pattern in enumerate(patterns, start=1)
        ]

    return (
        *rules(permanent_patterns, FailureClass.PERMANENT),
        *rules(transient_patterns, FailureClass.TRANSIENT),
    )


def classify(inspection: FailureInspection, rules: tuple[CauseRule, ...]) -> Classification:
    if inspection.region_failures:
        verdicts = tuple(
            _verdict(
                rules,
                region=failure.region,
                target_account_id=failure.target_account_id,
                configuration_step=failure.image_configuration_step,
                status=failure.status,
                message=failure.error_message or "",
            )
            for failure in inspection.region_failures
        )
    else:
        # Older responses carry no failureContext: the reason text is all there is.
        verdicts = (
            _verdict(
                rules,
                region=None,
                target_account_id=None,
                configuration_step=None,
                status=None,
                message=inspection.reason or "",
            ),
        )
    gravest = max((verdict.failure_class for verdict in verdicts), key=GRAVITY.__getitem__)
    return Classification(gravest, verdicts)


def _verdict(
    rules: tuple[CauseRule, ...],
    *,
    region: str | None,
    target_account_id: str | None,
    configuration_step: str | None,
    status: str | None,
    message: str,
) -> RegionVerdict:
    text = " ".join(part for part in (status, configuration_step, message) if part)
    rule = next((rule for rule in rules if rule.pattern.search(text)), None)
    return RegionVerdict(
        region=region,
        target_account_id=target_account_id,
        configuration_step=configuration_step,
        message=message,
        failure_class=rule.failure_class if rule else FailureClass.UNKNOWN,
        rule=rule.name if rule else None,
        fix=rule.fix if rule else None,
    )
