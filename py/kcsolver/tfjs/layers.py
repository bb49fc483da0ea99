"""Read a TF.js layers-model (Keras topology) into the IR.

Handles Sequential and functional models, models nested as layers, and
shared layers (a layer called several times). Each Keras layer class maps to
one or a few canonical ops in `LAYERS`; weights are found by the
`<layer name>/<weight name>` convention the converter writes.
"""

from __future__ import annotations

import numpy as np

from ..errors import ModelFormatError, UnsupportedOpError
from ..graph import Graph, TensorSpec
from .loader import Artifacts

ACTIVATIONS = {
    "linear": None, None: None, "relu": "relu", "relu6": "relu6", "elu": "elu", "selu": "selu",
    "sigmoid": "sigmoid", "hard_sigmoid": "hard_sigmoid", "tanh": "tanh", "softplus": "softplus",
    "softsign": "softsign", "swish": "swish", "silu": "swish", "gelu": "gelu", "exponential": "exp",
    "softmax": "softmax",
}
MODEL_CLASSES = {"Sequential", "Functional", "Model"}
IDENTITY_LAYERS = {"Dropout", "SpatialDropout1D", "SpatialDropout2D", "GaussianNoise", "GaussianDropout",
                   "AlphaDropout", "ActivityRegularization"}


class WeightIndex:
    """Weights by (layer name, weight name), e.g. ("conv2d_1", "kernel")."""

    def __init__(self, weights: dict[str, np.ndarray]):
        self.by_layer: dict[tuple[str, str], str] = {}
        self.arrays = weights
        for full in weights:
            parts = full.split("/")
            if len(parts) >= 2:
                self.by_layer.setdefault((parts[-2], parts[-1]), full)

    def get(self, graph: Graph, layer: str, role: str, required: bool = True):
        full = self.by_layer.get((layer, role))
        if full is None:
            if required:
                raise ModelFormatError(f"layer {layer!r}: weight '{layer}/{role}' is not in the weights manifest")
            return None
        if full not in graph.consts:
            graph.const(full, self.arrays[full])
        return full


def _pair(value):
    return (int(value), int(value)) if isinstance(value, (int, float)) else tuple(int(v) for v in value)


def _check_channels_last(name, cfg):
    if cfg.get("data_format", "channels_last") != "channels_last":
        raise UnsupportedOpError(f"layer {name!r}: data_format {cfg['data_format']!r}; only channels_last is supported")


def _activation(graph: Graph, name: str, x: str, activation, layer: str) -> str:
    """Append a Keras activation after tensor x (returns the new tensor)."""
    if isinstance(activation, dict):  # serialized activation object
        activation = activation.get("config", {}).get("name") or activation.get("class_name")
    if activation not in ACTIVATIONS:
        raise UnsupportedOpError(f"layer {layer!r}: unsupported activation {activation!r}")
    op = ACTIVATIONS[activation]
    if op is None:
        return x
    if op == "softmax":
        return graph.add(name, "softmax", [x], axis=-1)
    return graph.add(name, op, [x])


def _padding(name, cfg):
    padding = cfg.get("padding", "valid")
    if padding not in ("valid", "same"):
        raise UnsupportedOpError(f"layer {name!r}: padding {padding!r} is not supported (valid, same)")
    return padding


def convolution(op, kernel_role):
    """Conv2D / DepthwiseConv2D: kernel, optional bias, then the layer's activation."""

    def build(g, name, cfg, xs, w):
        _check_channels_last(name, cfg)
        if cfg.get("groups", 1) != 1:
            raise UnsupportedOpError(f"layer {name!r}: grouped convolution (groups={cfg['groups']}) is not supported")
        inputs = [xs[0], w.get(g, name, kernel_role)]
        if cfg.get("use_bias", True):
            inputs.append(w.get(g, name, "bias"))
        y = g.add(name, op, inputs, strides=_pair(cfg.get("strides", 1)),
                  dilations=_pair(cfg.get("dilation_rate", 1)), padding=_padding(name, cfg))
        return _activation(g, name + "/activation", y, cfg.get("activation"), name)

    return build


def separable_conv2d(g, name, cfg, xs, w):
    _check_channels_last(name, cfg)
    depthwise = g.add(name + "/depthwise", "depthwise_conv2d", [xs[0], w.get(g, name, "depthwise_kernel")],
                      strides=_pair(cfg.get("strides", 1)), dilations=_pair(cfg.get("dilation_rate", 1)),
                      padding=_padding(name, cfg))
    inputs = [depthwise, w.get(g, name, "pointwise_kernel")]
    if cfg.get("use_bias", True):
        inputs.append(w.get(g, name, "bias"))
    y = g.add(name, "conv2d", inputs, strides=(1, 1), dilations=(1, 1), padding="valid")
    return _activation(g, name + "/activation", y, cfg.get("activation"), name)


