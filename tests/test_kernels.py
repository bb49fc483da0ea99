"""Kernels against naive reference implementations over many random shapes.

Parametrised over every backend in kcsolver.kernels.BACKENDS, so a new
backend runs the same checks.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import reference_ops as ref
from kcsolver.kernels import BACKENDS, get_kernels

backends = pytest.mark.parametrize("backend", BACKENDS)
paddings = st.one_of(st.sampled_from(["valid", "same"]),
                     st.tuples(st.tuples(st.integers(0, 2), st.integers(0, 2)),
                               st.tuples(st.integers(0, 2), st.integers(0, 2))))


@st.composite
def conv_case(draw, depthwise=False):
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    strides = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    dilations = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    if strides != (1, 1):
        dilations = (1, 1)  # TensorFlow forbids both at once
    padding = draw(paddings)
    h = draw(st.integers((kh - 1) * dilations[0] + 1, 11))
    w = draw(st.integers((kw - 1) * dilations[1] + 1, 11))
    cin = draw(st.integers(1, 5))
    cout = draw(st.integers(1, 3 if depthwise else 6))
    seed = draw(st.integers(0, 2**31))
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((draw(st.integers(1, 2)), h, w, cin)).astype(np.float32)
    weights = rng.standard_normal((kh, kw, cin, cout)).astype(np.float32)
    return x, weights, strides, dilations, padding


@backends
@settings(max_examples=60, deadline=None)
@given(case=conv_case())
def test_conv2d(backend, case):
    x, w, strides, dilations, padding = case
    bias = np.linspace(-1, 1, w.shape[3]).astype(np.float32)
    out = get_kernels(backend)["conv2d"](x, w, bias, strides=strides, dilations=dilations, padding=padding)
    np.testing.assert_allclose(out, ref.conv2d(x, w, bias, strides, dilations, padding), rtol=1e-4, atol=1e-4)


@backends
@settings(max_examples=60, deadline=None)
@given(case=conv_case(depthwise=True))
def test_depthwise_conv2d(backend, case):
    x, w, strides, dilations, padding = case
    out = get_kernels(backend)["depthwise_conv2d"](x, w, strides=strides, dilations=dilations, padding=padding)
    np.testing.assert_allclose(out, ref.depthwise_conv2d(x, w, strides, dilations, padding), rtol=1e-4, atol=1e-4)


@backends
@pytest.mark.parametrize("kind", ["max", "avg"])
@settings(max_examples=40, deadline=None)
@given(h=st.integers(3, 10), w=st.integers(3, 10), k=st.integers(1, 3), s=st.integers(1, 3),
       padding=st.sampled_from(["valid", "same"]), seed=st.integers(0, 1000))
def test_pooling(backend, kind, h, w, k, s, padding, seed):
    x = np.random.default_rng(seed).standard_normal((2, h, w, 3)).astype(np.float32)
    out = get_kernels(backend)[f"{kind}_pool"](x, ksize=(k, k), strides=(s, s), padding=padding)
    np.testing.assert_allclose(out, ref.pool(x, (k, k), (s, s), padding, kind), rtol=1e-5, atol=1e-5)


@backends
@pytest.mark.parametrize("activation", ["relu", "relu6", "leaky_relu", "elu", "selu", "sigmoid", "tanh", "swish",
                                        "hard_sigmoid", "softplus"])
def test_fused_activation_equals_separate_op(backend, activation):
    kernels = get_kernels(backend)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((1, 6, 7, 3)).astype(np.float32) * 4
    w = rng.standard_normal((3, 3, 3, 5)).astype(np.float32)
    attrs = {"alpha": 0.1} if activation == "leaky_relu" else {}
    fused = kernels["conv2d"](x, w, strides=(1, 1), dilations=(1, 1), padding="same", activation=activation, **attrs)
    plain = kernels["conv2d"](x, w, strides=(1, 1), dilations=(1, 1), padding="same")
    np.testing.assert_allclose(fused, kernels[activation](plain, **attrs), rtol=1e-5, atol=1e-6)


@backends
@pytest.mark.parametrize("pool", [(2, 2), (2, 1), (1, 3)])
def test_fused_max_pool_equals_separate_op(backend, pool):
    kernels = get_kernels(backend)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 7, 9, 3)).astype(np.float32)
    w = rng.standard_normal((3, 3, 3, 5)).astype(np.float32)
    conv = {"strides": (1, 1), "dilations": (1, 1), "padding": "same", "activation": "relu"}
    fused = kernels["conv2d"](x, w, **conv, pool=pool)
    separate = kernels["max_pool"](kernels["conv2d"](x, w, **conv), ksize=pool, strides=pool, padding="valid")
    np.testing.assert_allclose(fused, separate, rtol=1e-6)



@pytest.mark.parametrize("depth", [9, 31, 32, 288, 577])
def test_numpy_without_blas_takes_the_einsum_route(monkeypatch, depth):
    """Pyodide's NumPy has no BLAS, so the browser multiplies through einsum: same numbers as `@`."""
    from kcsolver.kernels.numpy import matmul as products
    monkeypatch.setattr(products, "HAS_BLAS", False)
    used = []
    monkeypatch.setattr(products, "einsum_product",
                        lambda a, b, route=products.einsum_product: used.append(a.shape) or route(a, b))
    rng = np.random.default_rng(depth)
    a = rng.standard_normal((37, depth)).astype(np.float32)
    b = rng.standard_normal((depth, 11)).astype(np.float32)
    out = products.matrix_product(a, b)
    assert out.dtype == np.float32 and out.shape == (37, 11)
    np.testing.assert_allclose(out, a.astype(np.float64) @ b, rtol=1e-4, atol=1e-4)
    assert used == ([(37, depth)] if depth >= products.EINSUM_MIN_DEPTH else [])
    # and a conv deep enough to take the route reads the same as with BLAS
    x = rng.standard_normal((1, 6, 8, 8)).astype(np.float32)
    w = rng.standard_normal((3, 3, 8, 5)).astype(np.float32)
    conv = get_kernels("numpy")["conv2d"](x, w, strides=(1, 1), dilations=(1, 1), padding="same")
    np.testing.assert_allclose(conv, ref.conv2d(x, w, None, (1, 1), (1, 1), "same"), rtol=1e-4, atol=1e-4)
    assert used[-1] == (48, 72)

