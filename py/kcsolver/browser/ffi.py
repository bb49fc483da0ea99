"""The one place that uses Pyodide's FFI.

Works on Pyodide 0.27 (Python 3.12, NumPy 2.0) and 314 (Python 3.14, NumPy 2.4):
both have `pyodide.ffi.to_js`, `create_proxy`, `JsProxy.to_bytes` and
`pyodide.http.pyfetch`. Arrays cross the boundary as raw bytes (one memcpy each
way, never element by element).
"""

from __future__ import annotations

import sys

IN_BROWSER = sys.platform == "emscripten"

if IN_BROWSER:  # pragma: no cover - exercised by the browser tests
    import js  # type: ignore[import-not-found]
    from pyodide.ffi import JsProxy, create_proxy, to_js  # type: ignore[import-not-found]
    # pyodide.http is imported on first use (fetch_bytes): at import it takes JS objects that the boot
    # snapshot (snapshot.py) could not hold.
else:
    js = None
    JsProxy = ()  # isinstance(x, ()) is always False

    def _unavailable(*_args, **_kwargs):
        raise RuntimeError("kcsolver.browser.ffi needs Pyodide (it only works inside the browser worker)")

    create_proxy = to_js = _unavailable

# (kind, itemsize) of a buffer's elements -> JS typed array class.
_TYPED_ARRAYS = {
    ("f", 4): "Float32Array", ("f", 8): "Float64Array",
    ("i", 1): "Int8Array", ("i", 2): "Int16Array", ("i", 4): "Int32Array",
    ("u", 1): "Uint8Array", ("u", 2): "Uint16Array", ("u", 4): "Uint32Array",
}


async def fetch_bytes(url: str) -> bytes:
    """GET `url` (relative URLs resolve against the worker) and return the body.

    Raises OSError naming the URL and HTTP status, so a missing shard reads as
    "404 for .../group1-shard1of1.bin" rather than a JS TypeError.
    """
    from pyodide.http import pyfetch  # type: ignore[import-not-found]

    from ..errors import ModelSourceError

    try:
        response = await pyfetch(url)
    except Exception as exc:  # network error, CORS, offline, a refused URL scheme
        raise ModelSourceError(f"could not fetch {url}: {exc}") from None
    if not response.ok:
        raise ModelSourceError(f"HTTP {response.status} for {url}")
    return await response.bytes()


def to_typed_array(buffer):
    """A JS typed array holding a copy of a C-contiguous buffer (NumPy array, array.array).

    The element type follows the buffer: float32 -> Float32Array, int32 -> Int32Array...
    """
    view = memoryview(buffer)
    if not view.c_contiguous:
        raise ValueError("to_typed_array needs a C-contiguous buffer (use np.ascontiguousarray)")
    fmt = view.format.lstrip("<=@")
    kind = "f" if fmt in ("f", "d", "e") else ("u" if fmt.isupper() or fmt == "?" else "i")
    name = _TYPED_ARRAYS.get((kind, view.itemsize))
    if name is None:
        raise TypeError(f"no JS typed array for buffer format {view.format!r}")
    u8 = to_js(view.cast("B"))  # one copy into a Uint8Array
    return getattr(js, name).new(u8.buffer, u8.byteOffset, u8.byteLength // view.itemsize)


def typed_array_bytes(value) -> bytes:
    """The raw bytes of a JS typed array / ArrayBuffer (or an already converted buffer)."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    return value.to_bytes()


def from_typed_array(value, dtype="float32", shape=None):
    """A NumPy array copied from a JS typed array (one copy, no per-element work)."""
    import numpy as np

    array = np.frombuffer(typed_array_bytes(value), dtype=dtype)
    return array.reshape(shape) if shape is not None else array


def to_py(value):
    """Convert a JS value (object, array, number, string) to Python."""
    if isinstance(value, JsProxy):
        return value.to_py()
    return value


def to_js_object(value):
    """Convert nested dicts/lists/numbers to plain JS objects and arrays.

    NumPy arrays inside become typed arrays; NumPy scalars become numbers.
    """
    return to_js(_plain(value), dict_converter=js.Object.fromEntries)


def _plain(value):
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if type(value).__module__ == "numpy":  # without importing NumPy where it is absent
        if hasattr(value, "shape") and value.shape != ():
            return to_typed_array(value)
        return value.item()
    return value


def proxy(callable_):
    """A persistent JS function wrapping a Python callable (destroy it when done)."""
    return create_proxy(callable_)


def runtime_info() -> dict:
    """Runtime name/version, Python and NumPy versions, for `kcsolver.info()`."""
    try:
        import numpy

        numpy_version = numpy.__version__
    except ImportError:
        numpy_version = None
    info = {
        "python": sys.version.split()[0],
        "numpy": numpy_version,
        "platform": sys.platform,
    }
    if IN_BROWSER:
        import pyodide  # type: ignore[import-not-found]

        info["runtime"] = "pyodide"
        info["runtime_version"] = pyodide.__version__
    else:
        info["runtime"] = "cpython"
        info["runtime_version"] = info["python"]
    return info
