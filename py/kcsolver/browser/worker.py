"""Request handlers behind the Web Worker's message protocol.

site/worker.js boots Pyodide, installs the kcsolver wheel and then forwards
every page request `{id, type, payload}` to `handle(type, payload)`. A handler
returns plain Python data (dicts, lists, numbers, NumPy arrays become typed
arrays); an exception travels back to the page as `{message, traceback}`.
"""

from __future__ import annotations

import asyncio
import itertools
import time
import traceback
from dataclasses import dataclass

from ..errors import InputError, KcsolverError, ModelSourceError
from . import ffi

_HANDLERS = {}
_models: dict = {}
_solvers: dict = {}
_companions: list = []  # (bundle model, specialist model) pairs: the specialist follows the bundle's backend


@dataclass
class PendingSpecialist:
    """A specialist network an automatic solver has not received yet, and its download once one started
    (shared by every request that waits for it)."""

    where: str  # the network's model.json URL
    backend: str | None
    download: asyncio.Future | None = None


_restricted: dict[tuple, object] = {}  # (id(solver), charset, lengths) -> that solver restricted to a site's
_pending: dict[int, dict[str, PendingSpecialist]] = {}  # id(automatic solver) -> preset -> its pending network
_local_files: dict[str, bytes] = {}  # model files picked from disk: "local:/name" -> bytes
_given_files: dict[str, bytes] = {}  # URL -> bytes handed over without a fetch (the boot snapshot's model: snapshot.py)


def handler(name):
    def register(fn):
        _HANDLERS[name] = fn
        return fn

    return register


async def handle(kind: str, payload):
    """Run the handler for `kind`; return a JS object (or raise)."""
    fn = _HANDLERS.get(kind) if isinstance(kind, str) else None
    if fn is None:
        raise InputError(f"unknown request type {kind!r}; known: {', '.join(sorted(_HANDLERS))}")
    result = await fn(Request(kind, ffi.to_py(payload) if payload is not None else {}))
    return ffi.to_js_object(result)


class Request:
    """A request's payload with checked access: a missing or mistyped field is an InputError naming it."""

    def __init__(self, kind: str, payload):
        if not isinstance(payload, dict):
            raise InputError(f"request {kind!r}: the payload must be an object, got {type(payload).__name__}")
        self.kind, self.payload = kind, payload

    def _bad(self, name, expected, value):
        shown = repr(value) if not hasattr(value, "nbytes") else f"{type(value).__name__} of {value.nbytes} bytes"
        raise InputError(f"request {self.kind!r}: {name!r} must be {expected}, got {shown[:80]}")

    def get(self, name, default=None):
        return self.payload.get(name, default)

    def text(self, name, default=None, required=True) -> str | None:
        value = self.payload.get(name, default)
        if value is None and not required:
            return None
        if not isinstance(value, str) or not value or len(value) > 100_000:
            self._bad(name, "a non-empty string", value)
        return value

    def integer(self, value, name, low: int, high: int) -> int:
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            self._bad(name, f"an integer from {low} to {high}", value)
        return value

    def object(self, name, required=True) -> dict | None:
        value = self.payload.get(name)
        if value is None and not required:
            return None
        if not isinstance(value, dict):
            self._bad(name, "an object", value)
        return value

    def shape(self, name) -> list[int]:
        value = self.payload.get(name)
        if not isinstance(value, list) or not 1 <= len(value) <= 8:
            self._bad(name, "a list of 1 to 8 dimensions", value)
        return [self.integer(d, f"{name}[{i}]", 1, 1 << 24) for i, d in enumerate(value)]

    def buffer(self, name, value=None) -> bytes:
        """The bytes of a typed array / ArrayBuffer field."""
        value = self.payload.get(name) if value is None else value
        try:
            return ffi.typed_array_bytes(value)
        except (AttributeError, TypeError):
            self._bad(name, "a typed array or ArrayBuffer", value)

    def model_url(self) -> str:
        return self.text("modelUrl")

    def backend(self) -> str | None:
        return self.text("backend", required=False)


def format_exception(exc: BaseException) -> dict:
    """The error object the page shows: one-line message plus the traceback text."""
    return {
        "message": f"{type(exc).__name__}: {exc}",
        "traceback": "".join(traceback.format_exception(exc)),
    }


