"""When attempt n of a failure event is due: exponential backoff with a deterministic jitter."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from image_retrier.settings import RetrierSettings

# Each delay, once capped, is scaled by a factor in (1 - JITTER, 1], fixed per event: images
# that failed together spread out even at the cap, no wait exceeds the cap, and a redelivery
# computes the same due time.
JITTER = 0.2


def jitter_factor(event_id: str) -> float:
    fraction = int.from_bytes(hashlib.sha256(event_id.encode()).digest()[:8], "big") / 2**64
    return 1 - JITTER * fraction


def retry_delay_seconds(attempt: int, event_id: str, settings: RetrierSettings) -> float:
    base = settings.retry_delay_seconds * settings.backoff_rate ** (attempt - 1)
    return min(base, float(settings.max_retry_delay_seconds)) * jitter_factor(event_id)


def retry_due_at(
    failed_at: datetime, attempt: int, event_id: str, settings: RetrierSettings
) -> datetime:
    return failed_at + timedelta(seconds=retry_delay_seconds(attempt, event_id, settings))
