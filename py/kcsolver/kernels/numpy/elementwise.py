"""Elementwise ops: activations (also applied in place by fused conv/dense) and binary arithmetic."""

from __future__ import annotations

import numpy as np

SELU_ALPHA = 1.6732632423543772
SELU_SCALE = 1.0507009873554805


def _sigmoid(x, out=None):
    # 1 / (1 + exp(-x)) without overflow warnings: exp of a clipped argument.
    out = np.negative(x, out=out)
    np.clip(out, -88.0, 88.0, out=out)
    np.exp(out, out=out)
    out += 1.0
    return np.reciprocal(out, out=out)


def _elu(x, alpha=None):
    alpha = 1.0 if alpha is None else alpha
    return np.where(x > 0, x, np.expm1(np.minimum(x, 0.0)) * np.float32(alpha))


def apply_activation(x: np.ndarray, name: str | None, alpha=None) -> np.ndarray:
    """Apply a fusable activation to a float32 array the caller owns (in place where possible)."""
    if name is None or name == "linear":
        return x
    if name == "relu":
        return np.maximum(x, 0.0, out=x)
    if name == "relu6":
        return np.clip(x, 0.0, 6.0, out=x)
    if name == "leaky_relu":
        a = np.float32(0.2 if alpha is None else alpha)
        return np.maximum(x, x * a, out=x) if a <= 1 else np.minimum(x, x * a, out=x)
    if name == "sigmoid":
        return _sigmoid(x, out=x)
    if name == "tanh":
        return np.tanh(x, out=x)
    if name == "swish":
        return np.multiply(x, _sigmoid(x), out=x)
    return UNARY[name](x, alpha=alpha)


def _hard_sigmoid(x, alpha=None):
    return np.clip(x * np.float32(0.2) + np.float32(0.5), 0.0, 1.0)


def _gelu(x, alpha=None):
    return (0.5 * x * (1.0 + np.tanh(0.7978845608028654 * (x + 0.044715 * x * x * x)))).astype(x.dtype)


UNARY = {
    "identity": lambda x, alpha=None: x,
    "relu": lambda x, alpha=None: np.maximum(x, 0),
    "relu6": lambda x, alpha=None: np.clip(x, 0, 6),
    "leaky_relu": lambda x, alpha=None: np.where(x >= 0, x, x * np.float32(0.2 if alpha is None else alpha)),
    "elu": _elu,
    "selu": lambda x, alpha=None: (SELU_SCALE * np.where(x > 0, x, SELU_ALPHA * np.expm1(np.minimum(x, 0)))).astype(x.dtype),
    "sigmoid": lambda x, alpha=None: _sigmoid(x),
    "tanh": lambda x, alpha=None: np.tanh(x),
    "softplus": lambda x, alpha=None: np.logaddexp(x, np.zeros((), x.dtype)),
    "softsign": lambda x, alpha=None: x / (1 + np.abs(x)),
    "swish": lambda x, alpha=None: x * _sigmoid(x),
    "hard_sigmoid": _hard_sigmoid,
    "gelu": _gelu,
    "exp": lambda x, alpha=None: np.exp(x),
    "log": lambda x, alpha=None: np.log(x),
    "sqrt": lambda x, alpha=None: np.sqrt(x),
    "rsqrt": lambda x, alpha=None: 1 / np.sqrt(x),
    "square": lambda x, alpha=None: x * x,
    "neg": lambda x, alpha=None: -x,
    "abs": lambda x, alpha=None: np.abs(x),
    "reciprocal": lambda x, alpha=None: 1 / x,
    "floor": lambda x, alpha=None: np.floor(x),
    "ceil": lambda x, alpha=None: np.ceil(x),
    "round": lambda x, alpha=None: np.round(x),
    "sign": lambda x, alpha=None: np.sign(x),
}


def _binary(fn):
    def kernel(a, b):
        result = fn(a, b)
        # Keep float32 when one side is a float64 Python/NumPy scalar constant.
        if result.dtype == np.float64 and (np.asarray(a).dtype != np.float64 or np.asarray(b).dtype != np.float64):
            result = result.astype(np.float32)
        return result

    return kernel


BINARY = {
    "add": np.add,
    "sub": np.subtract,
    "mul": np.multiply,
    "div": np.divide,
    "floor_div": np.floor_divide,
    "maximum": np.maximum,
    "minimum": np.minimum,
    "pow": np.power,
    "squared_difference": lambda a, b: np.square(np.subtract(a, b)),
}


def prelu(x, alpha):
    return np.where(x >= 0, x, x * alpha)


def add_n(*xs):
    total = xs[0].copy()
    for x in xs[1:]:
        total += x
    return total


def bias_add(x, bias):
    return x + bias


def cast(x, dtype="float32"):
    return x.astype({"float32": np.float32, "int32": np.int32, "bool": np.bool_}[dtype])


def clip(x, low=None, high=None):
    return np.clip(x, low, high)


KERNELS = {name: fn for name, fn in UNARY.items()}
KERNELS.update({name: _binary(fn) for name, fn in BINARY.items()})
KERNELS.update({"prelu": prelu, "add_n": add_n, "bias_add": bias_add, "cast": cast, "clip": clip})
