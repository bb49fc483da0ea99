"""Check a model.json's structure once, up front, against what the readers need.

`validate(document, source, limits)` walks the document the way layers.py,
graphdef.py and weights.py will, and raises ModelFormatError naming the JSON
path of the first value of the wrong type or range, e.g.
`modelTopology.model_config.config.layers[3].config.strides: expected a
positive integer or a list of 2, got "x"`; declared sizes are checked against
the resource limits before any shard is read. The readers can then trust the
types they see. Unknown layer classes and ops are left to the readers, which
name them (UnsupportedOpError).
"""

from __future__ import annotations

import math

from ..errors import ModelFormatError
from ..limits import Limits

MODEL_CLASSES = {"Sequential", "Functional", "Model"}
STORED_DTYPES = {"float32", "int32", "bool", "uint8", "uint16", "float16"}
OUTPUT_DTYPES = {"float32", "int32", "bool"}


class Checker:
    """Type checks that report a JSON path; `limits` bounds every size-like number."""

    def __init__(self, source: str, limits: Limits):
        self.source, self.limits = source, limits

    def fail(self, path: str, expected: str, value) -> None:
        shown = repr(value)
        shown = shown if len(shown) <= 60 else shown[:57] + "..."
        raise ModelFormatError(f"{self.source}: {path}: expected {expected}, got {shown}. The model.json is damaged "
                               "or was not written by the TF.js converter; re-export it")

    def object(self, value, path: str) -> dict:
        if not isinstance(value, dict):
            self.fail(path, "an object", value)
        return value

    def list(self, value, path: str) -> list:
        if not isinstance(value, list):
            self.fail(path, "a list", value)
        return value

    def string(self, value, path: str, allow_empty: bool = False) -> str:
        if not isinstance(value, str) or (not value and not allow_empty):
            self.fail(path, "a non-empty string", value)
        return value

    def boolean(self, value, path: str) -> bool:
        if not isinstance(value, bool):
            self.fail(path, "true or false", value)
        return value

    def integer(self, value, path: str, low: int | None = None) -> int:
        """An integer (JSON numbers like 2.0 and, in GraphDef attributes, strings like "2" count)."""
        if isinstance(value, str):
            try:
                value = int(value)
            except ValueError:
                self.fail(path, "an integer", value)
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(path, "an integer", value)
        if abs(value) > self.limits.shape_value:
            self.fail(path, f"an integer of at most {self.limits.shape_value:,} in size (Limits.shape_value)", value)
        if low is not None and value < low:
            self.fail(path, f"an integer >= {low}", value)
        return value

    def number(self, value, path: str) -> float:
        if isinstance(value, str):  # GraphDef float attributes may be strings ("NaN", "1e-3")
            try:
                value = float(value)
            except ValueError:
                self.fail(path, "a number", value)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            self.fail(path, "a finite number", value)
        return float(value)

    def optional(self, check, value, path: str):
        return None if value is None else check(value, path)

    def ints(self, value, path: str, count: int | None = None, low: int | None = None) -> list:
        items = self.list(value, path)
        if count is not None and len(items) != count:
            self.fail(path, f"a list of {count} integers", value)
        return [self.integer(v, f"{path}[{i}]", low) for i, v in enumerate(items)]

    def pair(self, value, path: str) -> None:
        """An integer or a list of two (Keras writes both for kernel sizes, strides, pool sizes)."""
        if isinstance(value, list):
            if len(value) not in (1, 2):
                self.fail(path, "a positive integer or a list of 2", value)
            self.ints(value, path, low=1)
        else:
            self.integer(value, path, low=1)

    def shape(self, value, path: str) -> list:
        """A tensor shape: a list of non-negative integers or null (unknown), within the tensor limit."""
        dims = self.list(value, path)
        known = [self.integer(d, f"{path}[{i}]", low=-1) for i, d in enumerate(dims) if d is not None]
        size = math.prod(d for d in known if d > 0)
        self.limits.check(f"{self.source}: {path} declares", size, "tensor_elements", " elements")
        return dims


# ------------------------------------------------------------------ the document and its weights

def validate(document, source: str, limits: Limits) -> None:
    check = Checker(source, limits)
    check.object(document, "model.json")
    topology = check.object(document.get("modelTopology"), "modelTopology")
    if "format" in document:
        check.string(document["format"], "format")
    check.optional(check.object, document.get("userDefinedMetadata"), "userDefinedMetadata")
    manifest = check.list(document.get("weightsManifest", []), "weightsManifest")
    total = 0
    for g, group in enumerate(manifest):
        total += validate_group(check, group, f"weightsManifest[{g}]")
    limits.check(f"{source}: the weights manifest declares", total, "weight_elements", " elements")
    if document.get("format") == "graph-model" or "node" in topology:
        validate_graph(check, topology, document.get("signature"))
    else:
        validate_layers(check, topology)


