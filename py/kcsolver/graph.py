"""The one intermediate representation both TF.js formats are read into.

A `Graph` is a set of `Node`s, each a canonical op (see docs/engine.md for the
list) with named inputs and plain-Python attributes, plus constant tensors
(the weights). Every node produces one tensor named after the node.

`optimize` prepares a graph for inference, in this order:
  1. prune: drop nodes that no output depends on;
  2. fold constants: evaluate nodes whose inputs are all constants;
  3. fuse: fold batch norm and bias adds into the preceding conv/dense
     weights, fuse a following activation into the conv/dense node, and fold
     a zero padding (Keras' ZeroPadding2D, TF's Pad) into the convolution
     that reads it, and a max pool into the convolution it reads (its
     `pool` attribute), so no pass copies the padded or unpooled tensor;
  4. prune again.
`Plan` then orders the nodes topologically, gives each tensor a slot and
records after which step each slot can be released, so a prediction holds
only the tensors that are still needed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from .errors import ModelFormatError, UnsupportedOpError
from .limits import DEFAULT, Limits

# Elementwise activations that conv2d / depthwise_conv2d / matmul can apply in place.
FUSABLE_ACTIVATIONS = {"relu", "relu6", "leaky_relu", "elu", "selu", "sigmoid", "tanh", "swish",
                       "hard_sigmoid", "softplus"}
LINEAR_PRODUCERS = {"conv2d", "depthwise_conv2d", "matmul"}
GROWING_OPS = {"pad", "tile", "fill"}  # output sizes set by tensor values: checked against Limits when run


@dataclass
class Node:
    name: str
    op: str
    inputs: list[str] = field(default_factory=list)
    attrs: dict = field(default_factory=dict)


@dataclass
class TensorSpec:
    name: str
    shape: tuple  # None for unknown dimensions
    dtype: str = "float32"


@dataclass
class Graph:
    nodes: dict[str, Node] = field(default_factory=dict)
    consts: dict[str, np.ndarray] = field(default_factory=dict)
    inputs: list[TensorSpec] = field(default_factory=list)
    outputs: list[TensorSpec] = field(default_factory=list)  # name = the tensor that holds it

    def add(self, name: str, op: str, inputs=(), **attrs) -> str:
        if name in self.nodes or name in self.consts:
            raise ModelFormatError(f"two nodes are both named {name!r}")
        self.nodes[name] = Node(name, op, list(inputs), attrs)
        return name

    def const(self, name: str, value) -> str:
        self.consts[name] = np.asarray(value)
        return name

    def consumers(self) -> dict[str, list[str]]:
        users: dict[str, list[str]] = {}
        for node in self.nodes.values():
            for source in node.inputs:
                users.setdefault(source, []).append(node.name)
        for spec in self.outputs:
            users.setdefault(spec.name, []).append("<output>")
        return users


def topological_order(graph: Graph) -> list[Node]:
    """Nodes in an order where every input comes first (iterative DFS, no recursion limit)."""
    order, state = [], {}
    known = set(graph.nodes) | set(graph.consts) | {spec.name for spec in graph.inputs}
    for root in [spec.name for spec in graph.outputs]:
        stack = [(root, False)]
        while stack:
            name, done = stack.pop()
            if name not in graph.nodes:
                if name not in known:
                    raise ModelFormatError(f"tensor {name!r} is used but never defined")
                continue
            if done:
                if state.get(name) != 2:
                    state[name] = 2
                    order.append(graph.nodes[name])
                continue
            if state.get(name) == 2:
                continue
            if state.get(name) == 1:
                raise ModelFormatError(f"the graph has a cycle through {name!r}")
            state[name] = 1
            stack.append((name, True))
            stack.extend((source, False) for source in reversed(graph.nodes[name].inputs))
    return order


def prune(graph: Graph) -> None:
    live = topological_order(graph)
    keep = {node.name for node in live}
    graph.nodes = {name: node for name, node in graph.nodes.items() if name in keep}
    used = {source for node in live for source in node.inputs} | {spec.name for spec in graph.outputs}
    graph.consts = {name: value for name, value in graph.consts.items() if name in used}


def fold_constants(graph: Graph, kernels: dict, limits: Limits = DEFAULT) -> None:
    for node in topological_order(graph):
        if node.op == "identity" and len(node.inputs) == 1:
            continue  # kept as a cheap alias; resolved by the plan
        if node.inputs and all(source in graph.consts for source in node.inputs):
            kernel = _bounded(kernels[node.op], node.op, limits) if node.op in GROWING_OPS else kernels[node.op]
            value = kernel(*[graph.consts[s] for s in node.inputs], **node.attrs)
            graph.consts[node.name] = np.asarray(value)
            del graph.nodes[node.name]


def _channel_vector(graph: Graph, name: str, channels: int):
    """The constant behind `name` if it broadcasts along the last axis only, as a 1-D array."""
    value = graph.consts.get(name)
    if value is None or value.dtype.kind != "f" or value.size not in (1, channels):
        return None
    if value.ndim > 1 and any(d != 1 for d in value.shape[:-1]):
        return None
    return np.broadcast_to(value.reshape(-1), (channels,)).astype(np.float32)


def _out_channels(graph: Graph, producer: Node) -> int:
    weights = graph.consts[producer.inputs[1]]
    if producer.op == "depthwise_conv2d":
        return weights.shape[2] * weights.shape[3]
    if producer.op == "matmul":
        return weights.shape[0] if producer.attrs.get("transpose_b") else weights.shape[-1]
    return weights.shape[3]


def fuse(graph: Graph) -> None:
    """Fold scale/shift and activations into conv2d / depthwise_conv2d / matmul nodes."""
    changed = True
    while changed:
        changed = False
        users = graph.consumers()
        for node in topological_order(graph):
            if not node.inputs or node.inputs[0] not in graph.nodes:
                continue
            producer = graph.nodes[node.inputs[0]]
            if (producer.op not in LINEAR_PRODUCERS or producer.attrs.get("activation") or producer.attrs.get("pool")
                    or len(users.get(producer.name, [])) != 1 or producer.inputs[1] not in graph.consts
                    or producer.attrs.get("transpose_a")):
                continue
            channels = _out_channels(graph, producer)
            if node.op in ("batch_norm", "mul", "add", "bias_add"):
                if node.op == "batch_norm":
                    scale = _channel_vector(graph, node.inputs[1], channels)
                    shift = _channel_vector(graph, node.inputs[2], channels)
                elif node.op == "mul":
                    scale, shift = _channel_vector(graph, node.inputs[1], channels), np.zeros(channels, np.float32)
                else:
                    scale, shift = np.ones(channels, np.float32), _channel_vector(graph, node.inputs[1], channels)
                if scale is None or shift is None:
                    continue
                _fold_affine(graph, producer, scale, shift, channels)
            elif node.op in FUSABLE_ACTIVATIONS:
                producer.attrs["activation"] = node.op
                producer.attrs["alpha"] = node.attrs.get("alpha")
            else:
                continue
            _replace(graph, node.name, producer.name)
            changed = True
            break


def fold_pads(graph: Graph) -> None:
    """A zero `pad` of the spatial axes read only by a conv becomes part of that conv's explicit padding."""
    users = graph.consumers()
    for node in topological_order(graph):
        if node.op != "pad" or node.attrs.get("mode", "constant") != "constant":
            continue
        readers = users.get(node.name, [])
        if len(readers) != 1 or any(spec.name == node.name for spec in graph.outputs):
            continue
        conv = graph.nodes[readers[0]]
        if conv.op not in ("conv2d", "depthwise_conv2d") or conv.inputs[0] != node.name \
                or conv.attrs.get("padding") == "same":
            continue
        pads = node.attrs.get("paddings") if len(node.inputs) < 2 else graph.consts.get(node.inputs[1])
        value = node.attrs.get("value", 0.0) if len(node.inputs) < 3 else graph.consts.get(node.inputs[2])
        if pads is None or value is None or float(np.asarray(value)) != 0.0:
            continue
        pads = np.asarray(pads).reshape(-1, 2).tolist()
        if len(pads) != 4 or pads[0] != [0, 0] or pads[3] != [0, 0]:
            continue
        padding = conv.attrs.get("padding", "valid")
        (top, bottom), (left, right) = ((0, 0), (0, 0)) if padding == "valid" else padding
        conv.attrs["padding"] = ((top + pads[1][0], bottom + pads[1][1]), (left + pads[2][0], right + pads[2][1]))
        conv.inputs[0] = node.inputs[0]
        del graph.nodes[node.name]


