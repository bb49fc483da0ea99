"""Straightforward reference implementations (loops over output pixels), for kernel tests.

Deliberately naive and independent of the kernels: padding is recomputed from
TensorFlow's definition here, windows are sliced one output pixel at a time.
"""

import math

import numpy as np


def tf_padding(size, kernel, stride, dilation, mode):
    if mode == "valid":
        return 0, 0
    if mode == "same":
        extent = (kernel - 1) * dilation + 1
        out = math.ceil(size / stride)
        total = max(0, (out - 1) * stride + extent - size)
        return total // 2, total - total // 2
    return mode


def _padded(x, kh, kw, strides, dilations, padding, value=0.0):
    if isinstance(padding, str):
        top, bottom = tf_padding(x.shape[1], kh, strides[0], dilations[0], padding)
        left, right = tf_padding(x.shape[2], kw, strides[1], dilations[1], padding)
    else:
        (top, bottom), (left, right) = padding
    xp = np.full((x.shape[0], x.shape[1] + top + bottom, x.shape[2] + left + right, x.shape[3]), value, np.float64)
    xp[:, top:top + x.shape[1], left:left + x.shape[2]] = x
    oh = (xp.shape[1] - (kh - 1) * dilations[0] - 1) // strides[0] + 1
    ow = (xp.shape[2] - (kw - 1) * dilations[1] - 1) // strides[1] + 1
    return xp, oh, ow, (top, bottom, left, right)


def _field(xp, n, i, j, kh, kw, strides, dilations):
    rows = i * strides[0] + np.arange(kh) * dilations[0]
    cols = j * strides[1] + np.arange(kw) * dilations[1]
    return xp[n][np.ix_(rows, cols)]  # (kh, kw, c)


def conv2d(x, w, b=None, strides=(1, 1), dilations=(1, 1), padding="valid"):
    kh, kw, cin, cout = w.shape
    xp, oh, ow, _ = _padded(x, kh, kw, strides, dilations, padding)
    out = np.zeros((x.shape[0], oh, ow, cout))
    for n in range(x.shape[0]):
        for i in range(oh):
            for j in range(ow):
                field = _field(xp, n, i, j, kh, kw, strides, dilations)
                out[n, i, j] = np.tensordot(field, w, axes=([0, 1, 2], [0, 1, 2]))
    return out + (0 if b is None else b)


def depthwise_conv2d(x, w, strides=(1, 1), dilations=(1, 1), padding="valid"):
    kh, kw, cin, mult = w.shape
    xp, oh, ow, _ = _padded(x, kh, kw, strides, dilations, padding)
    out = np.zeros((x.shape[0], oh, ow, cin * mult))
    for n in range(x.shape[0]):
        for i in range(oh):
            for j in range(ow):
                field = _field(xp, n, i, j, kh, kw, strides, dilations)
                for c in range(cin):
                    for m in range(mult):
                        out[n, i, j, c * mult + m] = (field[:, :, c] * w[:, :, c, m]).sum()
    return out


def pool(x, ksize, strides, padding, kind):
    kh, kw = ksize
    xp, oh, ow, (top, _, left, _) = _padded(x, kh, kw, strides, (1, 1), padding, value=np.nan)
    out = np.zeros((x.shape[0], oh, ow, x.shape[3]))
    for n in range(x.shape[0]):
        for i in range(oh):
            for j in range(ow):
                field = _field(xp, n, i, j, kh, kw, strides, (1, 1)).reshape(-1, x.shape[3])
                out[n, i, j] = np.nanmax(field, 0) if kind == "max" else np.nanmean(field, 0)
    return out
