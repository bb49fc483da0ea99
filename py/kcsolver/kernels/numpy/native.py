"""The WebAssembly SIMD128 matrix product (native/gemm_simd128.c) under the NumPy kernels, in the browser.

The worker hands over the side module's bytes once idle after the first answer; `install` loads it with
ctypes (Pyodide's dynamic loader), checks it against NumPy on shapes that exercise every tile and edge,
times it against NumPy's own route on a convolution's shape, and installs it as the product every conv and
dense layer uses only when it is right and faster. Anything else leaves NumPy's products in place, with
the reason. CPython never loads it: its NumPy has a BLAS.
"""

from __future__ import annotations

import ctypes
import time

import numpy as np

from . import matmul

# (M, K, N): 4x8 tiles with leftover rows and columns, a depth-9 conv, a dense layer, the solvers' shapes.
CHECK_SHAPES = [(37, 45, 19), (6144, 9, 16), (5, 576, 73), (768, 288, 64)]
TOLERANCE = 1e-5  # relative to the largest output; float32 sums over K <= 576 stay near 1e-6
TIMING_SHAPE = (768, 288, 64)

_state: dict = {"gemm": "numpy", "reason": "not loaded"}
_installed = None  # the checked SIMD product, kept while the bench switches to NumPy's and back


def state() -> dict:
    """Which product the kernels use, and why (for info and the bench)."""
    return dict(_state)


def _wrap(function):
    def product(a: np.ndarray, b: np.ndarray, bias=None, relu: bool = False) -> np.ndarray:
        a = np.ascontiguousarray(a, np.float32)
        b = np.ascontiguousarray(b, np.float32)
        bias = np.zeros(b.shape[1], np.float32) if bias is None else np.ascontiguousarray(bias, np.float32)
        out = np.empty((a.shape[0], b.shape[1]), np.float32)
        function(a.shape[0], b.shape[1], a.shape[1], a.ctypes.data, b.ctypes.data, bias.ctypes.data, int(relu),
                 out.ctypes.data)
        return out
    return product


def _median_ms(function, a, b, repeats: int = 5) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function(a, b)
        times.append((time.perf_counter() - start) * 1000)
    return sorted(times)[len(times) // 2]


def _test_matrix(rows: int, cols: int, seed: float) -> np.ndarray:
    """Values in [-0.5, 0.5) that look random (the browser's NumPy has no numpy.random)."""
    x = np.arange(rows * cols, dtype=np.float64) * 0.6180339887 + seed
    return ((np.sin(x * 12.9898) * 43758.5453) % 1.0 - 0.5).astype(np.float32).reshape(rows, cols)


def _fallback(reason: str) -> dict:
    global _installed
    _installed = None
    matmul.set_native_product(None)
    _state.clear()
    _state.update(gemm="numpy", reason=reason)
    return state()


def install(path: str) -> dict:
    """Load, check, time and (when right and faster) install the side module at `path`."""
    global _installed
    try:
        function = ctypes.CDLL(path).kc_sgemm
    except (OSError, AttributeError) as error:
        return _fallback(f"the SIMD matrix product could not be loaded ({error})")
    function.restype = None
    function.argtypes = [ctypes.c_int] * 3 + [ctypes.c_void_p] * 3 + [ctypes.c_int, ctypes.c_void_p]
    product = _wrap(function)
    worst = 0.0
    for index, (m, k, n) in enumerate(CHECK_SHAPES):
        a, b, bias = _test_matrix(m, k, 1.0), _test_matrix(k, n, 2.0), _test_matrix(1, n, 5.0)[0]
        relu = index % 2 == 1  # with and without the fused relu, with and without a bias
        expected = a.astype(np.float64) @ b.astype(np.float64) + (bias if index < 2 else 0.0)
        expected = np.maximum(expected, 0.0) if relu else expected
        got = product(a, b, bias if index < 2 else None, relu)
        error = float(np.abs(got - expected).max() / max(1.0, float(np.abs(expected).max())))
        worst = max(worst, error)
        if not error <= TOLERANCE:  # also catches NaN
            return _fallback(f"the SIMD matrix product failed its check: error {error:.3g} on {m}x{k}x{n}")
    m, k, n = TIMING_SHAPE
    a, b = _test_matrix(m, k, 3.0), _test_matrix(k, n, 4.0)
    native_ms, numpy_ms = _median_ms(product, a, b), _median_ms(matmul.numpy_product, a, b)
    if native_ms >= numpy_ms:
        return _fallback(f"the SIMD matrix product was not faster ({native_ms:.2f} ms against NumPy's "
                         f"{numpy_ms:.2f} ms on {m}x{k}x{n})")
    _installed = product
    matmul.set_native_product(product)
    _state.clear()
    _state.update(gemm="wasm-simd128", check_error=worst, ms=round(native_ms, 3), numpy_ms=round(numpy_ms, 3))
    return state()


def use(kind: str) -> dict:
    """Switch between the installed SIMD product and NumPy's (the bench measures both in one run)."""
    if kind not in ("numpy", "wasm-simd128"):
        raise ValueError(f"unknown matrix product {kind!r}: use 'numpy' or 'wasm-simd128'")
    if kind == "wasm-simd128" and _installed is None:
        raise ValueError(f"the SIMD matrix product is not installed: {_state.get('reason', 'not loaded')}")
    matmul.set_native_product(_installed if kind == "wasm-simd128" else None)
    _state["gemm"] = kind
    return state()
