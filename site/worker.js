// kcsolver Web Worker: boots Python (Pyodide) as fast as it can, then answers page requests
// {id, type, payload} with {id, ok, result|error}. "ping" is answered here, without Python.
//
// Boot (timed; the phases come back in info().boot):
//   1. runtime.json (written by build.py) says what to load and from where;
//   2. at once and in parallel: the Pyodide runtime and the boot cache; NumPy, the kcsolver wheel and
//      the default model's files (through the verified model cache) too, unless the boot cache holds them;
//   3. Python from the boot cache's memory snapshot, or a normal boot;
//   4. NumPy (build.py's browser archive: the official wheel less what the browser never imports)
//      and kcsolver unpacked straight into site-packages (no micropip, no Pillow); on return visits
//      the boot cache's file archive (uncompressed, with precompiled bytecode) instead; then the
//      extension modules `import numpy` needs are compiled asynchronously, before the import;
//   5. the default model, on numpy: its first prediction costs nothing extra (webgl would compile
//      its shaders first), so the first answer comes soonest.
// Once idle: the SIMD matrix product joins the NumPy kernels (checked first; NumPy's own otherwise), the
// model moves to the backend remembered for it in this browser (probed once, on the first visit), the automatic solver is built (its specialist networks fetched, on the same backend),
// and after a visit without a usable boot cache the worker writes one (caches.js) for the next. Any failure of the boot cache falls back to a normal boot and drops it.
// Progress events {type: "progress", part, loaded, total} count the bytes as they arrive.

import { cacheUnavailable, dropBootCache, hasBootCache, readBootCache, readSetting, verifiedFetch, writeBootCache,
  writeSetting } from "./caches.js";
import { BYTECODE_DIR, makeLibrarySnapshot, restoreOptions } from "./snapshot.js";
import { unzipStoredInto } from "./unzip.js";


const base = new URL("./", self.location.href);
const started = performance.now();
const boot = { marks: {}, cache: "none" };
const mark = (name) => { boot.marks[name] = Math.round(performance.now() - started); };
let pyodide = null;
let pyHandle = null;
let config = null;

function post(message, transfer = []) {
  self.postMessage(message, transfer);
}

// ---------------------------------------------------------------- fetching, counted and verified

function partOf(url) {
  if (url.includes("/models/")) return "model";
  if (url.endsWith(".whl") || (config?.numpy && url === new URL(config.numpy.url, base).href)) return "packages";
  return "runtime";
}

const realFetch = self.fetch.bind(self);
const progress = { runtime: [0, 0], packages: [0, 0], model: [0, 0] };

async function countedFetch(input, init) {
  const response = await realFetch(input, init);
  const url = typeof input === "string" ? input : input.url;
  if (!response.ok || !response.body) return response;
  const part = partOf(new URL(url, base).href);
  progress[part][1] += Number(response.headers.get("content-length")) || 0;
  const counter = new TransformStream({
    transform(chunk, controller) {
      progress[part][0] += chunk.byteLength;
      post({ type: "progress", part, loaded: progress[part][0], total: progress[part][1] });
      controller.enqueue(chunk);
    },
  });
  return new Response(response.body.pipeThrough(counter),
    { status: response.status, statusText: response.statusText, headers: response.headers });
}

// The sha256 build.py recorded for a shipped model file or the SIMD matrix product: such files are
// verified and kept in the model cache (caches.js).
function expectedDigest(url) {
  if (config?.gemm && url === new URL(config.gemm.url, base).href) return config.gemm.sha256;
  const modelsBase = new URL("models/", base).href;
  if (!config || !url.startsWith(modelsBase)) return null;
  const [name, file] = url.slice(modelsBase.length).split("?")[0].split("/");
  return config.models?.[name]?.files?.[file]?.sha256 || null;
}

