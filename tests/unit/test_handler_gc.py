"""Given a fresh interpreter, when it imports the handler and serves its first event, then the
garbage collector waits until that event is served, and what the cold start made is frozen
out of its way (a shorter cold start; docs/benchmarks.md)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import tests.conftest  # noqa: F401  (the function's environment)

LAMBDA_DIR = Path(__file__).resolve().parents[2] / "lambda"

# Prints, as JSON, the collector's state after the import, after the first event and after the
# second. The events are empty batches: the collector's timing is what is under test.
COLD_START = """
import gc, json, sys
{before}
sys.path.insert(0, {lambda_dir!r})
from image_retrier import handler

class Context:
    function_name = "image-retrier"
    memory_limit_in_mb = 512
    aws_request_id = "gc-test"
    invoked_function_arn = "arn:aws:lambda:us-east-1:111122223333:function:image-retrier"
    def get_remaining_time_in_millis(self):
        return 120_000

states = [(gc.isenabled(), gc.get_freeze_count())]
for event in ({first}, {{"Records": []}}):
    try:
        handler.lambda_handler(event, Context())
    except Exception:
        pass
    states.append((gc.isenabled(), gc.get_freeze_count()))
print(json.dumps(states))
"""


def _cold_start(before: str = "", first: str = '{"Records": []}') -> list[tuple[bool, int]]:
    script = COLD_START.format(before=before, lambda_dir=str(LAMBDA_DIR), first=first)
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    return [tuple(state) for state in json.loads(result.stdout.splitlines()[-1])]


def test_the_collector_waits_for_the_first_event_then_its_objects_are_frozen() -> None:
    imported, first, second = _cold_start()

    assert imported == (False, 0)
    enabled, frozen = first
    assert enabled
    assert frozen > 10_000
    # Frozen once: later events leave the collector as it is.
    assert second == first


def test_a_first_event_that_fails_still_lets_the_collector_run() -> None:
    _, first, _ = _cold_start(first="None")

    enabled, frozen = first
    assert enabled
    assert frozen > 10_000


def test_a_collector_switched_off_before_the_import_stays_off() -> None:
    imported, first, second = _cold_start(before="gc.disable()")

    assert imported == first == second == (False, 0)
