"""`Model`: a loaded TF.js model, optimised and planned for one kernel backend."""

from __future__ import annotations

import contextlib
import math
import time

import numpy as np

from . import graph as ir
from .errors import InputError, KcsolverError, ModelFormatError, ResourceLimitError
from .kernels import ALL_BACKENDS, NumpyBackend, get_backend
from .limits import DEFAULT, Limits
from .tfjs.loader import Artifacts, load_artifacts, load_artifacts_async


@contextlib.contextmanager
def inconsistent_model(source: str, stage: str):
    """Anything unexpected while building or running a model that passed the schema check means its parts
    do not fit together (shapes, names, attributes): a ModelFormatError that says where, not a traceback."""
    try:
        yield
    except KcsolverError:
        raise
    except MemoryError:
        raise ResourceLimitError(f"{source}: {stage} ran out of memory; the model or its input is too large "
                                 "for this device") from None
    except (ArithmeticError, AttributeError, IndexError, KeyError, LookupError, TypeError, ValueError,
            RecursionError) as exc:
        raise ModelFormatError(f"{source}: {stage} failed ({type(exc).__name__}: {exc}); the model's layers or "
                               "attributes are inconsistent. Re-export it, or report it if TF.js loads it") from None

# backend="auto" decisions, probed once per model source on this device.
_AUTO_CHOICES: dict[str, str] = {}