// Python's fetches (pyodide.http.pyfetch) and Pyodide's own go through here.
self.fetch = async (input, init) => {
  const url = new URL(typeof input === "string" ? input : input.url, base).href;
  const expected = expectedDigest(url);
  if (expected) return verifiedFetch(url, expected, countedFetch, post);
  return countedFetch(input, init);
};

async function bytesOf(url, integrity) {
  const response = await self.fetch(new URL(url, base).href, integrity ? { integrity } : undefined);
  if (!response.ok) throw new Error(`HTTP ${response.status} for ${url}`);
  return new Uint8Array(await response.arrayBuffer());
}

// ---------------------------------------------------------------- boot

const STDLIB_BYTECODE = BYTECODE_DIR;
const sitePackages = (py) => py.runPython("import sys; '/lib/python%d.%d/site-packages' % sys.version_info[:2]");

class CacheUnusable extends Error {}

// `cached`: null, or a promise of the boot cache (caches.js readBootCache), still being read and
// checked while Pyodide loads its own files; the restore waits for it.
// Where Pyodide loads from; the vendored runtime's standard library comes with bytecode (build.py).
function pyodideOptions() {
  const options = { indexURL: new URL(config.indexURL, base).href };
  if (config.stdlib) options.stdLibURL = new URL(config.stdlib, base).href;
  return options;
}

async function startPython(loadPyodide, cached) {
  if (cached) {
    const snapshot = cached.then((entry) => {
      if (!entry?.snapshot) throw new CacheUnusable(entry?.dropped || "it could not be read");
      // A snapshot is a whole wasm memory: Pyodide waits forever on one smaller than its initial memory
      // instead of failing, so sizes are checked first, and a restore that never ends is given up on.
      const size = entry.snapshot.length;
      if (size < (16 << 20)) throw new Error(`not a memory snapshot (${size} bytes)`);
      return entry.snapshot;
    });
    // Snapshots of the vendored runtime hold NumPy: its side modules are put back first (snapshot.js).
    const replay = config.snapshot_libraries ? restoreOptions(cached, mark) : {};
    cached.then(() => mark("cache-read"), () => {});
    try {
      const restored = await Promise.race([loadPyodide({ ...pyodideOptions(), _loadSnapshot: snapshot, ...replay }),
        new Promise((_, reject) => setTimeout(() => reject(new Error("no answer in 20 s")), 20000))]);
      boot.cache = "restored";
      return restored;
    } catch (error) {
      boot.cache = error instanceof CacheUnusable ? `dropped: ${error.message}`
        : `dropped: restoring the snapshot failed (${error.message})`;
      await dropBootCache();
    }
  }
  return loadPyodide(pyodideOptions());
}

// A first visit unpacks the wheels (NumPy's through Pyodide's own unpacking); a return visit writes
// the boot cache's file archive instead (boot_archive.py: the same files, uncompressed, with their
// bytecode), which takes a tenth of the time. An archive that cannot be read falls back to the wheels.
async function installPackages(py, files) {
  if (files) {
    try {
      unzipStoredInto(py.FS, files, "/lib");
      py.runPython(`import sys; sys.path.insert(0, "${STDLIB_BYTECODE}")`);
      return;
    } catch (error) {  // the next visit boots normally and makes a new boot cache
      boot.cache = `restored; its file archive was dropped (${error.message})`;
      await dropBootCache();
    }
  }
  const downloads = prefetch();
  const [numpyBytes, wheelBytes] = await Promise.all([downloads.numpy, downloads.wheel]);
  mark("downloads");
  if (numpyBytes) py.unpackArchive(numpyBytes, "zip", { extractDir: sitePackages(py) });
  else await py.loadPackage(config.packages);  // runtimes from a CDN: their own package loader
  py.unpackArchive(wheelBytes, "wheel", { extractDir: sitePackages(py) });
}

