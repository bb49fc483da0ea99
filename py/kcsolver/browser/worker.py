"""Request handlers behind the Web Worker's message protocol.

site/worker.js boots Pyodide, installs the kcsolver wheel and then forwards
every page request `{id, type, payload}` to `handle(type, payload)`. A handler
returns plain Python data (dicts, lists, numbers, NumPy arrays become typed
arrays); an exception travels back to the page as `{message, traceback}`.
"""

from __future__ import annotations

import time
import traceback

from . import ffi

_HANDLERS = {}
_models: dict = {}


def handler(name):
    def register(fn):
        _HANDLERS[name] = fn
        return fn

    return register


async def handle(kind: str, payload):
    """Run the handler for `kind`; return a JS object (or raise)."""
    fn = _HANDLERS.get(kind)
    if fn is None:
        raise ValueError(f"unknown request type {kind!r}; known: {sorted(_HANDLERS)}")
    result = await fn(ffi.to_py(payload) if payload is not None else {})
    return ffi.to_js_object(result)


def format_exception(exc: BaseException) -> dict:
    """The error object the page shows: one-line message plus the traceback text."""
    return {
        "message": f"{type(exc).__name__}: {exc}",
        "traceback": "".join(traceback.format_exception(exc)),
    }


@handler("info")
async def info(_payload):
    result = ffi.runtime_info()
    result["backend"] = "numpy"
    result["models_loaded"] = sorted(url for url, _backend in _models)
    return result


@handler("echo")
async def echo(payload):
    """Round trip used by the tests: returns the payload plus where it ran."""
    return {"echo": payload, "python": ffi.runtime_info()["python"]}


async def get_model(url: str, backend: str = "numpy"):
    from .. import load_model_async

    key = (url, backend)
    if key not in _models:
        _models[key] = await load_model_async(url, backend=backend, fetch=ffi.fetch_bytes)
    return _models[key]


@handler("predict")
async def predict(payload):
    import numpy as np

    model = await get_model(payload["modelUrl"], payload.get("backend") or "numpy")
    shape = [int(d) for d in payload["shape"]]
    x = ffi.from_typed_array(payload["data"], np.float32, shape)
    start = time.perf_counter()
    y = model.predict(x)
    ms = (time.perf_counter() - start) * 1000
    outputs = y if isinstance(y, list) else [y]
    first = np.ascontiguousarray(outputs[0], dtype=np.float32)
    return {
        "data": first,
        "shape": list(first.shape),
        "outputs": [{"data": np.ascontiguousarray(o, np.float32), "shape": list(o.shape)} for o in outputs],
        "ms": ms,
        "backend": model.backend,
    }