def validate_group(check: Checker, group, path: str) -> int:
    check.object(group, path)
    paths = check.list(group.get("paths"), f"{path}.paths")
    for i, shard in enumerate(paths):
        check.string(shard, f"{path}.paths[{i}]")
    elements = 0
    names = set()
    for w, weight in enumerate(check.list(group.get("weights"), f"{path}.weights")):
        where = f"{path}.weights[{w}]"
        check.object(weight, where)
        name = check.string(weight.get("name"), f"{where}.name")
        if name in names:
            check.fail(f"{where}.name", "a name used once", name)
        names.add(name)
        shape = check.shape(weight.get("shape"), f"{where}.shape")
        if any(d is None or int(d) < 0 for d in shape):
            check.fail(f"{where}.shape", "known, non-negative dimensions", shape)
        elements += math.prod(int(d) for d in shape)
        dtype = weight.get("dtype", "float32")
        if not isinstance(dtype, str) or dtype not in OUTPUT_DTYPES:
            check.fail(f"{where}.dtype", f"one of {sorted(OUTPUT_DTYPES)}", dtype)
        quantization = weight.get("quantization")
        if quantization is not None:
            check.object(quantization, f"{where}.quantization")
            stored = quantization.get("dtype")
            if not isinstance(stored, str) or stored not in STORED_DTYPES:
                check.fail(f"{where}.quantization.dtype", f"one of {sorted(STORED_DTYPES)}", stored)
            if stored in ("uint8", "uint16"):
                check.number(quantization.get("scale"), f"{where}.quantization.scale")
                check.number(quantization.get("min"), f"{where}.quantization.min")
    return elements


# ------------------------------------------------------------------ layers-models (Keras topology)

def _activation(check: Checker, value, path: str) -> None:
    if value is None or isinstance(value, str):
        return
    check.object(value, path)
    name = (value.get("config") or {}).get("name") if isinstance(value.get("config"), dict) else None
    check.string(name or value.get("class_name"), f"{path}.class_name")


def _padding_spec(check: Checker, value, path: str) -> None:
    """ZeroPadding2D / Cropping2D: n, [a, b] or [[top, bottom], [left, right]]."""
    if isinstance(value, list) and value and all(isinstance(v, list) for v in value):
        if len(value) != 2:
            check.fail(path, "[[top, bottom], [left, right]]", value)
        for i, side in enumerate(value):
            check.ints(side, f"{path}[{i}]", count=2, low=0)
    elif isinstance(value, list):
        check.ints(value, path, count=2, low=0)
    else:
        check.integer(value, path, low=0)


def _int_or_ints(check: Checker, value, path: str) -> None:
    if isinstance(value, list):
        check.ints(value, path)
    else:
        check.integer(value, path)


def _numbers(check: Checker, value, path: str) -> None:
    if isinstance(value, list):
        for i, v in enumerate(value):
            _numbers(check, v, f"{path}[{i}]")
    else:
        check.number(value, path)


_PAIR = Checker.pair
_STR = Checker.string
_BOOL = Checker.boolean
_NUM = Checker.number
_INT = Checker.integer
_CONV = {"strides": _PAIR, "dilation_rate": _PAIR, "padding": _STR, "activation": _activation, "use_bias": _BOOL,
         "data_format": _STR, "groups": _INT}