// The extension modules `import numpy` loads (runtime.json lists them), compiled asynchronously and
// together, as Pyodide's own package loader does, instead of one by one and synchronously inside the
// import (about 0.1 s less here). Optional: on any failure the import loads them itself.
async function preloadExtensions(py) {
  const paths = config.numpy?.preload || [];
  if (!paths.length || typeof py._api?.loadDynlib !== "function") return;
  const root = sitePackages(py);
  await Promise.all(paths.map((path) => py._api.loadDynlib(`${root}/${path}`, false, [])))
    .then(() => mark("extensions"), () => {});
}

async function bootOnce(runtimeModule, cached) {
  const { loadPyodide } = await runtimeModule;
  mark("module");
  pyodide = await startPython(loadPyodide, cached);
  mark("python");
  pyodide._api.on_fatal = (error) => post({ type: "fatal", error: { message: `the Python runtime failed: ${error}` } });
  const entry = boot.cache === "restored" ? await cached : null;
  if (entry?.libraries) {  // NumPy, kcsolver and the default solver came with the heap: check they compute right
    const digest = pyodide.pyimport("kcsolver.browser.snapshot").digest(defaultModelUrl());
    if (digest !== entry.digest) throw new Error("the restored interpreter computes differently from the one saved");
    mark("checked");
    boot.snapshot = "numpy";
  } else {
    boot.baseline = entry ? null : pyodide.runPython("import sys; list(sys.modules)").toJs();
    await installPackages(pyodide, entry ? entry.files : null);
    mark("unpacked");
    await preloadExtensions(pyodide);
    pyodide.runPython("import numpy");
    mark("numpy");
  }
  pyHandle = pyodide.pyimport("kcsolver.browser.worker").handle;
  mark("imports");
}

const defaultModelUrl = () => new URL(`models/${config.default_model}/model.json`, base).href;

async function loadDefaultModel() {
  await pyHandle("load", { modelUrl: defaultModelUrl() });
  mark("model");
}

// Once idle after the first answer: the SIMD matrix product under the NumPy kernels (build.py's side
// module, cached like the runtime); Python checks and times it first. Any failure keeps NumPy's own.
async function loadGemm() {
  if (!config.gemm) {
    boot.gemm = "numpy (this build has no SIMD matrix product)";
    return;
  }
  try {
    const state = await pyHandle("gemm", { data: await bytesOf(config.gemm.url) });  // verified, cached: self.fetch
    boot.gemm = state.gemm === "numpy" ? `numpy (${state.reason})` : state.gemm;
  } catch (error) {
    boot.gemm = `numpy (${config.gemm.url} unusable: ${error.message})`;
  }
  if (boot.gemm.startsWith("numpy")) console.warn(`kcsolver: matrix product: ${boot.gemm}`);
}

// Once idle: the default model on its best backend, remembered per browser, model version and matrix product.
async function chooseBackend() {
  if (config.backend !== "auto") {
    await pyHandle("select-backend", { modelUrl: defaultModelUrl(), backend: config.backend });
    return;
  }
  const files = config.models?.[config.default_model]?.files || {};
  const setting = `backend ${defaultModelUrl()} ${Object.values(files).map((f) => f.sha256).join(" ")} ${boot.gemm}`;
  const remembered = await readSetting(setting);
  const chosen = await pyHandle("select-backend", { modelUrl: defaultModelUrl(), backend: remembered?.backend || "auto" });
  if (!remembered) await writeSetting(setting, { backend: chosen.backend, probe_ms: chosen.probe_ms });
  boot.backend = remembered ? `remembered (${remembered.backend})` : `probed (${chosen.backend})`;
}

// What a boot without a usable boot cache downloads besides Pyodide's own files: NumPy, the kcsolver
// wheel and the default model's files (through the verified model cache). Started once, on first need.
let prefetched = null;
function prefetch() {
  if (prefetched) return prefetched;
  prefetched = {
    numpy: config.numpy ? bytesOf(config.numpy.url, config.numpy.integrity) : Promise.resolve(null),
    wheel: bytesOf(config.wheel, config.wheel_integrity),
    modelFiles: Object.keys(config.models?.[config.default_model]?.files || {})
      .filter((file) => file !== "SHA256SUMS")
      .map((file) => self.fetch(new URL(`models/${config.default_model}/${file}`, base).href).catch(() => null)),
  };
  for (const download of [prefetched.numpy, prefetched.wheel]) download.catch(() => {});  // awaited when needed
  return prefetched;
}

