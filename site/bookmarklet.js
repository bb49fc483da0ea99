// Bookmarklet / userscript entry: finds likely KCAPTCHA images on the current page,
// solves them through the solver's iframe (the solver chosen per image), fills the
// nearest text field and highlights it when the answer's confidence reaches the
// threshold (solvers.js); otherwise it shows the reading, flagged, beside the field
// and fills nothing. It never submits anything.
import { SolverBridge, sharedBridge } from "./bridge.js";
import { browserLanguages, pickLanguage, reasonText, t } from "./i18n.js";
import { DEFAULT_THRESHOLD } from "./solvers.js";

// The bookmarklet is the visitor's tool: it speaks the visitor's browser language.
const LANGUAGE = pickLanguage(browserLanguages());
const NAME_HINT = /k?captcha|keystring|secur|code|verif/i;

function captchaScore(image) {
  const width = image.naturalWidth;
  const height = image.naturalHeight;
  if (!width || !height || width < 60 || width > 400 || height < 20 || height > 150) return 0;
  const aspect = width / height;
  if (aspect < 1.2 || aspect > 5) return 0;
  let score = 1;
  if (NAME_HINT.test(`${image.src} ${image.id} ${image.className} ${image.alt} ${image.name || ""}`)) score += 2;
  if ([160, 120, 100, 228].includes(width) && [60, 50, 92, 80].includes(height)) score += 1;
  return score;
}

function textInputs(root) {
  return Array.from(root.querySelectorAll("input")).filter((input) =>
    ["text", "", "search", "tel", "number"].includes((input.getAttribute("type") || "").toLowerCase()) &&
    !input.disabled && !input.readOnly);
}

function nearestInput(image) {
  const scope = image.closest("form") || document;
  const inputs = textInputs(scope);
  const named = inputs.find((input) => NAME_HINT.test(`${input.name} ${input.id} ${input.placeholder}`));
  if (named) return named;
  const after = inputs.find((input) => image.compareDocumentPosition(input) & Node.DOCUMENT_POSITION_FOLLOWING);
  return after || inputs[inputs.length - 1] || null;
}

// A note after the field with the doubtful reading (or why there is none), to copy by hand.
function flagBeside(input, result) {
  const note = document.createElement("small");
  note.className = "kcsolver-flag";
  note.style.cssText = "margin-left:6px;color:#b26b00;font:12px sans-serif";
  note.textContent = result.reason ? t("widget.noAnswer", { reason: reasonText(result.reason, LANGUAGE) }, LANGUAGE)
    : t("bookmarklet.doubtful", { text: result.text, percent: (result.confidence * 100).toFixed(0) }, LANGUAGE);
  input.insertAdjacentElement("afterend", note);
}

export async function solvePage() {
  const candidates = Array.from(document.images).map((image) => [captchaScore(image), image])
    .filter(([score]) => score > 0).sort((a, b) => b[0] - a[0]).map(([, image]) => image);
  if (!candidates.length) {
    console.warn("kcsolver: no captcha-like image found on this page");
    return [];
  }
  const results = [];
  for (const image of candidates.slice(0, 3)) {
    const input = nearestInput(image);
    if (!input) continue;
    try {
      const result = await sharedBridge().solve(SolverBridge.pixels(image, LANGUAGE), "auto");
      const filled = Boolean(result.text) && result.confidence >= DEFAULT_THRESHOLD;
      if (filled) {
        input.value = result.text;
        input.dispatchEvent(new Event("input", { bubbles: true }));
        input.style.outline = "3px solid #2457d6";
        input.title = t("bookmarklet.confident", { percent: (result.confidence * 100).toFixed(0) }, LANGUAGE);
      } else {
        input.style.outline = "3px dashed #b26b00";
        flagBeside(input, result);
      }
      input.style.outlineOffset = "2px";
      results.push({ image: image.src, text: result.text, confidence: result.confidence, solver: result.solver,
        reason: result.reason || null, filled });
    } catch (error) {
      console.error(error.message);
    }
  }
  return results;
}

window.kcsolverBookmarklet = solvePage();
