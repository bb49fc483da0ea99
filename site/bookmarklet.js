// Bookmarklet / userscript entry: finds likely KCAPTCHA images on the current page,
// solves them through the solver's iframe, fills the nearest text field and
// highlights it. It never submits anything.
import { SolverBridge, sharedBridge } from "./bridge.js";
import { chooseModel } from "./pixels.js";

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
      const pixels = SolverBridge.pixels(image);
      const result = await sharedBridge().solve(pixels, chooseModel(pixels));
      input.value = result.text;
      input.dispatchEvent(new Event("input", { bubbles: true }));
      input.style.outline = "3px solid #2457d6";
      input.style.outlineOffset = "2px";
      input.title = `kcsolver: ${(result.confidence * 100).toFixed(0)}% confident`;
      results.push({ image: image.src, text: result.text, confidence: result.confidence });
    } catch (error) {
      console.error(error.message);
    }
  }
  return results;
}

window.kcsolverBookmarklet = solvePage();
