"""Builds the function's code asset without Docker: lambda/ plus its pinned dependencies.

Dependencies are installed once per requirements file, as wheels for the function's Python
and architecture, into build/deps/<hash>; a change of code only re-copies lambda/. A synth
therefore never downloads anything unless lambda/requirements.txt changed.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
FUNCTION_SOURCE = PROJECT_ROOT / "lambda"
FUNCTION_PACKAGE = FUNCTION_SOURCE / "image_retrier"
REQUIREMENTS = FUNCTION_SOURCE / "requirements.txt"
BUILD_ROOT = PROJECT_ROOT / "build"
ASSET_DIR = BUILD_ROOT / "function"
STAMP = BUILD_ROOT / "function.stamp"

# Must match the function's runtime and architecture in infra/retrier_stack.py.
FUNCTION_PYTHON_VERSION = "3.14"
FUNCTION_PLATFORM = "manylinux2014_aarch64"
# botocore ships the models of every AWS service (most of the asset); the function keeps the
# ones it calls (the X-Ray SDK creates an xray client for sampling). boto3's resource models
# are not used at all.
BOTOCORE_SERVICES = ("imagebuilder", "sqs", "dynamodb", "sns", "sts", "xray")


class FunctionAssetError(RuntimeError):
    pass


def _source_files() -> list[Path]:
    return sorted(
        path
        for path in FUNCTION_PACKAGE.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    )


def _requirements_hash() -> str:
    digest = hashlib.sha256(REQUIREMENTS.read_bytes())
    digest.update(f"{FUNCTION_PYTHON_VERSION} {FUNCTION_PLATFORM}".encode())
    return digest.hexdigest()[:16]


def fingerprint() -> str:
    digest = hashlib.sha256(f"{_requirements_hash()} {BOTOCORE_SERVICES}".encode())
    for path in _source_files():
        digest.update(str(path.relative_to(FUNCTION_SOURCE)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _install_dependencies(target: Path) -> None:
    partial = target.with_name(target.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    command = [
        sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
        "--no-compile", "--only-binary=:all:", "--implementation", "cp",
        "--platform", FUNCTION_PLATFORM, "--python-version", FUNCTION_PYTHON_VERSION,
        "--target", str(partial), "--requirement", str(REQUIREMENTS),
    ]  # fmt: skip
    print(f"Installing the function's dependencies for Python {FUNCTION_PYTHON_VERSION} arm64")
    result = subprocess.run(command, check=False)
    if result.returncode != 0:
        raise FunctionAssetError(f"pip could not install {REQUIREMENTS.name} for the function")
    partial.rename(target)


def _trim_service_models(asset_dir: Path) -> None:
    for service in (asset_dir / "botocore" / "data").iterdir():
        if service.is_dir() and service.name not in BOTOCORE_SERVICES:
            shutil.rmtree(service)
    shutil.rmtree(asset_dir / "boto3" / "data", ignore_errors=True)
    (asset_dir / "boto3" / "data").mkdir()


def build() -> Path:
    """Assemble build/function if lambda/ changed since the last build; return its path."""
    expected = fingerprint()
    if ASSET_DIR.is_dir() and STAMP.is_file() and STAMP.read_text() == expected:
        return ASSET_DIR

    deps = BUILD_ROOT / "deps" / _requirements_hash()
    if not deps.is_dir():
        deps.parent.mkdir(parents=True, exist_ok=True)
        _install_dependencies(deps)

    STAMP.unlink(missing_ok=True)
    shutil.rmtree(ASSET_DIR, ignore_errors=True)
    shutil.copytree(deps, ASSET_DIR, ignore=shutil.ignore_patterns("__pycache__", "bin"))
    _trim_service_models(ASSET_DIR)
    shutil.copytree(
        FUNCTION_PACKAGE,
        ASSET_DIR / FUNCTION_PACKAGE.name,
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
    )
    STAMP.write_text(expected)
    return ASSET_DIR


if __name__ == "__main__":
    print(build().relative_to(PROJECT_ROOT))
