"""Property: whatever order deliveries, duplicates, crashes and recoveries come in, no image
gets more RetryImage effects than the budget, each event keeps one token, every failure event
ends with a decision, and a give-up is told at most once per image."""

from __future__ import annotations

import contextlib
import copy
import dataclasses
from collections import Counter
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws

from image_retrier.image_builder import CLIENT_CONFIG, TransientServiceError
from image_retrier.tokens import client_token_for_event
from tests.conftest import create_aws_resources, load_event, load_image
from tests.integration.retrier_harness import SETTINGS, RetrierHarness

BUDGET = dataclasses.replace(SETTINGS, max_attempts=2)
IMAGES = [
    "arn:aws:imagebuilder:us-east-1:111122223333:image/web-server/1.4.0/3",
    "arn:aws:imagebuilder:us-east-1:111122223333:image/web-server/1.4.0/4",
]

operation = st.one_of(
    st.tuples(st.just("fail"), st.integers(0, len(IMAGES) - 1)),
    st.tuples(st.just("deliver"), st.integers(0, 50)),
    st.tuples(st.just("crash_then_deliver"), st.integers(0, 50)),
    st.tuples(st.just("available"), st.integers(0, len(IMAGES) - 1)),
    # Image Builder's memory of client tokens is undocumented: the ledger must not need it.
    st.tuples(st.just("forget_tokens"), st.just(0)),
)


def _event(image: str, event_id: str, status: str) -> dict[str, Any]:
    event = load_event("distribution-failed.json" if status == "FAILED" else "available.json")
    return event | {"id": event_id, "resources": [image]}


@pytest.mark.filterwarnings("ignore::UserWarning")
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(operations=st.lists(operation, min_size=1, max_size=25))
def test_retry_invariants_hold_for_any_sequence(
    operations: list[tuple[str, int]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("time.sleep", lambda _seconds: None)
    with mock_aws():
        harness = RetrierHarness(create_aws_resources(), BUDGET)
        for image in IMAGES:
            body = copy.deepcopy(load_image("web-server-distribution-timed-out.json"))
            body["image"]["arn"] = image
            harness.image_builder.put_image(body)

        failure_events: list[dict[str, Any]] = []
        for number, (kind, target) in enumerate(operations):
            if kind == "fail":
                harness.image_builder.set_status(IMAGES[target], "FAILED")
                failure_events.append(_event(IMAGES[target], f"failure-{number}", "FAILED"))
            elif kind == "forget_tokens":
                harness.image_builder.forget_tokens()
            elif kind == "available":
                harness.image_builder.set_status(IMAGES[target], "AVAILABLE")
                harness.deliver(_event(IMAGES[target], f"available-{number}", "AVAILABLE"))
            elif failure_events:
                event = failure_events[target % len(failure_events)]
                if kind == "crash_then_deliver":
                    harness.image_builder.fail_next(
                        "RetryImage",
                        "ServiceUnavailableException",
                        CLIENT_CONFIG.retries["total_max_attempts"],
                    )
                with contextlib.suppress(TransientServiceError):
                    harness.deliver(event)

        # The queue redelivers whatever was not acknowledged; every failure event then has
        # a decision.
        harness.image_builder.reset_errors()
        final = {event["id"]: harness.deliver(event) for event in failure_events}

        accepted_calls = harness.image_builder.accepted_retries
        accepted = Counter(call.image_build_version_arn for call in accepted_calls)
        assert all(count <= BUDGET.max_attempts for count in accepted.values()), accepted
        for image in IMAGES:
            assert harness.attempts(image) <= BUDGET.max_attempts
        tokens = {client_token_for_event(event["id"]) for event in failure_events}
        assert {call.client_token for call in harness.image_builder.retry_image_calls} <= tokens
        accepted_tokens = Counter(call.client_token for call in accepted_calls)
        assert all(count == 1 for count in accepted_tokens.values())
        assert all(result.decision.reason for result in final.values())
        first_lines = [notice.splitlines()[0] for notice in harness.notifications()]
        gave_up = Counter(
            line.removeprefix("Image Builder retrier gave up on ").removesuffix(".")
            for line in first_lines
        )
        assert all(count <= 1 for count in gave_up.values()), gave_up
