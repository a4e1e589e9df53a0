"""A Lambda-like cold start of the function, in a process of its own.

The process gets what Lambda gives an actively traced function (LAMBDA_TASK_ROOT, a sampled
trace header, the X-Ray daemon's address), so Powertools and the X-Ray SDK take their Lambda
paths; `python -S` leaves it the asset and the standard library only, and no bytecode is
cached, as in Lambda's read-only package of sources. A stand-in daemon collects what the X-Ray
SDK sends, and a moto server answers the calls that are not Image Builder's (the fake inside
the process answers those). The cold-start benchmark and its end-to-end test run it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent
PROBE = Path(__file__).with_name("cold_start_probe.py")
# A sampled trace, as Lambda sets it for an invocation of an actively traced function.
TRACE_HEADER = "Root=1-6928f3a1-4b6f0e2d9c8a7b6f5e4d3c2b;Parent=53995c3f42cd8ad8;Sampled=1"


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
def moto_server() -> Iterator[str]:
    """A moto server on a free local port; yields its endpoint URL."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@dataclass(frozen=True)
class ColdStart:
    seconds: float
    batch_item_failures: int
    image_builder_calls: list[str]
    retries_accepted: int


@dataclass(frozen=True)
class Sandbox:
    """What every cold start shares: the asset, the AWS stand-ins and the environment."""

    asset: Path
    environment: Mapping[str, str]

    @classmethod
    def create(
        cls, asset: Path, endpoint: str, daemon: XRayDaemon, bytecode_cache: Path | None = None
    ) -> Sandbox:
        """With `bytecode_cache`, the processes keep compiled modules there and reuse them, as
        an asset shipped with bytecode for its Python would."""
        environment = {
            **os.environ,
            "PYTHONPATH": f"{asset}{os.pathsep}{PROJECT_ROOT}",
            "PYTHONDONTWRITEBYTECODE": "1",
            "LAMBDA_TASK_ROOT": str(asset),
            "AWS_LAMBDA_FUNCTION_NAME": "image-retrier",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
            "_X_AMZN_TRACE_ID": TRACE_HEADER,
            "AWS_XRAY_DAEMON_ADDRESS": daemon.address,
            "POWERTOOLS_TRACE_DISABLED": "false",
            "POWERTOOLS_LOG_LEVEL": "INFO",
            "AWS_ENDPOINT_URL": endpoint,
        }
        environment.pop("AWS_XRAY_SDK_ENABLED", None)
        if bytecode_cache is not None:
            del environment["PYTHONDONTWRITEBYTECODE"]
            environment["PYTHONPYCACHEPREFIX"] = str(bytecode_cache)
        return cls(asset, environment)

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

    def cold_start(self, event: Mapping[str, Any], get_image_body: Mapping[str, Any]) -> ColdStart:
        """Import the handler and serve `event`, while GetImage answers `get_image_body`."""
        with tempfile.TemporaryDirectory() as scratch:
            event_file = Path(scratch, "event.json")
            image_file = Path(scratch, "image.json")
            event_file.write_text(json.dumps(event))
            image_file.write_text(json.dumps(get_image_body))
            result = json.loads(self.run(str(PROBE), str(event_file), str(image_file)))
        return ColdStart(
            seconds=result["seconds"],
            batch_item_failures=result["batch_item_failures"],
            image_builder_calls=result["calls"],
            retries_accepted=result["retries_accepted"],
        )
