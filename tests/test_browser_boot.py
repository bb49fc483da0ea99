"""The vendored runtime boots in a Web Worker and talks to the page."""

import pytest

from helpers import shipped_specialists, wait_until

pytestmark = pytest.mark.browser


def test_info_reports_vendored_runtime(app_page):
    info = app_page.evaluate("kcsolver.info()")
    assert info["runtime"] == "pyodide"
    assert info["runtime_version"] == "0.27.7"
    assert info["python"] == "3.12.7"
    assert info["numpy"] == "2.0.2"
    assert info["backend"] == "numpy"  # the first answer comes on numpy; the best backend is chosen once idle
    # WebGL is not probed before the first answer (a context costs tens of ms; that answer comes on numpy);
    # asked for, it is: headless Chromium gives WebGL2 on SwiftShader
    assert info["webgl"]["available"] is None
    assert app_page.evaluate("kcsolver.request('info')")["webgl"]["available"] is True
    assert info["default_model"].endswith("models/kcaptcha/model.json")
    # "extensions": NumPy's extension modules were compiled ahead of `import numpy`
    assert set(info["boot"]) >= {"python", "extensions", "imports", "model", "cache"}
    assert app_page.locator("#status").inner_text().startswith("Ready")


def test_the_browser_path_needs_no_pillow(app_page):
    """Images arrive as pixels: nothing imports PIL, and the vendored site does not even carry it."""
    check = app_page.evaluate("""kcsolver.request('solve', {modelUrl: new URL('models/kcaptcha/model.json',
        document.baseURI).href, image: {data: new Uint8Array(160 * 60 * 4).fill(200), width: 160, height: 60}})""")
    # (the refusal's contrast check runs np.median, which imports numpy.ma: build.py's browser NumPy keeps it)
    assert check["reason"].startswith("no captcha text found")
    loaded = app_page.evaluate("kcsolver.request('loaded-modules')")
    assert "PIL" not in loaded and "micropip" not in loaded and "numpy" in loaded


def test_the_backend_is_chosen_once_idle_and_remembered(page, site_url):
    page.goto(site_url + "?nosw=1")
    page.evaluate("kcsolver.ready")
    status = wait_until(page, "kcsolver.request('boot-cache-status').then(s => s.backend)", 120)
    assert status.startswith("probed (")
    chosen = status[len("probed ("):-1]
    remembered = page.evaluate("""caches.open('kcsolver-settings').then(c => c.keys()).then(keys =>
        Promise.all(keys.map(k => caches.match(k).then(r => r.json()))))""")
    assert [r["backend"] for r in remembered] == [chosen] and set(remembered[0]["probe_ms"]) == {"numpy", "webgl"}
    assert chosen == min(remembered[0]["probe_ms"], key=remembered[0]["probe_ms"].get)
    # then the automatic solver, with every specialist network fetched and on the same backend
    prepared = wait_until(page, "kcsolver.request('boot-cache-status').then(s => s.solver)", 120)
    specialists = shipped_specialists()
    assert prepared == {"solver": "auto", "specialists": sorted(specialists), "backend": chosen}
    loaded = page.evaluate("kcsolver.request('info').then(i => i.models_loaded)")
    for folder in specialists.values():
        assert any(m.endswith(f"models/{folder}/model.json ({chosen})") for m in loaded), loaded
    page.reload()
    page.evaluate("kcsolver.ready")
    assert wait_until(page, "kcsolver.request('boot-cache-status').then(s => s.backend)", 120) == \
        f"remembered ({chosen})"
    assert page.evaluate("kcsolver.request('info').then(i => i.backend)") == chosen


def test_round_trip_through_worker(app_page):
    result = app_page.evaluate("kcsolver.request('echo', {n: 3, s: 'héllo', list: [1, 2.5]})")
    assert result["echo"] == {"n": 3, "s": "héllo", "list": [1, 2.5]}
    assert result["python"] == "3.12.7"


def test_python_exception_is_readable(app_page):
    error = app_page.evaluate(
        "kcsolver.request('no-such-request', {}).then(() => null, (e) => ({message: e.message, traceback: e.traceback}))"
    )
    assert "InputError" in error["message"] and "no-such-request" in error["message"]
    assert "Traceback (most recent call last)" in error["traceback"]
    panel = app_page.locator("#error")
    assert panel.is_visible()
    assert "no-such-request" in panel.inner_text()
