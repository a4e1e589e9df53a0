"""Given a fresh interpreter, when it imports the handler, then what the import made is frozen
out of the garbage collector's way (a shorter cold start; docs/benchmarks.md)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import tests.conftest  # noqa: F401  (the function's environment)

LAMBDA_DIR = Path(__file__).resolve().parents[2] / "lambda"


def test_importing_the_handler_freezes_what_the_import_made() -> None:
    script = (
        "import gc, sys; before = gc.get_freeze_count(); "
        f"sys.path.insert(0, {str(LAMBDA_DIR)!r}); "
        "from image_retrier import handler; "
        "print(before, gc.get_freeze_count())"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    before, after = map(int, result.stdout.split())
    assert before == 0
    assert after > 10_000
