"""The SIMD matrix product under the NumPy kernels (native/gemm_simd128.c), in real Chromium.

Installed once idle after the first answer; the readings of the real dev folders and the networks' outputs
equal NumPy's own products'; a library that is missing, not a module, or wrong falls back to NumPy's with
the reason. (Speed: `python -m kcsolver.bench`, docs/benchmarks.md.)
"""

import json
import shutil
import subprocess

import numpy as np
import pytest

from conftest import FIXTURES, REAL, ROOT
from helpers import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.timeout(900)]

PER_FOLDER = 6


@pytest.fixture
def idle_page(page, site_url):
    """The page once the worker's idle work (the matrix product first) is done."""
    page.goto(site_url + "?nosw=1")
    wait_until(page, "window.kcsolver !== undefined")
    page.evaluate("kcsolver.ready")
    wait_until(page, "kcsolver.request('boot-cache-status').then(s => s.gemm)", timeout_s=120)
    return page


def gemm(page, payload):
    return page.evaluate("(payload) => kcsolver.request('gemm', payload)", payload)


def test_the_simd_product_is_installed_once_idle(idle_page):
    status = idle_page.evaluate("kcsolver.request('boot-cache-status')")
    assert status["gemm"] == "wasm-simd128", status
    state = idle_page.evaluate("kcsolver.request('info').then(i => i.gemm)")
    assert state["gemm"] == "wasm-simd128" and state["check_error"] <= 1e-5 and state["ms"] < state["numpy_ms"]


def test_real_captchas_read_the_same_with_either_product(idle_page):
    files = [path for folder in sorted(p for p in REAL.iterdir() if p.is_dir())
             for path in sorted(f for f in folder.iterdir() if f.suffix in (".png", ".jpg", ".gif"))[:PER_FOLDER]]
    assert len(files) >= 40
    read = """async (urls) => {
        const out = [];
        for (const url of urls) {
            const r = await kcsolver.solve(await (await fetch(url)).blob(), {backend: 'numpy'});
            out.push([r.text, r.confidence]);
        }
        return out;
    }"""
    urls = [f"/real/{path.parent.name}/{path.name}" for path in files]
    assert gemm(idle_page, {"use": "numpy"})["gemm"] == "numpy"
    numpy_readings = idle_page.evaluate(read, urls)
    assert gemm(idle_page, {"use": "wasm-simd128"})["gemm"] == "wasm-simd128"
    simd_readings = idle_page.evaluate(read, urls)
    assert [t for t, _ in simd_readings] == [t for t, _ in numpy_readings]
    assert max(abs(a - b) for (_, a), (_, b) in zip(simd_readings, numpy_readings)) <= 1e-4


@pytest.mark.parametrize("model", ["site", "cnn_basic", "mobile_mix"])
def test_network_outputs_match_numpys_within_1e_4(idle_page, site_url, server, model):
    if model == "site":
        url, x = site_url + "models/kcaptcha/model.json", np.random.default_rng(3).random((1, 48, 128, 1), np.float32)
    else:
        url, x = f"{server.url}/fixtures/{model}/layers/model.json", np.load(FIXTURES / model / "input.npy")
    predict = """([url, data, shape]) => kcsolver.predict(url, new Float32Array(data), shape, {backend: 'numpy'})
        .then(r => Array.from(r.data))"""
    outputs = {}
    for kind in ("numpy", "wasm-simd128"):
        gemm(idle_page, {"use": kind})
        outputs[kind] = np.array(idle_page.evaluate(predict, [url, x.ravel().tolist(), list(x.shape)]), np.float32)
    scale = max(float(np.abs(outputs["numpy"]).max()), 1e-6)
    assert float(np.abs(outputs["wasm-simd128"] - outputs["numpy"]).max()) <= 1e-4 * scale


def wrong_library(tmp_path):
    """A loadable side module whose kc_sgemm writes zeros: only the check can tell."""
    source = tmp_path / "wrong.c"
    source.write_text("__attribute__((visibility(\"default\"))) void kc_sgemm(int m, int n, int k, const float *a, "
                      "const float *b, const float *bias, int relu, float *c) { for (int i = 0; i < m * n; i++) c[i] = 0; }")
    subprocess.run(["clang", "--target=wasm32", "-O2", "-fPIC", "-nostdlib", "-c", str(source), "-o",
                    str(tmp_path / "wrong.o")], check=True)
    subprocess.run(["wasm-ld", "--experimental-pic", "-shared", "--export=kc_sgemm", str(tmp_path / "wrong.o"),
                    "-o", str(tmp_path / "wrong.so")], check=True)
    return list((tmp_path / "wrong.so").read_bytes())


def test_a_corrupt_or_wrong_library_falls_back_with_the_reason(idle_page, tmp_path):
    assert shutil.which("clang") and shutil.which("wasm-ld")  # installed by `make system`
    cases = {
        "not a module": list(b"\0asm\1\0\0\0garbage") + [0] * 40,
        "wrong results": wrong_library(tmp_path),
    }
    expected = {"not a module": "could not be loaded", "wrong results": "failed its check"}
    for case, data in cases.items():
        state = idle_page.evaluate("(data) => kcsolver.request('gemm', {data: new Uint8Array(data)})", data)
        assert state["gemm"] == "numpy" and expected[case] in state["reason"], (case, state)
        # NumPy's products answer, and the page still reads a captcha.
        result = idle_page.evaluate("fetch('examples/l2_digits_0.png').then(r => r.blob())"
                                    ".then(b => kcsolver.solve(b, {model: 'l2_digits', backend: 'numpy'}))")
        assert result["text"] == json.loads((ROOT / "site" / "examples" / "index.json").read_text())[0]["label"]
    with pytest.raises(Exception, match="not installed"):
        gemm(idle_page, {"use": "wasm-simd128"})


def test_a_missing_library_leaves_numpys_product_with_a_logged_reason(context, page, site_url):
    context.route("**/native/libkcgemm.so", lambda route: route.fulfill(status=404, body="gone"))
    warnings = []
    page.on("console", lambda message: warnings.append(message.text) if message.type == "warning" else None)
    page.goto(site_url + "?nosw=1")
    wait_until(page, "window.kcsolver !== undefined")
    page.evaluate("kcsolver.ready")
    status = wait_until(page, "kcsolver.request('boot-cache-status').then(s => s.gemm)", timeout_s=120)
    assert status.startswith("numpy (native/libkcgemm.so unusable: HTTP 404"), status
    assert any("matrix product" in w and "404" in w for w in warnings), warnings
