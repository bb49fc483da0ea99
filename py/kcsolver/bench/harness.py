"""Our engine against TensorFlow.js in the same headless Chromium; cold/warm starts; CPython throughput.

    python -m kcsolver.bench [--quick] [--starts] [--solve] [--webgl] [--profile] [--json OUT] [--repeat N] [MODEL_JSON ...]

Builds a fresh dist/ (vendored runtime), serves it and npm's TF.js 4.22 on
127.0.0.1, and measures in one browser:
  * warm latency (median/min/max of N predictions after warm-up) of every
    shipped solver, shared fixture and given model.json: ours (numpy with NumPy's
    matrix products, numpy+simd with the SIMD one the worker installs once idle, and
    webgl, in the worker; time measured in Python around predict, outputs read
    back) and TF.js (cpu, wasm, webgl; time around predict + data());
  * start-up as users meet it, served the way GitHub Pages serves (gzip, max-age
    600, ETags): navigation to first answer and bytes on the wire for a first
    visit, a return visit through the service worker (same profile, nothing
    disabled) and a return visit with the HTTP cache only (service workers
    blocked); for the page and for the widget on a host page of another origin;
    unthrottled and at 10 Mbit/s / 40 ms; plus a page shaped like the public
    TF.js demo (TF.js + DenseNet121) for comparison. `--starts` runs only these;
    each row: metric (first_visit, return_visit_sw, return_visit_http_cache,
    `_10Mbit/40ms` when throttled), engine, target, ms, bytes;
  * in-browser solve: Python's time per real captcha (decoding and second
    look included) in the worker, each real dev folder read by its own solver
    and by the automatic choice (which reads a classic image twice: bundle,
    then specialist), numpy, numpy+simd and webgl, interleaved. `--solve` runs only these;
  * CPython: Solver.solve images per second on the shared real samples.
Prints markdown tables; --json writes the records. Figures, never assertions.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from ..devserver import Link, StaticServer
from .densenet import build_densenet121

ROOT = Path(__file__).resolve().parents[3]
SHARED = Path(os.environ.get("KCSOLVER_SHARED", ROOT.parent / "shared"))  # as tests/conftest.py
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run", "--enable-unsafe-swiftshader"]
THROTTLE = {"bits_per_second": 10e6, "latency_ms": 40}  # the throttled start-up rows' connection
SOLVERS = ("kcaptcha",)  # the shipped bundle: one network behind every built-in solver
# real dev folder -> the built-in solver of its configuration (the in-browser solve rows)
FOLDER_SOLVERS = {"l2_digits_png": "l2_digits", "digits_l4_6_png": "digits", "stock23_jpg": "stock23",
                  "stock20_true_png": "stock23", "classic126_jpg": "classic"}


def boot_marks(boot: dict | None) -> str:
    """The worker's boot marks as one cell: 'python 547, checked 680, model 710 (restored; snapshot numpy)'."""
    if not boot:
        return ""
    marks = ", ".join(f"{name} {value}" for name, value in boot.items() if isinstance(value, (int, float)))
    cache = boot.get("cache") or ""
    snapshot = f"; snapshot {boot['snapshot']}" if boot.get("snapshot") else ""
    return f"{marks} ({cache}{snapshot})".replace("|", "/")


def part_of(path: str) -> str:
    if "/models/" in path:
        return "model"
    if path.endswith(".whl"):
        return "packages"
    if "/pyodide/" in path:
        return "runtime"
    return "site"


