// Build step (build.py): Pyodide's stdlib zip with bytecode for what the browser imports.
// Boots the given Pyodide under Node, installs the browser's NumPy and kcsolver from the checkout,
// does what the worker does on a visit (imports, the default solver, one solve) and writes the
// stdlib zip with bytecode for every stdlib module that imported (kcsolver/browser/stdlib_zip.py).
//
//   node tools/stdlib-bytecode.mjs PYODIDE_DIR NUMPY_ZIP PY_SRC MODEL_DIR OUT_ZIP
import fs from "node:fs";
import path from "node:path";

const [pyodideDir, numpyZip, pySrc, modelDir, outZip] = process.argv.slice(2);
const { loadPyodide } = await import(path.resolve(pyodideDir, "pyodide.mjs"));
const py = await loadPyodide({ indexURL: path.resolve(pyodideDir) + "/", env: { PYTHONHASHSEED: "0" },
  stdout: () => {}, stderr: (line) => console.error(line) });
const sitePackages = py.runPython("import sys; '/lib/python%d.%d/site-packages' % sys.version_info[:2]");
py.unpackArchive(new Uint8Array(fs.readFileSync(numpyZip)), "zip", { extractDir: sitePackages });
py.mountNodeFS("/kcsolver-src", path.resolve(pySrc));
// the folder of every shipped model: a bundle's specialists sit beside it (../kcaptcha-classic/)
py.mountNodeFS("/kcsolver-models", path.resolve(modelDir, ".."));
py.FS.writeFile("/stdlib-source.zip", new Uint8Array(fs.readFileSync(path.resolve(pyodideDir, "python_stdlib.zip"))));
const added = py.runPython(`
import sys
sys.dont_write_bytecode = True  # nothing written into the mounted checkout
sys.path.insert(0, "/kcsolver-src")
import numpy as np
import kcsolver.browser.worker, kcsolver.browser.boot_archive
from kcsolver.captcha import Solver
image = np.full((60, 160, 4), 255, np.uint8)
for x in range(20, 140, 24):
    image[15:45, x:x + 4, :3] = 30  # a few dark strokes: the network and the decoder run
Solver.load("/kcsolver-models/${path.basename(path.resolve(modelDir))}").solve(image)
from kcsolver.browser.stdlib_zip import browser_stdlib, imported_from_zip
browser_stdlib("/stdlib-source.zip", "/stdlib-bytecode.zip", imported_from_zip())
`);
fs.writeFileSync(outZip, py.FS.readFile("/stdlib-bytecode.zip"));
console.log(`${added} stdlib modules precompiled`);
