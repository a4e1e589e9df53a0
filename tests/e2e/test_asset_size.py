"""Given the built function asset, then it stays within Lambda-friendly size while it ships what
the function needs: its services' botocore models, and bytecode for the function's Python."""

from __future__ import annotations

import gzip
import json
import re
import shutil
from pathlib import Path
from typing import Any

import botocore.loaders
import pytest
from botocore.model import ServiceModel

from infra.function_asset import (
    BOTOCORE_SERVICES,
    FUNCTION_TARGET,
    _cache_tag,
    _is_complete,
    build,
    without_documentation,
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


# Where a service model's documentation texts are dropped: the service's, its operations', its
# shapes' and their members'. botocore reads other texts as data (clientContextParams).
DROPPED_TEXT = re.compile(r"(/operations/[^/]+|/shapes/[^/]+(/members/[^/]+)?)?/documentation")


def _differences(original: Any, shipped: Any, where: str = "") -> list[str]:
    """Where `shipped` differs from `original`, other than by a documentation text dropped."""
    if isinstance(original, dict) and isinstance(shipped, dict):
        found = [
            f"{where}/{key}: missing"
            for key, value in original.items()
            if key not in shipped
            and not (isinstance(value, str) and DROPPED_TEXT.fullmatch(f"{where}/{key}"))
        ]
        found += [f"{where}/{key}: added" for key in shipped.keys() - original.keys()]
        for key in original.keys() & shipped.keys():
            found += _differences(original[key], shipped[key], f"{where}/{key}")
        return found
    if isinstance(original, list) and isinstance(shipped, list) and len(original) == len(shipped):
        return [
            difference
            for index, (left, right) in enumerate(zip(original, shipped, strict=True))
            for difference in _differences(left, right, f"{where}[{index}]")
        ]
    return [] if original == shipped else [f"{where}: {original!r} became {shipped!r}"]


def _documentation_texts(node: Any) -> int:
    if isinstance(node, dict):
        own = isinstance(node.get("documentation"), str)
        return own + sum(_documentation_texts(value) for value in node.values())
    if isinstance(node, list):
        return sum(_documentation_texts(value) for value in node)
    return 0


@pytest.mark.e2e
def test_the_shipped_models_differ_from_botocores_only_by_their_documentation_texts() -> None:
    models = build() / "botocore" / "data"
    # The same pinned botocore, untrimmed, as installed for the tests.
    loader = botocore.loaders.Loader()

    for service in BOTOCORE_SERVICES:
        (path,) = models.glob(f"{service}/*/service-2.json.gz")
        shipped = json.loads(gzip.decompress(path.read_bytes()))
        original = loader.load_service_model(service, "service-2")

        assert _differences(original, shipped) == [], service
        assert _documentation_texts(original) > 0
        assert _documentation_texts(shipped) == 0


def test_a_member_named_documentation_is_kept_with_its_model_text_dropped() -> None:
    shape = {
        "type": "structure",
        "members": {
            "documentation": {"shape": "String", "documentation": "<p>A member.</p>"},
            "name": {"shape": "String"},
        },
        "documentation": "<p>A shape.</p>",
    }

    assert without_documentation({"shapes": {"Thing": shape}}) == {
        "shapes": {
            "Thing": {
                "type": "structure",
                "members": {"documentation": {"shape": "String"}, "name": {"shape": "String"}},
            }
        }
    }


def test_a_model_whose_client_context_parameters_botocore_reads_keeps_their_documentation() -> None:
    # S3 is not shipped, but it is what a function calling it would ship: botocore builds its
    # endpoint parameters from clientContextParams, each parameter's documentation included.
    original = botocore.loaders.Loader().load_service_model("s3", "service-2")
    shipped = without_documentation(original)

    assert original["clientContextParams"]
    assert _differences(original, shipped) == []
    assert ServiceModel(shipped, "s3").client_context_parameters == (
        ServiceModel(original, "s3").client_context_parameters
    )
    assert len(json.dumps(shipped)) < len(json.dumps(original)) / 3
