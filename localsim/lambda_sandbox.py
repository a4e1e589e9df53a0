"""A Lambda-like cold start of the function, in a process of its own.

The process gets what Lambda gives an actively traced function (LAMBDA_TASK_ROOT, a sampled
trace header, the X-Ray daemon's address), so Powertools and the X-Ray SDK take their Lambda
paths; `python -S` leaves it the asset and the standard library only, and it writes no
bytecode, as in Lambda's read-only package: it runs the bytecode the asset ships, or compiles
what has none. Its calls go over HTTPS, as to AWS, to stand-ins on localhost: the Image Builder
fake and a moto server; the CA bundle it trusts is botocore's own plus their certificate, so
each new connection costs what it costs in Lambda. A stand-in daemon collects what the X-Ray
SDK sends. The cold-start benchmark and its end-to-end test run it.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from localsim.image_builder_fake import ImageBuilderFake

PROBE = Path(__file__).with_name("cold_start_probe.py")
# A sampled trace, as Lambda sets it for an invocation of an actively traced function.
TRACE_HEADER = "Root=1-6928f3a1-4b6f0e2d9c8a7b6f5e4d3c2b;Parent=53995c3f42cd8ad8;Sampled=1"
# The stand-ins' certificate names this host; they listen on its address.
HOST = "localhost"


class XRayDaemon:
    """Receives the segment documents the X-Ray SDK sends over UDP, as the daemon would."""

    def __init__(self) -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._socket.bind(("127.0.0.1", 0))
        self._socket.setblocking(False)
        self.address = f"127.0.0.1:{self._socket.getsockname()[1]}"

    def received(self) -> list[dict[str, Any]]:
        """The documents sent since the last call: each datagram is a header line, then one."""
        documents = []
        with contextlib.suppress(BlockingIOError):
            while datagram := self._socket.recv(65536):
                documents.append(json.loads(datagram.split(b"\n", 1)[1]))
        return documents

    def close(self) -> None:
        self._socket.close()


@contextlib.contextmanager
def _https_server(app: Callable[..., Any], certificate: tuple[str, str]) -> Iterator[str]:
    # cheroot keeps connections open between calls, as AWS endpoints do; werkzeug's development
    # server closes each one, which would make every call pay for a new TLS connection.
    from cheroot.ssl.builtin import BuiltinSSLAdapter
    from cheroot.wsgi import Server

    server = Server(("127.0.0.1", 0), app, numthreads=4)
    server.ssl_adapter = BuiltinSSLAdapter(*certificate)
    server.prepare()
    thread = threading.Thread(target=server.serve, daemon=True)
    thread.start()
    try:
        yield f"https://{HOST}:{server.bind_addr[1]}"
    finally:
        server.stop()
        thread.join()


@dataclass(frozen=True)
class StandIns:
    """What answers the function's calls: HTTPS endpoints and the CA bundle that trusts them."""

    image_builder: ImageBuilderFake
    image_builder_endpoint: str
    moto_endpoint: str
    ca_bundle: Path
    # Their own certificate alone: a bundle that trusts nothing else (the benchmark measures what
    # loading botocore's full bundle costs each new connection).
    certificate: Path
    # Seconds each answer took the stand-ins themselves, from request read to response built.
    answer_seconds: list[float] = field(default_factory=list)

    def environment(self) -> dict[str, str]:
        """What points a botocore client at the stand-ins and makes it trust them."""
        return {
            "AWS_ENDPOINT_URL": self.moto_endpoint,
            "AWS_ENDPOINT_URL_IMAGEBUILDER": self.image_builder_endpoint,
            "AWS_CA_BUNDLE": str(self.ca_bundle),
        }


@contextlib.contextmanager
def aws_stand_ins(asset: Path) -> Iterator[StandIns]:
    """The Image Builder fake and a moto server (DynamoDB, SQS, SNS), each over HTTPS."""
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
    from werkzeug.serving import make_ssl_devcert

    fake = ImageBuilderFake()
    with tempfile.TemporaryDirectory() as scratch:
        certificate = make_ssl_devcert(str(Path(scratch, "stand-ins")), host=HOST)
        ca_bundle = Path(scratch, "ca-bundle.pem")
        ca_bundle.write_text(
            (asset / "botocore" / "cacert.pem").read_text() + Path(certificate[0]).read_text()
        )
        answer_seconds: list[float] = []

        def timed(app: Callable[..., Any]) -> Callable[..., Any]:
            def answer(environ: dict[str, Any], start_response: Any) -> Any:
                start = time.perf_counter()
                body = app(environ, start_response)
                try:
                    return list(body)
                finally:
                    if hasattr(body, "close"):
                        body.close()
                    answer_seconds.append(time.perf_counter() - start)

            return answer

        moto = DomainDispatcherApplication(create_backend_app)
        with (
            _https_server(timed(fake.wsgi_app), certificate) as image_builder_endpoint,
            _https_server(timed(moto), certificate) as endpoint,
        ):
            yield StandIns(
                fake,
                image_builder_endpoint,
                endpoint,
                ca_bundle,
                Path(certificate[0]),
                answer_seconds,
            )


@dataclass(frozen=True)
class ColdStart:
    seconds: float
    batch_item_failures: int
    imported: list[str]


@dataclass(frozen=True)
class Sandbox:
    """What every cold start shares: an environment naming the asset and the AWS stand-ins."""

    environment: Mapping[str, str]

    @classmethod
    def create(cls, asset: Path, stand_ins: StandIns, daemon: XRayDaemon) -> Sandbox:
        environment = {
            **os.environ,
            "PYTHONPATH": str(asset),
            "PYTHONDONTWRITEBYTECODE": "1",
            "LAMBDA_TASK_ROOT": str(asset),
            "AWS_LAMBDA_FUNCTION_NAME": "image-retrier",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
            "_X_AMZN_TRACE_ID": TRACE_HEADER,
            "AWS_XRAY_DAEMON_ADDRESS": daemon.address,
            "POWERTOOLS_TRACE_DISABLED": "false",
            "POWERTOOLS_LOG_LEVEL": "INFO",
            **stand_ins.environment(),
        }
        environment.pop("AWS_XRAY_SDK_ENABLED", None)
        return cls(environment)

    def run(self, *arguments: str) -> str:
        """`python -S arguments` in this environment; its last line of output."""
        result = subprocess.run(
            [sys.executable, "-S", *arguments],
            env=dict(self.environment),
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"{arguments[0]} failed:\n{result.stderr}")
        return result.stdout.strip().splitlines()[-1]

    def cold_start(self, event: Mapping[str, Any]) -> ColdStart:
        """Import the handler and serve `event` (put its image into the fake first)."""
        with tempfile.TemporaryDirectory() as scratch:
            event_file = Path(scratch, "event.json")
            event_file.write_text(json.dumps(event))
            result = json.loads(self.run(str(PROBE), str(event_file)))
        return ColdStart(
            seconds=result["seconds"],
            batch_item_failures=result["batch_item_failures"],
            imported=result["imported"],
        )
