"""Run by Pyodide (infra/pyodide_run.mjs) as `compile_bytecode.py CACHE_TAG`: hash-checked
bytecode for every module of the asset mounted at /var/task, so its code objects name the paths
Lambda runs them from."""

import compileall
import importlib.util
import json
import py_compile
import sys

# The cache tag the function's Python looks for: compile nothing for another one.
compiled = sys.implementation.cache_tag == sys.argv[1] and compileall.compile_dir(
    "/var/task", quiet=1, invalidation_mode=py_compile.PycInvalidationMode.CHECKED_HASH
)

json.dumps(
    {
        "version": sys.version.split()[0],
        "cache_tag": sys.implementation.cache_tag,
        "magic_number": importlib.util.MAGIC_NUMBER.hex(),
        "compiled": bool(compiled),
    }
)