def dense(g, name, cfg, xs, w):
    inputs = [xs[0], w.get(g, name, "kernel")]
    if cfg.get("use_bias", True):
        inputs.append(w.get(g, name, "bias"))
    y = g.add(name, "matmul", inputs)
    return _activation(g, name + "/activation", y, cfg.get("activation"), name)


def batch_normalization(g, name, cfg, xs, w):
    axis = cfg.get("axis", -1)
    axis = axis[0] if isinstance(axis, list) else axis
    if axis not in (-1, 3):
        raise UnsupportedOpError(f"layer {name!r}: BatchNormalization over axis {axis}; only the channel axis is supported")
    eps = float(cfg.get("epsilon", 1e-3))
    mean = g.consts[w.get(g, name, "moving_mean")]
    var = g.consts[w.get(g, name, "moving_variance")]
    gamma = g.consts[w.get(g, name, "gamma")] if cfg.get("scale", True) else np.ones_like(mean)
    beta = g.consts[w.get(g, name, "beta")] if cfg.get("center", True) else np.zeros_like(mean)
    scale = (gamma / np.sqrt(var + eps)).astype(np.float32)
    offset = (beta - mean * scale).astype(np.float32)
    return g.add(name, "batch_norm", [xs[0], g.const(name + "/scale", scale), g.const(name + "/offset", offset)])


def normalization(g, name, cfg, xs, w):
    mean = w.get(g, name, "mean", required=False)
    if mean is not None:
        mean, var = g.consts[mean], g.consts[w.get(g, name, "variance")]
    else:
        mean, var = np.asarray(cfg["mean"], np.float32), np.asarray(cfg["variance"], np.float32)
    scale = (1.0 / np.sqrt(np.maximum(var, 1e-7))).astype(np.float32).reshape(-1)
    offset = (-mean.reshape(-1) * scale).astype(np.float32)
    if cfg.get("invert"):
        raise UnsupportedOpError(f"layer {name!r}: Normalization(invert=True) is not supported")
    return g.add(name, "batch_norm", [xs[0], g.const(name + "/scale", scale), g.const(name + "/offset", offset)])


def rescaling(g, name, cfg, xs, w):
    scaled = g.add(name + "/scale", "mul", [xs[0], g.const(name + "/scale_value", np.float32(cfg.get("scale", 1.0)))])
    return g.add(name, "add", [scaled, g.const(name + "/offset_value", np.float32(cfg.get("offset", 0.0)))])


def activation(g, name, cfg, xs, w):
    return _activation(g, name, xs[0], cfg.get("activation"), name)


def relu(g, name, cfg, xs, w):
    max_value = cfg.get("max_value")
    slope = float(cfg.get("negative_slope", 0.0) or 0.0)
    if float(cfg.get("threshold", 0.0) or 0.0) != 0.0:
        raise UnsupportedOpError(f"layer {name!r}: ReLU with a threshold is not supported")
    if slope == 0.0 and max_value is None:
        return g.add(name, "relu", xs)
    if slope == 0.0 and float(max_value) == 6.0:
        return g.add(name, "relu6", xs)
    y = g.add(name + "/leaky", "leaky_relu", xs, alpha=slope) if slope else g.add(name + "/relu", "relu", xs)
    return g.add(name, "clip", [y], high=float(max_value)) if max_value is not None else g.add(name, "identity", [y])


def leaky_relu(g, name, cfg, xs, w):
    alpha = cfg.get("alpha", cfg.get("negative_slope", 0.3))
    return g.add(name, "leaky_relu", xs, alpha=float(alpha))


def elu(g, name, cfg, xs, w):
    return g.add(name, "elu", xs, alpha=float(cfg.get("alpha", 1.0)))


def prelu(g, name, cfg, xs, w):
    return g.add(name, "prelu", [xs[0], w.get(g, name, "alpha")])


def softmax(g, name, cfg, xs, w):
    axis = cfg.get("axis", -1)
    return g.add(name, "softmax", xs, axis=axis[0] if isinstance(axis, list) else axis)


def pooling(op):
    def build(g, name, cfg, xs, w):
        _check_channels_last(name, cfg)
        size = _pair(cfg.get("pool_size", 2))
        strides = _pair(cfg.get("strides") or size)
        return g.add(name, op, xs, ksize=size, strides=strides, padding=_padding(name, cfg))

    return build


