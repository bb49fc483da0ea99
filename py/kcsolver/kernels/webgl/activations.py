"""GLSL for the activations fused into webgl kernels (the same list as graph.FUSABLE_ACTIVATIONS)."""

from __future__ import annotations


def glsl_float(value) -> str:
    """A GLSL float literal (always with a point or exponent, so 0 is 0.0, not an int)."""
    return repr(float(value))


def glsl_activation(name: str | None, alpha=None) -> str:
    """A GLSL function `vec4 activate(vec4 x)` for the named activation."""
    a = 0.2 if alpha is None else float(alpha)
    body = {
        None: "return x;",
        "linear": "return x;",
        "identity": "return x;",
        "relu": "return max(x, 0.0);",
        "relu6": "return clamp(x, 0.0, 6.0);",
        "leaky_relu": f"return mix(x * {glsl_float(a)}, x, step(0.0, x));",
        "elu": "",  # filled below: alpha is a parameter
        "selu": "return 1.0507009873554805 * mix(1.6732632423543772 * (exp(min(x, 0.0)) - 1.0), x, step(0.0, x));",
        "sigmoid": "return 1.0 / (1.0 + exp(-clamp(x, -88.0, 88.0)));",
        "tanh": "vec4 e = exp(-2.0 * abs(clamp(x, -20.0, 20.0))); return sign(x) * (1.0 - e) / (1.0 + e);",
        "swish": "return x / (1.0 + exp(-clamp(x, -88.0, 88.0)));",
        "hard_sigmoid": "return clamp(0.2 * x + 0.5, 0.0, 1.0);",
        "softplus": "return max(x, 0.0) + log(1.0 + exp(-abs(x)));",
        "softsign": "return x / (1.0 + abs(x));",
        "exp": "return exp(x);",
        "log": "return log(x);",
        "sqrt": "return sqrt(x);",
        "rsqrt": "return inversesqrt(x);",
        "square": "return x * x;",
        "neg": "return -x;",
        "abs": "return abs(x);",
        "reciprocal": "return 1.0 / x;",
        "floor": "return floor(x);",
        "ceil": "return ceil(x);",
        "sign": "return sign(x);",
    }.get(name)
    if body is None or (body == "" and name != "elu"):
        raise KeyError(name)
    if name == "elu":
        alpha_value = 1.0 if alpha is None else float(alpha)
        body = f"return mix({glsl_float(alpha_value)} * (exp(min(x, 0.0)) - 1.0), x, vec4(greaterThan(x, vec4(0.0))));"
    return f"vec4 activate(vec4 x) {{ {body} }}\n"


UNARY_OPS = ("identity", "relu", "relu6", "leaky_relu", "elu", "selu", "sigmoid", "tanh", "swish", "hard_sigmoid",
             "softplus", "softsign", "exp", "log", "sqrt", "rsqrt", "square", "neg", "abs", "reciprocal", "floor",
             "ceil", "sign")