# A model used without naming a backend starts on numpy, whose first prediction costs nothing extra
# (webgl compiles its shaders then); site/worker.js moves it to the faster backend once idle
# ("select-backend"), probing once per browser and model and remembering the result.
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
async def info(_request):
    result = ffi.runtime_info()
    model = _default.get("model")
    result["backend"] = model.backend if model is not None else None
    if model is not None:
        result["default_model"] = _default["url"]
        result["model_backend"] = model.info()
    result["webgl"] = webgl_status()
    from ..kernels.numpy import native

    result["gemm"] = native.state()  # which matrix product the NumPy kernels use
    result["models_loaded"] = sorted({f"{url} ({m.backend})" for (url, _backend), m in _models.items()})
    return result


_gemm_files = itertools.count()


@handler("gemm")
async def gemm(request):
    """The matrix product under the NumPy kernels: {data: the SIMD side module's bytes} installs it when it
    passes its checks (kernels/numpy/native.py; otherwise NumPy's stays, with the reason); {use: "numpy" |
    "wasm-simd128"} switches between the two (the bench); {} reports."""
    import os

    from ..kernels.numpy import native

    if "data" in request.payload:
        data = request.buffer("data")
        os.makedirs("/tmp/kcsolver", exist_ok=True)
        path = f"/tmp/kcsolver/libkcgemm-{next(_gemm_files)}.so"  # a new name: the loader caches by path
        with open(path, "wb") as file:
            file.write(data)
        return native.install(path)
    if "use" in request.payload:
        try:
            return native.use(request.text("use"))
        except ValueError as exc:
            raise InputError(f"request 'gemm': {exc}") from None
    return native.state()


@handler("load")
async def load(request):
    """Load (and for backend "auto", probe) a model ahead of use; the first one becomes the default."""
    url = request.model_url()
    model = await get_model(url, request.backend())
    if not _default:
        _default.update(model=model, url=url)
    return {"backend": model.backend, **model.info()}


@handler("select-backend")
async def select_backend(request):
    """Move a model (as used without naming a backend) to another backend; "auto" probes numpy and
    webgl and keeps the faster."""
    model = await get_model(request.model_url())
    backend = model.select_backend(request.text("backend"))
    for bundle, specialist in _companions:  # specialists run on their bundle's backend
        if bundle is model and specialist.backend != backend:
            specialist.select_backend(backend)
    return {"backend": backend, **model.info()}


@handler("loaded-modules")
async def loaded_modules(_request):
    """Diagnostics: the top-level Python modules imported so far (the tests check Pillow is not among them)."""
    import sys

    return sorted({name.split(".")[0] for name in sys.modules})


@handler("echo")
async def echo(request):
    """Round trip used by the tests: returns the payload plus where it ran."""
    return {"echo": request.payload, "python": ffi.runtime_info()["python"]}


async def fetch(url: str) -> bytes:
    """Bytes of a URL, or of a model file the user picked from disk (local:/...)."""
    if url in _given_files:
        return _given_files[url]
    if url.startswith("local:"):
        if url not in _local_files:
            raise ModelSourceError(f"{url[len('local:/'):]} was not among the files you picked; pick model.json with "
                                   "its shards")
        return _local_files[url]
    return await ffi.fetch_bytes(url)


async def get_model(url: str, backend: str | None = None):
    """The model at url: on a given backend, or (None) the one whose backend select-backend manages."""
    from .. import load_model_async

    key = (url, backend)
    if key not in _models:
        _models[key] = await load_model_async(url, backend=backend or "numpy", fetch=fetch)
    return _models[key]


@handler("register-files")
async def register_files(request):
    """Keep model.json and shards picked from disk; returns the URL to load them by."""
    files = request.object("files")
    picked = {str(name): request.buffer(f"files.{name}", data) for name, data in files.items()}
    _restricted.clear()  # keyed by id(solver): ids of the solvers dropped below may come back
    for stale in [key for key in list(_models) + list(_solvers) if key[0].startswith("local:")]:
        _solvers.pop(stale, None)
        model = _models.pop(stale, None)
        if model is not None:
            model.close()  # its weight textures, now rather than whenever the collector runs
    loaded = [id(model) for model in _models.values()]
    _companions[:] = [(b, m) for b, m in _companions if id(b) in loaded and id(m) in loaded]
    _local_files.clear()
    for name, data in picked.items():
        _local_files["local:/" + name] = data
    return {"url": "local:/model.json", "files": sorted(_local_files)}


