"""The function's settings, read from its environment once per cold start."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

RETRYABLE_STAGES = frozenset({"DISTRIBUTING", "TESTING", "INTEGRATING"})


class SettingsError(ValueError):
    """The function's environment is not what the stack sets; the deployment is broken."""


@dataclass(frozen=True)
class RetrierSettings:
    max_attempts: int
    retry_stages: frozenset[str]
    dry_run: bool
    dead_letter_queue_url: str

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> RetrierSettings:
        environ = os.environ if environ is None else environ
        try:
            max_attempts = int(environ["MAX_ATTEMPTS"])
            retry_stages = frozenset(
                stage.strip() for stage in environ["RETRY_STAGES"].split(",") if stage.strip()
            )
            dry_run = environ["DRY_RUN"].lower()
            dead_letter_queue_url = environ["DEAD_LETTER_QUEUE_URL"]
        except (KeyError, ValueError) as error:
            raise SettingsError(
                f"function environment is incomplete or invalid: {error!r}"
            ) from None

        if max_attempts < 1:
            raise SettingsError(f"MAX_ATTEMPTS must be at least 1, got {max_attempts}")
        if not retry_stages <= RETRYABLE_STAGES:
            raise SettingsError(f"RETRY_STAGES may hold only {sorted(RETRYABLE_STAGES)}")
        if dry_run not in {"true", "false"}:
            raise SettingsError(f"DRY_RUN must be true or false, got {dry_run!r}")

        return cls(
            max_attempts=max_attempts,
            retry_stages=retry_stages,
            dry_run=dry_run == "true",
            dead_letter_queue_url=dead_letter_queue_url,
        )
