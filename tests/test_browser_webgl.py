"""The webgl backend in real Chromium (SwiftShader): parity with numpy, per-kernel checks, fallbacks."""

import numpy as np
import pytest

from conftest import CHROMIUM, CHROMIUM_FLAGS, FIXTURES, REAL
from helpers import wait_until
from kcsolver import Solver
from kcsolver.kernels import get_kernels

pytestmark = pytest.mark.browser
NUMPY = get_kernels("numpy")


def predict(page, url, x, backend="webgl"):
    result = page.evaluate(
        """([url, data, shape, backend]) => kcsolver.predict(url, new Float32Array(data), shape, {backend})
             .then(r => ({data: Array.from(r.data), shape: r.shape, backend: r.backend,
                          fallbackOps: r.fallbackOps, fallbackReason: r.fallbackReason}))""",
        [url, x.ravel().tolist(), list(x.shape), backend])
    result["array"] = np.array(result["data"], np.float32).reshape(result["shape"])
    return result


def close(actual, expected, tolerance=1e-4):
    return float(np.abs(actual - expected).max()) <= tolerance * max(float(np.abs(expected).max()), 1e-6)


@pytest.mark.parametrize("name,variant", [(m, v) for m in ("cnn_basic", "mobile_mix", "seq_tanh")
                                          for v in ("layers", "graph", "layers_uint8", "graph_uint16")])
def test_fixtures_on_webgl_match_numpy(app_page, server, name, variant):
    x = np.load(FIXTURES / name / "input.npy")
    result = predict(app_page, f"{server.url}/fixtures/{name}/{variant}/model.json", x)
    assert result["backend"] == "webgl", result["fallbackReason"]
    expected = np.load(FIXTURES / name / f"expected_{variant}.npy")
    assert close(result["array"], expected, 1e-4 if variant in ("layers", "graph") else 2e-3)


@pytest.mark.parametrize("folder", ["l2_digits_png", "stock23_jpg", "classic126_jpg"])
def test_shipped_bundle_on_webgl_matches_numpy(app_page, site_url, folder):
    solver = Solver.load("auto")
    x = np.stack([solver.prepare(p) for p in sorted((REAL / folder).glob("*.*"))[:3] if p.suffix != ".csv"])
    result = predict(app_page, f"{site_url}models/kcaptcha/model.json", x)
    assert result["backend"] == "webgl"
    assert result["fallbackOps"] == []  # every op of the shipped solvers has a shader
    assert close(result["array"], solver.model.predict(x))


