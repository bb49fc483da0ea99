// The host-page side of embedding: a hidden iframe (embed.html on the solver's
// origin) that runs the solver; only pixels go in, only answers come out.
import { t } from "./i18n.js";

const SOLVER_ORIGIN = new URL(import.meta.url).origin;
const EMBED_URL = new URL("./embed.html", import.meta.url).href;
export const MAX_PIXELS = 1_000_000;

export class SolverBridge {
  constructor() {
    this.nextId = 1;
    this.pending = new Map();
    this.frame = document.createElement("iframe");
    this.frame.src = EMBED_URL;
    this.frame.title = "kcsolver";
    this.frame.setAttribute("aria-hidden", "true");
    this.frame.style.cssText = "position:absolute;width:0;height:0;border:0;visibility:hidden";
    this.ready = new Promise((resolve) => { this._ready = resolve; });
    window.addEventListener("message", (event) => this._receive(event));
    (document.body || document.documentElement).append(this.frame);
  }

  _receive(event) {
    // Only the solver frame we created may answer.
    if (event.origin !== SOLVER_ORIGIN || event.source !== this.frame.contentWindow) return;
    const message = event.data || {};
    if (message.type === "kcsolver:ready") return this._ready();
    const waiter = this.pending.get(message.id);
    if (!waiter) return;
    this.pending.delete(message.id);
    if (message.type === "kcsolver:answer") waiter.resolve(message.result);
    else waiter.reject(new Error(message.error || "kcsolver: unknown error"));
  }

  // Pixels of an <img> on the host page (the host can read its own same-origin images).
  static pixels(image, lang = undefined) {
    const width = image.naturalWidth;
    const height = image.naturalHeight;
    if (!width || !height) throw new Error(t("bridge.notLoaded", {}, lang));
    if (width * height > MAX_PIXELS) throw new Error(t("bridge.tooLarge", { width, height }, lang));
    const canvas = document.createElement("canvas");
    canvas.width = width;
    canvas.height = height;
    const context = canvas.getContext("2d", { willReadFrequently: true });
    context.drawImage(image, 0, 0);
    try {
      return context.getImageData(0, 0, width, height);
    } catch {
      throw new Error(t("bridge.cors", { src: image.src }, lang));
    }
  }

  // `site`: {charset, lengths} of the host's captchas (strings, as the widget's attributes give them), or {}.
  async solve(imageData, model = "auto", site = {}) {
    await this.ready;
    const id = this.nextId++;
    const buffer = imageData.data.buffer.slice(0);
    const message = { type: "kcsolver:solve", id, model, width: imageData.width, height: imageData.height, data: buffer };
    if (site.charset) message.charset = site.charset;
    if (site.lengths) message.lengths = site.lengths;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.frame.contentWindow.postMessage(message, SOLVER_ORIGIN, [buffer]);
    });
  }
}

let shared = null;
export function sharedBridge() {
  shared ||= new SolverBridge();
  return shared;
}
