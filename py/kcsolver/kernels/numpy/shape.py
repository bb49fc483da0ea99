"""Shape and layout ops: reshape, transpose, concat, pad, slicing, packing, shape arithmetic.

Graph-model nodes pass shapes, axes and paddings as (often constant) tensors;
Keras layers pass them as attributes. Each kernel accepts either form.
"""

from __future__ import annotations

import numpy as np


def _ints(value):
    return [int(v) for v in np.atleast_1d(np.asarray(value))]


def reshape(x, shape_tensor=None, *, shape=None, keep_batch=False):
    target = _ints(shape_tensor) if shape_tensor is not None else list(shape)
    if keep_batch:  # Keras Reshape/Flatten: the target excludes the batch dimension
        target = [x.shape[0], *target]
    return np.reshape(x, target)


def flatten(x):
    return np.reshape(x, (x.shape[0], -1))


def transpose(x, perm_tensor=None, *, perm=None):
    return np.transpose(x, _ints(perm_tensor) if perm_tensor is not None else perm)


def concat(*xs, axis=-1):
    return np.concatenate(xs, axis=axis)


def concat_v2(*xs_and_axis):
    """TF ConcatV2: the axis is the last input."""
    return np.concatenate(xs_and_axis[:-1], axis=int(xs_and_axis[-1]))


def pad(x, paddings_tensor=None, value_tensor=None, *, paddings=None, value=0.0, mode="constant"):
    pads = np.asarray(paddings_tensor if paddings_tensor is not None else paddings).reshape(-1, 2).tolist()
    if value_tensor is not None:
        value = float(value_tensor)
    if mode == "constant":
        return np.pad(x, pads, constant_values=np.asarray(value, x.dtype))
    return np.pad(x, pads, mode={"reflect": "reflect", "symmetric": "symmetric"}[mode])


def squeeze(x, *, axes=None):
    return np.squeeze(x, axis=tuple(axes) if axes else None)


def expand_dims(x, axis_tensor=None, *, axis=None):
    return np.expand_dims(x, int(axis_tensor) if axis_tensor is not None else axis)


def shape(x):
    return np.array(np.shape(x), np.int32)


def strided_slice(x, begin, end, strides=None, *, begin_mask=0, end_mask=0, ellipsis_mask=0,
                  new_axis_mask=0, shrink_axis_mask=0):
    begin, end = _ints(begin), _ints(end)
    strides = _ints(strides) if strides is not None else [1] * len(begin)
    index = []
    for i in range(len(begin)):
        bit = 1 << i
        if ellipsis_mask & bit:
            index.append(Ellipsis)
        elif new_axis_mask & bit:
            index.append(None)
        elif shrink_axis_mask & bit:
            index.append(begin[i])
        else:
            index.append(slice(None if begin_mask & bit else begin[i], None if end_mask & bit else end[i],
                               strides[i]))
    return np.asarray(np.asarray(x)[tuple(index)])


def slice_(x, begin, size):
    begin, size = _ints(begin), _ints(size)
    index = tuple(slice(b, None if s == -1 else b + s) for b, s in zip(begin, size))
    return x[index]


def pack(*xs, axis=0):
    return np.stack([np.asarray(v) for v in xs], axis=axis)


def unpack_first(x, *, axis=0):
    return np.take(x, 0, axis=axis)


def gather(params, indices, axis_tensor=None, *, axis=0):
    return np.take(params, np.asarray(indices).astype(np.int64),
                   axis=int(axis_tensor) if axis_tensor is not None else axis)


def tile(x, multiples):
    return np.tile(x, _ints(multiples))


def fill(dims, value):
    return np.full(_ints(dims), value)


def zeros_like(x):
    return np.zeros_like(x)


def upsample_nearest(x, *, size=(2, 2)):
    return x.repeat(size[0], axis=1).repeat(size[1], axis=2)


def crop(x, *, cropping=((0, 0), (0, 0))):
    (top, bottom), (left, right) = cropping
    return x[:, top:x.shape[1] - bottom, left:x.shape[2] - right, :]


KERNELS = {
    "reshape": reshape, "flatten": flatten, "transpose": transpose, "concat": concat, "concat_v2": concat_v2,
    "pad": pad, "squeeze": squeeze, "expand_dims": expand_dims, "shape": shape, "strided_slice": strided_slice,
    "slice": slice_, "pack": pack, "gather": gather, "tile": tile, "fill": fill, "zeros_like": zeros_like,
    "upsample_nearest": upsample_nearest, "crop": crop,
}