def global_pooling(op):
    def build(g, name, cfg, xs, w):
        _check_channels_last(name, cfg)
        return g.add(name, op, xs, axes=(1, 2), keepdims=bool(cfg.get("keepdims", False)))

    return build


def flatten(g, name, cfg, xs, w):
    return g.add(name, "flatten", xs)


def reshape(g, name, cfg, xs, w):
    return g.add(name, "reshape", xs, shape=[int(d) for d in cfg["target_shape"]], keep_batch=True)


def permute(g, name, cfg, xs, w):
    return g.add(name, "transpose", xs, perm=[0, *[int(d) for d in cfg["dims"]]])


def zero_padding2d(g, name, cfg, xs, w):
    _check_channels_last(name, cfg)
    pad = cfg.get("padding", 1)
    if isinstance(pad, int):
        (top, bottom), (left, right) = (pad, pad), (pad, pad)
    elif all(isinstance(p, int) for p in pad):
        (top, bottom), (left, right) = (pad[0], pad[0]), (pad[1], pad[1])
    else:
        (top, bottom), (left, right) = pad
    return g.add(name, "pad", xs, paddings=[[0, 0], [top, bottom], [left, right], [0, 0]])


def cropping2d(g, name, cfg, xs, w):
    crop = cfg.get("cropping", 0)
    if isinstance(crop, int):
        crop = ((crop, crop), (crop, crop))
    elif all(isinstance(c, int) for c in crop):
        crop = ((crop[0], crop[0]), (crop[1], crop[1]))
    return g.add(name, "crop", xs, cropping=tuple(tuple(c) for c in crop))


def upsampling2d(g, name, cfg, xs, w):
    if cfg.get("interpolation", "nearest") != "nearest":
        raise UnsupportedOpError(f"layer {name!r}: UpSampling2D interpolation {cfg['interpolation']!r}")
    return g.add(name, "upsample_nearest", xs, size=_pair(cfg.get("size", 2)))


def merge(op):
    def build(g, name, cfg, xs, w):
        if len(xs) < 2:
            raise ModelFormatError(f"layer {name!r}: a merge layer needs at least two inputs")
        acc = xs[0]
        for i, x in enumerate(xs[1:], start=1):
            acc = g.add(name if i == len(xs) - 1 and op != "average" else f"{name}/{i}",
                        "add" if op == "average" else op, [acc, x])
        if op == "average":
            acc = g.add(name, "mul", [acc, g.const(name + "/inverse_count", np.float32(1.0 / len(xs)))])
        return acc

    return build


def concatenate(g, name, cfg, xs, w):
    return g.add(name, "concat", xs, axis=int(cfg.get("axis", -1)))


def identity(g, name, cfg, xs, w):
    return g.add(name, "identity", xs[:1])


LAYERS = {
    "Conv2D": convolution("conv2d", "kernel"), "DepthwiseConv2D": convolution("depthwise_conv2d", "depthwise_kernel"), "SeparableConv2D": separable_conv2d, "Dense": dense,
    "BatchNormalization": batch_normalization, "Normalization": normalization, "Rescaling": rescaling,
    "Activation": activation, "ReLU": relu, "LeakyReLU": leaky_relu, "ELU": elu, "PReLU": prelu,
    "Softmax": softmax, "MaxPooling2D": pooling("max_pool"), "AveragePooling2D": pooling("avg_pool"),
    "GlobalAveragePooling2D": global_pooling("reduce_mean"), "GlobalMaxPooling2D": global_pooling("reduce_max"),
    "Flatten": flatten, "Reshape": reshape, "Permute": permute, "ZeroPadding2D": zero_padding2d,
    "Cropping2D": cropping2d, "UpSampling2D": upsampling2d,
    "Add": merge("add"), "Subtract": merge("sub"), "Multiply": merge("mul"), "Average": merge("average"),
    "Maximum": merge("maximum"), "Minimum": merge("minimum"), "Concatenate": concatenate,
    **{name: identity for name in IDENTITY_LAYERS},
}


def _input_shape(layer_cfg: dict) -> tuple:
    cfg = layer_cfg.get("config", {})
    shape = cfg.get("batch_input_shape") or cfg.get("batch_shape")
    if shape is None:
        raise ModelFormatError(f"input layer {cfg.get('name')!r} has no batch_input_shape")
    return tuple(None if d is None or d == -1 else int(d) for d in shape)


