// The built-in solvers are presets of one shipped network (models/kcaptcha/); "auto" lets
// Python choose the preset per image. Shared by the page, the embed frame and the widget.
export const BUNDLE = "models/kcaptcha/model.json";
export const BUILTIN = ["l2_digits", "digits", "stock23", "classic", "any"];
// The widget and the bookmarklet fill an input only when the answer's confidence reaches this
// (settable with the widget's threshold="..." attribute); below it they show the reading, flagged.
export const DEFAULT_THRESHOLD = 0.9;

export function isBuiltin(model) {
  return model === "auto" || BUILTIN.includes(model);
}

// {modelUrl, preset} for a worker "solve" request: a built-in name, "local:" files or a model.json URL.
export function solverTarget(model, base) {
  if (isBuiltin(model)) return { modelUrl: new URL(BUNDLE, base).href, preset: model === "auto" ? null : model };
  if (model.startsWith("local:")) return { modelUrl: model, preset: null };
  return { modelUrl: new URL(model, base).href, preset: null };
}

// A threshold attribute value (0..1, or a percentage) or the default.
export function parseThreshold(value) {
  const number = Number.parseFloat(value);
  if (!Number.isFinite(number)) return DEFAULT_THRESHOLD;
  return Math.min(1, Math.max(0, number > 1 ? number / 100 : number));
}
