"""Given the built function asset, then it stays within Lambda-friendly size while it ships what
the function needs: its services' botocore models, and bytecode for the function's Python."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from infra.function_asset import (
    BOTOCORE_SERVICES,
    FUNCTION_TARGET,
    _cache_tag,
    _is_complete,
    build,
)

# Issue 6's target for the asset unzipped.
MAX_ASSET_BYTES = 25_000_000


@pytest.mark.e2e
def test_the_asset_is_at_most_25_mb_with_its_models_and_bytecode() -> None:
    asset = build()
    files = [path for path in asset.rglob("*") if path.is_file()]

    assert sum(path.stat().st_size for path in files) <= MAX_ASSET_BYTES
    kept = {path.name for path in (asset / "botocore" / "data").iterdir() if path.is_dir()}
    assert kept == set(BOTOCORE_SERVICES)
    handler_bytecode = f"handler.{_cache_tag(FUNCTION_TARGET)}.pyc"
    assert (asset / "image_retrier" / "__pycache__" / handler_bytecode).is_file()
    assert _is_complete(FUNCTION_TARGET, asset)


@pytest.mark.e2e
@pytest.mark.parametrize(
    "removed",
    [
        "botocore/data/dynamodb",
        f"image_retrier/__pycache__/handler.{_cache_tag(FUNCTION_TARGET)}.pyc",
    ],
)
def test_a_built_asset_missing_a_model_or_bytecode_is_built_again(
    removed: str, tmp_path: Path
) -> None:
    copy = tmp_path / "function"
    shutil.copytree(build(), copy)
    assert _is_complete(FUNCTION_TARGET, copy)

    target = copy / removed
    if target.is_dir():
        shutil.rmtree(target)
    else:
        target.unlink()

    assert not _is_complete(FUNCTION_TARGET, copy)