def fold_pools(graph: Graph) -> None:
    """A max pool (valid, stride = size) whose input is a conv2d read by nothing else becomes that conv's `pool`:
    the webgl conv then pools in the pass that assembles its output, one pass fewer per pooled layer."""
    users = graph.consumers()
    for node in topological_order(graph):
        if node.op != "max_pool" or node.attrs.get("padding", "valid") != "valid" or node.inputs[0] not in graph.nodes:
            continue
        conv = graph.nodes[node.inputs[0]]
        size = tuple(int(k) for k in node.attrs.get("ksize", (2, 2)))
        if (conv.op != "conv2d" or conv.attrs.get("pool") or len(users.get(conv.name, [])) != 1
                or tuple(int(s) for s in node.attrs.get("strides", size)) != size):
            continue
        conv.attrs["pool"] = size
        _replace(graph, node.name, conv.name)


def _fold_affine(graph: Graph, producer: Node, scale: np.ndarray, shift: np.ndarray, channels: int) -> None:
    weights = graph.consts[producer.inputs[1]].astype(np.float32)
    if producer.op == "depthwise_conv2d":
        h, w, c, m = weights.shape
        weights = weights * scale.reshape(1, 1, c, m)
    elif producer.op == "matmul" and producer.attrs.get("transpose_b"):
        weights = weights * scale[:, None]
    else:
        weights = weights * scale
    bias = graph.consts[producer.inputs[2]].astype(np.float32) if len(producer.inputs) > 2 else np.zeros(channels, np.float32)
    bias = bias * scale + shift
    weights_name = graph.const(producer.name + "/fused_weights", weights)
    bias_name = graph.const(producer.name + "/fused_bias", bias)
    producer.inputs = [producer.inputs[0], weights_name, bias_name]


