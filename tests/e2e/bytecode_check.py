"""Run by Pyodide's CPython 3.14 with the function asset at /var/task (tests/e2e/test_bytecode.py
puts the function's environment in front): checks every shipped bytecode file as Python's
import system does, then imports the handler and reports each module it compiled from source
instead, that is, whose shipped bytecode it refused."""

import importlib.machinery
import importlib.util
import json
import marshal
import sys
from importlib import _bootstrap_external
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, "/var/task")

refused = {}
for source in Path("/var/task").rglob("*.py"):
    cached = Path(importlib.util.cache_from_source(str(source)))
    try:
        data = cached.read_bytes()
        flags = _bootstrap_external._classify_pyc(data, source.name, {})
        if flags != 0b11:
            raise ImportError(f"not hash-checked bytecode (flags {flags:#b})")
        _bootstrap_external._validate_hash_pyc(
            data, importlib.util.source_hash(source.read_bytes()), source.name, {}
        )
        marshal.loads(memoryview(data)[16:])
    except (OSError, ImportError, EOFError, ValueError) as error:
        refused[str(source)] = repr(error)

compiled_from_source = []
source_to_code = importlib.machinery.SourceFileLoader.source_to_code


def recording_source_to_code(self, data, path, *args, **kwargs):
    compiled_from_source.append(path)
    return source_to_code(self, data, path, *args, **kwargs)


importlib.machinery.SourceFileLoader.source_to_code = recording_source_to_code
import image_retrier.handler  # noqa: E402, F401

json.dumps(
    {
        "python": sys.version.split()[0],
        "checked": sum(1 for _ in Path("/var/task").rglob("*.py")),
        "refused": refused,
        "imported_from_asset": sorted(
            name
            for name, module in sys.modules.items()
            if str(getattr(module, "__file__", "") or "").startswith("/var/task/")
        ),
        "compiled_from_source": compiled_from_source,
    }
)
