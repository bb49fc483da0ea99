// The user's language for the page, the widget and the bookmarklet: English, Russian or Korean.
// t(key, params) gives a message of messages.js; translatePage() fills the elements marked with
// data-i18n (text), data-i18n-rich (text with **bold** and `code`) and data-i18n-attr ("placeholder:key").
// The page's language: ?lang=xx, else the choice saved on this site, else the browser's languages.
import { MESSAGES } from "./messages.js";

export const LANGUAGES = { en: "English", ru: "Русский", ko: "한국어" };
const SAVED = "kcsolver-language";

// The first of `tags` (BCP 47: "ru-RU", "ko", "en-US"…) that we speak; English otherwise.
export function pickLanguage(tags) {
  for (const tag of tags) {
    const base = String(tag || "").toLowerCase().split(/[-_]/)[0];
    if (Object.hasOwn(MESSAGES, base)) return base;
  }
  return "en";
}

export const browserLanguages = () => (typeof navigator === "undefined" ? [] : navigator.languages || [navigator.language]);

function savedLanguage() {
  try {
    return localStorage.getItem(SAVED);
  } catch {
    return null;  // storage blocked (a sandboxed or third-party context)
  }
}

let current = pickLanguage(typeof location === "undefined" ? browserLanguages()
  : [new URLSearchParams(location.search).get("lang"), savedLanguage(), ...browserLanguages()]);

// `lang` overrides the current language (the widget passes its own).
export function t(key, params = {}, lang = current) {
  const message = MESSAGES[lang]?.[key] ?? MESSAGES.en[key];
  if (message === undefined) {
    console.warn(`kcsolver: no message ${key}`);
    return key;
  }
  return message.replace(/\{(\w+)\}/g, (whole, name) => (name in params ? String(params[name]) : whole));
}

// Python's refusal reasons (captcha/solver.py, in English, as the CLI prints them) in the user's language.
const REASONS = [
  [/^no captcha text found \(the image is (?<width>\d+)x(?<height>\d+) pixels, too small for a captcha\)$/, "reason.tooSmall"],
  [/^no captcha text found \(the image is blank or has no dark text on a light background\)$/, "reason.blank"],
  [/^no captcha text found$/, "reason.noText"],
  [/^looks like another KCAPTCHA configuration: try (?<solver>\S+)$/, "reason.tryOther"],
  [/^looks like another KCAPTCHA configuration \(read as '(?<text>.*)'\), which this model's solvers do not read$/, "reason.otherRead"],
  [/^looks like another KCAPTCHA configuration$/, "reason.other"],
];

export function reasonText(reason, lang = current) {
  for (const [pattern, key] of REASONS) {
    const match = pattern.exec(reason);
    if (match) return t(key, match.groups || {}, lang);
  }
  return reason;  // a reason this table does not know yet: English rather than nothing
}

// Text with **bold** and `code` as elements (never parsed as HTML).
export function setRichText(element, text) {
  const parts = text.split(/(\*\*[^*]+\*\*|`[^`]+`)/).filter(Boolean).map((part) => {
    if (part.startsWith("**")) return Object.assign(document.createElement("strong"), { textContent: part.slice(2, -2) });
    if (part.startsWith("`")) return Object.assign(document.createElement("code"), { textContent: part.slice(1, -1) });
    return document.createTextNode(part);
  });
  element.replaceChildren(...parts);
}

export function translatePage(root = document) {
  document.documentElement.lang = current;
  for (const element of root.querySelectorAll("[data-i18n]")) element.textContent = t(element.dataset.i18n);
  for (const element of root.querySelectorAll("[data-i18n-rich]")) setRichText(element, t(element.dataset.i18nRich));
  for (const element of root.querySelectorAll("[data-i18n-attr]")) {
    for (const pair of element.dataset.i18nAttr.split(/\s+/).filter(Boolean)) {
      const [attribute, key] = pair.split(":");
      element.setAttribute(attribute, t(key));
    }
  }
}

// A <select> that switches the page's language (remembered on this site) and re-translates it;
// `onChange` re-renders what the page drew itself.
export function languageSwitch(select, onChange = () => {}) {
  select.replaceChildren(...Object.entries(LANGUAGES).map(([code, name]) =>
    Object.assign(document.createElement("option"), { value: code, textContent: name, lang: code })));
  select.value = current;
  select.addEventListener("change", () => {
    current = pickLanguage([select.value]);
    try {
      localStorage.setItem(SAVED, current);
    } catch { /* not remembered: storage blocked */ }
    translatePage();
    onChange(current);
  });
}
