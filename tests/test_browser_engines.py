"""The same browser tests in all three engines: Chromium, Firefox ESR and WebKitGTK (Safari's engine).

What users meet first runs in each: the page's solve path (file input and `kcsolver.solve`, answers equal to
CPython's), the widget on a foreign origin, the offline reload, the worker's error path, and WebGL2 where
the engine offers it (the NumPy backend where it does not). Firefox also gets the hardening suite's fuzzed
worker requests. docs/browsers.md says which versions are tested and what differs between the engines.
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from conftest import FIXTURES, FUZZ_COUNTS, REAL, ROOT
from engines import ChromiumPage, FirefoxPage, WebKitPage, Xvfb
from helpers import StaticServer
from kcsolver import Solver
from test_browser_robustness import BROWSER_FUZZ, KEYS, REQUEST_TYPES, REVIVE, SCALARS, VALUES

pytestmark = [pytest.mark.browser, pytest.mark.timeout(900),
              pytest.mark.filterwarnings("ignore:setting remote_server_addr:DeprecationWarning")]  # selenium's own call

ENGINES = ["chromium", "firefox", "webkit"]
EXAMPLES = ROOT / "site" / "examples"
WIDGET_IMAGES = sorted((REAL / "l2_digits_png").glob("*.png"))[:1]


@pytest.fixture(scope="session")
def display():
    """One Xvfb display for every WebKit test of the session."""
    screen = Xvfb()
    yield screen.display
    screen.close()


def open_engine(request, name: str, language: str = "en-US"):
    if name == "chromium":
        return ChromiumPage(request.getfixturevalue("page"))
    if name == "firefox":
        return FirefoxPage(language)
    if name == "firefox-webgl":
        return FirefoxPage(language, display=request.getfixturevalue("display"))
    return WebKitPage(request.getfixturevalue("display"), language)


@pytest.fixture(params=ENGINES)
def engine(request):
    """A fresh browser of each engine (a fresh profile: no cache, no service worker)."""
    browser = open_engine(request, request.param)
    yield browser
    browser.close()


@pytest.fixture(scope="module")
def examples():
    """The page's example gallery and what CPython answers for each image."""
    entries = json.loads((EXAMPLES / "index.json").read_text())
    solvers = {}
    for entry in entries:
        solver = solvers.setdefault(entry["model"], Solver.load(entry["model"]))
        entry["cpython"] = solver.solve(EXAMPLES / entry["file"]).text
    return entries


def boot(browser, url: str) -> dict:
    browser.goto(url)
    browser.wait_until("window.kcsolver !== undefined")
    return browser.evaluate("kcsolver.ready")


def pick_file(browser, url: str, name: str) -> str:
    """The page's own file-input path: a File in #file and a `change` event, as a person picking it makes."""
    return browser.evaluate(f"""(async () => {{
        const blob = await (await fetch({json.dumps(url)})).blob();
        const transfer = new DataTransfer();
        transfer.items.add(new File([blob], {json.dumps(name)}, {{type: blob.type}}));
        const input = document.querySelector('#file');
        document.querySelector('#answer').textContent = '';
        input.files = transfer.files;
        input.dispatchEvent(new Event('change', {{bubbles: true}}));
        return true;
    }})()""")


def shown_answer(browser) -> str:
    browser.wait_until("document.querySelector('#answer').textContent.length > 0 && "
                       "document.body.dataset.state === 'ready' && !document.querySelector('#result').hidden")
    return browser.evaluate("document.querySelector('#answer').textContent")


def test_the_page_reads_every_example_like_cpython(engine, site_url, examples):
    info = boot(engine, site_url + "?nosw=1")
    assert info["runtime_version"] == "0.27.7" and info["backend"] in ("numpy", "webgl")
    for entry in examples:
        result = engine.evaluate(f"kcsolver.solve(await (await fetch('examples/{entry['file']}')).blob(), "
                                 f"{{model: {json.dumps(entry['model'])}}})")
        assert result["text"] == entry["cpython"], (engine.name, entry["file"], result)
    first = examples[0]
    engine.evaluate(f"document.querySelector('#model').value = {json.dumps(first['model'])}")
    pick_file(engine, f"examples/{first['file']}", first["file"])
    assert shown_answer(engine) == first["cpython"]


@pytest.fixture(params=ENGINES + ["firefox-webgl"])
def engine_or_gl(request):
    """Each engine, and Firefox once more with WebGL2 (llvmpipe on Xvfb)."""
    browser = open_engine(request, request.param)
    yield browser
    browser.close()


