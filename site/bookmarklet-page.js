// Fills in the bookmarklet, userscript and widget snippet with this site's own address, in the user's language.
import { languageSwitch, translatePage } from "./i18n.js";

translatePage();
languageSwitch(document.querySelector("#language"));
const site = new URL("./", location.href).href;
const entry = new URL("bookmarklet.js", site).href;
document.querySelector("#bookmarklet").href = `javascript:void(import(${JSON.stringify(entry)}))`;
const userscript = `// ==UserScript==
// @name        kcsolver
// @description Reads KCAPTCHA images in your browser and fills the answer (never submits).
// @match       *://*/*
// @grant       none
// @run-at      document-idle
// ==/UserScript==
import(${JSON.stringify(entry)});
`;
const link = document.querySelector("#userscript");
link.href = URL.createObjectURL(new Blob([userscript], { type: "text/javascript" }));
link.dataset.source = userscript;
document.querySelector("#snippet").textContent =
  `<script type="module" src="${new URL("widget.js", site).href}"></script>\n` +
  `<kcaptcha-solver for="#captcha-img" input="#captcha-answer" model="auto" threshold="0.9"></kcaptcha-solver>`;
