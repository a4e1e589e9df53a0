"""Measure the retrier's cost: service calls per path, cold start, package size, a burst,
synth time and test-suite time. Prints figures; asserts only correctness (no duplicate
retries, no budget overruns), never a timing.

    make bench            # everything
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
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# Synth and the test suite run as `make` runs them, without the settings made here.
ENVIRONMENT_AT_START = dict(os.environ)
# The decision lines would bury the figures.
os.environ["POWERTOOLS_LOG_LEVEL"] = "WARNING"
sys.path[:0] = [str(PROJECT_ROOT / "lambda"), str(PROJECT_ROOT)]

import tests.conftest  # noqa: E402, F401  (the function's environment, pointing at moto)
from infra.function_asset import build, host_target  # noqa: E402
from localsim.lambda_sandbox import Sandbox, StandIns, XRayDaemon, aws_stand_ins  # noqa: E402
from tests.conftest import create_aws_resources, load_event, load_image  # noqa: E402
from tests.integration.retrier_harness import SETTINGS, RetrierHarness  # noqa: E402

COLD_START_RUNS = 21
CACHED_RUNS = 9


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
        rows.append(("duplicate delivery, before the retry shows", calls, None))

    with mock_aws():
        backoff = dataclasses.replace(
            SETTINGS, retry_delay_seconds=300, max_retry_delay_seconds=3600
        )
        harness, counter = _harness(backoff)
        harness.image_builder.put_image(load_image("web-server-distribution-timed-out.json"))
        harness.clock.now = harness.clock.now.replace(day=30, hour=9, minute=14, second=8)
        with counter.measure() as calls:
            harness.deliver(harness.failure_event("bench-deferred"))
        rows.append(("deferred", calls, None))

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
# (first event, the image GetImage returns, RetryImage calls it must make)
FIRST_EVENTS = {
    "skipped (a build failure)": ("build-failed.json", "batch-worker-build-failed.json", 0),
    "retried (a distribution timeout)": (
        "distribution-failed.json",
        "web-server-distribution-timed-out.json",
        1,
    ),
}


def _serve(sandbox: Sandbox, stand_ins: StandIns, name: str, run: int) -> tuple[float, float]:
    """One cold start whose first event is `name`, for a new image each run (the ledger in the
    moto server outlives the runs): its seconds, and the seconds the stand-ins took to answer."""
    event_name, image_name, retries = FIRST_EVENTS[name]
    event, image = load_event(event_name), load_image(image_name)
    arn = f"{image['image']['arn'].rsplit('/', 1)[0]}/{100 + run}"
    event["id"], event["resources"] = f"cold-start-{run}-{event_name}", [arn]
    image["image"]["arn"] = arn
    stand_ins.image_builder.put_image(image)

    answered = len(stand_ins.answer_seconds)
    result = sandbox.cold_start(event)
    answering = sum(stand_ins.answer_seconds[answered:])

    accepted = stand_ins.image_builder.accepted_retries
    assert result.batch_item_failures == 0, result
    assert sum(call.image_build_version_arn == arn for call in accepted) == retries, result
    # boto3 stays out of the function; wrapt's compiled part loads, as in Lambda.
    assert result.imported == ["wrapt._wrappers"], result
    return result.seconds, answering


def cold_start() -> None:
    section("2. Cold start: import the handler and serve the first event")
    # The function's asset, built for this machine: with the arm64 one, wrapt's compiled
    # extension would not load here and its pure-Python fallback would be measured instead.
    asset = build(host_target())
    times: dict[str, list[float]] = {name: [] for name in [*BASELINES, *FIRST_EVENTS]}
    less_answering: dict[str, list[float]] = {name: [] for name in FIRST_EVENTS}
    baseline_name = next(iter(BASELINES))
    cached: dict[str, list[float]] = {name: [] for name in [baseline_name, *FIRST_EVENTS]}
    traced: dict[str, list[str]] = {}
    moto_calls: list[float] = []
    daemon = XRayDaemon()
    with aws_stand_ins(asset) as stand_ins, tempfile.TemporaryDirectory() as bytecode:
        environment_at_start = dict(os.environ)
        os.environ.update(stand_ins.environment())
        try:
            create_aws_resources()
        finally:
            os.environ.clear()
            os.environ.update(environment_at_start)
        sandbox = Sandbox.create(asset, stand_ins, daemon)
        for run in range(COLD_START_RUNS):
            for name, code in BASELINES.items():
                times[name].append(float(sandbox.run("-c", code)))
            for name in FIRST_EVENTS:
                seconds, answering = _serve(sandbox, stand_ins, name, run)
                times[name].append(seconds)
                less_answering[name].append(seconds - answering)
                calls = [d for d in daemon.received() if d.get("namespace") == "aws"]
                traced[name] = [call["aws"]["operation"] for call in calls]
                moto_calls.extend(
                    call["end_time"] - call["start_time"]
                    for call in calls
                    if call["name"] == "dynamodb"
                )
        # The same with every module compiled once beforehand (the first round fills the cache).
        with_bytecode = Sandbox.create(asset, stand_ins, daemon, bytecode_cache=Path(bytecode))
        for run in range(COLD_START_RUNS, COLD_START_RUNS + CACHED_RUNS + 1):
            cached[baseline_name].append(float(with_bytecode.run("-c", BASELINES[baseline_name])))
            for name in FIRST_EVENTS:
                cached[name].append(_serve(with_bytecode, stand_ins, name, run)[0])
            daemon.received()
    daemon.close()

    print(
        f"runs: {COLD_START_RUNS} of each, interleaved, each in a fresh interpreter (python -S: "
        "the asset, built for this machine, and the standard library only; no bytecode cache, as "
        "in Lambda's read-only package), in Lambda's environment with active tracing, calling "
        "local stand-ins for AWS over HTTPS (each new connection loads botocore's CA bundle and "
        "makes a TLS handshake); the stand-ins' answers are included (the retry path's "
        f"UpdateItem, moto answering, took a median {statistics.median(moto_calls) * 1000:.0f} "
        "ms as traced)\n"
    )
    print(
        "| measured | median | ratio to the boto3 baseline | target "
        "| the same less the stand-ins' own answering time |"
    )
    print("| --- | --- | --- | --- | --- |")
    baseline = statistics.median(times[baseline_name])
    for name in BASELINES:
        median = statistics.median(times[name])
        print(f"| {name} | {median * 1000:.0f} ms | {median / baseline:.2f}x | | |")
    for name in FIRST_EVENTS:
        median = statistics.median(times[name])
        ratio = median / baseline
        verdict = "met" if ratio <= 1.5 else "MISSED"
        less = statistics.median(less_answering[name])
        print(
            f"| handler: import, first event {name}; traced calls {', '.join(traced[name])} "
            f"| {median * 1000:.0f} ms | {ratio:.2f}x | <= 1.5x {verdict} "
            f"| {less * 1000:.0f} ms, {less / baseline:.2f}x |"
        )

    print(
        f"\nwith bytecode compiled beforehand ({CACHED_RUNS} runs of each after one that fills "
        "the cache), as an asset compiled for its Python would start:\n"
    )
    print(
        "| measured | median | ratio to the boto3 baseline | share compiling, uncached | target |"
    )
    print("| --- | --- | --- | --- | --- |")
    cached_baseline = statistics.median(cached[baseline_name][1:])
    labels = [baseline_name, *(f"handler, first event {name}" for name in FIRST_EVENTS)]
    for label, name in zip(labels, [baseline_name, *FIRST_EVENTS], strict=True):
        median = statistics.median(cached[name][1:])
        compiling = 1 - median / statistics.median(times[name])
        ratio = median / cached_baseline
        verdict = "" if name == baseline_name else "met" if ratio <= 1.5 else "MISSED"
        print(
            f"| {label} | {median * 1000:.0f} ms | {ratio:.2f}x | {compiling:.0%} "
            f"| {verdict and f'<= 1.5x {verdict}'} |"
        )


def package_size() -> None:
    section("3. Function asset size, unzipped")
    asset = build()
    total = sum(path.stat().st_size for path in asset.rglob("*") if path.is_file())
    botocore_data = sum(
        path.stat().st_size for path in (asset / "botocore" / "data").rglob("*") if path.is_file()
    )
    print(f"asset: {total / 1e6:.1f} MB (target <= 25 MB: {'met' if total <= 25e6 else 'MISSED'})")
    print(f"of which botocore service models kept: {botocore_data / 1e6:.1f} MB")


def burst() -> None:
    from moto import mock_aws

    section("4. Burst: 1,000 events over 300 images, 30 % delivered twice, random order")
    rng = random.Random(20261203)
    images = [
        f"arn:aws:imagebuilder:us-east-1:111122223333:image/img-{n}/1.0.0/1" for n in range(300)
    ]
    template_event = load_event("distribution-failed.json")
    events = [
        template_event | {"id": f"burst-{n}", "resources": [images[n % 300]]} for n in range(1000)
    ]
    deliveries = events + rng.sample(events, 300)
    rng.shuffle(deliveries)

    with mock_aws():
        harness, _ = _harness()
        harness.image_builder.status_after_retry = "FAILED"
        harness.image_builder.new_run_each_read = True
        template = load_image("web-server-distribution-timed-out.json")
        for arn in images:
            body = json.loads(json.dumps(template))
            body["image"]["arn"] = arn
            harness.image_builder.put_image(body)

        start = time.perf_counter()
        with quiet():
            for event in deliveries:
                harness.deliver(event)
        elapsed = time.perf_counter() - start
        peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

        accepted = harness.image_builder.accepted_retries
        per_image = Counter(call.image_build_version_arn for call in accepted)
        per_token = Counter(call.client_token for call in accepted)
        overruns = sum(1 for count in per_image.values() if count > SETTINGS.max_attempts)
        duplicates = sum(1 for count in per_token.values() if count > 1)
    print(f"deliveries: {len(deliveries)} ({len(events)} events, 300 duplicates), images: 300")
    print(
        f"throughput: {len(deliveries) / elapsed:.0f} deliveries/s through the retrier with "
        "moto and the Image Builder fake (their cost included)"
    )
    print(f"peak resident memory of the whole process (moto included): {peak_rss / 1e6:.0f} MB")
    print(
        f"RetryImage effects: {len(accepted)}; duplicate retries: {duplicates}; "
        f"budget overruns: {overruns}"
    )
    assert duplicates == 0 and overruns == 0


def synth_and_tests(skip_tests: bool) -> None:
    section("5. Synth time and test-suite time")
    with tempfile.TemporaryDirectory() as outdir:
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "app.py"],
            cwd=PROJECT_ROOT,
            env={**ENVIRONMENT_AT_START, "CDK_OUTDIR": outdir},
            check=True,
            capture_output=True,
        )
        print(f"synth (python app.py, cdk-nag included): {time.perf_counter() - start:.1f} s")
    if skip_tests:
        print("test suite: skipped (--skip-tests)")
        return
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:logging"],
        cwd=PROJECT_ROOT,
        env=ENVIRONMENT_AT_START,
        check=False,
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise SystemExit(f"the test suite failed:\n{result.stdout[-3000:]}")
    print(f"test suite (pytest, all tests): {time.perf_counter() - start:.0f} s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--skip-tests", action="store_true", help="do not time the test suite")
    args = parser.parse_args(argv)

    print("# Benchmarks")
    print(
        f"\nmachine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, {platform.system()}"
    )
    steps: list[Callable[[], None]] = [calls_per_path, cold_start, package_size, burst]
    for step in steps:
        step()
    synth_and_tests(args.skip_tests)
    return 0


if __name__ == "__main__":
    sys.exit(main())