def _replace(graph: Graph, old: str, new: str) -> None:
    """Make everything that read `old` read `new`, then drop `old` (and keep output names)."""
    del graph.nodes[old]
    for node in graph.nodes.values():
        node.inputs = [new if source == old else source for source in node.inputs]
    for spec in graph.outputs:
        if spec.name == old:
            spec.name = new


def check_supported(graph: Graph, kernels: dict) -> None:
    missing = sorted({(node.op, node.name) for node in graph.nodes.values() if node.op not in kernels})
    if missing:
        ops = ", ".join(f"{op!r} (node {name!r})" for op, name in missing[:8])
        raise UnsupportedOpError(f"unsupported op: {ops}. See docs/engine.md for the supported ops "
                                 "and how to add a kernel.")


def optimize(graph: Graph, kernels: dict, limits: Limits = DEFAULT) -> Graph:
    check_supported(graph, kernels)
    prune(graph)
    fold_constants(graph, kernels, limits)
    fuse(graph)
    fold_pads(graph)
    fold_pools(graph)
    prune(graph)
    return graph


def _grown_elements(op: str, args: list, attrs: dict) -> int | None:
    """The output size of an op whose size comes from tensor VALUES (not from model.json), or None.

    model.json shapes are bounded up front (tfjs/schema.py); these three take theirs
    from constants in the shards, which a damaged or hostile file can set to anything.
    """
    def ints(value):
        return np.asarray(value, dtype=np.float64).reshape(-1) if isinstance(value, (np.ndarray, list, tuple)) else None

    if op == "pad" and hasattr(args[0], "shape"):
        pads = ints(args[1] if len(args) > 1 and args[1] is not None else attrs.get("paddings"))
        if pads is not None and pads.size == 2 * len(args[0].shape):
            return int(np.prod(np.asarray(args[0].shape, np.float64) + pads.reshape(-1, 2).sum(axis=1)))
    elif op == "tile" and hasattr(args[0], "shape") and ints(args[1]) is not None:
        multiples = ints(args[1])
        if multiples.size == len(args[0].shape):
            return int(np.prod(np.asarray(args[0].shape, np.float64) * multiples))
    elif op == "fill" and ints(args[0]) is not None:
        return int(np.prod(ints(args[0])))
    return None


