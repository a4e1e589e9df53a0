"""Given a fresh interpreter, when it imports a Lambda entry point of the function and serves its
first invocation, then the garbage collector waits until that invocation has ended, and what the
cold start made is frozen out of its way (a shorter cold start; docs/benchmarks.md)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import tests.conftest  # noqa: F401  (the function's environment)
from localsim.lambda_invocation import sqs_record

PROJECT_ROOT = Path(__file__).resolve().parents[2]

# Prints, as JSON, the collector's state (on, objects frozen) after the import, after the first
# invocation and after the second, and what the first invocation answered. AWS is moto; Image
# Builder is the project's fake, holding no image.
COLD_START = """
import gc, json, sys
{before}
sys.path[:0] = [{lambda_dir!r}, {project_root!r}]
import tests.conftest
from moto import mock_aws
from localsim.lambda_invocation import LocalLambdaContext
from localsim.image_builder_fake import ImageBuilderFake

with mock_aws():
    tests.conftest.create_aws_resources()
    from image_retrier import {entry_point} as entry_point
    ImageBuilderFake().attach(entry_point.image_builder_client)
    states = [(gc.isenabled(), gc.get_freeze_count())]
    answers = []
    for event in ({first}, {second}):
        try:
            answers.append(entry_point.lambda_handler(event, LocalLambdaContext()))
        except Exception as error:
            answers.append(type(error).__name__)
        states.append((gc.isenabled(), gc.get_freeze_count()))
print(json.dumps({{"states": states, "first_answer": answers[0]}}))
"""
# A record whose body is not JSON: rejected into the dead-letter queue, a batch that succeeds.
REJECTED_RECORD = {"Records": [sqs_record("not json", "gc-test")]}


def _cold_start(
    entry_point: str = "handler", first: object = REJECTED_RECORD, before: str = ""
) -> tuple[list[tuple[bool, int]], object]:
    script = COLD_START.format(
        before=before,
        lambda_dir=str(PROJECT_ROOT / "lambda"),
        project_root=str(PROJECT_ROOT),
        entry_point=entry_point,
        first=repr(first),
        second=repr(REJECTED_RECORD if entry_point == "handler" else {}),
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "SWEEP_LOOK_BACK_HOURS": "24"},
    )
    report = json.loads(result.stdout.splitlines()[-1])
    return [tuple(state) for state in report["states"]], report["first_answer"]


def _assert_frozen_once(first: tuple[bool, int], second: tuple[bool, int]) -> None:
    enabled, frozen = first
    assert enabled
    assert frozen > 10_000
    # Frozen once: later invocations freeze nothing more (frozen objects that die leave the
    # count).
    assert second[0]
    assert second[1] <= frozen


def test_the_collector_waits_for_the_first_event_then_its_objects_are_frozen() -> None:
    (imported, first, second), answer = _cold_start()

    assert answer == {"batchItemFailures": []}
    assert imported == (False, 0)
    _assert_frozen_once(first, second)


def test_a_first_invocation_that_fails_still_lets_the_collector_run() -> None:
    (_, first, _), answer = _cold_start(first=None)

    assert answer == "ValueError"
    enabled, frozen = first
    assert enabled
    assert frozen > 10_000


def test_the_sweepers_first_invocation_lets_the_collector_run() -> None:
    (imported, first, second), answer = _cold_start("sweeper_handler", first={})

    assert isinstance(answer, dict)
    assert answer["swept"] == []
    assert imported == (False, 0)
    _assert_frozen_once(first, second)


def test_a_collector_switched_off_before_the_import_stays_off() -> None:
    states, answer = _cold_start(before="gc.disable()")

    assert answer == {"batchItemFailures": []}
    assert states == [(False, 0)] * 3
