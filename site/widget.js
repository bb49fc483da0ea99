// <kcaptcha-solver for="#captcha-img" input="#captcha-answer" model="l2_digits" [auto="off"]>
// Reads the host's captcha image, solves it in the solver's iframe and fills the
// input (firing `input` and `kcaptcha-solved`). It never submits the form.
import { SolverBridge, sharedBridge } from "./bridge.js";

class KcaptchaSolver extends HTMLElement {
  connectedCallback() {
    this.attachShadow({ mode: "open" });
    const auto = (this.getAttribute("auto") || "on") !== "off";
    if (!auto) {
      const button = document.createElement("button");
      button.type = "button";
      button.part = "button";
      button.textContent = this.getAttribute("label") || "Solve captcha";
      button.addEventListener("click", () => this.solve());
      this.shadowRoot.append(button);
    }
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

  async solve() {
    const image = this.image();
    const input = document.querySelector(this.getAttribute("input") || "");
    if (!image || !input) {
      console.error("kcsolver: set for= (the captcha <img>) and input= (the answer field) to CSS selectors on this page");
      return null;
    }
    try {
      const src = image.currentSrc || image.src;
      const result = await sharedBridge().solve(SolverBridge.pixels(image), this.getAttribute("model") || "l2_digits");
      if ((image.currentSrc || image.src) !== src) return null;  // the captcha changed meanwhile
      input.value = result.text;
      input.dispatchEvent(new Event("input", { bubbles: true }));
      this.dispatchEvent(new CustomEvent("kcaptcha-solved", {
        bubbles: true, composed: true, detail: { text: result.text, confidence: result.confidence },
      }));
      return result;
    } catch (error) {
      console.error(error.message);
      this.dispatchEvent(new CustomEvent("kcaptcha-error", { bubbles: true, detail: { message: error.message } }));
      return null;
    }
  }
}

if (!customElements.get("kcaptcha-solver")) customElements.define("kcaptcha-solver", KcaptchaSolver);