def _bounded(kernel, op: str, limits: Limits):
    """`kernel`, refusing outputs over Limits.tensor_elements before it allocates them."""
    def run(*args, **attrs):
        elements = _grown_elements(op, args, attrs)
        if elements is not None:
            limits.check(f"{op}: the model's constants ask for an output of", elements, "tensor_elements", " elements")
        return kernel(*args, **attrs)
    return run


class Plan:
    """A compiled, ready-to-run schedule: each step is (kernel, input slots, attrs, output slot, slots to free).

    `backend` supplies the kernels and moves inputs to its device and outputs back
    (see kernels/__init__.py); constants stay host arrays that kernels may cache on
    their device.
    """

    def __init__(self, graph: Graph, backend, limits: Limits = DEFAULT):
        self.backend = backend
        kernels = backend.kernels
        order = topological_order(graph)
        slots: dict[str, int] = {}

        def slot(name: str) -> int:
            if name not in slots:
                slots[name] = len(slots)
            return slots[name]

        self.input_slots = [slot(spec.name) for spec in graph.inputs]
        const_slots = {}
        aliases = {}
        for node in order:
            if node.op == "identity" and len(node.inputs) == 1:
                aliases[node.name] = aliases.get(node.inputs[0], node.inputs[0])
        steps = []
        self.step_ops: list[str] = []  # the op name of each step, for timings
        for node in order:
            if node.name in aliases:
                continue
            inputs = []
            for source in node.inputs:
                source = aliases.get(source, source)
                if source in graph.consts and source not in const_slots:
                    const_slots[source] = slot(source)
                inputs.append(slot(source))
            kernel = kernels[node.op]
            if node.op in GROWING_OPS:  # sizes from tensor values: bounded (the rest costs nothing)
                kernel = _bounded(kernel, node.op, limits)
            steps.append([kernel, inputs, node.attrs, slot(node.name), []])
            self.step_ops.append(node.op)
        self.output_slots = []
        for spec in graph.outputs:
            name = aliases.get(spec.name, spec.name)
            if name in graph.consts and name not in const_slots:
                const_slots[name] = slot(name)
            self.output_slots.append(slot(name))
        self.n_slots = len(slots)
        self.const_values = [(index, graph.consts[name]) for name, index in const_slots.items()]
        # Release each computed tensor right after its last reader (never constants or outputs).
        keep = set(self.output_slots) | set(const_slots.values())
        last_use = {}
        for index, step in enumerate(steps):
            for source in step[1]:
                last_use[source] = index
        for source, index in last_use.items():
            if source not in keep:
                steps[index][4].append(source)
        self.steps = [tuple(step) for step in steps]

    def run(self, inputs: list, timings: list | None = None) -> list:
        """Outputs for the inputs; with `timings`, waits after each step and appends (op, ms) per step."""
        values = [None] * self.n_slots
        for index, value in self.const_values:
            values[index] = value
        for index, value in zip(self.input_slots, inputs):
            values[index] = self.backend.to_device(value)
        for op, (kernel, sources, attrs, target, release) in zip(self.step_ops, self.steps):
            if timings is not None:
                start = time.perf_counter()
            values[target] = kernel(*[values[s] for s in sources], **attrs)
            if timings is not None:
                self.backend.sync(values[target])
                timings.append((op, (time.perf_counter() - start) * 1000))
            for s in release:
                values[s] = None
        return [self.backend.to_host(values[s]) for s in self.output_slots]
