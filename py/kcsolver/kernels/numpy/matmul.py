"""Matrix products: dense layers (with fused bias and activation), batched matmul, and the 2-D
product every conv uses, routed to the fastest loop this NumPy has."""

from __future__ import annotations

import numpy as np

from .elementwise import apply_activation


def numpy_has_blas() -> bool:
    """Whether this NumPy was built against a BLAS (CPython wheels: yes; Pyodide's: no)."""
    config = getattr(getattr(np, "__config__", None), "CONFIG", {})
    return bool(config.get("Build Dependencies", {}).get("blas", {}).get("found"))


# Without BLAS (Pyodide), `a @ b` runs NumPy's plain strided triple loop. einsum("mk,nk->mn") with
# both operands contiguous along k runs its unrolled dot-product loop instead: 1.9-2.4x faster on
# the solvers' conv shapes in Pyodide 0.27.7 (docs/benchmarks.md), as long as the reduction is not
# too short to amortise einsum's per-output-element set-up (a 3x3 conv on 1 channel: k = 9).
HAS_BLAS = numpy_has_blas()
EINSUM_MIN_DEPTH = 32


def einsum_product(a, b):
    """a @ b for 2-D float32 arrays through einsum's contiguous dot-product loop."""
    return np.einsum("mk,nk->mn", np.ascontiguousarray(a), np.ascontiguousarray(b.T))


# A faster float32 product installed at run time: in the browser, the WebAssembly SIMD GEMM once it has
# passed its checks (native.py). None: NumPy's own routes.
native_product = None


def set_native_product(product) -> None:
    global native_product
    native_product = product


def matrix_product(a, b, bias=None, relu: bool = False):
    """a (M, K) @ b (K, N), plus bias (N,) and then max(0, .) when given: by the faster route on this
    NumPy (the SIMD product applies bias and relu as it stores its tiles)."""
    if native_product is not None and a.dtype == b.dtype == np.float32 and (
            bias is None or (bias.dtype == np.float32 and bias.shape == (b.shape[1],))):
        return native_product(a, b, bias, relu)
    return numpy_product(a, b, bias, relu)


def numpy_product(a, b, bias=None, relu: bool = False):
    """matrix_product by NumPy's own loops (the SIMD product is timed against this)."""
    out = a @ b if HAS_BLAS or a.shape[1] < EINSUM_MIN_DEPTH else einsum_product(a, b)
    if bias is not None:
        out += bias
    return np.maximum(out, 0.0, out=out) if relu else out


def matmul(a, b, bias=None, *, transpose_a=False, transpose_b=False, activation=None, alpha=None):
    if transpose_a:
        a = np.swapaxes(a, -1, -2)
    if transpose_b:
        b = np.swapaxes(b, -1, -2)
    if a.ndim == b.ndim == 2:
        relu = activation == "relu"
        out = matrix_product(a, b, bias, relu)
        return out if relu else apply_activation(out, activation, alpha)
    out = np.matmul(a, b)
    if out.dtype != np.float32 and a.dtype == np.float32:
        out = out.astype(np.float32)
    if bias is not None:
        out += bias
    return apply_activation(out, activation, alpha)


KERNELS = {"matmul": matmul}
