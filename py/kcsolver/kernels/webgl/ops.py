"""WebGL2 kernels: each op is a fragment shader generated for its shapes and attributes.

Every kernel takes the same arguments as its NumPy twin (kernels/numpy) and
returns a GpuTensor. Shapes, strides and paddings are baked into the shader
source, so each layer compiles once and the program cache reuses it. Padding
lanes of the last texel are always written as zeros, so a kernel may read
whole texels without guarding channels.
"""

from __future__ import annotations

import math

import numpy as np

from ..numpy import KERNELS as NUMPY
from ..numpy.conv import resolve_padding
from .activations import UNARY_OPS, glsl_activation, glsl_float
from .context import GpuTensor, accessor, dims4, output_coords

# Output pixels per fragment in conv2d: each weight texel read serves this many pixels. Measured on
# SwiftShader for a 3x3, 48 -> 64 channel layer at 12 x 32: 1 pixel 14.4 ms, 2: 10.0, 4: 7.0, 8: 5.8
# (plus 0.3 ms to interleave the columns back); on the shipped solvers 4 and 8 were within noise, 8 ahead.
PIXELS = 8
# An output fewer texture rows tall than this has its input channels split into groups (when the reduction is
# at least SPLIT_MIN_TEXELS texels long): SwiftShader shares a draw between threads by rows, and a 1-row head
# conv otherwise runs on one thread.
SPLIT_BELOW_ROWS = 16
SPLIT_MIN_TEXELS = 64


def _lane_mask(dims) -> str:
    d = dims[3]
    return f"  vec4 lane_mask = vec4(lessThan(ivec4(d4 * 4) + ivec4(0, 1, 2, 3), ivec4({d})));\n"


def _window(x_shape, kh, kw, strides, dilations, padding):
    """Top and left padding and output height and width of a sliding window, as TensorFlow defines them."""
    _n, h, w, _c = x_shape
    (pt, pb), (pl, pr) = resolve_padding(padding, h, w, kh, kw, strides, dilations)
    oh = (h + pt + pb - (kh - 1) * dilations[0] - 1) // strides[0] + 1
    ow = (w + pl + pr - (kw - 1) * dilations[1] - 1) // strides[1] + 1
    return pt, pl, oh, ow


def _window_loop(x_shape, kh, kw, strides, dilations, pt, pl, tap: str) -> str:
    """GLSL visiting every in-bounds input pixel (ih, iw) of the output pixel's window, tap (i, j)."""
    _n, h, w, _c = x_shape
    return f"""  for (int i = 0; i < {kh}; i++) {{
    int ih = b * {strides[0]} - {pt} + i * {dilations[0]};
    if (ih < 0 || ih >= {h}) continue;
    for (int j = 0; j < {kw}; j++) {{
      int iw = c * {strides[1]} - {pl} + j * {dilations[1]};
      if (iw < 0 || iw >= {w}) continue;
      {tap}
    }}
  }}
"""


def _main(out_dims, body: str) -> str:
    return "void main() {\n" + output_coords(out_dims) + _lane_mask(out_dims) + body + "}\n"


