"""Given a failure event, its RetryImage client token is fixed, short, and its own."""

from __future__ import annotations

import pytest

from image_retrier.tokens import MAX_CLIENT_TOKEN_LENGTH, client_token_for_event
from tests.conftest import load_event

# Pinned: changing the derivation would let a redelivery after an upgrade retry twice.
PINNED_TOKENS = {
    "distribution-failed.json": "f50a9535-04ec-5a0b-b07d-7788287f5d66",
    "distribution-failed-again.json": "d4effac6-0262-5ec5-bbc7-25e2be88b28c",
    "distribution-failed-with-reason.json": "f3bfa163-4bc2-5af4-8011-befacb99dd9a",
}


@pytest.mark.parametrize(("event_file", "token"), sorted(PINNED_TOKENS.items()))
def test_shipped_events_have_their_pinned_token(event_file: str, token: str) -> None:
    assert client_token_for_event(load_event(event_file)["id"]) == token


def test_token_is_the_same_for_every_delivery_of_an_event() -> None:
    event_id = load_event("distribution-failed.json")["id"]
    assert {client_token_for_event(event_id) for _ in range(5)} == {
        PINNED_TOKENS["distribution-failed.json"]
    }


@pytest.mark.parametrize("event_id", ["x", "6f1c2a8e-3b4d-4e5f-9a0b-1c2d3e4f5a6b", "e" * 500])
def test_token_fits_the_strictest_documented_limit(event_id: str) -> None:
    assert 1 <= len(client_token_for_event(event_id)) <= MAX_CLIENT_TOKEN_LENGTH == 36


def test_different_events_get_different_tokens() -> None:
    event_ids = [f"{number:08x}-3b4d-4e5f-9a0b-1c2d3e4f5a6b" for number in range(1000)]
    assert len({client_token_for_event(event_id) for event_id in event_ids}) == len(event_ids)
