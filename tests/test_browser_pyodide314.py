"""kcsolver.browser on the current Pyodide (314, Python 3.14): catches FFI drift.

The npm core of pyodide@314.0.7 boots offline but carries no NumPy, so this
exercises the NumPy-free part of the glue: fetching bytes into Python, to_js
conversion of nested data, typed arrays both ways, and proxies.
"""

import pytest

from helpers import wait_until

pytestmark = pytest.mark.browser


@pytest.fixture
def py314(page, server):
    page.goto(server.url + "/pages/pyodide314.html")
    wait_until(page, "window.booted !== undefined")
    assert page.evaluate("window.booted").startswith("314.")
    return page


def run(page, code):
    return page.evaluate("(code) => pyodide.runPythonAsync(code)", code)


def test_runtime_info(py314):
    info = py314.evaluate("pyodide.runPython('from kcsolver.browser import ffi; ffi.to_js_object(ffi.runtime_info())')")
    assert info["runtime"] == "pyodide" and info["runtime_version"].startswith("314.")
    assert info["python"].startswith("3.14")
    assert info["numpy"] is None


def test_fetch_bytes_and_missing_url(py314):
    size = run(py314, """
from kcsolver.browser import ffi
data = await ffi.fetch_bytes("/fixtures/cnn_basic/layers/model.json")
len(data)
""")
    assert size > 1000
    error = run(py314, """
try:
    await ffi.fetch_bytes("/fixtures/does-not-exist.bin")
    r = "no error"
except OSError as exc:
    r = str(exc)
r
""")
    assert "404" in error and "does-not-exist.bin" in error


def test_typed_arrays_both_ways(py314):
    result = py314.evaluate("""() => {
        const toJs = pyodide.runPython(`
import array
from kcsolver.browser import ffi
ffi.to_typed_array(array.array('f', [1.5, -2.0, 3.25]))
`);
        const fromJs = pyodide.runPython(`
import array, struct
def roundtrip(typed):
    raw = ffi.typed_array_bytes(typed)
    return list(struct.unpack('<' + 'i' * (len(raw) // 4), raw))
roundtrip
`);
        return {kind: toJs.constructor.name, values: Array.from(toJs), back: fromJs(new Int32Array([7, -8, 9])).toJs()};
    }""")
    assert result["kind"] == "Float32Array"
    assert result["values"] == [1.5, -2.0, 3.25]
    assert result["back"] == [7, -8, 9]


def test_nested_objects_and_proxies(py314):
    result = py314.evaluate("""() => {
        const obj = pyodide.runPython(`from kcsolver.browser import ffi; ffi.to_js_object({'a': [1, 2, {'b': 'c'}], 'n': None})`);
        const fn = pyodide.runPython(`ffi.proxy(lambda x: x * 2)`);
        const doubled = fn(21);
        fn.destroy();
        return {obj, plain: Object.getPrototypeOf(obj) === Object.prototype, doubled};
    }""")
    assert result["obj"] == {"a": [1, 2, {"b": "c"}], "n": None}
    assert result["plain"] is True
    assert result["doubled"] == 42


def test_the_simd_matrix_product_loads_and_multiplies(py314):
    """build.py's side module (LLVM's wasm-ld) on the current runtime's loader, through ctypes."""
    result = run(py314, """
import ctypes
from kcsolver.browser import ffi
data = await ffi.fetch_bytes("/app/native/libkcgemm.so")
with open("/tmp/libkcgemm.so", "wb") as file:
    file.write(data)
sgemm = ctypes.CDLL("/tmp/libkcgemm.so").kc_sgemm
m, k, n = 5, 7, 11  # a 4x8 tile, a leftover row and three leftover columns
a = [(i * 7 + 3) % 13 - 6.0 for i in range(m * k)]
b = [(i * 5 + 1) % 11 - 5.0 for i in range(k * n)]
bias = [c - 5.0 for c in range(n)]
A, B, C = (ctypes.c_float * (m * k))(*a), (ctypes.c_float * (k * n))(*b), (ctypes.c_float * (m * n))()
sgemm(m, n, k, A, B, (ctypes.c_float * n)(*bias), 1, C)  # + bias, then relu
expected = [max(0.0, bias[c] + sum(a[i * k + j] * b[j * n + c] for j in range(k))) for i in range(m) for c in range(n)]
max(abs(x - y) for x, y in zip(C, expected))
""")
    assert result == 0  # small integers: exact in float32
