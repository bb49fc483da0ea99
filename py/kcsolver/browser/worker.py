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


DEFAULT_BACKEND = "auto"
_default: dict = {}  # the model loaded at start-up, whose backend info() reports


def webgl_status() -> dict:
    from ..kernels.webgl import WebGLUnavailable, shared_context

    try:
        ctx = shared_context()
        return {"available": True, "renderer": ctx.renderer, "max_texture_size": ctx.max_size,
                "textures": ctx.textures}
    except WebGLUnavailable as exc:
        return {"available": False, "reason": str(exc)}


@handler("info")
async def info(_payload):
    result = ffi.runtime_info()
    model = _default.get("model")
    result["backend"] = model.backend if model is not None else DEFAULT_BACKEND
    if model is not None:
        result["default_model"] = _default["url"]
        result["model_backend"] = model.info()
    result["webgl"] = webgl_status()
    result["models_loaded"] = sorted({f"{url} ({m.backend})" for (url, _b), m in _models.items()})
    return result


@handler("load")
async def load(payload):
    """Load (and for backend "auto", probe) a model ahead of use; the first one becomes the default."""
    url = payload["modelUrl"]
    model = await get_model(url, payload.get("backend") or DEFAULT_BACKEND)
    if not _default:
        _default.update(model=model, url=url)
    return {"backend": model.backend, **model.info()}


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
        _solvers.pop(stale, None)
        model = _models.pop(stale, None)
        if model is not None:
            model.close()  # its weight textures, now rather than whenever the collector runs
    _local_files.clear()
    for name, data in payload["files"].items():
        _local_files["local:/" + name] = ffi.typed_array_bytes(data)
    return {"url": "local:/model.json", "files": sorted(_local_files)}


@handler("predict")
async def predict(payload):
    import numpy as np

    model = await get_model(payload["modelUrl"], payload.get("backend") or DEFAULT_BACKEND)
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
        "fallback_ops": model.info().get("fallback_ops", []),
        "fallback_reason": model.fallback_reason,
    }


@handler("profile")
async def profile(payload):
    """Per-step times of one prediction (after a warm-up run), for `python -m kcsolver.bench --profile`."""
    import numpy as np

    model = await get_model(payload["modelUrl"], payload.get("backend") or DEFAULT_BACKEND)
    x = ffi.from_typed_array(payload["data"], np.float32, [int(d) for d in payload["shape"]])
    model.predict(x)
    return {"backend": model.backend, "steps": [[op, ms] for op, ms in model.profile(x)]}


@handler("kernel-check")
async def kernel_check(payload):
    """Run single kernels on a backend, for the per-kernel parity tests: [{op, inputs, attrs}] -> outputs."""
    import numpy as np

    from ..kernels import get_backend

    backend = get_backend(payload.get("backend", "webgl"))
    outputs = []
    for case in payload["cases"]:
        inputs = [ffi.from_typed_array(item["data"], item.get("dtype", "float32"), item["shape"]).copy()
                  for item in case["inputs"]]
        # The first input is an activation (on the device); the rest are constants, as in a model.
        args = [backend.to_device(inputs[0]), *inputs[1:]]
        result = backend.to_host(backend.kernels[case["op"]](*args, **case.get("attrs", {})))
        outputs.append({"data": np.ascontiguousarray(result, np.float32), "shape": list(result.shape)})
    return {"outputs": outputs, "fallback_ops": sorted(backend.fallbacks)}


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

    solver = await get_solver(payload["modelUrl"], payload.get("backend") or DEFAULT_BACKEND, payload.get("recipe"))
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


@handler("webgl-lose-context")
async def webgl_lose_context(_payload):
    """Diagnostics and tests: simulate a lost GPU context (WEBGL_lose_context)."""
    from ..kernels.webgl import shared_context

    ctx = shared_context()
    if ctx.lose_extension is None:
        raise RuntimeError("WEBGL_lose_context is not available")
    ctx.lose_extension.loseContext()
    return {"lost": ctx.lost}
