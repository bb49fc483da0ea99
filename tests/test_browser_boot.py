"""The vendored runtime boots in a Web Worker and talks to the page."""

import pytest

pytestmark = pytest.mark.browser


def test_info_reports_vendored_runtime(app_page):
    info = app_page.evaluate("kcsolver.info()")
    assert info["runtime"] == "pyodide"
    assert info["runtime_version"] == "0.27.7"
    assert info["python"] == "3.12.7"
    assert info["numpy"] == "2.0.2"
    assert info["backend"] in ("numpy", "webgl")  # "auto" picked the faster one for the default model
    probe = info["model_backend"]["probe_ms"]
    assert set(probe) == {"numpy", "webgl"} and info["backend"] == min(probe, key=probe.get)
    if info["backend"] == "webgl":  # the probe's own webgl runtime was kept, weights and all
        assert info["model_backend"]["weight_textures"] > 0
    assert info["webgl"]["available"] is True    # headless Chromium gives WebGL2 on SwiftShader
    assert info["default_model"].endswith("models/l2_digits/model.json")
    assert app_page.locator("#status").inner_text().startswith("Ready")


def test_round_trip_through_worker(app_page):
    result = app_page.evaluate("kcsolver.request('echo', {n: 3, s: 'héllo', list: [1, 2.5]})")
    assert result["echo"] == {"n": 3, "s": "héllo", "list": [1, 2.5]}
    assert result["python"] == "3.12.7"


def test_python_exception_is_readable(app_page):
    error = app_page.evaluate(
        "kcsolver.request('no-such-request', {}).then(() => null, (e) => ({message: e.message, traceback: e.traceback}))"
    )
    assert "ValueError" in error["message"] and "no-such-request" in error["message"]
    assert "Traceback (most recent call last)" in error["traceback"]
    panel = app_page.locator("#error")
    assert panel.is_visible()
    assert "no-such-request" in panel.inner_text()