class Model:
    """Run a TF.js model with `predict(x)`; `inputs`/`outputs` describe its tensors.

    backend: "numpy" (everywhere), "webgl" (browser; falls back to numpy where
    WebGL2 is unusable or its context is lost, saying why in `fallback_reason`),
    or "auto" (probes both once per model and device and keeps the faster).
    """

    def __init__(self, artifacts: Artifacts, backend: str = "numpy", limits: Limits = DEFAULT):
        if backend not in ALL_BACKENDS:
            raise InputError(f"unknown backend {backend!r}; choose one of {', '.join(ALL_BACKENDS)}")
        self.limits = limits
        from .tfjs.graphdef import build_graph_model
        from .tfjs.layers import build_layers_graph

        self.source = artifacts.source
        self.format = artifacts.format
        self.metadata = artifacts.metadata
        self.fallback_reason: str | None = None
        self.runtime = None  # the backend object; set by _use
        self.probe: dict[str, float] = {}
        builders = {"graph-model": build_graph_model, "layers-model": build_layers_graph}
        if self.format not in builders:
            raise ModelFormatError(f"{artifacts.source}: unknown format {self.format!r} "
                                   "(expected layers-model or graph-model)")
        with inconsistent_model(self.source, "reading the topology"):
            graph = builders[self.format](artifacts)
            self.output_names = getattr(graph, "output_keys", None) or [spec.name for spec in graph.outputs]
            host = NumpyBackend()
            self.graph = ir.optimize(graph, host.kernels, limits)  # checks support, folds constants on the host
        self.inputs = list(self.graph.inputs)
        for spec in self.inputs:
            known = math.prod(d for d in spec.shape if d)
            limits.check(f"{self.source}: input {spec.name!r} declares", known, "tensor_elements", " elements")
        self.outputs = list(self.graph.outputs)
        self.requested_backend = backend
        with inconsistent_model(self.source, "preparing the backend"):  # "auto" runs the model once per backend
            self._use(_AUTO_CHOICES.get(self.source, "auto") if backend == "auto" else backend)

    def _use(self, name: str) -> None:
        from .kernels.webgl.context import WebGLUnavailable

        if name == "auto":
            return self._probe()
        if self.runtime is not None:
            self.runtime.release()  # e.g. webgl's weight textures when numpy wins the probe
        try:
            self.runtime = get_backend(name)
        except WebGLUnavailable as exc:
            self.fallback_reason = f"webgl unavailable: {exc}"
            self.runtime = NumpyBackend()
        self.backend = self.runtime.name
        self.plan = ir.Plan(self.graph, self.runtime, self.limits)

    def _probe(self) -> None:
        """Time one prediction per backend on a blank input and keep the fastest."""
        shape = tuple(1 if d is None else d for d in self.inputs[0].shape) if len(self.inputs) == 1 else None
        best = None
        for name in ("numpy", "webgl"):
            self._use(name)
            if self.backend != name or shape is None:
                continue
            x = np.zeros(shape, np.float32)
            self.plan.run([x])  # warm-up: shader compilation, weight upload
            start = time.perf_counter()
            self.plan.run([x])
            self.probe[name] = (time.perf_counter() - start) * 1000
            if best is None or self.probe[name] < self.probe[best]:
                best = name
        choice = _AUTO_CHOICES[self.source] = best or "numpy"
        if self.backend != choice:  # the last one probed (webgl) keeps its uploaded weights when it wins
            self._use(choice)

    def select_backend(self, name: str) -> str:
        """Switch this model to another backend ("auto" probes); the first prediction on it is run now
        (webgl: weight upload, shader compilation), so the next request does not pay for it."""
        if name not in ALL_BACKENDS:
            raise InputError(f"unknown backend {name!r}; choose one of {', '.join(ALL_BACKENDS)}")
        with inconsistent_model(self.source, f"switching to the {name} backend"):
            self.requested_backend = name
            self._use(name)
            if name != "auto" and len(self.inputs) == 1:
                self.plan.run([np.zeros(tuple(1 if d is None else d for d in self.inputs[0].shape), np.float32)])
        return self.backend

    @property
    def input_shape(self) -> tuple:
        return self.inputs[0].shape

    def _check(self, spec: ir.TensorSpec, x) -> np.ndarray:
        if not isinstance(x, np.ndarray):
            try:
                x = np.asarray(x)
            except (ValueError, TypeError) as exc:  # ragged lists, objects
                raise InputError(f"input {spec.name!r}: not an array of numbers ({exc})") from None
        self.limits.check(f"input {spec.name!r} has", x.size, "input_elements", " elements")
        if x.dtype != np.float32:
            if x.dtype.kind not in "fiub":
                raise InputError(f"input {spec.name!r}: expected numbers, got dtype {x.dtype}")
            x = x.astype(np.float32)
        expected = tuple(spec.shape)
        if expected and (len(x.shape) != len(expected) or any(e is not None and e != a for e, a in zip(expected, x.shape))):
            shown = tuple("N" if e is None else e for e in expected)
            raise InputError(f"input {spec.name!r}: expected shape {shown}, got {x.shape}")
        return x

    def _values(self, x) -> list[np.ndarray]:
        """The input arrays in graph order, checked, from one array or a dict name -> array."""
        if isinstance(x, dict):
            missing = [spec.name for spec in self.inputs if spec.name not in x]
            if missing:
                raise InputError(f"missing inputs {missing}; the model takes {[s.name for s in self.inputs]}")
            return [self._check(spec, x[spec.name]) for spec in self.inputs]
        if len(self.inputs) != 1:
            raise InputError(f"the model takes {len(self.inputs)} inputs; pass a dict name -> array "
                             f"with {[s.name for s in self.inputs]}")
        return [self._check(self.inputs[0], x)]

    def predict(self, x):
        """Run the model on a float32 batch (or a dict name -> array); returns an array or a list."""
        values = self._values(x)
        from .kernels.webgl.context import WebGLUnavailable

        with inconsistent_model(self.source, "running the model"):
            try:
                self.runtime.check()
                outputs = self.plan.run(values)
            except WebGLUnavailable as exc:  # e.g. the context was lost mid-session: numpy takes over
                self.fallback_reason = f"webgl stopped: {exc}"
                self._use("numpy")
                outputs = self.plan.run(values)
        outputs = [np.asarray(y) for y in outputs]
        return outputs[0] if len(outputs) == 1 else outputs

    def close(self) -> None:
        """Free the backend's device resources now (they are also freed when the model is collected)."""
        self.runtime.release()

    def profile(self, x) -> list[tuple[str, float]]:
        """(op, ms) for each step of one prediction, each step waiting for the device: where the time goes."""
        timings: list[tuple[str, float]] = []
        self.plan.run(self._values(x), timings)
        return timings

    def info(self) -> dict:
        return {**self.runtime.info(), "requested": self.requested_backend, "fallback_reason": self.fallback_reason,
                "probe_ms": self.probe}

    def __repr__(self):
        return (f"Model({self.source!r}, format={self.format}, backend={self.backend}, "
                f"inputs={[(s.name, s.shape) for s in self.inputs]}, nodes={len(self.plan.steps)})")


def load_model(source, backend: str = "numpy", limits: Limits | None = None, digests: dict | None = None) -> Model:
    """Load a TF.js model.json (path or URL; layers-model or graph-model, any quantization).

    `limits` (kcsolver.Limits) bounds what the files may declare; `digests` ({file name: sha256}, as
    `kcsolver verify` and build.py record them) makes every file checked before it is used."""
    limits = limits or DEFAULT
    return Model(load_artifacts(source, limits, digests), backend, limits)


async def load_model_async(source: str, backend: str = "numpy", fetch=None, limits: Limits | None = None,
                           digests: dict | None = None) -> Model:
    """In the browser: the same, fetching model.json and shards with an async `fetch(url) -> bytes`."""
    limits = limits or DEFAULT
    return Model(await load_artifacts_async(source, fetch, limits, digests), backend, limits)
