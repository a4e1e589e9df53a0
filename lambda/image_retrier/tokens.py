"""Client tokens for RetryImage that are a pure function of the failure event."""

from __future__ import annotations

import uuid

# Fixed so that every deployment, and every redelivery, derives the same token.
TOKEN_NAMESPACE = uuid.UUID("4f0a6d0e-2c1b-5b7e-9a51-6a1e3c0b7d21")

# The RetryImage model allows 64 characters, the API reference 36; a UUID fits both.
MAX_CLIENT_TOKEN_LENGTH = 36


def client_token_for_event(event_id: str) -> str:
    return str(uuid.uuid5(TOKEN_NAMESPACE, f"retry-image:{event_id}"))
