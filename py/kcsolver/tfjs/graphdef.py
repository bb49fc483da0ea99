"""Read a TF.js graph-model (TensorFlow GraphDef nodes in JSON) into the IR.

The converter's fused ops (_FusedConv2D, FusedDepthwiseConv2dNative,
_FusedMatMul) are split back into a convolution, a bias add / batch norm and
an activation; `graph.optimize` fuses them again in the form our kernels
like. Constant tensors come from the weights manifest, keyed by node name.
"""

from __future__ import annotations

import base64

import numpy as np

from ..errors import ModelFormatError, UnsupportedOpError
from ..graph import Graph, TensorSpec
from .loader import Artifacts

UNARY = {
    "Relu": "relu", "Relu6": "relu6", "Elu": "elu", "Selu": "selu", "Sigmoid": "sigmoid", "Tanh": "tanh",
    "Softplus": "softplus", "Softsign": "softsign", "Exp": "exp", "Log": "log", "Sqrt": "sqrt", "Rsqrt": "rsqrt",
    "Square": "square", "Neg": "neg", "Abs": "abs", "Reciprocal": "reciprocal", "Inv": "reciprocal",
    "Floor": "floor", "Ceil": "ceil", "Round": "round", "Sign": "sign", "Identity": "identity",
    "StopGradient": "identity", "PlaceholderWithDefault": "identity", "Snapshot": "identity",
}
BINARY = {
    "Add": "add", "AddV2": "add", "BiasAdd": "add", "Sub": "sub", "Mul": "mul", "RealDiv": "div", "Div": "div",
    "FloorDiv": "floor_div", "Maximum": "maximum", "Minimum": "minimum", "Pow": "pow",
    "SquaredDifference": "squared_difference",
}
REDUCE = {"Mean": "reduce_mean", "Max": "reduce_max", "Min": "reduce_min", "Sum": "reduce_sum", "Prod": "reduce_prod"}
FUSED_ACTIVATIONS = {"Relu": "relu", "Relu6": "relu6", "Elu": "elu", "LeakyRelu": "leaky_relu",
                     "Sigmoid": "sigmoid", "Tanh": "tanh"}
DTYPES = {"DT_FLOAT": "float32", "DT_INT32": "int32", "DT_BOOL": "bool"}
# Ops whose inputs pass through unchanged and that take no attributes.
PASSTHROUGH = {
    "ConcatV2": "concat_v2", "Reshape": "reshape", "ExpandDims": "expand_dims", "Transpose": "transpose",
    "Shape": "shape", "Slice": "slice", "GatherV2": "gather", "Fill": "fill", "Tile": "tile",
    "ZerosLike": "zeros_like", "AddN": "add_n", "ClipByValue": "clip", "Prelu": "prelu",
}


def attr_value(attr: dict):
    """Decode one GraphDef attribute value from its JSON form."""
    if "list" in attr:
        items = attr["list"]
        if "i" in items:
            return [int(v) for v in items["i"]]
        if "f" in items:
            return [float(v) for v in items["f"]]
        if "s" in items:
            return [base64.b64decode(v).decode() for v in items["s"]]
        if "type" in items:
            return list(items["type"])
        return []
    if "i" in attr:
        return int(attr["i"])
    if "f" in attr:
        return float(attr["f"])
    if "b" in attr:
        return bool(attr["b"])
    if "s" in attr:
        return base64.b64decode(attr["s"]).decode()
    if "type" in attr:
        return attr["type"]
    if "shape" in attr:
        dims = attr["shape"].get("dim", [])
        return tuple(None if int(d.get("size", -1)) < 0 else int(d["size"]) for d in dims)
    return None


def _tensor_name(ref: str, node: str) -> str | None:
    if ref.startswith("^"):
        return None  # control dependency: ordering only, irrelevant for inference
    name, _, index = ref.partition(":")
    if index not in ("", "0"):
        raise UnsupportedOpError(f"node {node!r} reads output {index} of {name!r}; only single-output ops are supported")
    return name


