"""Write TF.js layers-model folders (model.json + one weight shard) that TF.js itself loads.

`KerasSequential` collects Keras layer configs and their weights in order;
`write_layers_model` writes them with optional float16/uint8/uint16
quantization and the kcsolver recipe in `userDefinedMetadata`.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .weights import quantize


class KerasSequential:
    """A tiny builder for Keras 2 style Sequential topologies (the format TF.js reads)."""

    def __init__(self, name: str, input_shape: tuple):
        self.name = name
        self.layers = [{"class_name": "InputLayer", "config": {
            "batch_input_shape": [None, *input_shape], "dtype": "float32", "sparse": False, "name": f"{name}_input"}}]
        self.weights: list[tuple[str, np.ndarray]] = []
        self.counts: dict[str, int] = {}

    def _name(self, base: str) -> str:
        self.counts[base] = self.counts.get(base, 0) + 1
        return f"{base}_{self.counts[base]}"

    def add(self, class_name: str, config: dict, weights: dict | None = None, base: str | None = None) -> str:
        name = self._name(base or class_name.lower())
        self.layers.append({"class_name": class_name, "config": {"name": name, "trainable": True, "dtype": "float32",
                                                                 **config}})
        for role, value in (weights or {}).items():
            self.weights.append((f"{name}/{role}", np.asarray(value, np.float32)))
        return name

    def conv2d(self, kernel_hwio, bias=None, strides=(1, 1), padding="same", activation="linear"):
        kh, kw, _cin, cout = kernel_hwio.shape
        weights = {"kernel": kernel_hwio}
        if bias is not None:
            weights["bias"] = bias
        return self.add("Conv2D", {"filters": int(cout), "kernel_size": [int(kh), int(kw)], "strides": list(strides),
                                   "padding": padding, "data_format": "channels_last", "dilation_rate": [1, 1],
                                   "groups": 1, "activation": activation, "use_bias": bias is not None}, weights,
                        base="conv2d")

    def batch_norm(self, gamma, beta, mean, variance, epsilon=1e-5):
        return self.add("BatchNormalization", {"axis": -1, "momentum": 0.99, "epsilon": float(epsilon),
                                               "center": True, "scale": True},
                        {"gamma": gamma, "beta": beta, "moving_mean": mean, "moving_variance": variance},
                        base="batch_normalization")

    def activation(self, name):
        return self.add("Activation", {"activation": name})

    def max_pool(self, size):
        return self.add("MaxPooling2D", {"pool_size": list(size), "strides": list(size), "padding": "valid",
                                         "data_format": "channels_last"}, base="max_pooling2d")

    def zero_padding(self, top_bottom, left_right):
        return self.add("ZeroPadding2D", {"padding": [list(top_bottom), list(left_right)],
                                          "data_format": "channels_last"}, base="zero_padding2d")

    def reshape(self, target):
        return self.add("Reshape", {"target_shape": list(target)})

    def dense(self, kernel, bias, activation="linear"):
        return self.add("Dense", {"units": int(kernel.shape[1]), "activation": activation, "use_bias": True},
                        {"kernel": kernel, "bias": bias})

    def topology(self) -> dict:
        return {"keras_version": "2.19.0", "backend": "tensorflow",
                "model_config": {"class_name": "Sequential", "config": {"name": self.name, "layers": self.layers}}}


def write_model(out_dir, document: dict, weights: list[tuple[str, np.ndarray]], metadata: dict | None = None,
                quantization: str | None = None) -> Path:
    """Write model.json (with its weightsManifest) and one shard, group1-shard1of1.bin; returns model.json's path.

    Float weights are quantized as asked (float16, uint8, uint16); integer ones are stored as they are.
    """
    if quantization not in (None, "float16", "uint8", "uint16"):
        raise ValueError(f"quantization must be float16, uint8 or uint16, not {quantization!r}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    specs, blobs = [], []
    for name, value in weights:
        value = np.asarray(value)
        data, quant = quantize(value, quantization if value.dtype.kind == "f" else None)
        spec = {"name": name, "shape": list(value.shape), "dtype": "int32" if value.dtype.kind in "iu" else "float32"}
        if quant:
            spec["quantization"] = quant
        specs.append(spec)
        blobs.append(data)
    shard = "group1-shard1of1.bin"
    (out / shard).write_bytes(b"".join(blobs))
    document = {**document, "generatedBy": "kcsolver", "convertedBy": "kcsolver.tfjs.writer",
                "weightsManifest": [{"paths": [shard], "weights": specs}]}
    if metadata:
        document["userDefinedMetadata"] = metadata
    path = out / "model.json"
    path.write_text(json.dumps(document, separators=(",", ":")))
    return path


def write_layers_model(out_dir, topology: dict, weights: list[tuple[str, np.ndarray]], metadata: dict | None = None,
                       quantization: str | None = None) -> Path:
    """Write a layers-model (Keras topology from KerasSequential) that tf.loadLayersModel reads."""
    return write_model(out_dir, {"format": "layers-model", "modelTopology": topology}, weights, metadata, quantization)


class GraphModelBuilder:
    """Build a TF.js graph-model (GraphDef JSON) by hand: for tests, benchmarks and wrapping recipes.

    Attributes are given as Python values and encoded the way the converter
    writes them (ints as strings, strings base64, lists under "list").
    """

    def __init__(self):
        self.nodes: list[dict] = []
        self.weights: list[tuple[str, np.ndarray]] = []

    @staticmethod
    def _attr(value) -> dict:
        import base64

        if isinstance(value, bool):
            return {"b": value}
        if isinstance(value, int):
            return {"i": str(value)}
        if isinstance(value, float):
            return {"f": value}
        if isinstance(value, str):
            return {"s": base64.b64encode(value.encode()).decode()}
        if isinstance(value, (list, tuple)):
            if all(isinstance(v, int) for v in value):
                return {"list": {"i": [str(v) for v in value]}}
            if all(isinstance(v, str) for v in value):
                return {"list": {"s": [base64.b64encode(v.encode()).decode() for v in value]}}
            return {"list": {"f": [float(v) for v in value]}}
        raise TypeError(f"cannot encode attribute {value!r}")

    def placeholder(self, name: str, shape) -> str:
        dims = [{"size": str(-1 if d is None else d)} for d in shape]
        self.nodes.append({"name": name, "op": "Placeholder",
                           "attr": {"shape": {"shape": {"dim": dims}}, "dtype": {"type": "DT_FLOAT"}}})
        return name

    def const(self, name: str, value) -> str:
        value = np.asarray(value)
        dtype = "DT_INT32" if value.dtype.kind in "iu" else "DT_FLOAT"
        value = value.astype(np.int32 if dtype == "DT_INT32" else np.float32)
        self.nodes.append({"name": name, "op": "Const", "attr": {"dtype": {"type": dtype}, "value": {"tensor": {
            "dtype": dtype, "tensorShape": {"dim": [{"size": str(d)} for d in value.shape]}}}}})
        self.weights.append((name, value))
        return name

    def op(self, name: str, op: str, inputs, **attrs) -> str:
        encoded = {key: self._attr(value) for key, value in attrs.items()}
        encoded.setdefault("T", {"type": "DT_FLOAT"})
        self.nodes.append({"name": name, "op": op, "input": list(inputs), "attr": encoded})
        return name

    def write(self, out_dir, inputs: dict, outputs: dict, metadata: dict | None = None,
              quantization: str | None = None) -> Path:
        signature = {"inputs": {k: {"name": f"{v}:0", "dtype": "DT_FLOAT"} for k, v in inputs.items()},
                     "outputs": {k: {"name": f"{v}:0", "dtype": "DT_FLOAT"} for k, v in outputs.items()}}
        document = {"format": "graph-model", "signature": signature,
                    "modelTopology": {"node": self.nodes, "library": {}, "versions": {"producer": 1}}}
        return write_model(out_dir, document, self.weights, metadata, quantization)