async function start() {
  config = await (await realFetch(new URL("runtime.json", base))).json();
  mark("config");
  post({ type: "status", text: `Loading Python runtime (${config.name} ${config.version})`,
    key: "status.loadingRuntime", params: { name: config.name, version: config.version } });
  // Pyodide's module is imported while the boot cache is looked up (which takes tens of ms), not after.
  const runtimeModule = import(new URL(config.module, base).href);
  runtimeModule.catch(() => {});  // awaited by bootOnce
  const stored = await hasBootCache().catch((error) => { boot.cache = `none (${error.message})`; return false; });
  // A return visit restoring NumPy and the default solver from the boot cache needs none of the
  // downloads: they start only if restoring fails. Otherwise they start now, beside Pyodide's own.
  if (!stored || !config.snapshot_libraries) prefetch();
  // The boot cache (tens of MB) is read and checked while Pyodide loads its own files.
  const cached = stored ? readBootCache(config.boot_version).catch(() => null) : null;
  try {
    await bootOnce(runtimeModule, cached);
  } catch (error) {
    if (!boot.cache.startsWith("restored")) throw error;
    // The snapshot restored but Python could not go on from it: drop it and boot afresh.
    boot.cache = `dropped: booting from the snapshot failed (${error.message})`;
    await dropBootCache();
    await bootOnce(runtimeModule, null);
  }
  post({ type: "status", text: "Loading the default solver", key: "status.loadingSolver" });
  if (prefetched) await Promise.all(prefetched.modelFiles);
  await loadDefaultModel();
  const info = await pyHandle("info", { webgl: false });  // WebGL is probed once idle (chooseBackend)
  info.runtime_name = config.name;
  info.boot = { ...boot.marks, cache: boot.cache, snapshot: boot.snapshot || null };
  info.boot_ms = boot.marks.python;
  info.ready_ms = boot.marks.model;
  return info;
}

// A memory snapshot of a second, fresh interpreter that has imported `modules` (stdlib only).
async function freshSnapshot(loadPyodide, modules) {
  const fresh = await loadPyodide({ ...pyodideOptions(), _makeSnapshot: true });
  const names = modules.filter((name) => /^[A-Za-z_][A-Za-z0-9_.]*$/.test(name));
  fresh.runPython(`
def _import_all(names):
    import importlib
    for name in names:
        try:
            importlib.import_module(name)
        except Exception:  # not importable on its own: the next visit imports it as usual
            pass
_import_all(${JSON.stringify(names)})
del _import_all`);
  return fresh.makeMemorySnapshot();
}

// Once idle after a boot without a usable boot cache: a snapshot of a fresh interpreter (made
// by a second, short-lived one) and the file archive (installed packages and bytecode).
// One at a time: the idle work and a "make-boot-cache" request share the same run.
let making = null;
function makeBootCache() {
  making ??= writeNewBootCache();
  return making;
}

