"""Request handlers behind the Web Worker's message protocol.

site/worker.js boots Pyodide, installs the kcsolver wheel and then forwards
every page request `{id, type, payload}` to `handle(type, payload)` (browser/protocol.py).
A handler returns plain Python data (dicts, lists, numbers, NumPy arrays become
typed arrays); an exception travels back to the page as `{message, traceback}`.
What the handlers load (models, solvers, specialists) lives in browser/loaded.py.
"""

from __future__ import annotations

import itertools
import time

from ..errors import InputError, KcsolverError
from . import ffi, loaded
from .protocol import handle, handler  # noqa: F401  (handle: the entry point site/worker.js imports from here)


def webgl_status() -> dict:
    from ..kernels.webgl import WebGLUnavailable, shared_context

    try:
        ctx = shared_context()
        return {"available": True, "renderer": ctx.renderer, "max_texture_size": ctx.max_size,
                "textures": ctx.textures}
    except WebGLUnavailable as exc:
        return {"available": False, "reason": str(exc)}


@handler("info")
async def info(request):
    """The runtime, the default model and its backend, the matrix product, WebGL2. {webgl: false} leaves a
    WebGL context unmade where none exists yet (the worker's boot: making one costs tens of ms before the
    first answer, which comes on numpy anyway); WebGL then reads as not probed."""
    result = ffi.runtime_info()
    model = loaded.default.get("model")
    result["backend"] = model.backend if model is not None else None
    if model is not None:
        result["default_model"] = loaded.default["url"]
        result["model_backend"] = model.info()
    from ..kernels.webgl import context_made

    result["webgl"] = webgl_status() if request.get("webgl", True) or context_made() else {
        "available": None, "reason": "not probed yet: request('info') probes"}
    from ..kernels.numpy import native

    result["gemm"] = native.state()  # which matrix product the NumPy kernels use
    result["models_loaded"] = sorted({f"{url} ({m.backend})" for (url, _backend), m in loaded.models.items()})
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
    model = await loaded.get_model(url, request.backend())
    if not loaded.default:
        loaded.default.update(model=model, url=url)
    return {"backend": model.backend, **model.info()}


@handler("select-backend")
async def select_backend(request):
    """Move a model (as used without naming a backend) to another backend; "auto" probes numpy and
    webgl and keeps the faster."""
    model = await loaded.get_model(request.model_url())
    backend = model.select_backend(request.text("backend"))
    for bundle, specialist in loaded.companions:  # specialists run on their bundle's backend
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


@handler("register-files")
async def register_files(request):
    """Keep model.json and shards picked from disk; returns the URL to load them by."""
    files = request.object("files")
    picked = {str(name): request.buffer(f"files.{name}", data) for name, data in files.items()}
    loaded.replace_local_files(picked)
    return {"url": "local:/model.json", "files": sorted(loaded.local_files)}


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

    model = await loaded.get_model(request.model_url(), request.backend())
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
    model = await loaded.get_model(request.model_url(), request.backend())
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


@handler("prepare-solver")
async def prepare_solver(request):
    """Build a solver ahead of its first captcha (site/worker.js asks for the automatic one once idle,
    so that its specialist networks are fetched and on their backend before anyone waits on them)."""
    solver = await loaded.get_solver(request.model_url(), request.backend(), None, request.text("preset", required=False))
    await loaded.fetch_specialists(solver)
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
    solver = await loaded.get_solver(request.model_url(), request.backend(), request.object("recipe", required=False),
                              request.text("preset", required=False))
    site = loaded.site_solver(solver, request.text("charset", required=False), request.text("lengths", required=False))
    rgba = np.frombuffer(pixels, np.uint8).reshape(height, width, 4)
    if site is not solver:  # the site's own symbols and lengths: one reading, no specialists
        answer = site.solve(rgba).to_dict()
        answer.update(backend=solver.model.backend, model=request.model_url())
        return answer
    result = solver.solve(rgba)
    # Read again once its preset's specialist is here. The bundle reads this captcha a second time too:
    # once per visit at most (the download is pending only until it first lands), and small beside it.
    if loaded.lacks_specialist(solver, result.solver):
        await loaded.fetch_specialists(solver, [result.solver])
        result = solver.solve(rgba)
    answer = result.to_dict()
    answer["backend"] = solver.model.backend
    answer["model"] = request.model_url()
    return answer


@handler("webgl-lose-context")
async def webgl_lose_context(_request):
    """Diagnostics and tests: simulate a lost GPU context (WEBGL_lose_context)."""
    from ..kernels.webgl import shared_context

    ctx = shared_context()
    if ctx.lose_extension is None:
        raise RuntimeError("WEBGL_lose_context is not available")
    ctx.lose_extension.loseContext()
    return {"lost": ctx.lost}