def float_input(request):
    """The float32 input of predict/profile: data and shape must agree, within the input limit."""
    import math

    import numpy as np

    from ..limits import DEFAULT

    shape = request.shape("shape")
    DEFAULT.check(f"request {request.kind!r}: an input of", math.prod(shape), "input_elements", " elements")
    data = request.buffer("data")
    if len(data) != 4 * math.prod(shape):
        raise InputError(f"request {request.kind!r}: 'data' holds {len(data)} bytes, but shape {shape} needs "
                         f"{4 * math.prod(shape)} (float32)")
    return np.frombuffer(data, np.float32).reshape(shape)


@handler("predict")
async def predict(request):
    import numpy as np

    model = await get_model(request.model_url(), request.backend())
    x = float_input(request)
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
async def profile(request):
    """Per-step times of one prediction (after a warm-up run), for `python -m kcsolver.bench --profile`."""
    model = await get_model(request.model_url(), request.backend())
    x = float_input(request)
    model.predict(x)
    return {"backend": model.backend, "steps": [[op, ms] for op, ms in model.profile(x)]}


@handler("kernel-check")
async def kernel_check(request):
    """Run single kernels on a backend, for the per-kernel parity tests: [{op, inputs, attrs}] -> outputs."""
    import numpy as np

    from ..kernels import get_backend

    cases = request.get("cases")
    if not isinstance(cases, list):
        request._bad("cases", "a list of {op, inputs, attrs}", cases)
    backend = get_backend(request.text("backend", "webgl"))
    outputs = []
    for index, case in enumerate(cases):
        try:  # a diagnostic request: whatever its case gets wrong is the request's fault
            inputs = [ffi.from_typed_array(item["data"], item.get("dtype", "float32"), item["shape"]).copy()
                      for item in case["inputs"]]
            # The first input is an activation (on the device); the rest are constants, as in a model.
            args = [backend.to_device(inputs[0]), *inputs[1:]]
            result = backend.to_host(backend.kernels[case["op"]](*args, **case.get("attrs", {})))
        except KcsolverError:
            raise
        except Exception as exc:
            raise InputError(f"request 'kernel-check': cases[{index}] cannot run ({type(exc).__name__}: {exc})") from None
        outputs.append({"data": np.ascontiguousarray(result, np.float32), "shape": list(result.shape)})
    return {"outputs": outputs, "fallback_ops": sorted(backend.fallbacks)}


async def get_solver(url: str, backend: str | None = None, recipe: dict | None = None, preset: str | None = None):
    """A Solver for a model.json URL (and one of its presets, or None for the automatic choice); the
    recipe comes from the request, model.json or a kcsolver.json beside it. A preset with a specialist
    network runs only that one (fetched now); the automatic choice starts without its specialists,
    which `fetch_specialists` adds when first needed, so that a first answer never waits for a
    network its captcha does not use."""
    import json

    from ..captcha import Recipe, Solver
    from ..captcha.solver import specialist_locations
    from ..errors import KcsolverError

    key = (url, backend, json.dumps(recipe, sort_keys=True) if recipe else None, preset)
    if key not in _solvers:
        model = await get_model(url, backend)
        if recipe is None and not (model.metadata or {}).get("kcsolver"):
            side = url.rsplit("/", 1)[0] + "/kcsolver.json"
            try:
                recipe = json.loads(await fetch(side))
            except OSError:
                raise KcsolverError(f"{url} has no kcsolver recipe (no userDefinedMetadata.kcsolver and no "
                                    "kcsolver.json beside it): give charset, decoding and input") from None
        parsed = Recipe.from_dict(recipe, "recipe") if recipe else Solver.find_recipe(model.metadata, url)
        # Files picked from disk are one model folder (the names of two would collide): a bundle picked
        # that way is read without its specialists.
        networks = {} if url.startswith("local:") else specialist_locations(url, parsed)
        if preset in networks:
            _solvers[key] = Solver(await get_companion(networks[preset], model, backend), parsed, name=preset,
                                   preset=preset)
        else:
            solver = _solvers[key] = Solver(model, parsed, name=preset or url, preset=preset)
            if solver.automatic and networks:
                _pending[id(solver)] = {name: PendingSpecialist(where, backend) for name, where in networks.items()}
    return _solvers[key]


