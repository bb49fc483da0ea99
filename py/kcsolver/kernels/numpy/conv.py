"""Convolutions (NHWC): conv2d via im2col + one matrix product, depthwise via a loop over kernel taps.

Padding follows TensorFlow: "valid", "same" (output = ceil(input / stride),
the odd pixel of padding goes after), or explicit ((top, bottom), (left, right)).
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

from .elementwise import apply_activation
from .matmul import matrix_product


def same_padding(size: int, kernel: int, stride: int, dilation: int) -> tuple[int, int]:
    effective = (kernel - 1) * dilation + 1
    out = -(-size // stride)
    total = max((out - 1) * stride + effective - size, 0)
    return total // 2, total - total // 2


def resolve_padding(padding, height, width, kh, kw, strides, dilations):
    if padding == "valid":
        return (0, 0), (0, 0)
    if padding == "same":
        return (same_padding(height, kh, strides[0], dilations[0]),
                same_padding(width, kw, strides[1], dilations[1]))
    (top, bottom), (left, right) = padding
    return (int(top), int(bottom)), (int(left), int(right))


def pad_input(x, pads, value=0.0):
    (top, bottom), (left, right) = pads
    if top == bottom == left == right == 0:
        return x
    return np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)), constant_values=value)


def windows(x, kh, kw, strides, dilations):
    """A strided view (N, OH, OW, KH, KW, C) of every receptive field; no copy."""
    n, h, w, c = x.shape
    sh, sw = strides
    dh, dw = dilations
    oh = (h - (kh - 1) * dh - 1) // sh + 1
    ow = (w - (kw - 1) * dw - 1) // sw + 1
    if oh <= 0 or ow <= 0:
        raise ValueError(f"the input {h}x{w} is smaller than the {kh}x{kw} window")
    s = x.strides
    return as_strided(x, (n, oh, ow, kh, kw, c), (s[0], s[1] * sh, s[2] * sw, s[1] * dh, s[2] * dw, s[3]),
                      writeable=False)


def window_max(view):
    """The maximum of each window of a `windows` view, (N, OH, OW, C): one elementwise maximum per
    window tap, which in Pyodide's NumPy is about twice as fast as reducing the two short strided axes."""
    kh, kw = view.shape[3:5]
    out = view[:, :, :, 0, 0].copy()
    for i in range(kh):
        for j in range(kw):
            if i or j:
                np.maximum(out, view[:, :, :, i, j], out=out)
    return out


def conv2d(x, w, b=None, *, strides=(1, 1), dilations=(1, 1), padding="valid", activation=None, alpha=None,
           pool=None):
    """`pool` (ph, pw): a max pool of that size and stride (valid) fused after the activation (graph.py)."""
    kh, kw, cin, cout = w.shape
    if x.shape[-1] != cin:
        raise ValueError(f"conv2d: input has {x.shape[-1]} channels, the kernel expects {cin}")
    pads = resolve_padding(padding, x.shape[1], x.shape[2], kh, kw, strides, dilations)
    x = np.ascontiguousarray(pad_input(x, pads), dtype=np.float32)
    relu = activation == "relu"  # fused into the product (with the bias)
    if kh == kw == 1 and tuple(strides) == (1, 1):
        out = matrix_product(x.reshape(-1, cin), w.reshape(cin, cout), b, relu)
        out = out.reshape(*x.shape[:3], cout)
    else:
        patches = windows(x, kh, kw, strides, dilations)
        n, oh, ow = patches.shape[:3]
        columns = patches.reshape(n * oh * ow, kh * kw * cin)  # the one copy (im2col)
        out = matrix_product(columns, w.reshape(kh * kw * cin, cout), b, relu).reshape(n, oh, ow, cout)
    if not relu:
        out = apply_activation(out, activation, alpha)
    return out if pool is None else window_max(windows(out, *pool, pool, (1, 1)))


def depthwise_conv2d(x, w, b=None, *, strides=(1, 1), dilations=(1, 1), padding="valid", activation=None,
                     alpha=None):
    kh, kw, cin, multiplier = w.shape
    if x.shape[-1] != cin:
        raise ValueError(f"depthwise_conv2d: input has {x.shape[-1]} channels, the kernel expects {cin}")
    pads = resolve_padding(padding, x.shape[1], x.shape[2], kh, kw, strides, dilations)
    x = pad_input(np.asarray(x, dtype=np.float32), pads)
    view = windows(x, kh, kw, strides, dilations)
    n, oh, ow = view.shape[:3]
    out = np.zeros((n, oh, ow, cin, multiplier), np.float32)
    # Loop over the (few) kernel taps; each step is vectorised over pixels and channels.
    for i in range(kh):
        for j in range(kw):
            out += view[:, :, :, i, j, :, None] * w[i, j]
    out = out.reshape(n, oh, ow, cin * multiplier)
    if b is not None:
        out += b
    return apply_activation(out, activation, alpha)


KERNELS = {"conv2d": conv2d, "depthwise_conv2d": depthwise_conv2d}
