"""Reductions over axes (mean, max, min, sum, prod) and argmax."""

from __future__ import annotations

import numpy as np


def _reducer(fn):
    def kernel(x, *, axes=None, keepdims=False):
        axes = tuple(int(a) for a in np.atleast_1d(axes)) if axes is not None else None
        result = fn(x, axis=axes, keepdims=keepdims)
        return result.astype(x.dtype) if result.dtype != x.dtype and x.dtype == np.float32 else result

    return kernel


def argmax(x, *, axis=-1):
    return np.argmax(x, axis=axis).astype(np.int32)


KERNELS = {
    "reduce_mean": _reducer(np.mean),
    "reduce_max": _reducer(np.max),
    "reduce_min": _reducer(np.min),
    "reduce_sum": _reducer(np.sum),
    "reduce_prod": _reducer(np.prod),
    "argmax": argmax,
}
