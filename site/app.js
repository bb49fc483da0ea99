// The solver page: input (paste, drop, file, examples), answers with confidences,
// the automation API on window.kcsolver, and a readable error panel.
import { WorkerClient } from "./client.js";
import { languageSwitch, reasonText, t, translatePage } from "./i18n.js";
import { toImageData } from "./pixels.js";
import { DEFAULT_THRESHOLD, solverTarget } from "./solvers.js";

const $ = (selector) => document.querySelector(selector);
const LOW_CONFIDENCE = DEFAULT_THRESHOLD;
const client = new WorkerClient(new URL("./worker.js", import.meta.url));
let runtimeInfo = null;
let lastResult = null;  // re-shown in the new language when the user switches
let status = { key: "status.starting", params: {} };

translatePage();
setStatus("status.starting");

// The status line keeps its message key, so that switching the language re-says it.
function setStatus(key, params = {}) {
  status = { key, params };
  $("#status").textContent = t(key, params);
}

// ---------------------------------------------------------------- progress and errors

const progressParts = {};
client.on("progress", ({ part, loaded, total }) => {
  progressParts[part] = { loaded, total };
  const loadedAll = Object.values(progressParts).reduce((s, p) => s + p.loaded, 0);
  const totalAll = Object.values(progressParts).reduce((s, p) => s + Math.max(p.total, p.loaded), 0);
  $("#progress").max = totalAll || 1;
  $("#progress").value = loadedAll;
  $("#progress-text").textContent = Object.entries(progressParts)
    .map(([name, p]) => t("progress.part", { name, mb: (p.loaded / 1e6).toFixed(1) })).join(" · ");
});
client.on("status", ({ text, key, params }) => {
  if (key) setStatus(key, params);
  else $("#status").textContent = text;
});
client.on("fatal", (error) => showError(t("error.runtimeStopped"), error));
client.on("restart", ({ reason }) => {
  document.body.dataset.state = "restarting";
  showError(t("error.restarted"), { message: t("error.restartedMessage", { reason }), traceback: "" });
  setStatus("status.restarting");
});
client.on("ready", (info) => {
  if (!runtimeInfo) return;  // the first start is handled by `ready` below
  runtimeInfo = info;
  document.body.dataset.state = "ready";
  setStatus("status.readyAgain");
});

function showError(title, error) {
  $("#error").hidden = false;
  $("#error-title").textContent = title;
  $("#error-message").textContent = error.message || String(error);
  $("#error-traceback").textContent = error.traceback || "";
}

function hideError() {
  $("#error").hidden = true;
}

// Every request goes through here, so a Python exception always reaches the error panel too.
async function call(type, payload, transfer) {
  try {
    const result = await client.request(type, payload, transfer);
    hideError();
    return result;
  } catch (error) {
    showError(t("error.request", { type }), error);
    throw error;
  }
}

const ready = client.ready.then((info) => {
  runtimeInfo = info;
  setStatus("status.ready", { runtime: info.runtime_name, version: info.runtime_version, python: info.python,
    numpy: info.numpy, backend: info.backend });
  $("#progress-box").hidden = true;
  document.body.dataset.state = "ready";
  return info;
});
ready.catch(() => { document.body.dataset.state = "failed"; });

// ---------------------------------------------------------------- models

// `site`: {charset, lengths} of the captcha's site (strings as a person types them: "0-9", "4-6"), or {}:
// answers then use only those symbols and lengths, and captchas needing others are refused.
async function solveImageData(imageData, { model = "auto", recipe = null, backend = undefined, site = {} } = {}) {
  await ready;
  const pixels = new Uint8Array(imageData.data.buffer.slice(0));
  const payload = {
    ...solverTarget(model, document.baseURI),
    image: { data: pixels, width: imageData.width, height: imageData.height },
    recipe, backend,
    ...(site.charset ? { charset: site.charset } : {}),
    ...(site.lengths ? { lengths: site.lengths } : {}),
  };
  return call("solve", payload, [pixels.buffer]);
}

