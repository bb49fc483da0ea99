// kcsolver Web Worker: boots Pyodide, installs the kcsolver wheel with micropip,
// then answers page requests {id, type, payload} with {id, ok, result|error}.
// Progress events {type: "progress", part, loaded, total} count the bytes of
// the runtime, the Python packages and the models as they arrive.

const base = new URL("./", self.location.href);
let pyHandle = null;

function post(message, transfer = []) {
  self.postMessage(message, transfer);
}

// Which part of the download a URL belongs to, for the progress bar.
function partOf(url) {
  if (url.includes("/models/")) return "model";
  if (url.endsWith(".whl") || url.endsWith(".zip") && !url.includes("python_stdlib")) return "packages";
  return "runtime";
}

// Wrap fetch so every response body is counted while it streams in, and shipped
// model files go through the verified model cache.
const realFetch = self.fetch.bind(self);
const progress = { runtime: [0, 0], packages: [0, 0], model: [0, 0] };
let config = null;

async function countedFetch(input, init) {
  const response = await realFetch(input, init);
  const url = typeof input === "string" ? input : input.url;
  if (!response.ok || !response.body) return response;
  const part = partOf(new URL(url, base).href);
  const total = Number(response.headers.get("content-length")) || 0;
  progress[part][1] += total;
  const counter = new TransformStream({
    transform(chunk, controller) {
      progress[part][0] += chunk.byteLength;
      post({ type: "progress", part, loaded: progress[part][0], total: progress[part][1] });
      controller.enqueue(chunk);
    },
  });
  return new Response(response.body.pipeThrough(counter), {
    status: response.status,
    statusText: response.statusText,
    headers: response.headers,
  });
}

// ---- model cache: Cache Storage, every entry checked against the sha256 build.py recorded.
const MODEL_CACHE = "kcsolver-models";

async function sha256(buffer) {
  const digest = await crypto.subtle.digest("SHA-256", buffer);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

function expectedDigest(url) {
  const modelsBase = new URL("models/", base).href;
  if (!config || !url.startsWith(modelsBase)) return null;
  const [name, file] = url.slice(modelsBase.length).split("?")[0].split("/");
  return config.models?.[name]?.files?.[file]?.sha256 || null;
}

async function cachedModelFetch(url, expected) {
  const cache = await caches.open(MODEL_CACHE);
  const key = `${url}?sha256=${expected}`;
  const hit = await cache.match(key);
  let reload = false;
  if (hit) {
    const buffer = await hit.arrayBuffer();
    if (await sha256(buffer) === expected) {
      post({ type: "cache", url, hit: true });
      return new Response(buffer, { status: 200, headers: hit.headers });
    }
    await cache.delete(key);  // corrupted entry: drop it and fetch again, bypassing the HTTP cache
    post({ type: "cache", url, corrupted: true });
    reload = true;
  }
  const response = await countedFetch(url, reload ? { cache: "reload" } : undefined);
  if (!response.ok) return response;
  const buffer = await response.arrayBuffer();
  const actual = await sha256(buffer);
  if (actual !== expected) {
    throw new Error(`integrity check failed for ${url}: sha256 ${actual}, expected ${expected} (stale or tampered file)`);
  }
  // A new model version replaces the entries of the old one.
  for (const old of await cache.keys()) {
    if (old.url.startsWith(url + "?") && old.url !== key) await cache.delete(old);
  }
  const headers = { "content-type": response.headers.get("content-type") || "application/octet-stream" };
  await cache.put(key, new Response(buffer, { headers }));
  post({ type: "cache", url, stored: true });
  return new Response(buffer, { status: 200, headers });
}

self.fetch = async (input, init) => {
  const url = new URL(typeof input === "string" ? input : input.url, base).href;
  const expected = expectedDigest(url);
  if (expected && typeof caches !== "undefined") return cachedModelFetch(url, expected);
  return countedFetch(input, init);
};

async function boot() {
  config = await (await realFetch(new URL("runtime.json", base))).json();
  post({ type: "status", text: `Loading Python runtime (${config.name} ${config.version})` });
  const started = performance.now();
  const { loadPyodide } = await import(new URL(config.module, base).href);
  const pyodide = await loadPyodide({ indexURL: new URL(config.indexURL, base).href });
  const bootMs = performance.now() - started;
  post({ type: "status", text: "Loading NumPy and Pillow" });
  await pyodide.loadPackage(config.packages);
  const micropip = pyodide.pyimport("micropip");
  await micropip.install(new URL(config.wheel, base).href, { deps: false });
  const worker = pyodide.pyimport("kcsolver.browser.worker");
  pyHandle = worker.handle;
  // kcsolver.ready means the default model is loaded too (and its backend chosen).
  post({ type: "status", text: "Loading the default solver" });
  await pyHandle("load", { modelUrl: new URL(`models/${config.default_model}/model.json`, base).href,
    backend: config.backend });
  const info = await pyHandle("info", null);
  info.runtime_name = config.name;
  info.boot_ms = bootMs;
  info.ready_ms = performance.now() - started;
  return info;
}

function errorObject(err) {
  // Python exceptions arrive as PythonError with the traceback in .message.
  if (err && err.type && typeof err.message === "string") {
    const lines = err.message.trim().split("\n");
    return { message: lines[lines.length - 1], traceback: err.message, type: err.type };
  }
  return { message: String(err && err.message || err), traceback: String(err && err.stack || "") };
}

const booted = boot().then(
  (info) => { post({ type: "ready", info }); return info; },
  (err) => { post({ type: "fatal", error: errorObject(err) }); throw err; },
);

self.onmessage = async (event) => {
  const { id, type, payload } = event.data || {};
  if (typeof id !== "number" || typeof type !== "string") return;
  try {
    await booted;
    const result = await pyHandle(type, payload === undefined ? null : payload);
    const transfer = [];
    if (result && result.data && result.data.buffer instanceof ArrayBuffer) transfer.push(result.data.buffer);
    post({ id, ok: true, result }, transfer);
  } catch (err) {
    post({ id, ok: false, error: errorObject(err) });
  }
};