class Bench:
    def __init__(self, args):
        self.args = args
        self.records: list[dict] = []
        self.profiles: list[tuple[str, str, dict]] = []

    def add(self, **record):
        self.records.append(record)
        return record

    # ------------------------------------------------------------ browser
    def run(self):
        from playwright.sync_api import sync_playwright

        sys.path.insert(0, str(ROOT))
        import build

        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            dist = build.build(tmp / "site" / "app", "vendored")
            densenet = build_densenet121(tmp / "densenet121")
            roots = {"/node_modules/": ROOT / "node_modules", "/bench/": Path(__file__).parent / "pages",
                     "/fixtures/": SHARED / "fixtures" / "tfjs", "/densenet121/": densenet.parent, "/extra/": Path("/"),
                     "/real/": SHARED / "kcaptcha-real-dev"}
            with StaticServer(dist.parent, roots) as server, sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_FLAGS)
                self.browser_version = browser.version
                self.server = server
                only = self.args.starts or self.args.webgl or self.args.latency or self.args.solve
                if not only or self.args.webgl or self.args.latency:
                    self.warm_latency(browser, server, densenet)
                if not only or self.args.solve:
                    self.solve_latency(browser, server)
                if not only or self.args.starts:
                    self.start_times(browser, server, densenet)
                browser.close()
        if not only:
            self.cpython_throughput()

    def models(self, server, densenet):
        models = []
        for name in SOLVERS if not self.args.quick else SOLVERS[:1]:
            models.append((name, f"{server.url}/app/models/{name}/model.json"))
        if self.args.webgl:
            models.append(("densenet121", f"{server.url}/densenet121/model.json"))
        elif not (self.args.quick or self.args.latency):
            for folder in sorted((SHARED / "fixtures" / "tfjs").iterdir()):
                for variant in ("layers", "graph"):
                    if (folder / variant / "model.json").exists():
                        models.append((f"{folder.name}/{variant}", f"{server.url}/fixtures/{folder.name}/{variant}/model.json"))
            models.append(("densenet121", f"{server.url}/densenet121/model.json"))
        for path in self.args.models:
            models.append((path, f"{server.url}/extra{Path(path).resolve()}"))
        return models

    def input_shape(self, url):
        from ..model import load_model

        shape = load_model(url).inputs[0].shape
        return [1, *[d for d in shape[1:]]]

    # Our backends as the bench names them: "numpy" with NumPy's own matrix products, "numpy+simd" with the
    # SIMD matrix product (native/gemm_simd128.c) the worker installs once idle, and "webgl".
    OURS = ["numpy", "numpy+simd", "webgl"]

    def ready_for_bench(self, page) -> list[str]:
        """Waits for the page to boot and finish its idle work (the SIMD product installed, or not: the bench
        then says why and leaves "numpy+simd" out); returns our backends to time (--quick: the CPU ones;
        the per-op profile takes every one available)."""
        page.evaluate("kcsolver.ready")
        gemm = None
        for _ in range(600):
            gemm = page.evaluate("kcsolver.request('boot-cache-status').then(s => s.gemm)")
            if gemm:
                break
            page.wait_for_timeout(100)
        if gemm != "wasm-simd128":
            print(f"bench: no numpy+simd rows: the matrix product is {gemm}", file=sys.stderr)
        self.available = self.OURS if gemm == "wasm-simd128" else [b for b in self.OURS if b != "numpy+simd"]
        return [b for b in self.available if b != "webgl"] if self.args.quick else self.available

    @staticmethod
    def use(page, label: str) -> str:
        """Switch the worker to one of OURS; returns the backend to ask predict/solve for."""
        if label != "webgl":
            page.evaluate("(kind) => kcsolver.request('gemm', {use: kind})",
                          "wasm-simd128" if label == "numpy+simd" else "numpy")
        return "webgl" if label == "webgl" else "numpy"

    def warm_latency(self, browser, server, densenet):
        """Every engine and backend measured in interleaved rounds, so drift (other load, SwiftShader's JIT,
        thermal) spreads over all of them instead of favouring whichever ran first."""
        repeat = 3 if self.args.quick else self.args.repeat
        warmup = 1 if self.args.quick else 3
        rounds = 1 if self.args.quick else 5
        context = browser.new_context()
        ours = context.new_page()
        ours.goto(server.url + "/app/?nosw=1")
        backends = self.ready_for_bench(ours)
        peer = context.new_page()
        peer.goto(server.url + "/bench/tfjs.html")
        blocks = [("kcsolver", b) for b in backends]
        blocks += [("tfjs", b) for b in (["cpu"] if self.args.quick else ["wasm", "webgl", "cpu"])]
        if self.args.webgl:
            blocks = [("kcsolver", "webgl"), ("tfjs", "webgl")]
        for name, url in self.models(server, densenet):
            runs = max(3, repeat // 4) if name == "densenet121" else repeat  # seconds per prediction there
            shape = self.input_shape(url)
            data = np.random.default_rng(0).random(int(np.prod(shape))).astype(np.float32).tolist()
            samples: dict[tuple, list] = {block: [] for block in blocks}
            errors: dict[tuple, str] = {}
            for round_index in range(rounds):
                per_round = max(1, runs // rounds)
                first = warmup if round_index == 0 else 1  # a backend switch costs one run
                for engine, backend in blocks:
                    if (engine, backend) in errors or (name == "densenet121" and backend == "cpu"):
                        continue  # cpu: minutes per DenseNet prediction, not informative
                    if engine == "kcsolver":
                        chosen = self.use(ours, backend)
                        times = [ours.evaluate("([u, d, s, b]) => kcsolver.predict(u, new Float32Array(d), s, "
                                               "{backend: b}).then(r => r.ms)", [url, data, shape, chosen])
                                 for _ in range(first + per_round)][first:]
                    else:
                        try:
                            times = peer.evaluate("([u, s, b, r, w]) => tfBench(u, s, b, r, w)",
                                                  [url, shape, backend, per_round, first])["samples"]
                        except Exception as exc:  # TF.js refuses some files (e.g. mobile_mix layers)
                            errors[(engine, backend)] = str(exc).splitlines()[0][:200]
                            continue
                    samples[(engine, backend)] += times
            for (engine, backend), times in samples.items():
                if (engine, backend) in errors:
                    self.add(engine=engine, backend=backend, model=name, median_ms=None, error=errors[(engine, backend)])
                elif times:
                    self.add(engine=engine, backend=backend, model=name, median_ms=statistics.median(times),
                             min_ms=min(times), max_ms=max(times), repeat=len(times))
            if self.args.profile and name in SOLVERS + ("densenet121",):
                self.profile(ours, name, url, shape, data, self.available)
        context.close()

    def solve_latency(self, browser, server):
        """Real captchas solved in the worker as the page solves them (window.kcsolver.solve): each folder
        by its own solver and by "auto", on each backend, in interleaved rounds over the same images."""
        images_per_round, rounds = (2, 1) if self.args.quick else (4, 3)
        context = browser.new_context()
        page = context.new_page()
        page.goto(server.url + "/app/?nosw=1")
        backends = self.ready_for_bench(page)
        solve = ("async ([url, model, backend]) => { const blob = await (await fetch(url)).blob(); "
                 "const r = await kcsolver.solve(blob, {model, backend}); return [r.ms, r.solver]; }")
        for folder, preset in FOLDER_SOLVERS.items():
            files = sorted(p.name for p in (SHARED / "kcaptcha-real-dev" / folder).iterdir() if p.suffix != ".csv")
            urls = [f"{server.url}/real/{folder}/{name}" for name in files[:images_per_round * rounds]]
            blocks = [(model, backend) for model in (preset, "auto") for backend in backends]
            samples: dict[tuple, list] = {block: [] for block in blocks}
            chosen: dict[tuple, set] = {block: set() for block in blocks}
            for model, backend in blocks:  # warm-up: model load, backend switch, first compile
                page.evaluate(solve, [urls[0], model, self.use(page, backend)])
            for round_index in range(rounds):
                for model, backend in blocks:
                    chosen_backend = self.use(page, backend)
                    for url in urls[round_index * images_per_round:(round_index + 1) * images_per_round]:
                        ms, solver = page.evaluate(solve, [url, model, chosen_backend])
                        block = (model, backend)
                        samples[block].append(ms)
                        chosen[block].add(solver)
            for (model, backend), times in samples.items():
                self.add(engine="kcsolver", backend=backend, model=model, folder=folder, solve_ms=statistics.median(times),
                         min_ms=min(times), max_ms=max(times), repeat=len(times),
                         answered_as=",".join(sorted(chosen[(model, backend)])))
        context.close()

    def profile(self, page, name, url, shape, data, backends, repeat=5):
        """Per-op time of our backends (each op waits for the device): where time goes."""
        for backend in backends:
            totals: dict[str, float] = {}
            chosen = self.use(page, backend)
            for _ in range(repeat):
                steps = page.evaluate("([u, d, s, b]) => kcsolver.request('profile', {modelUrl: u, "
                                      "data: new Float32Array(d), shape: s, backend: b})", [url, data, shape, chosen])
                for index, (op, ms) in enumerate(steps["steps"]):
                    totals[f"{index:02d} {op}"] = totals.get(f"{index:02d} {op}", 0.0) + ms / repeat
            self.profiles.append((name, backend, totals))

    # ------------------------------------------------------------ start-up, as users meet it
    HOST_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>a host page</title></head><body>
<form><img id="captcha-img" src="captcha.png" alt="captcha"> <input id="captcha-answer" name="keystring"></form>
<script type="module" src="{solver}/app/widget.js"></script>
<kcaptcha-solver for="#captcha-img" input="#captcha-answer"></kcaptcha-solver></body></html>"""

    # Notes, by the page's own clock (ms since navigation started), when the answer appears: the page's
    # result panel unhidden, or the `input` event of the field the widget fills. Playwright's round trips
    # (setting the file, polling for the answer) are left out of this figure; the harness's is kept too.
    ANSWER_CLOCK = """(() => {
        const note = () => { if (window.__kcsolverAnswerAt === undefined) window.__kcsolverAnswerAt = performance.now(); };
        document.addEventListener("input", (event) => {  // not the page's file input, which the harness sets
            if (event.target?.type !== "file" && event.target?.value) note();
        }, true);
        new MutationObserver(() => { if (document.querySelector("#result")?.hidden === false) note(); })
            .observe(document, { subtree: true, attributes: true, attributeFilter: ["hidden"] });
    })();"""

    def visit(self, context, url, answer, throttle):
        """One navigation to the first answer on a fresh tab: (ms, page ms, bytes on the wire, page), page ms
        by the page's own clock (None where no answer appeared in the page, e.g. the TF.js demo page)."""
        page = context.new_page()
        page.add_init_script(self.ANSWER_CLOCK)
        # The servers themselves are the slow link (one for both, as one connection of the visitor's):
        # DevTools' emulation would leave the widget's worker, in a cross-origin iframe, unthrottled.
        link = Link(**THROTTLE) if throttle else None
        self.server.link = self.host_server.link = link
        marks = len(self.server.log), len(self.host_server.log)
        start = time.perf_counter()
        page.goto(url)
        answer(page)
        ms = (time.perf_counter() - start) * 1000
        answered = page.evaluate("window.__kcsolverAnswerAt")
        sizes = sum(size for _, size in self.server.log[marks[0]:]) + sum(size for _, size in self.host_server.log[marks[1]:])
        return ms, round(answered) if answered is not None else None, sizes, page

    @staticmethod
    def solver_frame(page):
        return next((f for f in page.frames if f.url.split("?")[0].endswith("/embed.html")), page.main_frame)

    def boot_of(self, page) -> dict | None:
        """The worker's boot marks, cache and snapshot kind (info().boot) of the page's solver."""
        return self.solver_frame(page).evaluate("window.kcsolver?.info?.()?.boot || window.kcsolverEmbed?.boot() || null")

    def settle(self, page, service_worker: bool):
        """Wait for what a visit leaves behind once idle: the boot cache, or the worker's word that it cannot
        make one (a widget on another site gets no Cache Storage in Chromium), and the service worker."""
        frame = self.solver_frame(page)
        check = """async (serviceWorker) => {
            const status = await (window.kcsolver?.request('boot-cache-status')
                                  || window.kcsolverEmbed.bootCacheStatus());
            if (status.cache !== 'made' && !status.cache.startsWith('not made')) return false;
            if (!serviceWorker || status.cache.startsWith('not made') || !navigator.serviceWorker) return true;
            return Boolean((await navigator.serviceWorker.getRegistration().catch(() => null))?.active);
        }"""
        for _ in range(240):
            if frame.evaluate(check, service_worker):
                return
            page.wait_for_timeout(500)
        print(f"warning: no boot cache after 120 s on {page.url}", file=sys.stderr)

    def start_rows(self, browser, target, url, answer, throttle, suffix):
        """first_visit and return_visit_sw (one profile, nothing disabled), return_visit_http_cache (service
        workers blocked): navigation to first answer and bytes on the wire, per target."""
        for service_worker in (True, False):
            context = browser.new_context(service_workers="allow" if service_worker else "block")
            ms, page_ms, size, page = self.visit(context, url, answer, throttle)
            if service_worker:
                self.add(engine="kcsolver", target=target, metric="first_visit" + suffix, ms=ms, page_ms=page_ms,
                         bytes=size)
            self.settle(page, service_worker)
            page.close()
            ms, page_ms, size, page = self.visit(context, url, answer, throttle)
            metric = "return_visit_sw" if service_worker else "return_visit_http_cache"
            boot = self.boot_of(page)
            self.add(engine="kcsolver", target=target, metric=metric + suffix, ms=ms, page_ms=page_ms, bytes=size,
                     **({"boot": boot} if boot else {}))
            context.close()

    def start_times(self, browser, server, densenet):
        sample = next(iter(sorted((SHARED / "kcaptcha-real-dev" / "l2_digits_png").glob("*.png"))))

        def page_answer(page):
            page.set_input_files("#file", str(sample))
            page.wait_for_selector("#result:not([hidden])", timeout=300_000)

        def widget_answer(page):
            page.wait_for_function("document.querySelector('#captcha-answer').value.length > 0", timeout=300_000)

        def demo(page):
            page.evaluate(f"tfDemoStart('{server.url}/densenet121/model.json', [1, 60, 160, 3], 'webgl')")

        with tempfile.TemporaryDirectory() as host_dir:
            shutil.copy(sample, Path(host_dir) / "captcha.png")
            # The host page on another origin (another port), as a real embedding site would be.
            (Path(host_dir) / "index.html").write_text(self.HOST_PAGE.format(solver=server.url))
            with StaticServer(host_dir) as host_server:
                self.host_server = host_server
                host_url = host_server.url + "/index.html"
                throttles = [False] if self.args.quick else [False, True]
                for throttle in throttles:
                    suffix = "_10Mbit/40ms" if throttle else ""
                    self.start_rows(browser, "page", server.url + "/app/", page_answer, throttle, suffix)
                    self.start_rows(browser, "widget", host_url, widget_answer, throttle, suffix)
                    # The host on another *site* (localhost against 127.0.0.1), as the widget's users meet it:
                    # each host page load boots the solver afresh, with whatever storage the browser grants its frame.
                    self.start_rows(browser, "widget, host on another site", host_url.replace("127.0.0.1", "localhost"),
                                    widget_answer, throttle, suffix)
                    if self.args.quick:
                        continue
                    context = browser.new_context()
                    ms, _, size, page = self.visit(context, server.url + "/bench/tfjs.html", demo, throttle)
                    self.add(engine="tfjs", target="demo-shaped page (DenseNet121)", metric="first_visit" + suffix,
                             ms=ms, bytes=size)
                    page.close()
                    ms, _, size, page = self.visit(context, server.url + "/bench/tfjs.html", demo, throttle)
                    self.add(engine="tfjs", target="demo-shaped page (DenseNet121)",
                             metric="return_visit_http_cache" + suffix, ms=ms, bytes=size)
                    context.close()

    # ------------------------------------------------------------ CPython
    def cpython_throughput(self):
        from ..captcha import Solver

        real = SHARED / "kcaptcha-real-dev"
        pairs = [("l2_digits", "l2_digits_png")] if self.args.quick else [
            ("l2_digits", "l2_digits_png"), ("digits", "digits_l4_6_png"), ("stock23", "stock23_jpg"),
            ("stock23", "stock20_true_png"), ("classic", "classic126_jpg"), ("auto", "stock23_jpg")]
        for model, folder in pairs:
            solver = Solver.load(model)
            files = sorted(p for p in (real / folder).iterdir() if p.suffix != ".csv")
            files = files[:20] if self.args.quick else files
            solver.solve(files[0])
            start = time.perf_counter()
            for path in files:
                solver.solve(path)
            elapsed = time.perf_counter() - start
            self.add(engine="kcsolver", backend="numpy-cpython", model=model, metric=f"solve_{folder}",
                     ms=elapsed * 1000 / len(files), images_per_second=len(files) / elapsed)

    # ------------------------------------------------------------ report
    def markdown(self) -> str:
        lines = [f"Machine: {platform.machine()}, {self.cpu()}, Chromium {getattr(self, 'browser_version', '?')} "
                 "(WebGL on SwiftShader), CPython " + platform.python_version()]
        if any("median_ms" in r for r in self.records):
            lines += ["", "| model | engine | backend | median ms | min ms | max ms |", "| --- | --- | --- | ---: | ---: | ---: |"]
        for r in self.records:
            if "median_ms" in r:
                value = "failed: " + r.get("error", "") if r["median_ms"] is None else f"{r['median_ms']:.2f}"
                extra = "" if r["median_ms"] is None else f" {r['min_ms']:.2f} | {r['max_ms']:.2f} |"
                lines.append(f"| {r['model']} | {r['engine']} | {r['backend']} | {value} |{extra}")
        latency = {(r["model"], r["engine"], r["backend"]): r["median_ms"] for r in self.records if "median_ms" in r}
        ratios = [(model, ms / latency[(model, "tfjs", "webgl")]) for (model, engine, backend), ms in latency.items()
                  if engine == "kcsolver" and backend == "webgl" and ms and latency.get((model, "tfjs", "webgl"))]
        if ratios:
            lines += ["", "| model | ours webgl / TF.js webgl (medians) |", "| --- | ---: |"]
            lines += [f"| {model} | {ratio:.2f}x |" for model, ratio in ratios]
        cpu_ratios = [(model, [latency.get((model, "kcsolver", b)) for b in ("numpy", "numpy+simd")],
                       latency[(model, "tfjs", "wasm")]) for model, engine, backend in latency
                      if engine == "tfjs" and backend == "wasm" and latency[(model, engine, backend)]]
        if cpu_ratios:
            lines += ["", "| model | ours numpy / TF.js wasm | ours numpy+simd / TF.js wasm (medians) |", "| --- | ---: | ---: |"]
            lines += [f"| {model} | " + " | ".join(f"{ms / wasm:.2f}x" if ms else "-" for ms in ours) + " |"
                      for model, ours, wasm in cpu_ratios]
        for model, backend, totals in self.profiles:
            if len(totals) > 30:  # a large graph: one row per op type
                by_op: dict[str, list] = {}
                for step, ms in totals.items():
                    entry = by_op.setdefault(step.split(" ", 1)[1], [0, 0.0])
                    entry[0] += 1
                    entry[1] += ms
                rows = [f"| {op} x{count} | {ms:.2f} |" for op, (count, ms) in sorted(by_op.items(), key=lambda kv: -kv[1][1])]
            else:
                rows = [f"| {step} | {ms:.2f} |" for step, ms in totals.items()]
            lines += ["", f"Per-op time, ours, {model} on {backend} (each op waits for the device; mean of 5):", "",
                      "| step | ms |", "| --- | ---: |", *rows, f"| total | {sum(totals.values()):.2f} |"]
        solves = [r for r in self.records if "solve_ms" in r]
        if solves:
            lines += ["", "In-browser solve: Python's time per real captcha in the worker (second look included)", "",
                      "| folder | solver | answered as | backend | median ms | min ms | max ms | n |",
                      "| --- | --- | --- | --- | ---: | ---: | ---: | ---: |"]
            lines += [f"| {r['folder']} | {r['model']} | {r['answered_as']} | {r['backend']} | {r['solve_ms']:.1f} | "
                      f"{r['min_ms']:.1f} | {r['max_ms']:.1f} | {r['repeat']} |" for r in solves]
        starts = [r for r in self.records if "target" in r]
        if starts:
            lines += ["", "Start-up: navigation to first answer (ms: the harness's clock, Playwright's round trips "
                      "included; page ms: the page's own clock, navigation start to the answer shown or filled), bytes "
                      "on the wire (gzip as GitHub Pages sends it); the worker's boot marks (ms since the worker "
                      "started) where it reported them", "",
                      "| metric | engine | target | ms | page ms | bytes | boot marks |",
                      "| --- | --- | --- | ---: | ---: | ---: | --- |"]
            lines += [f"| {r['metric']} | {r['engine']} | {r['target']} | {r['ms']:.0f} | {r.get('page_ms') or '-'} | "
                      f"{r['bytes']:,} | {boot_marks(r.get('boot'))} |" for r in starts]
        throughput = [r for r in self.records if "images_per_second" in r]
        if throughput:
            lines += ["", "| metric | engine | model | ms per image | images/s |", "| --- | --- | --- | ---: | ---: |"]
            lines += [f"| {r['metric']} | {r['engine']} | {r['model']} | {r['ms']:.1f} | {r['images_per_second']:.1f} |"
                      for r in throughput]
        return "\n".join(lines)

    @staticmethod
    def cpu() -> str:
        try:
            for line in Path("/proc/cpuinfo").read_text().splitlines():
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
        except OSError:
            pass
        return platform.processor()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kcsolver.bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("models", nargs="*", help="extra model.json files to measure")
    parser.add_argument("--quick", action="store_true", help="one small model, few repetitions, no throttling")
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--json", type=Path, help="write the records here")
    parser.add_argument("--profile", action="store_true", help="also print per-op times of ours on the solvers")
    parser.add_argument("--starts", action="store_true",
                        help="only the start-up rows: first visit, return visits (service worker / HTTP cache), "
                             "unthrottled and at 10 Mbit/s / 40 ms, for the page and the widget on a host page")
    parser.add_argument("--latency", action="store_true",
                        help="only the warm latency of the shipped solvers and the given models, every backend "
                             "(e.g. a new network against an old one's model.json, side by side)")
    parser.add_argument("--solve", action="store_true",
                        help="only the in-browser solve of real captchas: each folder by its solver and by auto")
    parser.add_argument("--webgl", action="store_true",
                        help="only ours-webgl against TF.js-webgl on the solvers and DenseNet121 (issue 4's figures)")
    args = parser.parse_args(argv)
    bench = Bench(args)
    bench.run()
    print(bench.markdown())
    if args.json:
        args.json.write_text(json.dumps(bench.records, indent=1))
    return 0
