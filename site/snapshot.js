// Boot snapshots that hold NumPy, kcsolver and the default solver (the vendored runtime; issue 32).
//
// A Pyodide memory snapshot is the wasm heap. NumPy's extension modules are side modules: each got a
// memory base (its data) and a table base (its functions) when it was loaded, and the heap is full of
// addresses into both. Restoring only works if the same modules sit at the same bases again, so:
//   making (once idle, in a second, fresh interpreter): the boot cache's file archive is written, NumPy's
//     extension modules are loaded and the patched loader (build.py RUNTIME_PATCHES) reports where each one
//     went; Python imports kcsolver and builds the default solver (browser/snapshot.py); the record (load
//     order, bases, global/refcount, dlopen handles, table length) and a digest go into the boot cache;
//   restoring: Pyodide creates a fresh module; before the heap is copied in (`_beforeRestore`), the file
//     archive is written, each side module is instantiated again in the recorded order at the recorded bases
//     (`_placeLibrary`), and the dlopen handles held in the heap are registered again. The worker then
//     recomputes the digest and trusts the snapshot only if it matches (else: normal boot, cache replaced).
// The same method as Cloudflare's Python Workers (workerd's snapshot.ts), written for Pyodide 0.27.7's loader.

import { unzipStoredInto } from "./unzip.js";

export const BYTECODE_DIR = "/lib/kcsolver-stdlib-bytecode";
const MODEL_DIR = "/tmp/kcsolver-default-model";
const sitePackages = (py) => py.runPython("import sys; '/lib/python%d.%d/site-packages' % sys.version_info[:2]");

// {snapshot, libraries, digest} of a fresh interpreter holding NumPy, kcsolver and the default solver.
// `files`: the boot cache's file archive; `preload`: NumPy's extension modules (paths in site-packages).
// `modelFiles`: [[URL, bytes]] of the files of the default model and its specialists.
export async function makeLibrarySnapshot(loadPyodide, options, { files, preload, modelUrl, modelFiles }) {
  const placed = [];
  const fresh = await loadPyodide({
    ...options, _makeSnapshot: true,
    _libraryPlaced: (name, memoryBase, tableBase) => placed.push({ name, memoryBase, tableBase }),
  });
  const module = fresh._module;
  const tableLength = module.wasmTable.length;
  unzipStoredInto(fresh.FS, files, "/lib");
  fresh.runPython(`import sys; sys.path.insert(0, "${BYTECODE_DIR}")`);
  const root = sitePackages(fresh);
  const tableAfter = new Map();  // side module -> table length once it was loaded (checked when replaying)
  for (const path of preload) {  // in this order, recorded
    await fresh._api.loadDynlib(`${root}/${path}`, false, []);
    tableAfter.set(`${root}/${path}`, module.wasmTable.length);
  }
  fresh.runPython("import numpy");
  fresh.FS.mkdirTree(MODEL_DIR);
  const paths = {};  // URL -> where its bytes are in the fresh interpreter's file system
  modelFiles.forEach(([url, bytes], index) => {
    paths[url] = `${MODEL_DIR}/${index}`;
    fresh.FS.writeFile(paths[url], bytes);
  });
  await fresh.runPythonAsync(`
from kcsolver.browser import snapshot as _snapshot
await _snapshot.prepare(${JSON.stringify(modelUrl)}, ${JSON.stringify(paths)})
_kcsolver_digest = _snapshot.digest(${JSON.stringify(modelUrl)})
del _snapshot`);
  const digest = fresh.globals.get("_kcsolver_digest");
  fresh.runPython("del _kcsolver_digest; import gc; gc.collect()");
  const dsos = new Map();  // each side module once (Pyodide also files them under their basename)
  for (const dso of Object.values(module.LDSO.loadedLibsByName)) if (dso.name !== "__main__") dsos.set(dso.name, dso);
  const libraries = {
    tableLength,
    tableAfter: module.wasmTable.length,
    modules: placed.map(({ name, memoryBase, tableBase }) => {
      const dso = dsos.get(name);
      if (!dso) throw new Error(`${name} was placed but is not loaded`);
      return { name, memoryBase, tableBase, tableAfter: tableAfter.get(name) ?? null, global: Boolean(dso.global),
        refcount: dso.refcount === Infinity ? "Infinity" : dso.refcount };
    }),
    aliases: Object.entries(module.LDSO.loadedLibsByName).filter(([alias, dso]) => alias !== dso.name)
      .map(([alias, dso]) => [alias, dso.name]),
    handles: Object.entries(module.LDSO.loadedLibsByHandle).filter(([handle]) => Number(handle))
      .map(([handle, dso]) => [Number(handle), dso.name]),
  };
  if (libraries.modules.length !== dsos.size) throw new Error("a side module was loaded without being placed");
  return { snapshot: fresh.makeMemorySnapshot(), libraries, digest };
}

// loadPyodide options that replay `libraries` (the record above) before the heap of the snapshot is copied
// in; `entry` is a promise of the boot cache ({files, libraries}), still being read when Pyodide starts.
// `mark(name)` notes the time of the replay's steps (the worker's boot marks).
export function restoreOptions(entry, mark = () => {}) {
  let places = null;  // name -> bases while replaying; afterwards the loader chooses as usual
  return {
    _placeLibrary: (name) => places?.get(name),
    _beforeRestore: async (module) => {
      mark("runtime");
      const { files, libraries } = await entry;
      if (!libraries) return;  // a snapshot of a bare interpreter
      if (!files) throw new Error("its file archive is missing");
      unzipStoredInto(module.FS, files, "/lib");
      if (module.wasmTable.length !== libraries.tableLength) {
        throw new Error(`the function table has ${module.wasmTable.length} entries, the snapshot expects `
          + `${libraries.tableLength}`);
      }
      places = new Map(libraries.modules.map((m) => [m.name, m]));
      try {
        for (const { name, global, refcount, tableAfter } of libraries.modules) {
          if (!module.FS.analyzePath(name).exists) throw new Error(`side module ${name} is missing`);
          await module.loadDynamicLibrary(name, { loadAsync: true, global, nodelete: refcount === "Infinity",
            allowUndefined: true, fs: module.FS }, global ? undefined : {});
          if (tableAfter !== null && module.wasmTable.length !== tableAfter) {
            throw new Error(`the side modules left ${module.wasmTable.length} table entries after ${name}, `
              + `expected ${tableAfter}`);
          }
        }
      } finally {
        places = null;
      }
      if (module.wasmTable.length !== libraries.tableAfter) {
        throw new Error(`the side modules left ${module.wasmTable.length} table entries, expected ${libraries.tableAfter}`);
      }
      const { loadedLibsByName, loadedLibsByHandle } = module.LDSO;
      for (const { name, refcount } of libraries.modules) {
        loadedLibsByName[name].refcount = refcount === "Infinity" ? Infinity : refcount;
      }
      for (const [alias, name] of libraries.aliases) loadedLibsByName[alias] = loadedLibsByName[name];
      for (const [handle, name] of libraries.handles) loadedLibsByHandle[handle] = loadedLibsByName[name];
      mark("replayed");
    },
  };
}
