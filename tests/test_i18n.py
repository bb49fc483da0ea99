"""The translations (site/messages.js, site/i18n.js), checked under Node.js without a browser.

Every language has exactly English's keys with the same {placeholders} and `code` spans; every key the pages
and scripts use exists; Python's refusal reasons, as the solver words them, are recognised and translated.
"""

import json
import re
import shutil
import subprocess

import numpy as np
import pytest

from conftest import ROOT
from kcsolver import Solver
from kcsolver.captcha.solver import NO_TEXT, OTHER_CONFIGURATION, parse_alphabet, parse_lengths

SITE = ROOT / "site"
GROUPS = {"page", "runtime", "progress", "status", "input", "drop", "preview", "solver", "site", "custom", "result", "copy",
          "error", "examples", "footer", "image", "reason", "widget", "bridge", "bookmarklet", "tools"}


def run_module(tmp_path, body: str):
    """Runs `body` as an ES module beside copies of i18n.js and messages.js; returns what it prints as JSON."""
    for name in ("i18n.js", "messages.js"):
        shutil.copy(SITE / name, tmp_path / name)
    (tmp_path / "package.json").write_text('{"type": "module"}')
    (tmp_path / "main.js").write_text(body)
    done = subprocess.run(["node", str(tmp_path / "main.js")], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def messages(tmp_path_factory):
    return run_module(tmp_path_factory.mktemp("i18n"),
                      'import { MESSAGES } from "./messages.js";\nconsole.log(JSON.stringify(MESSAGES));')


def placeholders(text: str) -> tuple:
    return sorted(re.findall(r"\{\w+\}", text)), len(re.findall(r"`[^`]+`", text)), text.count("**")


@pytest.mark.parametrize("language", ["ru", "ko"])
def test_every_language_has_every_key_with_the_same_placeholders(messages, language):
    english, other = messages["en"], messages[language]
    assert sorted(set(english) - set(other)) == [], f"{language} lacks these keys"
    assert sorted(set(other) - set(english)) == [], f"{language} has keys English lacks"
    for key, text in english.items():
        assert placeholders(other[key]) == placeholders(text), (language, key, other[key])
        assert other[key].strip(), (language, key)


def used_keys() -> dict[str, str]:
    """key -> the file that uses it: the pages' data-i18n attributes and the scripts' t()/setStatus() calls."""
    used = {}
    for page in SITE.glob("*.html"):
        text = page.read_text()
        for key in re.findall(r'data-i18n(?:-rich)?="([\w.]+)"', text):
            used[key] = page.name
        for pairs in re.findall(r'data-i18n-attr="([^"]+)"', text):
            for pair in pairs.split():
                used[pair.split(":")[1]] = page.name
    for script in SITE.glob("*.js"):
        if script.name == "messages.js":
            continue
        # any string literal "group.name" whose group is one of the catalogue's (t("…"), setStatus(cond ? "…" : "…"))
        for key, group in re.findall(r'"((\w+)\.\w+)"', script.read_text()):
            if group in GROUPS and not key.endswith((".js", ".json")):  # file names are not keys
                used[key] = script.name
    return used


def test_every_key_the_site_uses_exists(messages):
    assert {key.split(".")[0] for key in messages["en"]} == GROUPS
    used = used_keys()
    assert len(used) > 80  # the scan itself found the pages' and scripts' keys
    missing = {key: where for key, where in used.items() if key not in messages["en"]}
    assert missing == {}


def test_no_message_is_left_unused(messages):
    used = used_keys()
    dynamic = {key for key in messages["en"] if key.startswith(("reason.", "solver."))}  # by pattern / option value
    assert sorted(set(messages["en"]) - set(used) - dynamic) == []


def python_reasons() -> list[str]:
    """Refusal reasons as the solver gives them: real refusals, and each wording of solver.py's templates."""
    solver = Solver.load("auto")
    reasons = [solver.solve(np.zeros((12, 16, 3), np.uint8)).reason,  # too small
               solver.solve(np.full((60, 160, 3), 255, np.uint8)).reason]  # blank
    restricted = Solver.load("auto").restrict(parse_alphabet("a-z"), parse_lengths("5-6"))
    reasons.append(restricted.solve(SITE / "examples" / "l2_digits_0.png").reason)  # 2 digits: not a-z, 5-6 long
    reasons += [NO_TEXT, OTHER_CONFIGURATION, f"{OTHER_CONFIGURATION}: try classic",
                f"{OTHER_CONFIGURATION} (read as {'ab12'!r}), which this model's solvers do not read"]
    return [reason for reason in reasons if reason]


def test_python_refusal_reasons_are_recognised_and_translated(tmp_path):
    reasons = python_reasons()
    assert any("too small" in r for r in reasons) and any("blank" in r for r in reasons)
    out = run_module(tmp_path, f"""import {{ reasonText }} from "./i18n.js";
const reasons = {json.dumps(reasons)};
console.log(JSON.stringify(Object.fromEntries(["en", "ru", "ko"].map((lang) => [lang, reasons.map((r) => reasonText(r, lang))]))));""")
    assert out["en"] == reasons  # English is Python's own wording, so every pattern matched exactly
    for language in ("ru", "ko"):
        for english, translated in zip(reasons, out[language]):
            assert translated != english and "{" not in translated, (language, english, translated)
    assert "16x12" in out["ru"][0] and "16x12" in out["ko"][0]  # the size is carried into the translation


def test_the_language_comes_from_the_first_tag_spoken(tmp_path):
    out = run_module(tmp_path, """import { pickLanguage } from "./i18n.js";
console.log(JSON.stringify([pickLanguage(["ru-RU", "en"]), pickLanguage(["de-DE", "ko-KR"]), pickLanguage(["fr", "de"]),
  pickLanguage([null, "", "KO"]), pickLanguage(["en_US"])]));""")
    assert out == ["ru", "ko", "en", "ko", "en"]
