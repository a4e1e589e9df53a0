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
# invocation and after the second; how many collections ran from the import to the end of the
# first invocation; and what the first invocation answered. AWS is moto; Image Builder is the
# project's fake, holding no image.
COLD_START = """
import gc, json, sys
{before}
sys.path[:0] = [{lambda_dir!r}, {project_root!r}]
import tests.conftest
from moto import mock_aws
from localsim.lambda_invocation import LocalLambdaContext
from localsim.image_builder_fake import ImageBuilderFake

collections = []
gc.callbacks.append(lambda phase, info: phase == "start" and collections.append(phase))
with mock_aws():
    tests.conftest.create_aws_resources()
    collections.clear()
    from image_retrier import {entry_point} as entry_point
    ImageBuilderFake().attach(entry_point.image_builder_client)
    states = [(gc.isenabled(), gc.get_freeze_count())]
    answers = []
    for event, context in (({first}, {first_context}), ({second}, LocalLambdaContext())):
        try:
            answers.append(entry_point.lambda_handler(event, context))
        except Exception as error:
            answers.append(type(error).__name__)
        if len(answers) == 1:
            in_cold_start = len(collections)
        states.append((gc.isenabled(), gc.get_freeze_count()))
print(json.dumps({{
    "states": states, "first_answer": answers[0], "collections_in_cold_start": in_cold_start,
}}))
"""
# A record whose body is not JSON: rejected into the dead-letter queue, a batch that succeeds.
REJECTED_RECORD = {"Records": [sqs_record("not json", "gc-test")]}


def _cold_start(
    entry_point: str = "handler",
    first: object = REJECTED_RECORD,
    before: str = "",
    first_context: str = "LocalLambdaContext()",
) -> tuple[list[tuple[bool, int]], object, int]:
    """The collector's states, the first invocation's answer, and the collections that ran from
    the import to the end of that invocation."""
    script = COLD_START.format(
        before=before,
        lambda_dir=str(PROJECT_ROOT / "lambda"),
        project_root=str(PROJECT_ROOT),
        entry_point=entry_point,
        first=repr(first),
        first_context=first_context,
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
    states = [tuple(state) for state in report["states"]]
    return states, report["first_answer"], report["collections_in_cold_start"]


def _assert_frozen_once(first: tuple[bool, int], second: tuple[bool, int]) -> None:
    enabled, frozen = first
    assert enabled
    assert frozen > 10_000
    # Frozen once: later invocations freeze nothing more (frozen objects that die leave the
    # count).
    assert second[0]
    assert second[1] <= frozen


def test_the_collector_waits_for_the_first_event_then_its_objects_are_frozen() -> None:
    (imported, first, second), answer, collections = _cold_start()

    assert answer == {"batchItemFailures": []}
    assert imported == (False, 0)
    assert collections == 0
    _assert_frozen_once(first, second)


def test_a_first_invocation_that_fails_still_lets_the_collector_run() -> None:
    (_, first, _), answer, _ = _cold_start(first=None)

    assert answer == "ValueError"
    enabled, frozen = first
    assert enabled
    assert frozen > 10_000


def test_a_first_invocation_refused_before_its_body_still_lets_the_collector_run() -> None:
    # Powertools' Logger reads the context before the handler's body runs: the collector's hold
    # must be released by a wrapper outside it.
    for entry_point in ("handler", "sweeper_handler"):
        (_, first, _), answer, _ = _cold_start(entry_point, first={}, first_context="None")

        assert answer == "AttributeError", entry_point
        enabled, frozen = first
        assert enabled, entry_point
        assert frozen > 10_000, entry_point


def test_the_sweepers_first_invocation_lets_the_collector_run() -> None:
    (imported, first, second), answer, collections = _cold_start("sweeper_handler", first={})

    assert isinstance(answer, dict)
    assert answer["swept"] == []
    assert imported == (False, 0)
    assert collections == 0
    _assert_frozen_once(first, second)


def test_a_collector_switched_off_before_the_import_stays_off() -> None:
    states, answer, _ = _cold_start(before="gc.disable()")

    assert answer == {"batchItemFailures": []}
    assert states == [(False, 0)] * 3