ACTIVATION_REFERENCE = {
    "relu": lambda x: np.maximum(x, 0), "relu6": lambda x: np.clip(x, 0, 6),
    "sigmoid": lambda x: 1 / (1 + np.exp(-x)), "tanh": np.tanh, "swish": lambda x: x / (1 + np.exp(-x)),
    "elu": lambda x: np.where(x > 0, x, np.exp(x) - 1), "softplus": lambda x: np.log1p(np.exp(x)),
    "hard_sigmoid": lambda x: np.clip(0.2 * x + 0.5, 0, 1),
    "selu": lambda x: 1.0507009873554805 * np.where(x > 0, x, 1.6732632423543772 * (np.exp(x) - 1)),
}


@backends
@pytest.mark.parametrize("name", sorted(ACTIVATION_REFERENCE))
def test_activation_values(backend, name):
    x = np.linspace(-8, 8, 101, dtype=np.float32)
    np.testing.assert_allclose(get_kernels(backend)[name](x), ACTIVATION_REFERENCE[name](x.astype(np.float64)),
                               rtol=1e-5, atol=1e-6)


@backends
@settings(max_examples=30, deadline=None)
@given(rows=st.integers(1, 5), inner=st.integers(1, 7), cols=st.integers(1, 6), ta=st.booleans(), tb=st.booleans())
def test_matmul(backend, rows, inner, cols, ta, tb):
    rng = np.random.default_rng(rows * 100 + inner * 10 + cols)
    a = rng.standard_normal((rows, inner)).astype(np.float32)
    b = rng.standard_normal((inner, cols)).astype(np.float32)
    bias = rng.standard_normal(cols).astype(np.float32)
    out = get_kernels(backend)["matmul"](a.T.copy() if ta else a, b.T.copy() if tb else b, bias,
                                         transpose_a=ta, transpose_b=tb)
    expected = [[sum(float(a[i, k]) * float(b[k, j]) for k in range(inner)) + bias[j] for j in range(cols)]
                for i in range(rows)]
    np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-4)


@backends
def test_softmax_and_reductions(backend):
    kernels = get_kernels(backend)
    x = np.random.default_rng(1).standard_normal((2, 3, 4, 5)).astype(np.float32) * 30
    soft = kernels["softmax"](x.copy(), axis=-1)
    e = np.exp(x.astype(np.float64) - x.max(-1, keepdims=True))
    np.testing.assert_allclose(soft, e / e.sum(-1, keepdims=True), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(kernels["reduce_mean"](x, axes=(1, 2)), x.mean(axis=(1, 2)), rtol=1e-5)
    np.testing.assert_allclose(kernels["reduce_max"](x, axes=(1, 2), keepdims=True), x.max(axis=(1, 2), keepdims=True))


@backends
@pytest.mark.parametrize("masks,expected_shape", [
    ({}, (2, 3)),
    ({"shrink_axis_mask": 1}, (3,)),
    ({"begin_mask": 1, "end_mask": 2}, (3, 4)),
    ({"new_axis_mask": 1}, (1, 3, 5)),
])
def test_strided_slice(backend, masks, expected_shape):
    x = np.arange(4 * 5, dtype=np.float32).reshape(4, 5)
    out = get_kernels(backend)["strided_slice"](x, np.array([1, 1]), np.array([3, 4]), np.array([1, 1]), **masks)
    assert out.shape == expected_shape
    index = []
    for i, (b, e) in enumerate([(1, 3), (1, 4)]):
        bit = 1 << i
        if masks.get("new_axis_mask", 0) & bit:
            index.append(None)
        elif masks.get("shrink_axis_mask", 0) & bit:
            index.append(b)
        else:
            index.append(slice(None if masks.get("begin_mask", 0) & bit else b, None if masks.get("end_mask", 0) & bit else e))
    np.testing.assert_array_equal(out, x[tuple(index)])


@backends
def test_same_avg_pool_excludes_padding(backend):
    x = np.ones((1, 3, 3, 1), np.float32)
    out = get_kernels(backend)["avg_pool"](x, ksize=(2, 2), strides=(2, 2), padding="same")
    np.testing.assert_array_equal(out, np.ones((1, 2, 2, 1)))