async def fetch_specialists(solver, names=None) -> None:
    """Fetch the specialist networks an automatic solver still lacks (those of `names`, or all) and
    give them to it. Requests that ask at the same time (a captcha and the idle preparation) wait for
    the same download, and the first to see it finish adds the network; a failed download leaves its
    network pending, for the next request to try again."""
    pending = _pending.get(id(solver), {})
    for name, entry in [(n, e) for n, e in pending.items() if names is None or n in names]:
        if entry.download is None:
            entry.download = asyncio.ensure_future(get_companion(entry.where, solver.model, entry.backend))
        download = entry.download
        try:
            network = await download
        except BaseException:
            if entry.download is download:
                entry.download = None
            raise
        if pending.get(name) is entry:  # not added meanwhile by another request awaiting the same download
            del pending[name]
            solver.add_specialist(name, network)


def lacks_specialist(solver, name: str) -> bool:
    """Whether an automatic solver's preset `name` has a specialist network still to fetch."""
    return name in _pending.get(id(solver), {})


async def get_companion(url: str, bundle, backend: str | None):
    """A specialist network of a bundle; used without naming a backend, it runs on the bundle's."""
    model = await get_model(url, backend)
    if backend is None:
        if model.backend != bundle.backend:
            model.select_backend(bundle.backend)
        if not any(b is bundle and m is model for b, m in _companions):
            _companions.append((bundle, model))
    return model


@handler("prepare-solver")
async def prepare_solver(request):
    """Build a solver ahead of its first captcha (site/worker.js asks for the automatic one once idle,
    so that its specialist networks are fetched and on their backend before anyone waits on them)."""
    solver = await get_solver(request.model_url(), request.backend(), None, request.text("preset", required=False))
    await fetch_specialists(solver)
    return {"solver": solver.preset or "auto", "specialists": sorted(solver.specialists),
            "backend": solver.model.backend}


@handler("solve")
async def solve(request):
    """Read a captcha from RGBA pixels {data, width, height} (a canvas's ImageData).

    payload: {modelUrl, preset?, recipe?, backend?, image}; the answer carries text, confidence, chars,
    solver (the preset that read it) and, when there is no answer, reason (with text empty)."""
    import numpy as np

    from ..limits import DEFAULT

    image = request.object("image")
    width = request.integer(image.get("width"), "image.width", 1, 1 << 16)
    height = request.integer(image.get("height"), "image.height", 1, 1 << 16)
    DEFAULT.check("an image of", width * height, "image_pixels", " pixels")
    pixels = request.buffer("image.data", image.get("data"))
    if len(pixels) != width * height * 4:
        raise InputError(f"expected {width}x{height} RGBA pixels ({width * height * 4} bytes), got {len(pixels)}")
    solver = await get_solver(request.model_url(), request.backend(), request.object("recipe", required=False),
                              request.text("preset", required=False))
    site = site_solver(solver, request.text("charset", required=False), request.text("lengths", required=False))
    rgba = np.frombuffer(pixels, np.uint8).reshape(height, width, 4)
    if site is not solver:  # the site's own symbols and lengths: one reading, no specialists
        answer = site.solve(rgba).to_dict()
        answer.update(backend=solver.model.backend, model=request.model_url())
        return answer
    result = solver.solve(rgba)
    # Read again once its preset's specialist is here. The bundle reads this captcha a second time too:
    # once per visit at most (the download is pending only until it first lands), and small beside it.
    if lacks_specialist(solver, result.solver):
        await fetch_specialists(solver, [result.solver])
        result = solver.solve(rgba)
    answer = result.to_dict()
    answer["backend"] = solver.model.backend
    answer["model"] = request.model_url()
    return answer


def site_solver(solver, charset: str | None, lengths: str | None):
    """`solver` restricted to a site's symbols and lengths (the widget's charset/lengths attributes, the
    page's site form), kept per solver and restriction; `solver` itself when neither is given."""
    from ..captcha.solver import parse_lengths

    if not charset and not lengths:
        return solver
    key = (id(solver), charset or "", lengths or "")
    if key not in _restricted:
        _restricted[key] = solver.restrict(charset, parse_lengths(lengths) if lengths else None)
    return _restricted[key]


@handler("webgl-lose-context")
async def webgl_lose_context(_request):
    """Diagnostics and tests: simulate a lost GPU context (WEBGL_lose_context)."""
    from ..kernels.webgl import shared_context

    ctx = shared_context()
    if ctx.lose_extension is None:
        raise RuntimeError("WEBGL_lose_context is not available")
    ctx.lose_extension.loseContext()
    return {"lost": ctx.lost}