_POOL = {"pool_size": _PAIR, "strides": _PAIR, "padding": _STR, "data_format": _STR}
# What each layer builder reads from its config (all optional; None is allowed where Keras writes null).
LAYER_FIELDS = {
    "Conv2D": _CONV, "DepthwiseConv2D": _CONV, "SeparableConv2D": _CONV,
    "Dense": {"activation": _activation, "use_bias": _BOOL},
    "BatchNormalization": {"axis": _int_or_ints, "epsilon": _NUM, "scale": _BOOL, "center": _BOOL},
    "Normalization": {"mean": _numbers, "variance": _numbers, "invert": _BOOL},
    "Rescaling": {"scale": _NUM, "offset": _NUM},
    "Activation": {"activation": _activation},
    "ReLU": {"max_value": _NUM, "negative_slope": _NUM, "threshold": _NUM},
    "LeakyReLU": {"alpha": _NUM, "negative_slope": _NUM}, "ELU": {"alpha": _NUM},
    "Softmax": {"axis": _int_or_ints},
    "MaxPooling2D": _POOL, "AveragePooling2D": _POOL,
    "GlobalAveragePooling2D": {"data_format": _STR, "keepdims": _BOOL},
    "GlobalMaxPooling2D": {"data_format": _STR, "keepdims": _BOOL},
    "Reshape": {"target_shape": Checker.shape}, "Permute": {"dims": lambda c, v, p: c.ints(v, p, low=1)},
    "ZeroPadding2D": {"padding": _padding_spec}, "Cropping2D": {"cropping": _padding_spec},
    "UpSampling2D": {"size": _PAIR, "interpolation": _STR},
    "Concatenate": {"axis": _INT},
}
REQUIRED_FIELDS = {"Reshape": ("target_shape",), "Permute": ("dims",)}


def validate_layers(check: Checker, topology: dict) -> None:
    if "model_config" in topology:
        validate_model(check, check.object(topology["model_config"], "modelTopology.model_config"),
                       "modelTopology.model_config", [0])
    else:
        validate_model(check, topology, "modelTopology", [0])


def validate_model(check: Checker, model: dict, path: str, count: list) -> None:
    kind = check.string(model.get("class_name"), f"{path}.class_name")
    config = model.get("config", {})
    layers_path = f"{path}.config.layers"
    if kind == "Sequential" and isinstance(config, list):  # Keras 1 style: the config is the layer list
        layers, layers_path = config, f"{path}.config"
    else:
        config = check.object(config, f"{path}.config")
        layers = config.get("layers")
    layers = check.list(layers, layers_path)
    names = {}
    for i, layer in enumerate(layers):
        where = f"{layers_path}[{i}]"
        count[0] += 1
        check.limits.check(f"{check.source}: a model with", count[0], "layers", " layers")
        check.object(layer, where)
        layer_kind = check.string(layer.get("class_name"), f"{where}.class_name")
        layer_config = check.object(layer.get("config", {}), f"{where}.config")
        name = layer_config.get("name", layer.get("name"))
        names[check.string(name, f"{where}.config.name")] = layer
        if layer_kind in MODEL_CLASSES:
            validate_model(check, layer, where, count)
            continue
        for key in ("batch_input_shape", "batch_shape"):
            if layer_config.get(key) is not None:
                check.shape(layer_config[key], f"{where}.config.{key}")
        for key in REQUIRED_FIELDS.get(layer_kind, ()):
            if key not in layer_config:
                check.fail(f"{where}.config.{key}", f"a value ({layer_kind} needs it)", None)
        for key, field_check in LAYER_FIELDS.get(layer_kind, {}).items():
            if layer_config.get(key) is not None:
                field_check(check, layer_config[key], f"{where}.config.{key}")
        if "inbound_nodes" in layer:
            validate_inbound(check, layer["inbound_nodes"], f"{where}.inbound_nodes")
    if kind != "Sequential":
        for key in ("input_layers", "output_layers"):
            refs = check.list(config.get(key), f"{path}.config.{key}")
            for i, ref in enumerate(refs):
                validate_ref(check, ref, f"{path}.config.{key}[{i}]", names)


def validate_ref(check: Checker, ref, path: str, names: dict | None = None) -> None:
    """[layer name, node index, tensor index(, kwargs)]."""
    if not isinstance(ref, list) or len(ref) < 3:
        check.fail(path, "[layer name, node index, tensor index]", ref)
    check.string(ref[0], f"{path}[0]")
    check.integer(ref[1], f"{path}[1]", low=0)
    check.integer(ref[2], f"{path}[2]", low=0)
    if names is not None and ref[0] not in names:
        check.fail(f"{path}[0]", "the name of a layer of this model", ref[0])


def validate_inbound(check: Checker, nodes, path: str) -> None:
    for k, call in enumerate(check.list(nodes, path)):
        refs = call.get("args", []) if isinstance(call, dict) else call
        for r, ref in enumerate(check.list(refs, f"{path}[{k}]")):
            validate_ref(check, ref, f"{path}[{k}][{r}]")


# ------------------------------------------------------------------ graph-models (GraphDef)

_ATTR_KINDS = ("list", "i", "f", "b", "s", "type", "shape", "tensor", "func", "placeholder")
_LIST_KINDS = {"i": Checker.integer, "f": Checker.number, "b": Checker.boolean, "s": Checker.string,
               "type": Checker.string, "shape": None, "tensor": None, "func": None}


