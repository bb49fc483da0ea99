"""`Model`: a loaded TF.js model, optimised and planned for one kernel backend."""

from __future__ import annotations

import numpy as np

from . import graph as ir
from .errors import InputError, ModelFormatError
from .kernels import get_kernels
from .tfjs.loader import Artifacts, load_artifacts, load_artifacts_async


class Model:
    """Run a TF.js model with `predict(x)`; `inputs`/`outputs` describe its tensors."""

    def __init__(self, artifacts: Artifacts, backend: str = "numpy"):
        from .tfjs.graphdef import build_graph_model
        from .tfjs.layers import build_layers_graph

        self.source = artifacts.source
        self.format = artifacts.format
        self.metadata = artifacts.metadata
        self.backend = backend
        if self.format == "graph-model":
            graph = build_graph_model(artifacts)
        elif self.format == "layers-model":
            graph = build_layers_graph(artifacts)
        else:
            raise ModelFormatError(f"{artifacts.source}: unknown format {self.format!r} "
                                   "(expected layers-model or graph-model)")
        self.output_names = getattr(graph, "output_keys", None) or [spec.name for spec in graph.outputs]
        kernels = get_kernels(backend)
        self.graph = ir.optimize(graph, kernels)
        self.inputs = list(self.graph.inputs)
        self.outputs = list(self.graph.outputs)
        self.plan = ir.Plan(self.graph, kernels)

    @property
    def input_shape(self) -> tuple:
        return self.inputs[0].shape

    def _check(self, spec: ir.TensorSpec, x) -> np.ndarray:
        x = np.asarray(x)
        if x.dtype != np.float32:
            if x.dtype.kind not in "fiub":
                raise InputError(f"input {spec.name!r}: expected numbers, got dtype {x.dtype}")
            x = x.astype(np.float32)
        expected = tuple(spec.shape)
        if expected and (len(x.shape) != len(expected) or any(e is not None and e != a for e, a in zip(expected, x.shape))):
            shown = tuple("N" if e is None else e for e in expected)
            raise InputError(f"input {spec.name!r}: expected shape {shown}, got {x.shape}")
        return x

    def predict(self, x):
        """Run the model on a float32 batch (or a dict name -> array); returns an array or a list."""
        if isinstance(x, dict):
            missing = [spec.name for spec in self.inputs if spec.name not in x]
            if missing:
                raise InputError(f"missing inputs {missing}; the model takes {[s.name for s in self.inputs]}")
            values = [self._check(spec, x[spec.name]) for spec in self.inputs]
        else:
            if len(self.inputs) != 1:
                raise InputError(f"the model takes {len(self.inputs)} inputs; pass a dict name -> array "
                                 f"with {[s.name for s in self.inputs]}")
            values = [self._check(self.inputs[0], x)]
        outputs = [np.asarray(y) for y in self.plan.run(values)]
        return outputs[0] if len(outputs) == 1 else outputs

    def __repr__(self):
        return (f"Model({self.source!r}, format={self.format}, backend={self.backend}, "
                f"inputs={[(s.name, s.shape) for s in self.inputs]}, nodes={len(self.plan.steps)})")


def load_model(source, backend: str = "numpy") -> Model:
    """Load a TF.js model.json (path or URL; layers-model or graph-model, any quantization)."""
    return Model(load_artifacts(source), backend)


async def load_model_async(source: str, backend: str = "numpy", fetch=None) -> Model:
    """In the browser: the same, fetching model.json and shards with an async `fetch(url) -> bytes`."""
    return Model(await load_artifacts_async(source, fetch), backend)