// ---------------------------------------------------------------- page

function customSettings() {
  const files = $("#custom-files").files;
  const [height, width, channels] = $("#custom-input").value.split(/[x×,\s]+/).map(Number);
  const decoding = $("#custom-decoding").value === "ctc" ? { type: "ctc" }
    : { type: "chunks", length: Number($("#custom-length").value) };
  const recipe = { charset: $("#custom-charset").value, decoding,
    input: { height, width, channels: channels || 1, color: $("#custom-color").value } };
  return { files, url: $("#custom-url").value.trim(), recipe };
}

async function registerLocalModel(files) {
  const names = Array.from(files).map((f) => f.name);
  if (!names.includes("model.json")) throw new Error(t("error.pickShards"));
  const payload = {};
  const transfer = [];
  for (const file of files) {
    const buffer = await file.arrayBuffer();
    payload[file.name] = new Uint8Array(buffer);
    transfer.push(buffer);
  }
  await ready;
  const { url } = await call("register-files", { files: payload }, transfer);
  return url;
}

async function pageModel() {
  const choice = $("#model").value;
  if (choice !== "custom") return { model: choice, recipe: null };
  const { files, url, recipe } = customSettings();
  const model = files.length ? await registerLocalModel(files) : url;
  if (!model) throw new Error(t("error.giveModel"));
  // The form's recipe is used only when the model carries none of its own.
  return { model, recipe, customRecipe: true };
}

function showPreview(imageData) {
  const canvas = $("#preview");
  canvas.width = imageData.width;
  canvas.height = imageData.height;
  canvas.getContext("2d").putImageData(imageData, 0, 0);
}

function showResult(result) {
  lastResult = result;
  $("#result").hidden = false;
  $("#answer").textContent = result.text || t("result.none");
  $("#copy").disabled = !result.text;
  $("#confidence").textContent = result.reason
    ? t("result.refused", { reason: reasonText(result.reason) })
    : t("result.confidence", { percent: (result.confidence * 100).toFixed(1) }) +
      (result.confidence < LOW_CONFIDENCE ? t("result.low") : "");
  $("#result").classList.toggle("low", result.confidence < LOW_CONFIDENCE);
  const list = $("#chars");
  list.replaceChildren(...result.chars.map(([char, p]) => {
    const item = document.createElement("li");
    item.textContent = `${char} ${(p * 100).toFixed(0)}%`;
    if (p < LOW_CONFIDENCE) {
      item.classList.add("low");
      item.title = t("result.lowChar");
    }
    return item;
  }));
  $("#timing").textContent = t("result.timing", { ms: result.ms.toFixed(1), solver: result.solver, backend: result.backend });
}

let busy = Promise.resolve();
function solveFromPage(source) {
  // One at a time, in order; an error never blocks the next captcha.
  busy = busy.then(async () => {
    try {
      const imageData = await toImageData(source);
      showPreview(imageData);
      const { model, recipe, customRecipe } = await pageModel();
      setStatus(runtimeInfo ? "status.solving" : "status.solvingWhenReady");
      const site = { charset: $("#site-charset").value.trim(), lengths: $("#site-lengths").value.trim() };
      let result;
      try {
        result = await solveImageData(imageData, { model, recipe: customRecipe ? null : recipe, site });
      } catch (error) {
        if (!customRecipe || !/no kcsolver recipe/.test(error.message)) throw error;
        result = await solveImageData(imageData, { model, recipe, site });
      }
      showResult(result);
      setStatus("status.solved");
    } catch (error) {
      showError(t("error.solve"), error);
      if (runtimeInfo) setStatus("status.next");
    }
  });
  return busy;
}