async function writeNewBootCache() {
  if (["restored", "made"].includes(boot.cache) || !config.boot_version || !boot.baseline) return;
  if (cacheUnavailable()) {  // nowhere to keep it: making one would only cost time
    boot.cache = `not made: ${cacheUnavailable()}`;
    return;
  }
  try {
    const { loadPyodide } = await import(new URL(config.module, base).href);
    const bootArchive = pyodide.pyimport("kcsolver.browser.boot_archive");
    const baseline = pyodide.toPy(boot.baseline);
    const files = bootArchive.archive(baseline, sitePackages(pyodide), STDLIB_BYTECODE).toJs();
    let made = null;
    if (config.snapshot_libraries) {  // the patched vendored runtime: NumPy and the default solver inside
      const modelFiles = await Promise.all(Object.entries(config.models || {}).flatMap(([name, model]) =>
        Object.keys(model.files).filter((file) => file !== "SHA256SUMS").map(async (file) => {
          const url = new URL(`models/${name}/${file}`, base).href;
          return [url, await bytesOf(url)];  // verified, from the model cache
        })));
      made = await makeLibrarySnapshot(loadPyodide, pyodideOptions(),
        { files, preload: config.numpy?.preload || [], modelUrl: defaultModelUrl(), modelFiles })
        .catch((error) => { boot.snapshot = `bare: a snapshot with NumPy failed (${error.message})`; return null; });
    }
    if (!made) {  // any runtime: an interpreter with the standard library modules this visit imported
      const stdlib = bootArchive.stdlib_imports(baseline).toJs();
      made = { snapshot: await freshSnapshot(loadPyodide, stdlib).catch(() => freshSnapshot(loadPyodide, [])) };
      boot.snapshot ??= "bare";
    } else {
      boot.snapshot = "numpy";
    }
    await writeBootCache(config.boot_version, made.snapshot, files, { libraries: made.libraries, digest: made.digest });
    boot.cache = "made";
  } catch (error) {
    boot.cache = `not made: ${error.message}`;
  }
}

function errorObject(err) {
  // Python exceptions arrive as PythonError with the traceback in .message.
  if (err && err.type && typeof err.message === "string") {
    const lines = err.message.trim().split("\n");
    return { message: lines[lines.length - 1], traceback: err.message, type: err.type };
  }
  return { message: String(err && err.message || err), traceback: String(err && err.stack || "") };
}

const booted = start().then(
  (info) => { post({ type: "ready", info }); return info; },
  (err) => { post({ type: "fatal", error: errorObject(err) }); throw err; },
);
booted.then(() => setTimeout(async () => {
  await idle();
  await loadGemm();
  await idle();
  await chooseBackend().catch((error) => { boot.backend = `not chosen: ${error.message}`; });
  await idle();
  // The automatic solver with its specialist networks (fetched now, on the chosen backend), so that the
  // first captcha that needs one does not wait for it.
  await pyHandle("prepare-solver", { modelUrl: defaultModelUrl() })
    .then((prepared) => { boot.solver = prepared; }, (error) => { boot.solver = `not prepared: ${error.message}`; });
  await idle();
  await makeBootCache();
}, 1000), () => {});

// Resolves once no request has arrived for a second.
let lastRequest = 0;
async function idle() {
  while (performance.now() - lastRequest < 1000) await new Promise((resolve) => setTimeout(resolve, 500));
}

// Diagnostics and tests: the worker's own state, and a way to provoke a Pyodide fatal error.
const LOCAL = {
  ping: async () => "pong",
  "boot-cache-status": async () => ({ cache: boot.cache, snapshot: boot.snapshot || null, backend: boot.backend || null,
    solver: boot.solver || null, gemm: boot.gemm || null }),
  "make-boot-cache": async () => { await booted; await makeBootCache(); return { cache: boot.cache }; },
  "debug-fatal": async () => { await booted; pyodide._api.fatal_error(new Error("fatal error provoked on request")); },
};

self.onmessage = async (event) => {
  const { id, type, payload } = event.data || {};
  if (typeof id !== "number" || typeof type !== "string") return;
  try {
    let result;
    if (LOCAL[type]) result = await LOCAL[type](payload);  // pings and diagnostics do not count as activity
    else {
      lastRequest = performance.now();
      await booted;
      result = await pyHandle(type, payload === undefined ? null : payload);
    }
    const transfer = [];
    if (result && result.data && result.data.buffer instanceof ArrayBuffer) transfer.push(result.data.buffer);
    post({ id, ok: true, result }, transfer);
  } catch (err) {
    post({ id, ok: false, error: errorObject(err) });
  }
};
