"""Matrix products: dense layers (with fused bias and activation) and batched matmul."""

from __future__ import annotations

import numpy as np

from .elementwise import apply_activation


def matmul(a, b, bias=None, *, transpose_a=False, transpose_b=False, activation=None, alpha=None):
    if transpose_a:
        a = np.swapaxes(a, -1, -2)
    if transpose_b:
        b = np.swapaxes(b, -1, -2)
    out = np.matmul(a, b)
    if out.dtype != np.float32 and a.dtype == np.float32:
        out = out.astype(np.float32)
    if bias is not None:
        out += bias
    return apply_activation(out, activation, alpha)


KERNELS = {"matmul": matmul}