def test_webgl2_where_the_engine_offers_it_and_numpy_where_not(engine_or_gl, site_url, server):
    engine = engine_or_gl
    boot(engine, site_url + "?nosw=1")
    info = engine.evaluate("kcsolver.request('info')")  # probes WebGL2 (the boot's info leaves it unprobed)
    x = np.load(FIXTURES / "cnn_basic" / "input.npy")
    expected = np.load(FIXTURES / "cnn_basic" / "expected_layers.npy")
    url = f"{server.url}/fixtures/cnn_basic/layers/model.json"
    result = engine.evaluate(f"""kcsolver.predict({json.dumps(url)}, new Float32Array({json.dumps(x.ravel().tolist())}),
        {json.dumps(list(x.shape))}, {{backend: 'webgl'}}).then(r => ({{data: Array.from(r.data), shape: r.shape,
        backend: r.backend, reason: r.fallbackReason}}))""")
    actual = np.array(result["data"], np.float32).reshape(result["shape"])
    assert float(np.abs(actual - expected).max()) <= 1e-4 * max(float(np.abs(expected).max()), 1e-6)
    if info["webgl"]["available"]:
        assert result["backend"] == "webgl", (engine.name, result["reason"])
    else:
        assert result["backend"] == "numpy" and "webgl unavailable" in result["reason"], (engine.name, result)
    print(f"{engine.name}: webgl2 in the worker: {info['webgl']['available']}")
    if engine.name in ("chromium", "firefox-webgl"):  # SwiftShader and llvmpipe: the webgl backend must run here
        assert info["webgl"]["available"], info["webgl"]


def host_page(solver_url: str) -> str:
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>host</title></head><body>
<form action="/submitted" method="post">
  <img id="captcha-img" src="captcha0.png" alt="captcha">
  <input id="captcha-answer" name="keystring" type="text">
