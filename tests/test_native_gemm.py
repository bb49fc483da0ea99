"""The SIMD matrix product's Python side (kernels/numpy/native.py) under CPython: what happens when the side
module cannot be used, and how the kernels route to an installed product. The module itself runs only in
the browser (WebAssembly): test_browser_gemm.py and test_browser_pyodide314.py."""

import numpy as np
import pytest

from kcsolver.kernels import get_kernels
from kcsolver.kernels.numpy import matmul, native


@pytest.fixture(autouse=True)
def numpy_products():
    yield
    matmul.set_native_product(None)


def test_a_missing_library_leaves_numpys_product_with_the_reason(tmp_path):
    state = native.install(str(tmp_path / "libkcgemm.so"))
    assert state["gemm"] == "numpy" and "could not be loaded" in state["reason"]
    assert matmul.native_product is None
    (tmp_path / "junk.so").write_bytes(b"\0asm\1\0\0\0junk")
    assert "could not be loaded" in native.install(str(tmp_path / "junk.so"))["reason"]


def test_switching_to_a_product_that_is_not_installed_is_refused():
    native.install("/nonexistent/libkcgemm.so")
    with pytest.raises(ValueError, match="not installed"):
        native.use("wasm-simd128")
    with pytest.raises(ValueError, match="unknown matrix product"):
        native.use("cublas")
    assert native.use("numpy")["gemm"] == "numpy"


def test_every_conv_and_dense_layer_goes_through_an_installed_product():
    calls = []

    def recording(a, b, bias, relu):
        calls.append((a.shape, b.shape, None if bias is None else bias.shape, relu))
        out = a.astype(np.float64) @ b.astype(np.float64) + (0.0 if bias is None else bias)
        return (np.maximum(out, 0.0) if relu else out).astype(np.float32)

    matmul.set_native_product(recording)
    kernels = get_kernels("numpy")
    rng = np.random.default_rng(0)
    x, w, bias = rng.random((1, 12, 20, 3), np.float32), rng.random((3, 3, 3, 8), np.float32) - 0.5, rng.random(8, np.float32)
    with_native = kernels["conv2d"](x, w, bias, strides=(1, 1), padding="same", dilations=(1, 1), activation="relu")
    kernels["matmul"](np.ones((2, 5), np.float32), np.ones((5, 4), np.float32), activation="tanh")
    assert calls == [((240, 27), (27, 8), (8,), True), ((2, 5), (5, 4), None, False)]  # relu fused, tanh not
    matmul.set_native_product(None)
    with_numpy = kernels["conv2d"](x, w, bias, strides=(1, 1), padding="same", dilations=(1, 1), activation="relu")
    assert np.allclose(with_native, with_numpy, atol=1e-5)


def test_the_check_matrices_need_no_numpy_random():
    a = native._test_matrix(37, 45, 1.0)
    assert a.dtype == np.float32 and a.shape == (37, 45)
    assert -0.5 <= float(a.min()) < -0.4 and 0.4 < float(a.max()) < 0.5 and abs(float(a.mean())) < 0.05
