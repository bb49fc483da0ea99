"""The widget as its users meet it: a host form that loads a new captcha on every page load.

    python -m kcsolver.bench.form_loads ../shared/kcaptcha-real-dev/classic126_jpg -n 100

Builds the site, serves it on one origin and a host form on another; for each
of the folder's labelled captchas (in order, up to -n) the host page is
rewritten to show that captcha and loaded afresh in the same browser profile
(caches warm, as a returning visitor's), with the widget on the automatic
choice (or --model). Each load's outcome is what the widget did: filled (right
or wrong), flagged as doubtful (nothing filled) or failed, and the time from
navigation to that outcome. The same images read under CPython are printed
beside it, so the widget's path (the host <img> drawn on a canvas, the worker
booting on every load, the specialists fetched as they are needed) can be
compared with the engine's.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
CHROMIUM_FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]
HOST_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>form</title></head><body>
<form action="/submitted" method="post"><img id="captcha-img" src="{image}" alt="captcha">
<input id="captcha-answer" name="keystring"><button type="submit">Send</button></form>
<script type="module" src="{solver}/app/widget.js"></script>
<kcaptcha-solver for="#captcha-img" input="#captcha-answer" model="{model}"></kcaptcha-solver>
</body></html>"""
# Registered before the host page's own scripts: what the widget did on this load.
LISTEN = """window.__outcome = null;
for (const kind of ["kcaptcha-solved", "kcaptcha-doubtful", "kcaptcha-error"])
  document.addEventListener(kind, (event) => { window.__outcome ??= {kind, detail: event.detail,
    ms: performance.now()}; });"""


def run(folder: Path, count: int, model: str = "auto") -> dict:
    from playwright.sync_api import sync_playwright

    sys.path.insert(0, str(ROOT))
    import build

    from ..captcha import Solver
    from ..cli import labelled_files
    from ..devserver import StaticServer

    files = labelled_files(folder)[:count]
    cpython = Solver.load(model).solve_batch([path for path, _ in files])
    loads = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        dist = build.build(tmp / "site" / "app", "vendored")
        host = tmp / "host"
        host.mkdir()
        with StaticServer(dist.parent) as server, StaticServer(host) as host_server, sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_FLAGS)
            context = browser.new_context()
            context.add_init_script(LISTEN)
            page = context.new_page()
            for index, (path, label) in enumerate(files):
                image = f"captcha{index}{path.suffix}"
                shutil.copy(path, host / image)
                (host / "index.html").write_text(HOST_PAGE.format(image=image, solver=server.url, model=model))
                start = time.perf_counter()
                page.goto(f"{host_server.url}/index.html?load={index}")
                outcome = None
                while outcome is None and time.perf_counter() - start < 120:
                    page.wait_for_timeout(50)
                    outcome = page.evaluate("window.__outcome")
                ms = (time.perf_counter() - start) * 1000
                filled = page.input_value("#captcha-answer")
                kind = outcome["kind"] if outcome else "timeout"
                loads.append({"file": path.name, "label": label, "outcome": kind, "filled": filled, "ms": ms,
                              "read": (outcome or {}).get("detail", {}).get("text"),
                              "confidence": (outcome or {}).get("detail", {}).get("confidence"),
                              "cpython": cpython[index].text, "cpython_confidence": cpython[index].confidence})
            browser.close()
    return summarise(loads)


def summarise(loads: list[dict]) -> dict:
    filled = [load for load in loads if load["outcome"] == "kcaptcha-solved"]
    return {"loads": len(loads), "filled": len(filled), "filled_right": sum(l["filled"] == l["label"] for l in filled),
            "filled_wrong": [l for l in filled if l["filled"] != l["label"]],
            "doubtful": [l for l in loads if l["outcome"] == "kcaptcha-doubtful"],
            "failed": [l for l in loads if l["outcome"] not in ("kcaptcha-solved", "kcaptcha-doubtful")],
            "differs_from_cpython": [l for l in loads if (l["read"] or "") != l["cpython"]],
            "cpython_right": sum(l["cpython"] == l["label"] for l in loads),
            "median_ms": statistics.median(l["ms"] for l in loads) if loads else None, "all": loads}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kcsolver.bench.form_loads", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", type=Path, help="labelled captchas (LABEL_anything.ext or labels.csv)")
    parser.add_argument("-n", type=int, default=100, help="page loads (one captcha each)")
    parser.add_argument("--model", default="auto", help="the widget's model attribute")
    parser.add_argument("--json", type=Path, help="write every load's record here")
    args = parser.parse_args(argv)
    report = run(args.folder, args.n, args.model)
    print(f"{args.folder.name}: {report['loads']} form loads, widget on {args.model}: filled {report['filled']} "
          f"(right {report['filled_right']}, wrong {len(report['filled_wrong'])}), doubtful (not filled) "
          f"{len(report['doubtful'])}, failed {len(report['failed'])}; median {report['median_ms']:.0f} ms from "
          f"navigation to the outcome; CPython reads {report['cpython_right']}/{report['loads']} right; the widget's "
          f"reading differs from CPython's on {len(report['differs_from_cpython'])}")
    for load in report["filled_wrong"] + report["doubtful"] + report["failed"] + report["differs_from_cpython"]:
        print(f"  {load['file']}: {load['outcome']}, widget read {load['read']!r} ({load['confidence']}), "
              f"CPython {load['cpython']!r} ({load['cpython_confidence']:.3f})")
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
