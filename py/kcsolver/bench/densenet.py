"""A DenseNet121-sized TF.js graph model with random weights (the public demo's architecture).

The public TF.js KCAPTCHA demo ships a DenseNet121 graph model (~32 MB) that
reads 2-digit captchas. This writes a model of the same shape, in the form
the official converter emits for inference (batch norms as Mul/AddV2 in
front of each ReLU, convolutions as Conv2D), so benchmarks compare engines
on the same file.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..tfjs.writer import GraphModelBuilder

BLOCKS = (6, 12, 24, 16)
GROWTH = 32


def build_densenet121(out_dir, input_shape=(60, 160, 3), outputs=20, seed=0) -> Path:
    rng = np.random.default_rng(seed)
    g = GraphModelBuilder()
    counter = [0]

    def name(kind):
        counter[0] += 1
        return f"densenet/{kind}_{counter[0]}"

    def conv(x, cin, cout, k, stride=1, padding="SAME"):
        w = g.const(name("w"), rng.standard_normal((k, k, cin, cout)).astype(np.float32) * np.sqrt(2 / (k * k * cin)))
        return g.op(name("conv"), "Conv2D", [x, w], strides=[1, stride, stride, 1], padding=padding,
                    data_format="NHWC", dilations=[1, 1, 1, 1])

    def bn_relu(x, channels):
        scale = g.const(name("bn_scale"), rng.uniform(0.5, 1.0, channels).astype(np.float32))
        shift = g.const(name("bn_shift"), rng.uniform(-0.1, 0.1, channels).astype(np.float32))
        return g.op(name("relu"), "Relu", [g.op(name("bn_add"), "AddV2", [g.op(name("bn_mul"), "Mul", [x, scale]), shift])])

    x = g.placeholder("input_1", (None, *input_shape))
    padded = g.op("densenet/pad", "Pad", [x, g.const("densenet/pad/paddings", np.array([[0, 0], [3, 3], [3, 3], [0, 0]]))])
    y = bn_relu(conv(padded, input_shape[2], 64, 7, 2, "VALID"), 64)
    y = g.op(name("pool"), "MaxPool", [y], ksize=[1, 3, 3, 1], strides=[1, 2, 2, 1], padding="SAME", data_format="NHWC")
    channels = 64
    for index, layers in enumerate(BLOCKS):
        for _ in range(layers):
            branch = conv(bn_relu(y, channels), channels, 4 * GROWTH, 1)
            branch = conv(bn_relu(branch, 4 * GROWTH), 4 * GROWTH, GROWTH, 3)
            y = g.op(name("concat"), "ConcatV2", [y, branch, g.const(name("axis"), np.array(3))], N=2)
            channels += GROWTH
        if index < len(BLOCKS) - 1:
            y = conv(bn_relu(y, channels), channels, channels // 2, 1)
            channels //= 2
            y = g.op(name("avgpool"), "AvgPool", [y], ksize=[1, 2, 2, 1], strides=[1, 2, 2, 1], padding="VALID",
                     data_format="NHWC")
    y = bn_relu(y, channels)
    y = g.op("densenet/gap", "Mean", [y, g.const("densenet/gap/axes", np.array([1, 2]))], keep_dims=False)
    w = g.const("densenet/dense/w", rng.standard_normal((channels, outputs)).astype(np.float32) * 0.05)
    b = g.const("densenet/dense/b", np.zeros(outputs, np.float32))
    logits = g.op("densenet/dense", "BiasAdd", [g.op("densenet/matmul", "MatMul", [y, w], transpose_a=False,
                                                     transpose_b=False), b])
    out = g.op("densenet/sigmoid", "Sigmoid", [logits])
    return g.write(out_dir, {"input_1": x}, {"scores": out})
