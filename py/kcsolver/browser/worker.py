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
_solvers: dict = {}
_local_files: dict[str, bytes] = {}  # model files picked from disk: "local:/name" -> bytes


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


async def fetch(url: str) -> bytes:
    """Bytes of a URL, or of a model file the user picked from disk (local:/...)."""
    if url.startswith("local:"):
        if url not in _local_files:
            raise OSError(f"{url[len('local:/'):]} was not among the files you picked; pick model.json with its shards")
        return _local_files[url]
    return await ffi.fetch_bytes(url)


async def get_model(url: str, backend: str = "numpy"):
    from .. import load_model_async

    key = (url, backend)
    if key not in _models:
        _models[key] = await load_model_async(url, backend=backend, fetch=fetch)
    return _models[key]


@handler("register-files")
async def register_files(payload):
    """Keep model.json and shards picked from disk; returns the URL to load them by."""
    for stale in [key for key in list(_models) + list(_solvers) if key[0].startswith("local:")]:
        _models.pop(stale, None)
        _solvers.pop(stale, None)
    _local_files.clear()
    for name, data in payload["files"].items():
        _local_files["local:/" + name] = ffi.typed_array_bytes(data)
    return {"url": "local:/model.json", "files": sorted(_local_files)}


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


async def get_solver(url: str, backend: str = "numpy", recipe: dict | None = None):
    """A Solver for a model.json URL; the recipe comes from the request, model.json or a kcsolver.json beside it."""
    import json

    from ..captcha import Recipe, Solver
    from ..errors import KcsolverError

    key = (url, backend, json.dumps(recipe, sort_keys=True) if recipe else None)
    if key not in _solvers:
        model = await get_model(url, backend)
        if recipe is None and not (model.metadata or {}).get("kcsolver"):
            side = url.rsplit("/", 1)[0] + "/kcsolver.json"
            try:
                recipe = json.loads(await fetch(side))
            except OSError:
                raise KcsolverError(f"{url} has no kcsolver recipe (no userDefinedMetadata.kcsolver and no "
                                    "kcsolver.json beside it): give charset, decoding and input") from None
        parsed = Recipe.from_dict(recipe, "recipe") if recipe else Solver.find_recipe(model, url)
        _solvers[key] = Solver(model, parsed, name=url)
    return _solvers[key]


@handler("solve")
async def solve(payload):
    """Read a captcha from RGBA pixels {data, width, height} (a canvas's ImageData)."""
    from ..errors import InputError

    solver = await get_solver(payload["modelUrl"], payload.get("backend") or "numpy", payload.get("recipe"))
    image = payload.get("image") or {}
    width, height = int(image.get("width", 0)), int(image.get("height", 0))
    if width <= 0 or height <= 0:
        raise InputError("the image has no pixels")
    pixels = ffi.from_typed_array(image["data"], "uint8")
    if pixels.size != width * height * 4:
        raise InputError(f"expected {width}x{height} RGBA pixels ({width * height * 4} bytes), got {pixels.size}")
    result = solver.solve(pixels.reshape(height, width, 4))
    answer = result.to_dict()
    answer["backend"] = solver.model.backend
    answer["model"] = payload["modelUrl"]
    return answer