class Kernels:
    """The webgl kernels bound to one backend (its GL context and its constant cache)."""

    def __init__(self, backend):
        self.backend = backend
        self.ctx = backend.ctx

    # ------------------------------------------------------------ helpers
    def tensor(self, value, layout=None) -> GpuTensor:
        """A GpuTensor for an activation (as is) or a constant (uploaded once, cached)."""
        if isinstance(value, GpuTensor):
            return value
        return self.backend.constant_texture(np.asarray(value, np.float32), layout)

    # ------------------------------------------------------------ convolutions
    def conv2d(self, x, w, b=None, *, strides=(1, 1), dilations=(1, 1), padding="valid", activation=None, alpha=None,
               pool=None):
        """Each fragment computes 4 output channels of PIXELS adjacent output pixels, so every weight texel it
        reads serves PIXELS pixels (texel fetches, not arithmetic, bound a shader on SwiftShader and on GPUs
        alike). Pixel q of each block goes to render target q; one cheap pass then interleaves the columns.

        An output only a few texture rows tall (a head that collapses the height) would leave most threads
        idle, so its input channels are split into groups whose partial sums are stacked as extra rows and
        added up in that same final pass, and a fused max pool (`pool`, see graph.py) is taken there too."""
        n, h, width, ci = x.shape
        kh, kw, _, co = w.shape
        pt, pl, oh, ow = _window(x.shape, kh, kw, strides, dilations, padding)
        ci4 = math.ceil(ci / 4)
        pixels = max(1, min(PIXELS, ow, self.ctx.max_outputs))
        blocks = math.ceil(ow / pixels)
        splits = min(ci4, math.ceil(SPLIT_BELOW_ROWS / (n * oh))) if kh * kw * ci4 >= SPLIT_MIN_TEXELS else 1
        per_split = math.ceil(ci4 / splits)
        splits = math.ceil(ci4 / per_split)
        # Weights: one row per (kh, kw, input channel padded to 4), 4 output channels per texel.
        weights = self.tensor(w, ("conv", ci4))
        bias = self.tensor(b if b is not None else np.zeros(co, np.float32))
        part_shape = (splits * n, oh, blocks, co)
        per_pixel = "\n".join(
            f"      int iw{q} = iw + {q * strides[1]}; float m{q} = float(iw{q} >= 0 && iw{q} < {width}); "
            f"iw{q} = clamp(iw{q}, 0, {width - 1});" for q in range(pixels))

        def step(k, lanes):  # one input texel: `lanes` real channels, each with a weight texel
            reads = "".join(f"vec4 w{t} = W_texel(0, row + {k} * 4 + {t}, 0, d4); " for t in range(lanes))
            terms = " + ".join(f"v.{'xyzw'[t]} * w{t}" for t in range(lanes))
            accumulate = " ".join(f"{{ vec4 v = X_texel(batch, ih, iw{q}, {k}) * m{q}; acc{q} += {terms}; }}"
                                  for q in range(pixels))
            return f"{{ {reads}\n        {accumulate} }}"

        if splits > 1:  # padding lanes hold zero inputs and zero weights, so whole texels are safe
            inner = f"      for (int k = first; k < min(first + {per_split}, {ci4}); k++) {step('k', 4)}\n"
        else:
            full, rest = divmod(ci, 4)
            inner = f"      for (int k = 0; k < {full}; k++) {step('k', 4)}\n" if full else ""
            inner += f"      {step(full, rest)}\n" if rest else ""
        start = "vec4(0.0)" if splits > 1 else "B_texel(0, 0, 0, d4)"
        finish = "acc{q}" if splits > 1 else "activate(acc{q}) * lane_mask"
        body = (f"  int batch = a % {n}; int first = a / {n} * {per_split};\n"
                + "".join(f"  vec4 acc{q} = {start};\n" for q in range(pixels)) + f"""  for (int i = 0; i < {kh}; i++) {{
    int ih = b * {strides[0]} - {pt} + i * {dilations[0]};
    if (ih < 0 || ih >= {h}) continue;
    for (int j = 0; j < {kw}; j++) {{
      int iw = c * {pixels * strides[1]} - {pl} + j * {dilations[1]};
{per_pixel}
      int row = (i * {kw} + j) * {ci4 * 4};
{inner}    }}
  }}
""" + "".join(f"  outColor{q or ''} = {finish.format(q=q)};\n" for q in range(pixels)))
        outputs = "".join(f"layout(location = {q}) out vec4 outColor{q};\n" for q in range(1, pixels))
        source = (outputs + accessor("X", x.dims) + accessor("W", weights.dims) + accessor("B", bias.dims)
                  + glsl_activation(activation, alpha) + _main(dims4(part_shape), body))
        parts = self.ctx.run_multi(source, {"X": x, "W": weights, "B": bias}, [part_shape] * pixels)
        if pixels == 1 and splits == 1 and pool is None:
            return parts[0]
        return self._combine_parts(parts, ow, splits, bias, activation, alpha, pool or (1, 1))

    def _combine_parts(self, parts, width, splits, bias, activation, alpha, pool):
        """Column c of the conv is column c // P of part c % P (undoing conv2d's pixel blocking); with
        splits, the stacked partial sums are added up here and the bias and activation applied; the result
        is the max over each `pool` window of those (a 1x1 pool: the conv itself)."""
        rows, oh, _blocks, co = parts[0].shape
        n = rows // splits
        (ph, pw), parts_count = pool, len(parts)
        out_shape = (n, oh // ph, width // pw, co)
        if splits == 1:
            read = "acc = P{q}_texel(a, row, block, d4);"
            finish = "acc"
        else:
            read = f"for (int s = 0; s < {splits}; s++) acc += P{{q}}_texel(s * {n} + a, row, block, d4);"
            finish = "activate(acc + B_texel(0, 0, 0, d4)) * lane_mask"
        pick = "\n      else ".join(f"if (q == {q}) {{ {read.format(q=q)} }}" for q in range(parts_count))
        body = f"""  vec4 best = vec4(-3.4e38);
  for (int i = 0; i < {ph}; i++) for (int j = 0; j < {pw}; j++) {{
    int row = b * {ph} + i; int column = c * {pw} + j;
    int q = column % {parts_count}; int block = column / {parts_count};
    vec4 acc = vec4(0.0);
      {pick}
    best = max(best, {finish});
  }}
  outColor = best;
"""
        inputs = {f"P{q}": t for q, t in enumerate(parts)}
        source = "".join(accessor(f"P{q}", t.dims) for q, t in enumerate(parts))
        if splits > 1:
            inputs["B"] = bias
            source += accessor("B", bias.dims) + glsl_activation(activation, alpha)
        return self.ctx.run(source + _main(dims4(out_shape), body), inputs, out_shape)

    def depthwise_conv2d(self, x, w, b=None, *, strides=(1, 1), dilations=(1, 1), padding="valid", activation=None,
                         alpha=None):
        n, _h, _w, ci = x.shape
        kh, kw, _, m = w.shape
        pt, pl, oh, ow = _window(x.shape, kh, kw, strides, dilations, padding)
        co = ci * m
        weights = self.tensor(w, ("depthwise",))
        bias = self.tensor(b if b is not None else np.zeros(co, np.float32))
        if m == 1:
            tap = "acc += X_texel(a, ih, iw, d4) * W_texel(0, i * %d + j, 0, d4);" % kw
        else:
            tap = ("for (int k = 0; k < 4; k++) { int o = d4 * 4 + k; if (o < %d) acc[k] += X_at(a, ih, iw, o / %d)"
                   " * W_at(0, i * %d + j, 0, o); }" % (co, m, kw))
        body = ("  vec4 acc = B_texel(0, 0, 0, d4);\n" + _window_loop(x.shape, kh, kw, strides, dilations, pt, pl, tap)
                + "  outColor = activate(acc) * lane_mask;\n")
        source = (accessor("X", x.dims) + accessor("W", weights.dims) + accessor("B", bias.dims)
                  + glsl_activation(activation, alpha) + _main(dims4((n, oh, ow, co)), body))
        return self.ctx.run(source, {"X": x, "W": weights, "B": bias}, (n, oh, ow, co))

    # ------------------------------------------------------------ pooling
    def _pool(self, x, ksize, strides, padding, kind):
        n, _h, _w, c = x.shape
        kh, kw = ksize
        pt, pl, oh, ow = _window(x.shape, kh, kw, strides, (1, 1), padding)
        start = "vec4(-3.4e38)" if kind == "max" else "vec4(0.0)"
        step = "acc = max(acc, v);" if kind == "max" else "acc += v;"
        finish = "acc" if kind == "max" else "acc / float(count)"
        tap = f"vec4 v = X_texel(a, ih, iw, d4); {step} count++;"
        body = (f"  vec4 acc = {start};\n  int count = 0;\n"
                + _window_loop(x.shape, kh, kw, strides, (1, 1), pt, pl, tap)
                + f"  outColor = ({finish}) * lane_mask;\n")
        return self.ctx.run(accessor("X", x.dims) + _main(dims4((n, oh, ow, c)), body), {"X": x}, (n, oh, ow, c))

    def max_pool(self, x, *, ksize=(2, 2), strides=(2, 2), padding="valid"):
        return self._pool(x, ksize, strides, padding, "max")

    def avg_pool(self, x, *, ksize=(2, 2), strides=(2, 2), padding="valid"):
        return self._pool(x, ksize, strides, padding, "avg")

    # ------------------------------------------------------------ dense
    def matmul(self, a, b, bias=None, *, transpose_a=False, transpose_b=False, activation=None, alpha=None):
        if transpose_a or isinstance(b, GpuTensor) or a.ndim > 4:
            return None  # not a dense layer: the NumPy kernel runs this node
        weights = np.asarray(b, np.float32)
        if transpose_b:
            weights = weights.T
        k, units = weights.shape
        k4 = math.ceil(k / 4)
        w = self.tensor(b, ("dense", bool(transpose_b), k4))
        bias_t = self.tensor(bias if bias is not None else np.zeros(units, np.float32))
        out_shape = (*a.shape[:-1], units)
        body = f"""  vec4 acc = B_texel(0, 0, 0, d4);
  for (int k = 0; k < {k4}; k++) {{
    vec4 v = X_texel(a, b, c, k);
    int r = k * 4;
    acc += v.x * W_texel(0, r, 0, d4) + v.y * W_texel(0, r + 1, 0, d4)
         + v.z * W_texel(0, r + 2, 0, d4) + v.w * W_texel(0, r + 3, 0, d4);
  }}
  outColor = activate(acc) * lane_mask;
"""
        source = (accessor("X", a.dims) + accessor("W", w.dims) + accessor("B", bias_t.dims)
                  + glsl_activation(activation, alpha) + _main(dims4(out_shape), body))
        return self.ctx.run(source, {"X": a, "W": w, "B": bias_t}, out_shape)

    # ------------------------------------------------------------ elementwise
    def unary(self, name):
        def kernel(x, alpha=None):
            body = "  outColor = activate(X_texel(a, b, c, d4)) * lane_mask;\n"
            source = accessor("X", x.dims) + glsl_activation(name, alpha) + _main(x.dims, body)
            return self.ctx.run(source, {"X": x}, x.shape)

        return kernel

    def clip(self, x, low=None, high=None):
        lo = -3.4e38 if low is None else float(low)
        hi = 3.4e38 if high is None else float(high)
        body = f"  outColor = clamp(X_texel(a, b, c, d4), {glsl_float(lo)}, {glsl_float(hi)}) * lane_mask;\n"
        return self.ctx.run(accessor("X", x.dims) + _main(x.dims, body), {"X": x}, x.shape)

    @staticmethod
    def _broadcast_read(name, dims, out_dims) -> str:
        """GLSL expression of input `name` at the output texel, with NumPy broadcasting."""
        coords = ["0" if d == 1 and o != 1 else axis for d, o, axis in zip(dims[:3], out_dims[:3], "abc")]
        if dims[3] == out_dims[3]:
            return f"{name}_texel({', '.join(coords)}, d4)"
        return f"vec4({name}_at({', '.join(coords)}, 0))"  # a per-row scalar broadcast along channels

    def binary(self, expression):
        def kernel(x, y):
            xs = self.tensor(x)
            ys = self.tensor(y)
            out_shape = np.broadcast_shapes(xs.shape, ys.shape)
            out_dims = dims4(out_shape)
            if any(d not in (1, o) for d, o in zip(xs.dims + ys.dims, out_dims + out_dims)) or \
                    any(t.dims[3] not in (1, out_dims[3]) for t in (xs, ys)):
                return None
            body = (f"  vec4 x = {self._broadcast_read('X', xs.dims, out_dims)};\n"
                    f"  vec4 y = {self._broadcast_read('Y', ys.dims, out_dims)};\n"
                    f"  outColor = ({expression}) * lane_mask;\n")
            source = accessor("X", xs.dims) + accessor("Y", ys.dims) + _main(out_dims, body)
            return self.ctx.run(source, {"X": xs, "Y": ys}, out_shape)

        return kernel

    def batch_norm(self, x, scale, offset):
        s, o = self.tensor(scale), self.tensor(offset)
        if s.dims[3] != x.dims[3] or o.dims[3] != x.dims[3] or s.size != x.shape[-1]:
            return None
        body = "  outColor = (X_texel(a, b, c, d4) * S_texel(0, 0, 0, d4) + O_texel(0, 0, 0, d4)) * lane_mask;\n"
        source = accessor("X", x.dims) + accessor("S", s.dims) + accessor("O", o.dims) + _main(x.dims, body)
        return self.ctx.run(source, {"X": x, "S": s, "O": o}, x.shape)

    # ------------------------------------------------------------ softmax and reductions
    def softmax(self, x, *, axis=-1):
        if axis not in (-1, x.ndim - 1):
            return None
        d = x.dims[3]
        body = f"""  float m = -3.4e38;
  for (int k = 0; k < {d}; k++) m = max(m, X_at(a, b, c, k));
  float total = 0.0;
  for (int k = 0; k < {d}; k++) total += exp(X_at(a, b, c, k) - m);
  outColor = exp(X_texel(a, b, c, d4) - m) / total * lane_mask;
"""
        return self.ctx.run(accessor("X", x.dims) + _main(x.dims, body), {"X": x}, x.shape)

    def _spatial_reduce(self, kind):
        def kernel(x, *, axes=None, keepdims=False):
            if x.ndim != 4 or tuple(sorted(int(a) % 4 for a in np.atleast_1d(axes))) != (1, 2):
                return None
            n, h, w, c = x.shape
            out_shape = (n, 1, 1, c) if keepdims else (n, c)
            out_dims = dims4(out_shape)
            batch = "a" if keepdims else "c"
            step = "acc = max(acc, v);" if kind == "max" else "acc += v;"
            start = "vec4(-3.4e38)" if kind == "max" else "vec4(0.0)"
            finish = "acc" if kind == "max" else f"acc / {glsl_float(h * w)}"
            body = f"""  vec4 acc = {start};
  for (int i = 0; i < {h}; i++) for (int j = 0; j < {w}; j++) {{ vec4 v = X_texel({batch}, i, j, d4); {step} }}
  outColor = ({finish}) * lane_mask;
"""
            return self.ctx.run(accessor("X", x.dims) + _main(out_dims, body), {"X": x}, out_shape)

        return kernel

    # ------------------------------------------------------------ layout
    def _relayout(self, x, out_shape):
        """Copy x into a tensor of another shape with the same elements in C order."""
        out_dims = dims4(out_shape)
        a_, b_, c_, d_ = x.dims
        body = f"""  vec4 v = vec4(0.0);
  for (int k = 0; k < 4; k++) {{
    int d = d4 * 4 + k;
    if (d >= {out_dims[3]}) break;
    int idx = ((a * {out_dims[1]} + b) * {out_dims[2]} + c) * {out_dims[3]} + d;
    int id = idx % {d_}; idx /= {d_};
    int ic = idx % {c_}; idx /= {c_};
    int ib = idx % {b_}; int ia = idx / {b_};
    v[k] = X_at(ia, ib, ic, id);
  }}
  outColor = v;
"""
        return self.ctx.run(accessor("X", x.dims) + _main(out_dims, body), {"X": x}, out_shape)

    def shape_op(self, name):
        reference = NUMPY[name]

        def kernel(x, *args, **attrs):
            if not isinstance(x, GpuTensor):
                return None
            out_shape = reference(np.zeros(x.shape, np.bool_), *args, **attrs).shape
            return x.view(out_shape) or self._relayout(x, out_shape)

        return kernel

    def concat(self, *xs, axis=-1):
        tensors = [self.tensor(x) for x in xs]
        rank = tensors[0].ndim
        if len(tensors) > 8 or any(t.ndim != rank for t in tensors):
            return None
        axis = axis % rank + (4 - rank)  # in dims4 coordinates
        out_dims = list(tensors[0].dims)
        out_dims[axis] = sum(t.dims[axis] for t in tensors)
        out_shape = tuple(out_dims[4 - rank:])
        names = "abcd"
        lines, offset = [], 0
        for index, t in enumerate(tensors):
            coords = [names[i] if i != axis else f"{names[i]} - {offset}" for i in range(4)]
            lines.append(f"if ({names[axis]} < {offset + t.dims[axis]}) v[k] = X{index}_at({', '.join(coords)});")
            offset += t.dims[axis]
        chain = "\n      else ".join(lines)
        body = f"""  vec4 v = vec4(0.0);
  for (int k = 0; k < 4; k++) {{
    int d = d4 * 4 + k;
    if (d >= {out_dims[3]}) break;
      {chain}
  }}
  outColor = v;
"""
        source = "".join(accessor(f"X{i}", t.dims) for i, t in enumerate(tensors)) + _main(tuple(out_dims), body)
        return self.ctx.run(source, {f"X{i}": t for i, t in enumerate(tensors)}, out_shape)

    def concat_v2(self, *xs_and_axis):
        return self.concat(*xs_and_axis[:-1], axis=int(np.asarray(xs_and_axis[-1])))

    def pad(self, x, paddings_tensor=None, value_tensor=None, *, paddings=None, value=0.0, mode="constant"):
        if mode != "constant":
            return None
        pads = np.asarray(paddings_tensor if paddings_tensor is not None else paddings).reshape(-1, 2).tolist()
        if value_tensor is not None:
            value = float(np.asarray(value_tensor))
        pads = [[0, 0]] * (4 - len(pads)) + pads
        out_shape = tuple(int(s) + p[0] + p[1] for s, p in zip(x.shape, pads[4 - x.ndim:]))
        out_dims = dims4(out_shape)
        body = f"""  vec4 v = vec4(0.0);
  int ia = a - {pads[0][0]}; int ib = b - {pads[1][0]}; int ic = c - {pads[2][0]};
  bool inside = ia >= 0 && ia < {x.dims[0]} && ib >= 0 && ib < {x.dims[1]} && ic >= 0 && ic < {x.dims[2]};
  for (int k = 0; k < 4; k++) {{
    int id = d4 * 4 + k - {pads[3][0]};
    v[k] = (inside && id >= 0 && id < {x.dims[3]}) ? X_at(ia, ib, ic, id) : {glsl_float(float(value))};
  }}
  outColor = v * lane_mask;
"""
        return self.ctx.run(accessor("X", x.dims) + _main(out_dims, body), {"X": x}, out_shape)

    def shape(self, x):
        return np.array(x.shape, np.int32)

    # ------------------------------------------------------------ registry
    def registry(self) -> dict:
        kernels = {
            "conv2d": self.conv2d, "depthwise_conv2d": self.depthwise_conv2d, "max_pool": self.max_pool,
            "avg_pool": self.avg_pool, "matmul": self.matmul, "batch_norm": self.batch_norm,
            "softmax": self.softmax, "reduce_mean": self._spatial_reduce("mean"),
            "reduce_max": self._spatial_reduce("max"), "concat": self.concat, "concat_v2": self.concat_v2,
            "pad": self.pad, "shape": self.shape, "clip": self.clip,
            "add": self.binary("x + y"), "bias_add": self.binary("x + y"), "sub": self.binary("x - y"),
            "mul": self.binary("x * y"), "div": self.binary("x / y"), "maximum": self.binary("max(x, y)"),
            "minimum": self.binary("min(x, y)"), "squared_difference": self.binary("(x - y) * (x - y)"),
            "prelu": self.binary("mix(x * y, x, step(0.0, x))"),
        }
        for name in UNARY_OPS:
            kernels[name] = self.unary(name)
        for name in ("reshape", "flatten", "squeeze", "expand_dims"):
            kernels[name] = self.shape_op(name)
        return kernels
