"""Raw inference in the browser worker (vendored Pyodide 0.27.7) matches the references."""

import numpy as np
import pytest

from conftest import FIXTURES

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("name,variant,tolerance", [
    ("cnn_basic", "layers", 1e-4),
    ("mobile_mix", "graph", 1e-4),
    ("mobile_mix", "layers_uint8", 2e-3),
    ("seq_tanh", "graph_uint16", 2e-3),
])
def test_predict_in_worker(app_page, server, name, variant, tolerance):
    x = np.load(FIXTURES / name / "input.npy")
    expected = np.load(FIXTURES / name / f"expected_{variant}.npy")
    result = app_page.evaluate(
        """([url, data, shape]) => kcsolver.predict(url, new Float32Array(data), shape)
             .then(r => ({data: Array.from(r.data), shape: r.shape, ms: r.ms, backend: r.backend}))""",
        [f"{server.url}/fixtures/{name}/{variant}/model.json", x.ravel().tolist(), list(x.shape)],
    )
    y = np.array(result["data"], np.float32).reshape(result["shape"])
    assert tuple(result["shape"]) == expected.shape
    assert result["backend"] == "numpy" and result["ms"] > 0
    assert np.abs(y - expected).max() <= tolerance * np.abs(expected).max()


def test_missing_shard_error_reaches_page_and_page_survives(app_page, server):
    error = app_page.evaluate(
        """(url) => kcsolver.predict(url, new Float32Array(4), [1, 2, 2, 1]).then(() => null, e => e.message)""",
        f"{server.url}/fixtures/nope/model.json",
    )
    assert "404" in error and "nope/model.json" in error
    assert "404" in app_page.locator("#error").inner_text()
    x = np.load(FIXTURES / "seq_tanh" / "input.npy")
    ok = app_page.evaluate(
        "([url, data, shape]) => kcsolver.predict(url, new Float32Array(data), shape).then(r => r.shape)",
        [f"{server.url}/fixtures/seq_tanh/layers/model.json", x.ravel().tolist(), list(x.shape)],
    )
    assert ok == [2, 10]