$("#file").addEventListener("change", (event) => {
  if (event.target.files[0]) solveFromPage(event.target.files[0]);
});
document.addEventListener("paste", (event) => {
  const item = Array.from(event.clipboardData?.items || []).find((i) => i.kind === "file");
  if (item) {
    event.preventDefault();
    solveFromPage(item.getAsFile());
  }
});
const drop = $("#drop");
drop.addEventListener("dragover", (event) => { event.preventDefault(); drop.classList.add("over"); });
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (event) => {
  event.preventDefault();
  drop.classList.remove("over");
  const file = event.dataTransfer?.files?.[0];
  if (file) solveFromPage(file);
});
drop.addEventListener("keydown", (event) => {
  if (event.key === "Enter" || event.key === " ") { event.preventDefault(); $("#file").click(); }
});
$("#model").addEventListener("change", () => { $("#custom").hidden = $("#model").value !== "custom"; });
$("#copy").addEventListener("click", async () => {
  await navigator.clipboard.writeText($("#answer").textContent);
  $("#copy").textContent = t("copy.done");
  setTimeout(() => { $("#copy").textContent = t("copy.button"); }, 1500);
});

async function loadGallery() {
  try {
    const examples = await (await fetch("examples/index.json")).json();
    $("#gallery").replaceChildren(...examples.map((example) => {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "example";
      button.dataset.model = example.model;
      const image = document.createElement("img");
      image.src = `examples/${example.file}`;
      image.alt = t("examples.alt", { model: example.model });
      image.dataset.model = example.model;
      button.append(image);
      button.addEventListener("click", async () => {
        $("#model").value = example.model;
        $("#custom").hidden = true;
        solveFromPage(await (await fetch(image.src)).blob());
      });
      return button;
    }));
  } catch {
    $("#examples").hidden = true;
  }
}
loadGallery();

// Switching the language re-says what the page drew itself: the status, the answer, the examples' labels.
languageSwitch($("#language"), () => {
  $("#status").textContent = t(status.key, status.params);
  if (lastResult) showResult(lastResult);
  for (const image of document.querySelectorAll("#gallery img")) image.alt = t("examples.alt", { model: image.dataset.model });
});

// ---------------------------------------------------------------- automation API

window.kcsolver = {
  ready,
  info: () => (runtimeInfo ? { ...runtimeInfo } : null),
  async solve(source, { model = "auto", recipe = null, backend = undefined, charset = "", lengths = "" } = {}) {
    const imageData = await toImageData(source);
    const result = await solveImageData(imageData, { model, recipe, backend, site: { charset, lengths } });
    return { text: result.text, confidence: result.confidence, chars: result.chars, ms: result.ms,
      solver: result.solver, backend: result.backend, ...(result.reason ? { reason: result.reason } : {}) };
  },
  async predict(url, data, shape, { backend = undefined } = {}) {
    await ready;
    const copy = new Float32Array(data);
    const result = await call("predict", { modelUrl: new URL(url, document.baseURI).href, data: copy,
      shape: Array.from(shape), backend }, [copy.buffer]);
    return { data: result.data, shape: result.shape, ms: result.ms, backend: result.backend, outputs: result.outputs,
      fallbackOps: result.fallback_ops, fallbackReason: result.fallback_reason };
  },
  // Low-level access for diagnostics and tests: any worker request type, and the worker itself.
  request: (type, payload) => ready.then(() => call(type, payload)),
  worker: () => client.currentWorker,
};

// Offline support: the service worker precaches the site, the runtime and the solvers. It is
// registered once the runtime is ready, so that its downloads never compete with the first
// answer's (they then mostly revalidate what the HTTP cache already holds). ?nosw=1 skips it.
if ("serviceWorker" in navigator && !new URLSearchParams(location.search).has("nosw")) {
  ready.then(() => setTimeout(() => {
    navigator.serviceWorker.register(new URL("./sw.js", import.meta.url), { scope: "./" })
      .catch((error) => console.warn("kcsolver: offline support unavailable:", error.message));
  }, 1000), () => {});
}
