"""Graph optimisation: every rewrite leaves the outputs as they were and removes what it promises to."""

import numpy as np
import pytest

from kcsolver import graph as ir
from kcsolver.kernels import get_backend


def _pad_then_conv(padding_of_conv, value=0.0, pads=((0, 0), (1, 2), (3, 0), (0, 0)), as_const=False):
    rng = np.random.default_rng(7)
    g = ir.Graph()
    g.inputs.append(ir.TensorSpec("x", (1, 6, 7, 3)))
    if as_const:  # TF's Pad: paddings as a constant input
        g.add("padded", "pad", ["x", g.const("paddings", np.array(pads, np.int32))])
    else:  # Keras' ZeroPadding2D: paddings as an attribute
        g.add("padded", "pad", ["x"], paddings=[list(p) for p in pads], value=value)
    g.add("conv", "conv2d", ["padded", g.const("w", rng.standard_normal((3, 2, 3, 4)).astype(np.float32))],
          strides=(1, 1), dilations=(1, 1), padding=padding_of_conv)
    g.outputs.append(ir.TensorSpec("conv", (None,)))
    return g


def _outputs(g, x, optimize):
    backend = get_backend("numpy")
    if optimize:
        g = ir.optimize(g, backend.kernels)
    return g, ir.Plan(g, backend).run([x])[0]


@pytest.mark.parametrize("padding_of_conv", ["valid", ((1, 0), (0, 2))])
@pytest.mark.parametrize("as_const", [False, True])
def test_a_zero_pad_folds_into_the_conv_that_reads_it(padding_of_conv, as_const):
    x = np.random.default_rng(1).standard_normal((1, 6, 7, 3)).astype(np.float32)
    _, expected = _outputs(_pad_then_conv(padding_of_conv, as_const=as_const), x, optimize=False)
    optimized, got = _outputs(_pad_then_conv(padding_of_conv, as_const=as_const), x, optimize=True)
    assert [node.op for node in optimized.nodes.values()] == ["conv2d"]
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("case", [{"value": 1.0}, {"pads": ((1, 0), (1, 1), (0, 0), (0, 0))},
                                  {"padding_of_conv": "same"}])
def test_a_pad_the_conv_cannot_take_stays(case):
    x = np.random.default_rng(2).standard_normal((1, 6, 7, 3)).astype(np.float32)
    args = {"padding_of_conv": "valid", **case}
    _, expected = _outputs(_pad_then_conv(**args), x, optimize=False)
    optimized, got = _outputs(_pad_then_conv(**args), x, optimize=True)
    assert "pad" in [node.op for node in optimized.nodes.values()]
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)


def _conv_then_pool(pool_attrs, also_read=False):
    rng = np.random.default_rng(5)
    g = ir.Graph()
    g.inputs.append(ir.TensorSpec("x", (1, 9, 11, 2)))
    g.add("conv", "conv2d", ["x", g.const("w", rng.standard_normal((3, 3, 2, 4)).astype(np.float32))],
          strides=(1, 1), dilations=(1, 1), padding="same")
    g.add("relu", "relu", ["conv"])
    g.add("pooled", "max_pool", ["relu"], **pool_attrs)
    g.outputs.append(ir.TensorSpec("pooled", (None,)))
    if also_read:  # the unpooled tensor is needed elsewhere: the pool cannot hide it
        g.outputs.append(ir.TensorSpec("relu", (None,)))
    return g


@pytest.mark.parametrize("pool_attrs,also_read,fused", [
    ({"ksize": (2, 2), "strides": (2, 2), "padding": "valid"}, False, True),
    ({"ksize": (2, 1), "strides": (2, 1), "padding": "valid"}, False, True),
    ({"ksize": (3, 3), "strides": (2, 2), "padding": "valid"}, False, False),  # overlapping windows
    ({"ksize": (2, 2), "strides": (2, 2), "padding": "same"}, False, False),
    ({"ksize": (2, 2), "strides": (2, 2), "padding": "valid"}, True, False),
])
def test_a_max_pool_folds_into_the_conv_it_reads(pool_attrs, also_read, fused):
    x = np.random.default_rng(3).standard_normal((1, 9, 11, 2)).astype(np.float32)
    _, expected = _outputs(_conv_then_pool(pool_attrs, also_read), x, optimize=False)
    optimized, got = _outputs(_conv_then_pool(pool_attrs, also_read), x, optimize=True)
    ops = [node.op for node in optimized.nodes.values()]
    assert ops == (["conv2d"] if fused else ["conv2d", "max_pool"])
    assert optimized.nodes["conv"].attrs.get("pool") == (pool_attrs["ksize"] if fused else None)
    np.testing.assert_allclose(got, expected, rtol=1e-6)