def kernel_cases():
    rng = np.random.default_rng(7)
    cases = []

    def add(op, inputs, **attrs):
        cases.append((op, [np.asarray(i, np.float32) for i in inputs], attrs))

    for kh, kw, stride, dilation, padding, cin, cout in [
            (3, 3, 1, 1, "same", 3, 8), (3, 3, 2, 1, "valid", 5, 6), (5, 5, 1, 1, "same", 1, 4),
            (1, 1, 1, 1, "valid", 9, 7), (3, 2, 1, 2, "same", 4, 5), (2, 2, 2, 1, ((1, 0), (0, 1)), 6, 3)]:
        x = rng.standard_normal((2, 9, 11, cin))
        add("conv2d", [x, rng.standard_normal((kh, kw, cin, cout)), rng.standard_normal(cout)],
            strides=(stride, stride), dilations=(dilation, dilation), padding=padding,
            activation=["relu", None, "tanh", "sigmoid", "elu", "leaky_relu"][len(cases) % 6], alpha=0.1)
    for width, cin in [(1, 2), (2, 4), (3, 7), (5, 13)]:  # narrower than a block of pixels; partial channel groups
        add("conv2d", [rng.standard_normal((1, 4, width, cin)), rng.standard_normal((3, 3, cin, 6))],
            strides=(1, 1), dilations=(1, 1), padding="same")
    for shape, kernel, padding in [((1, 1, 9, 37), (3, 3), "same"), ((2, 6, 12, 64), (6, 5), "valid")]:
        # outputs only a few rows tall: the reduction is split over channel groups and summed in a second pass
        add("conv2d", [rng.standard_normal(shape), rng.standard_normal((*kernel, shape[-1], 10)),
                       rng.standard_normal(10)], strides=(1, 1), dilations=(1, 1), padding=padding, activation="relu")
    for shape, kernel, pool in [((1, 9, 13, 5), (3, 3), (2, 2)), ((2, 6, 12, 64), (3, 3), (2, 1)),
                                ((1, 2, 9, 70), (2, 3), (1, 3))]:  # a max pool fused into the conv (graph.py)
        add("conv2d", [rng.standard_normal(shape), rng.standard_normal((*kernel, shape[-1], 6)),
                       rng.standard_normal(6)], strides=(1, 1), dilations=(1, 1), padding="same",
            activation="relu", pool=pool)
    for multiplier, stride, padding in [(1, 1, "same"), (2, 2, "valid"), (1, 2, "same")]:
        add("depthwise_conv2d", [rng.standard_normal((1, 8, 10, 6)), rng.standard_normal((3, 3, 6, multiplier))],
            strides=(stride, stride), dilations=(1, 1), padding=padding)
    for kind in ("max_pool", "avg_pool"):
        for size, stride, padding in [(2, 2, "valid"), (3, 2, "same"), (3, 1, "same")]:
            add(kind, [rng.standard_normal((2, 7, 9, 5))], ksize=(size, size), strides=(stride, stride), padding=padding)
    add("matmul", [rng.standard_normal((3, 10)), rng.standard_normal((10, 7)), rng.standard_normal(7)], activation="relu")
    add("matmul", [rng.standard_normal((2, 5, 9)), rng.standard_normal((6, 9)), rng.standard_normal(6)], transpose_b=True)
    add("softmax", [rng.standard_normal((2, 6, 11)) * 5], axis=-1)
    add("mul", [rng.standard_normal((2, 4, 5, 6)), rng.standard_normal((2, 1, 1, 6))])
    add("add", [rng.standard_normal((2, 4, 5, 6)), rng.standard_normal(6)])
    add("sub", [rng.standard_normal((3, 7)), np.float32(0.5)])
    add("batch_norm", [rng.standard_normal((1, 3, 4, 5)), rng.standard_normal(5), rng.standard_normal(5)])
    add("reduce_mean", [rng.standard_normal((2, 5, 6, 7))], axes=(1, 2), keepdims=False)
    add("reduce_max", [rng.standard_normal((2, 5, 6, 7))], axes=(1, 2), keepdims=True)
    add("pad", [rng.standard_normal((1, 4, 5, 3))], paddings=[[0, 0], [1, 2], [0, 3], [0, 0]], value=0.0)
    add("reshape", [rng.standard_normal((2, 3, 4, 5))], shape=[6, 20], keep_batch=False)
    add("reshape", [rng.standard_normal((2, 3, 4, 5))], shape=[6, 4, 5], keep_batch=False)  # a view, no pass
    add("reshape", [rng.standard_normal((1, 1, 7, 9))], shape=[7, 9], keep_batch=True)
    add("flatten", [rng.standard_normal((2, 3, 4, 5))])
    add("concat", [rng.standard_normal((1, 3, 4, 5)), rng.standard_normal((1, 3, 4, 3))], axis=-1)
    for name in ("relu6", "sigmoid", "tanh", "swish", "selu", "hard_sigmoid", "softplus"):
        add(name, [rng.standard_normal((2, 3, 5)) * 4])
    return cases