</form>
<script type="module" src="{solver_url}/app/widget.js"></script>
<kcaptcha-solver for="#captcha-img" input="#captcha-answer" model="l2_digits"></kcaptcha-solver>
</body></html>"""


def test_the_widget_fills_a_form_on_another_site(engine, server, tmp_path):
    expected = Solver.load("l2_digits").solve(WIDGET_IMAGES[0]).text
    shutil.copy(WIDGET_IMAGES[0], tmp_path / "captcha0.png")
    (tmp_path / "host.html").write_text(host_page(server.url))
    with StaticServer(tmp_path) as host:
        # Another site, not just another origin: the widget's frame is third-party there, with partitioned
        # storage (Chromium here refuses it Cache Storage altogether, and it runs without).
        host_url = host.url.replace("127.0.0.1", "localhost")
        engine.goto(f"{host_url}/host.html")
        filled = engine.wait_until("document.querySelector('#captcha-answer').value", timeout_s=120)
        assert filled == expected, engine.name
        assert engine.evaluate("location.pathname") == "/host.html"  # nothing was submitted


def test_an_offline_reload_still_solves(engine, dist_dir):
    """Served by a server of its own, which is then shut down: the reload comes from the service worker."""
    image = np.asarray(Image.open(EXAMPLES / "l2_digits_0.png").convert("RGBA"))
    expected = Solver.load("l2_digits").solve(EXAMPLES / "l2_digits_0.png").text
    solve_pixels = (f"kcsolver.solve(new ImageData(new Uint8ClampedArray({json.dumps(image.ravel().tolist())}), "
                    f"{image.shape[1]}, {image.shape[0]}), {{model: 'l2_digits'}}).then(r => r.text)")
    with StaticServer(dist_dir.parent) as own:
        url = f"{own.url}/app/"
        boot(engine, url)
        assert engine.evaluate(solve_pixels) == expected
        engine.evaluate("navigator.serviceWorker.ready.then(() => true)")
        if not engine.evaluate("navigator.serviceWorker.controller !== null"):
            engine.reload()  # the first visit installs the service worker; it controls the page from the next load
            engine.wait_until("window.kcsolver !== undefined")
            engine.evaluate("kcsolver.ready")
        assert engine.evaluate("navigator.serviceWorker.controller !== null"), engine.name
    # The server is gone: nothing answers on its port any more.
    engine.reload()
    engine.wait_until("window.kcsolver !== undefined")
    engine.evaluate("kcsolver.ready")
    assert engine.evaluate(solve_pixels) == expected, engine.name


def test_the_worker_error_path_is_clear_and_the_page_survives(engine, site_url, server):
    boot(engine, site_url + "?nosw=1")
    missing = f"{server.url}/app/models/nothing-here/model.json"
    message = engine.evaluate(f"kcsolver.predict({json.dumps(missing)}, new Float32Array(4), [1, 2, 2, 1])"
                              ".then(() => 'no error', (e) => e.message)")
    assert "404" in message and "nothing-here" in message, (engine.name, message)
    python_error = engine.evaluate("kcsolver.request('solve', {image: {width: 3}}).then(() => 'no error', (e) => e.message)")
    assert python_error.startswith("kcsolver.errors."), (engine.name, python_error)
    # A file that is not an image: the page's error panel says so, and the next image is read.
    engine.evaluate("""(() => {
        const transfer = new DataTransfer();
        transfer.items.add(new File(['hello'], 'notes.txt', {type: 'text/plain'}));
        const input = document.querySelector('#file');
        input.files = transfer.files;
        input.dispatchEvent(new Event('change', {bubbles: true}));
        return true;
    })()""")
    shown = engine.wait_until("!document.querySelector('#error').hidden && document.querySelector('#error-message').textContent")
    assert "not an image" in shown, (engine.name, shown)
    engine.evaluate("document.querySelector('#model').value = 'l2_digits'")
    pick_file(engine, "examples/l2_digits_0.png", "l2_digits_0.png")
    assert shown_answer(engine) == Solver.load("l2_digits").solve(EXAMPLES / "l2_digits_0.png").text


@pytest.fixture(scope="module")
def firefox_page(site_url):
    browser = FirefoxPage()
    boot(browser, site_url + "?nosw=1")
    yield browser
    browser.close()


@BROWSER_FUZZ
@given(kind=st.sampled_from(REQUEST_TYPES), payload=st.one_of(SCALARS, st.dictionaries(st.sampled_from(KEYS), VALUES)))
def test_nonsense_worker_requests_get_kcsolver_errors_in_firefox(firefox_page, kind, payload):
    FUZZ_COUNTS["worker requests (firefox)"] = FUZZ_COUNTS.get("worker requests (firefox)", 0) + 1
    outcome = firefox_page.evaluate(f"""(() => {{
        {REVIVE}
        const request = kcsolver.request({json.dumps(kind)}, revive({json.dumps(payload)})).then(() => 'ok', (e) => e.message);
        return Promise.race([request, new Promise((r) => setTimeout(() => r('hang'), 60000))]);
    }})()""")
    assert outcome == "ok" or outcome.startswith("kcsolver.errors."), (kind, json.dumps(payload)[:300], outcome)


def test_firefox_still_solves_after_the_fuzzing(firefox_page):
    blank = "{data: new Uint8Array(160 * 60 * 4).fill(255), width: 160, height: 60}"
    result = firefox_page.evaluate(f"kcsolver.request('solve', {{modelUrl: new URL('models/kcaptcha/model.json', "
                                   f"document.baseURI).href, image: {blank}}})")
    assert result["reason"].startswith("no captcha text found")


def test_the_simd_matrix_product_installs_in_every_engine(engine, site_url, examples):
    """WebAssembly SIMD and Pyodide's dynamic loading in each engine: the product is installed once idle,
    and an example still reads as under CPython."""
    boot(engine, site_url + "?nosw=1")
    status = engine.wait_until("kcsolver.request('boot-cache-status').then(s => s.gemm)", timeout_s=120)
    assert status == "wasm-simd128", (engine.name, status)
    first = examples[0]
    result = engine.evaluate(f"kcsolver.solve(await (await fetch('examples/{first['file']}')).blob(), "
                             f"{{model: {json.dumps(first['model'])}, backend: 'numpy'}})")
    assert result["text"] == first["cpython"], (engine.name, result)


def test_the_boot_snapshot_with_numpy_restores_in_every_engine(engine, site_url, examples):
    """The patched loader's replay of NumPy's side modules (site/snapshot.js) in each engine: the snapshot is
    made, a new worker restores it without importing NumPy again, and an example reads as under CPython.
    The new worker comes from a restart in the same page (a provoked fatal error): WebKitGTK's automation
    session keeps no Cache Storage across page loads (docs/startup.md), so a reload would test nothing there;
    a reload's restore is tested in Chromium (test_site.py, test_widget.py)."""
    boot(engine, site_url + "?nosw=1")
    made = engine.evaluate("kcsolver.request('make-boot-cache').then(() => kcsolver.request('boot-cache-status'))")
    assert (made["cache"], made["snapshot"]) == ("made", "numpy"), (engine.name, made)
    # WebKitGTK's automation session stores Cache Storage in memory and drops an origin's caches once no
    # context has them open (a reload loses even a 1 MB entry): the page holds them open across the restart.
    engine.evaluate("caches.open('kcsolver-boot').then((cache) => { window.heldBootCache = cache; return true; })")
    error = engine.evaluate("kcsolver.request('debug-fatal').then(() => null, (e) => e.message)")
    assert "was restarted" in error, (engine.name, error)
    engine.wait_until("document.querySelector('#status').textContent.startsWith('Ready again')")
    status = engine.evaluate("kcsolver.request('boot-cache-status')")
    assert (status["cache"], status["snapshot"]) == ("restored", "numpy"), (engine.name, status)
    first = examples[0]
    result = engine.evaluate(f"kcsolver.solve(await (await fetch('examples/{first['file']}')).blob(), "
                             f"{{model: {json.dumps(first['model'])}}})")
    assert result["text"] == first["cpython"], (engine.name, result)
