"""Pooling (NHWC): max and average over strided window views; global pooling is in reduce."""

from __future__ import annotations

import numpy as np

from .conv import pad_input, resolve_padding, window_max, windows


def max_pool(x, *, ksize=(2, 2), strides=(2, 2), padding="valid"):
    kh, kw = ksize
    pads = resolve_padding(padding, x.shape[1], x.shape[2], kh, kw, strides, (1, 1))
    view = windows(pad_input(x, pads, -np.inf), kh, kw, strides, (1, 1))
    return window_max(view)


def avg_pool(x, *, ksize=(2, 2), strides=(2, 2), padding="valid"):
    kh, kw = ksize
    pads = resolve_padding(padding, x.shape[1], x.shape[2], kh, kw, strides, (1, 1))
    total = windows(pad_input(x, pads), kh, kw, strides, (1, 1)).sum(axis=(3, 4), dtype=np.float32)
    if pads == ((0, 0), (0, 0)):
        return total / np.float32(kh * kw)
    # TensorFlow divides by the number of real (unpadded) pixels in each window.
    ones = np.ones((1, x.shape[1], x.shape[2], 1), np.float32)
    count = windows(pad_input(ones, pads), kh, kw, strides, (1, 1)).sum(axis=(3, 4))
    return total / count


KERNELS = {"max_pool": max_pool, "avg_pool": avg_pool}