def test_every_kernel_matches_numpy(app_page):
    cases = kernel_cases()
    payload = [{"op": op, "attrs": attrs,
                "inputs": [{"data": a.ravel().tolist(), "shape": list(a.shape)} for a in inputs]}
               for op, inputs, attrs in cases]
    result = app_page.evaluate("""(cases) => kcsolver.request('kernel-check', {backend: 'webgl', cases: cases.map(c => ({
        op: c.op, attrs: c.attrs, inputs: c.inputs.map(i => ({data: new Float32Array(i.data), shape: i.shape}))}))})
        .then(r => ({fallbacks: r.fallback_ops, outputs: r.outputs.map(o => ({data: Array.from(o.data), shape: o.shape}))}))""",
                               payload)
    assert result["fallbacks"] == []  # all of these ran as shaders
    for (op, inputs, attrs), output in zip(cases, result["outputs"]):
        expected = np.asarray(NUMPY[op](*[i.copy() for i in inputs], **attrs))
        actual = np.array(output["data"], np.float32).reshape(output["shape"])
        assert actual.shape == expected.shape, op
        assert close(actual, expected, 1e-4), (op, attrs, float(np.abs(actual - expected).max()))


def test_profile_times_every_step_of_the_plan(app_page, site_url):
    from kcsolver.model import load_model

    url = f"{site_url}models/kcaptcha/model.json"
    x = np.random.default_rng(3).random((1, 48, 128, 1), np.float32)
    result = app_page.evaluate("""([u, d]) => kcsolver.request('profile', {modelUrl: u, data: new Float32Array(d),
        shape: [1, 48, 128, 1], backend: 'webgl'})""", [url, x.ravel().tolist()])
    assert result["backend"] == "webgl"
    assert [op for op, _ms in result["steps"]] == load_model(url).plan.step_ops
    assert all(ms >= 0 for _op, ms in result["steps"]) and sum(ms for _op, ms in result["steps"]) > 0


def test_weight_textures_are_deleted_with_their_model(app_page):
    folder = FIXTURES / "cnn_basic" / "layers"
    files = {p.name: list(p.read_bytes()) for p in folder.iterdir()}
    register = """(files) => kcsolver.request('register-files', {files: Object.fromEntries(
        Object.entries(files).map(([name, bytes]) => [name, new Uint8Array(bytes)]))})"""
    textures = "kcsolver.request('info', {}).then(i => i.webgl.textures)"
    x = np.load(FIXTURES / "cnn_basic" / "input.npy")
    expected = np.load(FIXTURES / "cnn_basic" / "expected_layers.npy")
    url = app_page.evaluate(register, files)["url"]
    assert close(predict(app_page, url, x)["array"], expected)
    loaded = app_page.evaluate(textures)
    app_page.evaluate(register, files)  # replaces the picked model: the old one's weights go
    assert app_page.evaluate(textures) < loaded
    assert close(predict(app_page, url, x)["array"], expected)  # the new one uploads its own
    assert app_page.evaluate(textures) == loaded


def test_context_loss_mid_session_falls_back_to_numpy(app_page, server):
    x = np.load(FIXTURES / "cnn_basic" / "input.npy")
    url = f"{server.url}/fixtures/cnn_basic/graph/model.json"
    expected = np.load(FIXTURES / "cnn_basic" / "expected_graph.npy")
    assert predict(app_page, url, x)["backend"] == "webgl"
    assert app_page.evaluate("kcsolver.request('webgl-lose-context', {})")["lost"] is True
    after = predict(app_page, url, x)
    assert after["backend"] == "numpy" and "lost" in after["fallbackReason"]
    assert close(after["array"], expected)


def test_page_without_webgl_answers_with_numpy(playwright, site_url, server):
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS + ["--disable-gpu", "--disable-software-rasterizer"])
    # (--disable-webgl alone still leaves WebGL2 on OffscreenCanvas in workers in Chromium 156)
    page = browser.new_page()
    page.goto(site_url + "?nosw=1")
    wait_until(page, "window.kcsolver !== undefined")
    assert page.evaluate("kcsolver.ready")["backend"] == "numpy"
    info = page.evaluate("kcsolver.request('info')")
    assert info["webgl"]["available"] is False
    x = np.load(FIXTURES / "seq_tanh" / "input.npy")
    result = predict(page, f"{server.url}/fixtures/seq_tanh/layers/model.json", x)
    assert result["backend"] == "numpy" and "webgl unavailable" in result["fallbackReason"]
    assert close(result["array"], np.load(FIXTURES / "seq_tanh" / "expected_layers.npy"))
    browser.close()