class _Builder:
    def __init__(self, artifacts: Artifacts):
        self.graph = Graph()
        self.weights = WeightIndex(artifacts.weights)
        self.calls: dict[str, int] = {}

    def unique(self, name: str) -> str:
        count = self.calls.get(name, 0)
        self.calls[name] = count + 1
        return name if count == 0 else f"{name}#{count}"

    def apply(self, layer: dict, inputs: list[str], scope: str) -> list[str]:
        kind = layer["class_name"]
        cfg = layer.get("config", {})
        name = cfg.get("name") or layer.get("name")
        if kind in MODEL_CLASSES:
            return self.model(layer, inputs, scope + name + "/")
        builder = LAYERS.get(kind)
        if builder is None:
            raise UnsupportedOpError(f"unsupported layer class {kind!r} (layer {name!r}). "
                                     "See docs/engine.md for the supported layers.")
        node_name = self.unique(scope + name)
        return [builder(self.graph, node_name, cfg, inputs, _ScopedWeights(self.weights, name))]

    def model(self, model: dict, inputs: list[str] | None, scope: str) -> list[str]:
        cfg = model.get("config", {})
        if model["class_name"] == "Sequential":
            return self.sequential(cfg, inputs, scope)
        return self.functional(cfg, inputs, scope)

    def new_input(self, layer: dict, scope: str) -> str:
        name = scope + (layer.get("config", {}).get("name") or layer.get("name"))
        self.graph.inputs.append(TensorSpec(name, _input_shape(layer)))
        return name

    def sequential(self, cfg: dict, inputs, scope: str) -> list[str]:
        layers = cfg["layers"] if isinstance(cfg, dict) else cfg
        if not layers:
            raise ModelFormatError("Sequential model with no layers")
        if inputs is None:
            first = layers[0]
            if first["class_name"] == "InputLayer" or "batch_input_shape" in first.get("config", {}):
                inputs = [self.new_input(first if first["class_name"] == "InputLayer" else
                                         {"config": {**first["config"], "name": first["config"]["name"] + "_input"}},
                                         scope)]
            else:
                raise ModelFormatError("Sequential model without an input shape on its first layer")
        tensors = inputs
        for layer in layers:
            if layer["class_name"] == "InputLayer":
                continue
            tensors = self.apply(layer, tensors, scope)
        return tensors

    def functional(self, cfg: dict, inputs, scope: str) -> list[str]:
        layers = {layer.get("name") or layer["config"]["name"]: layer for layer in cfg["layers"]}
        produced: dict[tuple, str] = {}
        for i, (layer_name, node_index, tensor_index) in enumerate(cfg["input_layers"]):
            key = (layer_name, node_index, tensor_index)
            produced[key] = inputs[i] if inputs is not None else self.new_input(layers[layer_name], scope)
        pending = [(name, k, call) for name, layer in layers.items() if layer["class_name"] != "InputLayer"
                   for k, call in enumerate(layer.get("inbound_nodes", []))]
        while pending:
            remaining = []
            for name, k, call in pending:
                refs = call if isinstance(call, list) else call.get("args", [])
                if not all(isinstance(r, list) and len(r) >= 3 for r in refs):
                    raise ModelFormatError(f"layer {name!r}: unrecognised inbound_nodes format "
                                           "(expected Keras 2 / TF.js [[layer, node, tensor, kwargs]])")
                keys = [(r[0], r[1], r[2]) for r in refs]
                if not all(key in produced for key in keys):
                    remaining.append((name, k, call))
                    continue
                outputs = self.apply(layers[name], [produced[key] for key in keys], scope)
                for t, tensor in enumerate(outputs):
                    produced[(name, k, t)] = tensor
            if len(remaining) == len(pending):
                raise ModelFormatError(f"layers {[n for n, _, _ in remaining][:5]} never get their inputs "
                                       "(broken inbound_nodes)")
            pending = remaining
        return [produced[(n, k, t)] for n, k, t in cfg["output_layers"]]


class _ScopedWeights:
    """Weight lookup bound to the layer's own (unscoped) name."""

    def __init__(self, index: WeightIndex, layer_name: str):
        self.index, self.layer_name = index, layer_name

    def get(self, graph, _node_name, role, required=True):
        return self.index.get(graph, self.layer_name, role, required)


def build_layers_graph(artifacts: Artifacts) -> Graph:
    topology = artifacts.topology
    model = topology.get("model_config") or topology
    if model.get("class_name") not in MODEL_CLASSES:
        raise ModelFormatError(f"{artifacts.source}: model_config.class_name is {model.get('class_name')!r}; "
                               "expected Sequential, Functional or Model")
    builder = _Builder(artifacts)
    outputs = builder.model(model, None, "")
    builder.graph.outputs = [TensorSpec(name, ()) for name in outputs]
    return builder.graph
