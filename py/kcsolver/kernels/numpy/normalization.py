"""Normalisation ops: inference batch norm (pre-folded to scale and offset) and softmax."""

from __future__ import annotations

import numpy as np


def batch_norm(x, scale, offset):
    """x * scale + offset, where scale = gamma / sqrt(var + eps) and offset = beta - mean * scale."""
    return x * scale + offset


def softmax(x, *, axis=-1):
    shifted = x - x.max(axis=axis, keepdims=True)
    np.exp(shifted, out=shifted)
    shifted /= shifted.sum(axis=axis, keepdims=True)
    return shifted


def log_softmax(x, *, axis=-1):
    shifted = x - x.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


KERNELS = {"batch_norm": batch_norm, "softmax": softmax, "log_softmax": log_softmax}
