"""The burst benchmark's verdict: what its RetryImage calls say about duplicate retries and the
attempt budget."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from image_retrier.tokens import client_token_for_event
from localsim.image_builder_fake import RetryImageCall


@dataclass(frozen=True)
class BurstVerdict:
    """What went wrong in a burst; all zero for a retrier that works."""

    # RetryImage calls the deliveries do not account for: a token not derived from a delivered
    # event's id (Image Builder would start a second retry of the run), more calls for an event
    # than it had deliveries, or two retries started for one event.
    duplicate_retries: int
    # Images retried more often than the budget allows.
    budget_overruns: int
    # Calls that repeat a token already sent. A redelivery may do so and Image Builder would
    # answer without a second retry, but in this burst every delivery after an event's first
    # finds a new failed run, which must not take the earlier attempt's token again.
    repeated_tokens: int
    # Images retried fewer times than the budget allows, though each had enough events for it.
    images_short_of_budget: int


def burst_verdict(
    delivered_event_ids: Sequence[str],
    calls: Sequence[RetryImageCall],
    images: Sequence[str],
    max_attempts: int,
) -> BurstVerdict:
    """The verdict on a burst from the RetryImage calls the fake received (each with its image,
    client token and whether it started a retry)."""
    delivered = Counter(delivered_event_ids)
    event_of = {client_token_for_event(event_id): event_id for event_id in delivered}
    calls_of = Counter(event_of.get(call.client_token) for call in calls)
    accepted = [call for call in calls if call.accepted]
    accepted_of = Counter(event_of.get(call.client_token) for call in accepted)
    duplicates = calls_of[None] + sum(
        max(0, count - delivered[event_id]) for event_id, count in calls_of.items() if event_id
    )
    duplicates += sum(count - 1 for event_id, count in accepted_of.items() if event_id)
    per_image = Counter(call.image_build_version_arn for call in accepted)
    return BurstVerdict(
        duplicate_retries=duplicates,
        budget_overruns=sum(1 for count in per_image.values() if count > max_attempts),
        repeated_tokens=len(calls) - len({call.client_token for call in calls}),
        images_short_of_budget=sum(1 for arn in images if per_image[arn] < max_attempts),
    )