class _Builder:
    def __init__(self, artifacts: Artifacts):
        self.graph = Graph()
        self.weights = artifacts.weights

    def const(self, name: str):
        return self.graph.consts.get(name)

    def spatial(self, node, attrs):
        if attrs.get("data_format", "NHWC") != "NHWC":
            raise UnsupportedOpError(f"node {node['name']!r}: data_format {attrs['data_format']}; only NHWC is supported")
        strides = attrs.get("strides", [1, 1, 1, 1])
        dilations = attrs.get("dilations", [1, 1, 1, 1])
        padding = attrs.get("padding", "VALID")
        if padding == "EXPLICIT":
            p = attrs.get("explicit_paddings", [0] * 8)
            padding = ((p[2], p[3]), (p[4], p[5]))
        else:
            padding = padding.lower()
        return {"strides": (strides[1], strides[2]), "dilations": (dilations[1], dilations[2]), "padding": padding}

    def fused_tail(self, name, core, node, attrs, inputs, extra):
        """Bias add / batch norm and activation after a fused conv or matmul."""
        fused = attrs.get("fused_ops", [])
        x, args = core, extra
        for step, op in enumerate(fused):
            tail = name if step == len(fused) - 1 else f"{name}/fused{step}"
            if op == "BiasAdd":
                x = self.graph.add(tail, "add", [x, args[0]])
            elif op == "FusedBatchNorm":
                scale, offset, mean, var = (self.const(a) for a in args[:4])
                if any(v is None for v in (scale, offset, mean, var)):
                    raise UnsupportedOpError(f"node {name!r}: batch norm with non-constant statistics")
                mult = (scale / np.sqrt(var + attrs.get("epsilon", 1e-3))).astype(np.float32)
                x = self.graph.add(tail, "batch_norm", [x, self.graph.const(tail + "/scale", mult),
                                                        self.graph.const(tail + "/offset", (offset - mean * mult).astype(np.float32))])
            elif op in FUSED_ACTIVATIONS:
                extra_attrs = {"alpha": attrs.get("leakyrelu_alpha", 0.2)} if op == "LeakyRelu" else {}
                x = self.graph.add(tail, FUSED_ACTIVATIONS[op], [x], **extra_attrs)
            elif op == "Prelu":
                x = self.graph.add(tail, "prelu", [x, args[-1]])
            else:
                raise UnsupportedOpError(f"node {name!r}: unsupported fused op {op!r} in {node['op']}")
        if x != name:
            self.graph.add(name, "identity", [x])

    def node(self, node: dict) -> None:
        op, name = node["op"], node["name"]
        attrs = {key: attr_value(value) for key, value in node.get("attr", {}).items()}
        inputs = [t for t in (_tensor_name(r, name) for r in node.get("input", [])) if t is not None]
        g = self.graph
        if op == "Const":
            if name not in self.weights:
                raise ModelFormatError(f"constant node {name!r} has no entry in the weights manifest")
            g.const(name, self.weights[name])
        elif op == "Placeholder":
            g.inputs.append(TensorSpec(name, attrs.get("shape", ()), DTYPES.get(attrs.get("dtype"), "float32")))
        elif op in PASSTHROUGH:
            g.add(name, PASSTHROUGH[op], inputs)
        elif op in UNARY:
            g.add(name, UNARY[op], inputs[:1])
        elif op in BINARY:
            g.add(name, BINARY[op], inputs)
        elif op == "LeakyRelu":
            g.add(name, "leaky_relu", inputs, alpha=attrs.get("alpha", 0.2))
        elif op in ("Conv2D", "_FusedConv2D"):
            conv = g.add(name + "/conv" if op == "_FusedConv2D" else name, "conv2d", inputs[:2], **self.spatial(node, attrs))
            if op == "_FusedConv2D":
                self.fused_tail(name, conv, node, attrs, inputs, inputs[2:])
        elif op in ("DepthwiseConv2dNative", "FusedDepthwiseConv2dNative"):
            fused = op.startswith("Fused")
            conv = g.add(name + "/conv" if fused else name, "depthwise_conv2d", inputs[:2], **self.spatial(node, attrs))
            if fused:
                self.fused_tail(name, conv, node, attrs, inputs, inputs[2:])
        elif op in ("MatMul", "_FusedMatMul", "BatchMatMul", "BatchMatMulV2"):
            transpose = {"transpose_a": attrs.get("transpose_a", attrs.get("adj_x", False)),
                         "transpose_b": attrs.get("transpose_b", attrs.get("adj_y", False))}
            core = g.add(name + "/matmul" if op == "_FusedMatMul" else name, "matmul", inputs[:2], **transpose)
            if op == "_FusedMatMul":
                self.fused_tail(name, core, node, attrs, inputs, inputs[2:])
        elif op in ("FusedBatchNorm", "FusedBatchNormV2", "FusedBatchNormV3"):
            self.fused_tail(name, inputs[0], node, {"fused_ops": ["FusedBatchNorm"], "num_args": 4,
                                                    "epsilon": attrs.get("epsilon", 1e-3)}, inputs, inputs[1:])
        elif op in ("MaxPool", "AvgPool"):
            ksize, strides = attrs.get("ksize", [1, 2, 2, 1]), attrs.get("strides", [1, 2, 2, 1])
            g.add(name, "max_pool" if op == "MaxPool" else "avg_pool", inputs[:1], ksize=(ksize[1], ksize[2]),
                  strides=(strides[1], strides[2]), padding=attrs.get("padding", "VALID").lower())
        elif op in REDUCE:
            axes = self.const(inputs[1])
            if axes is None:
                raise UnsupportedOpError(f"node {name!r}: {op} over non-constant axes")
            g.add(name, REDUCE[op], inputs[:1], axes=tuple(int(a) for a in np.atleast_1d(axes)),
                  keepdims=bool(attrs.get("keep_dims", False)))
        elif op in ("Softmax", "LogSoftmax"):
            g.add(name, op.lower().replace("logsoftmax", "log_softmax"), inputs, axis=-1)
        elif op == "Concat":
            g.add(name, "concat_v2", inputs[1:] + inputs[:1])
        elif op in ("Pad", "PadV2", "MirrorPad"):
            mode = attrs.get("mode", "CONSTANT").lower()
            g.add(name, "pad", inputs, mode=mode)
        elif op == "Squeeze":
            g.add(name, "squeeze", inputs[:1], axes=attrs.get("squeeze_dims") or None)
        elif op == "StridedSlice":
            masks = ("begin_mask", "end_mask", "ellipsis_mask", "new_axis_mask", "shrink_axis_mask")
            g.add(name, "strided_slice", inputs, **{m: attrs.get(m, 0) for m in masks})
        elif op == "Pack":
            g.add(name, "pack", inputs, axis=attrs.get("axis", 0))
        elif op == "Cast":
            g.add(name, "cast", inputs, dtype=DTYPES.get(attrs.get("DstT"), "float32"))
        elif op == "ArgMax":
            g.add(name, "argmax", inputs[:1], axis=int(self.const(inputs[1])))
        elif op == "NoOp":
            pass
        else:
            raise UnsupportedOpError(f"unsupported op {op!r} (node {name!r}). See docs/engine.md for the "
                                     "supported ops and how to add a kernel.")


def build_graph_model(artifacts: Artifacts) -> Graph:
    builder = _Builder(artifacts)
    nodes = artifacts.topology.get("node", [])
    if not nodes:
        raise ModelFormatError(f"{artifacts.source}: graph-model with no nodes")
    # Constants first so that builders can read them (axes, batch norm statistics).
    for node in sorted(nodes, key=lambda n: n.get("op") != "Const"):
        builder.node(node)
    graph = builder.graph
    signature = artifacts.document.get("signature") or {}
    if signature.get("outputs"):
        outputs = [(key, spec["name"]) for key, spec in signature["outputs"].items()]
    else:
        used = {source for node in graph.nodes.values() for source in node.inputs}
        outputs = [(name, name) for name in graph.nodes if name not in used]
    graph.outputs = [TensorSpec(_tensor_name(ref, key), ()) for key, ref in outputs]
    graph.output_keys = [key for key, _ in outputs]
    return graph
