"""Given the function asset as built for Lambda, when Python 3.14 (Pyodide's CPython) imports the
handler from it, then it runs the shipped bytecode of every module and compiles none."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from infra.function_asset import FUNCTION_TARGET, build, run_in_pyodide
from tests.conftest import FUNCTION_ENVIRONMENT

CHECK = Path(__file__).with_name("bytecode_check.py")


@pytest.mark.e2e
def test_the_functions_python_runs_the_shipped_bytecode_and_compiles_nothing(
    tmp_path: Path,
) -> None:
    asset = build()
    script = tmp_path / "check.py"
    script.write_text(
        f"import os\nos.environ.update({json.dumps(FUNCTION_ENVIRONMENT)})\n{CHECK.read_text()}"
    )

    report = run_in_pyodide(asset, script)

    assert report["python"].startswith(f"{FUNCTION_TARGET.python_version}.")
    assert report["checked"] == sum(1 for _ in asset.rglob("*.py"))
    assert report["refused"] == {}
    assert "image_retrier.handler" in report["imported_from_asset"]
    assert {"botocore.client", "aws_lambda_powertools", "aws_xray_sdk.core"} <= set(
        report["imported_from_asset"]
    )
    assert report["compiled_from_source"] == []
    # Nothing else's bytecode: the tests' own Python processes import from the asset too.
    assert {path.name.split(".")[-2] for path in asset.rglob("*.pyc")} == {"cpython-314"}


def test_bytecode_another_python_wrote_into_the_built_asset_is_not_deployed() -> None:
    asset = build()
    stray = asset / "image_retrier" / "__pycache__" / "handler.cpython-311.pyc"
    stray.write_bytes(b"written by a Python that imported from the asset")

    rebuilt = build()

    assert rebuilt == asset
    assert not stray.exists()
    assert (asset / "image_retrier" / "__pycache__" / "handler.cpython-314.pyc").is_file()
