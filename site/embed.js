// Runs inside the hidden iframe on the solver's origin. Accepts only pixel
// messages of the expected shape from the page that embeds it, and answers
// only to that page's origin. The worker and the model cache live here.
import { WorkerClient } from "./client.js";
import { isBuiltin, solverTarget } from "./solvers.js";

const MAX_PIXELS = 1_000_000;
const client = new WorkerClient(new URL("./worker.js", import.meta.url));

// The host names a built-in solver or a model.json URL of its own (an adapted model: `kcsolver adapt`);
// the worker fetches it like the built-in one (CORS applies, its recipe is data, never code).
function validModel(model) {
  if (typeof model !== "string" || model.length > 2000) return false;
  if (isBuiltin(model)) return true;
  try {
    return ["http:", "https:"].includes(new URL(model).protocol);
  } catch {
    return false;
  }
}

// The site's own symbols and lengths, as the widget's charset="0-9" and lengths="4-6" attributes give them.
const optionalText = (value, pattern) => value === undefined || (typeof value === "string" && pattern.test(value));

function validSolveRequest(message) {
  return message && message.type === "kcsolver:solve" && Number.isInteger(message.id) &&
    validModel(message.model) && optionalText(message.charset, /^[0-9a-zA-Z-]{1,72}$/) &&
    optionalText(message.lengths, /^[0-9, -]{1,40}$/) && Number.isInteger(message.width) && Number.isInteger(message.height) &&
    message.width > 0 && message.height > 0 && message.width * message.height <= MAX_PIXELS &&
    message.data instanceof ArrayBuffer && message.data.byteLength === message.width * message.height * 4;
}

// Diagnostics (the tests and the bench; same-origin only, like any property of this frame's window): what was
// accepted and what was ignored, the worker's boot marks and its boot cache's state.
let bootInfo = null;
client.ready.then((info) => { bootInfo = info.boot; }, () => {});
window.kcsolverEmbed = { accepted: 0, ignored: 0, boot: () => bootInfo,
  bootCacheStatus: () => client.request("boot-cache-status") };

window.addEventListener("message", async (event) => {
  const message = event.data;
  if (event.source !== window.parent || window.parent === window || !validSolveRequest(message)) {
    window.kcsolverEmbed.ignored += 1;  // only pixel requests from the page that embeds us
    return;
  }
  window.kcsolverEmbed.accepted += 1;
  const reply = (body) => window.parent.postMessage({ id: message.id, ...body }, event.origin);
  try {
    await client.ready;
    const result = await client.request("solve", {
      ...solverTarget(message.model, location.href),
      ...(message.charset ? { charset: message.charset } : {}),
      ...(message.lengths ? { lengths: message.lengths } : {}),
      image: { data: new Uint8Array(message.data), width: message.width, height: message.height },
    }, [message.data]);
    reply({ type: "kcsolver:answer", result: { text: result.text, confidence: result.confidence, chars: result.chars,
      solver: result.solver, ...(result.reason ? { reason: result.reason } : {}) } });
  } catch (error) {
    reply({ type: "kcsolver:error", error: error.message });
  }
});

// Tell the embedder we can take requests (this carries no data).
if (window.parent !== window) window.parent.postMessage({ type: "kcsolver:ready" }, "*");

// Return visits of the host page start from the service worker's cache, as the solver page's do
// (registered once the runtime is ready; browsers keep it per host site for third-party frames).
if ("serviceWorker" in navigator && !new URLSearchParams(location.search).has("nosw")) {
  client.ready.then(() => setTimeout(() => {
    navigator.serviceWorker.register(new URL("./sw.js", import.meta.url), { scope: "./" }).catch(() => {});
  }, 1000), () => {});
}
