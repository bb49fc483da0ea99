// The solver page: status and progress while the runtime loads, the automation
// API on window.kcsolver, and a readable error panel for any Python error.
import { WorkerClient } from "./client.js";

const $ = (selector) => document.querySelector(selector);
const client = new WorkerClient(new URL("./worker.js", import.meta.url));
let runtimeInfo = null;

const progressParts = {};
client.on("progress", ({ part, loaded, total }) => {
  progressParts[part] = { loaded, total };
  const loadedAll = Object.values(progressParts).reduce((s, p) => s + p.loaded, 0);
  const totalAll = Object.values(progressParts).reduce((s, p) => s + Math.max(p.total, p.loaded), 0);
  const bar = $("#progress");
  bar.max = totalAll || 1;
  bar.value = loadedAll;
  $("#progress-text").textContent = Object.entries(progressParts)
    .map(([name, p]) => `${name} ${(p.loaded / 1e6).toFixed(1)} MB`).join(" · ");
});
client.on("status", ({ text }) => { $("#status").textContent = text; });
client.on("fatal", (error) => showError("The Python runtime could not start", error));

export function showError(title, error) {
  const panel = $("#error");
  panel.hidden = false;
  $("#error-title").textContent = title;
  $("#error-message").textContent = error.message || String(error);
  $("#error-traceback").textContent = error.traceback || "";
}

function hideError() {
  $("#error").hidden = true;
}

// Every request from the page goes through here, so a Python exception always
// ends up in the error panel as well as in the rejected promise.
async function call(type, payload, transfer) {
  try {
    const result = await client.request(type, payload, transfer);
    hideError();
    return result;
  } catch (error) {
    showError(`Request "${type}" failed`, error);
    throw error;
  }
}

const ready = client.ready.then((info) => {
  runtimeInfo = info;
  $("#status").textContent = `Ready: ${info.runtime_name} ${info.runtime_version}, Python ${info.python}, NumPy ${info.numpy}`;
  $("#progress-box").hidden = true;
  document.body.dataset.state = "ready";
  return info;
});
ready.catch(() => { document.body.dataset.state = "failed"; });

window.kcsolver = {
  ready,
  info: () => (runtimeInfo ? { ...runtimeInfo } : null),
  async predict(modelUrl, data, shape, { backend = "numpy" } = {}) {
    await ready;
    const absolute = new URL(modelUrl, document.baseURI).href;
    const copy = new Float32Array(data);
    const result = await call("predict", { modelUrl: absolute, data: copy, shape: Array.from(shape), backend }, [copy.buffer]);
    return { data: result.data, shape: result.shape, ms: result.ms, backend: result.backend, outputs: result.outputs };
  },
  // Low-level access for diagnostics and tests: any worker request type.
  request: (type, payload) => ready.then(() => call(type, payload)),
};
