// <kcaptcha-solver for="#captcha-img" input="#captcha-answer" [model="auto"] [threshold="0.9"] [auto="off"]
//                  [charset="0-9"] [lengths="4-6"] [lang="ru"]>   (model: a built-in solver or a model.json URL;
//                  lang: en, ru or ko, by default the visitor's browser language)
// Reads the host's captcha image, solves it in the solver's iframe and, when the answer's
// confidence reaches the threshold, fills the input (firing `input` and `kcaptcha-solved`).
// Below the threshold, or with no answer, it fills nothing and shows the reading flagged
// (with a button to use it anyway) and fires `kcaptcha-doubtful`. It never submits the form.
import { SolverBridge, sharedBridge } from "./bridge.js";
import { browserLanguages, pickLanguage, reasonText, t } from "./i18n.js";
import { parseThreshold } from "./solvers.js";

class KcaptchaSolver extends HTMLElement {
  connectedCallback() {
    this.attachShadow({ mode: "open" });
    const auto = (this.getAttribute("auto") || "on") !== "off";
    if (!auto) {
      const button = document.createElement("button");
      button.type = "button";
      button.part = "button";
      button.textContent = this.getAttribute("label") || this.t("widget.solve");
      button.addEventListener("click", () => this.solve());
      this.shadowRoot.append(button);
    }
    this.status = document.createElement("span");
    this.status.part = "status";
    this.status.setAttribute("role", "status");
    this.shadowRoot.append(this.status);
    const image = this.image();
    if (!image) return console.error(`kcsolver: no <img> matches for="${this.getAttribute("for")}"`);
    if (auto) {
      image.addEventListener("load", () => this.solve());
      if (image.complete && image.naturalWidth) this.solve();
    }
  }

  image() {
    const found = document.querySelector(this.getAttribute("for") || "");
    return found instanceof HTMLImageElement ? found : null;
  }

  // The widget speaks its lang attribute's language, else the visitor's.
  get language() {
    return pickLanguage([this.getAttribute("lang"), ...browserLanguages()]);
  }

  t(key, params = {}) {
    return t(key, params, this.language);
  }

  get threshold() {
    return parseThreshold(this.getAttribute("threshold"));
  }

  fill(input, text) {
    input.value = text;
    input.dispatchEvent(new Event("input", { bubbles: true }));
  }

  // A doubtful reading (or none): say so next to the widget, offer the reading, fill nothing.
  flag(input, result) {
    this.status.replaceChildren();
    const note = document.createElement("span");
    note.textContent = result.reason ? this.t("widget.noAnswer", { reason: reasonText(result.reason, this.language) })
      : this.t("widget.doubtful", { text: result.text, percent: (result.confidence * 100).toFixed(0) });
    this.status.append(note);
    if (result.text) {
      const use = document.createElement("button");
      use.type = "button";
      use.part = "use";
      use.textContent = this.t("widget.use");
      use.addEventListener("click", () => { this.fill(input, result.text); this.status.replaceChildren(); });
      this.status.append(" ", use);
    }
  }

  async solve() {
    const image = this.image();
    const input = document.querySelector(this.getAttribute("input") || "");
    if (!image || !input) {
      console.error("kcsolver: set for= (the captcha <img>) and input= (the answer field) to CSS selectors on this page");
      return null;
    }
    try {
      const src = image.currentSrc || image.src;
      const site = { charset: this.getAttribute("charset") || "", lengths: this.getAttribute("lengths") || "" };
      const result = await sharedBridge().solve(SolverBridge.pixels(image, this.language), this.getAttribute("model") || "auto", site);
      if ((image.currentSrc || image.src) !== src) return null;  // the captcha changed meanwhile
      const detail = { text: result.text, confidence: result.confidence, solver: result.solver,
        reason: result.reason || null, threshold: this.threshold };
      if (result.text && result.confidence >= this.threshold) {
        this.status.replaceChildren();
        this.fill(input, result.text);
        this.dispatchEvent(new CustomEvent("kcaptcha-solved", { bubbles: true, composed: true, detail }));
      } else {
        this.flag(input, result);
        this.dispatchEvent(new CustomEvent("kcaptcha-doubtful", { bubbles: true, composed: true, detail }));
      }
      return result;
    } catch (error) {
      console.error(error.message);
      // e.g. a charset attribute the model cannot read (the worker's errors are in English)
      this.status.textContent = error.message.startsWith("kcsolver:") ? error.message : this.t("widget.error", { message: error.message });
      this.dispatchEvent(new CustomEvent("kcaptcha-error", { bubbles: true, detail: { message: error.message } }));
      return null;
    }
  }
}

if (!customElements.get("kcaptcha-solver")) customElements.define("kcaptcha-solver", KcaptchaSolver);