def _ints4(check, value, path):
    check.ints(value, path, count=4)


# What graphdef.py reads from attributes, by name, once decoded (graphdef.attr_value).
ATTR_VALUES = {
    "strides": _ints4, "dilations": _ints4, "ksize": _ints4,
    # the converter writes [] unless padding is EXPLICIT
    "explicit_paddings": lambda c, v, p: c.ints(v, p, count=8 if v else 0, low=0),
    "padding": _STR, "data_format": _STR, "mode": _STR, "epsilon": _NUM, "alpha": _NUM, "leakyrelu_alpha": _NUM,
    "transpose_a": _BOOL, "transpose_b": _BOOL, "adj_x": _BOOL, "adj_y": _BOOL, "keep_dims": _BOOL,
    "fused_ops": lambda c, v, p: [c.string(s, f"{p}[{i}]") for i, s in enumerate(c.list(v, p))],
    "squeeze_dims": lambda c, v, p: c.ints(v, p), "axis": _INT, "num_args": _INT,
    "begin_mask": _INT, "end_mask": _INT, "ellipsis_mask": _INT, "new_axis_mask": _INT, "shrink_axis_mask": _INT,
}


def validate_attr(check: Checker, attr, path: str) -> None:
    """One GraphDef attribute in its JSON form: exactly one known value kind, of the right type."""
    check.object(attr, path)
    kinds = [k for k in attr if k in _ATTR_KINDS]
    if len(kinds) != 1:
        check.fail(path, f"one of {', '.join(_ATTR_KINDS)}", attr)
    kind = kinds[0]
    value, where = attr[kind], f"{path}.{kind}"
    if kind == "list":
        check.object(value, where)
        for item_kind, items in value.items():
            if item_kind not in _LIST_KINDS:
                check.fail(f"{where}.{item_kind}", f"one of {', '.join(_LIST_KINDS)}", item_kind)
            item_check = _LIST_KINDS[item_kind]
            for i, item in enumerate(check.list(items, f"{where}.{item_kind}")):
                if item_check is not None:
                    item_check(check, item, f"{where}.{item_kind}[{i}]")
    elif kind == "shape":
        check.object(value, where)
        for i, dim in enumerate(check.list(value.get("dim", []), f"{where}.dim")):
            check.object(dim, f"{where}.dim[{i}]")
            check.integer(dim.get("size", -1), f"{where}.dim[{i}].size", low=-1)
    elif kind in ("tensor", "func", "placeholder"):
        check.object(value, where) if kind != "placeholder" else check.string(value, where)
    else:
        _LIST_KINDS[kind](check, value, where) if kind != "s" else check.string(value, where, allow_empty=True)


def validate_graph(check: Checker, topology: dict, signature) -> None:
    from .graphdef import attr_value

    nodes = check.list(topology.get("node"), "modelTopology.node")
    check.limits.check(f"{check.source}: a graph with", len(nodes), "layers", " nodes")
    names = set()
    for i, node in enumerate(nodes):
        where = f"modelTopology.node[{i}]"
        check.object(node, where)
        name = check.string(node.get("name"), f"{where}.name")
        if name in names:
            check.fail(f"{where}.name", "a name used once", name)
        names.add(name)
        check.string(node.get("op"), f"{where}.op")
        for j, ref in enumerate(check.list(node.get("input", []), f"{where}.input")):
            check.string(ref, f"{where}.input[{j}]")
        attrs = check.object(node.get("attr", {}), f"{where}.attr")
        for key, attr in attrs.items():
            validate_attr(check, attr, f"{where}.attr.{key}")
            try:
                decoded = attr_value(attr)
            except (ValueError, UnicodeDecodeError) as exc:  # e.g. strings that are not base64
                check.fail(f"{where}.attr.{key}", "a valid GraphDef attribute value", f"{attr} ({exc})")
            if key in ATTR_VALUES:
                ATTR_VALUES[key](check, decoded, f"{where}.attr.{key}")
        if node.get("op") == "Placeholder" and "shape" in attrs:
            shape = attr_value(attrs["shape"])
            check.shape([d for d in shape], f"{where}.attr.shape")
    if signature is not None:
        check.object(signature, "signature")
        outputs = signature.get("outputs")
        if outputs is not None:
            for key, spec in check.object(outputs, "signature.outputs").items():
                check.object(spec, f"signature.outputs.{key}")
                check.string(spec.get("name"), f"signature.outputs.{key}.name")
