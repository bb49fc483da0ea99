"""kcsolver.browser.boot_archive under CPython: what the browser's boot cache keeps between visits.

The browser side (site/unzip.js writing the archive, the fallbacks) runs in
test_browser_boot.py and test_browser_robustness.py.
"""

import importlib.machinery
import importlib.util
import io
import marshal
import sys
import types
import zipfile

import pytest

from kcsolver.browser.boot_archive import UNCHECKED_HASH, archive, stdlib_imports


@pytest.fixture
def installed(tmp_path, monkeypatch):
    """A site-packages under tmp_path/lib holding a package `bootpkg`, imported after a baseline."""
    site = tmp_path / "lib" / "site-packages"
    (site / "bootpkg" / "__pycache__").mkdir(parents=True)
    (site / "bootpkg" / "__init__.py").write_text("from .mod import double\n")
    (site / "bootpkg" / "mod.py").write_text("def double(x):\n    return 2 * x\n")
    (site / "bootpkg" / "weights.bin").write_bytes(bytes(range(256)))
    (site / "bootpkg" / "__pycache__" / "stale.cpython-312.pyc").write_bytes(b"left by an earlier import")
    monkeypatch.syspath_prepend(str(site))
    baseline = list(sys.modules)
    import bootpkg  # noqa: F401
    yield tmp_path / "lib", site, baseline
    for name in [n for n in sys.modules if n.startswith("bootpkg")]:
        del sys.modules[name]


def test_the_archive_holds_site_packages_uncompressed_with_unchecked_bytecode(installed):
    root, site, baseline = installed
    data = archive(baseline, str(site), str(root / "stdlib-bytecode"), root=str(root))
    with zipfile.ZipFile(io.BytesIO(data)) as zipped:
        entries = {info.filename: info for info in zipped.infolist()}
        assert {info.compress_type for info in entries.values()} == {zipfile.ZIP_STORED}  # site/unzip.js reads stored only
        assert zipped.read("site-packages/bootpkg/weights.bin") == bytes(range(256))
        assert "site-packages/bootpkg/__pycache__/stale.cpython-312.pyc" not in entries  # only fresh bytecode
        pyc_path = importlib.util.cache_from_source(str(site / "bootpkg" / "mod.py"))
        pyc = zipped.read(str(pyc_path)[len(str(root)) + 1:])
    assert pyc[:4] == importlib.util.MAGIC_NUMBER
    assert int.from_bytes(pyc[4:8], "little") == UNCHECKED_HASH
    assert pyc[8:16] == importlib.util.source_hash((site / "bootpkg" / "mod.py").read_bytes())
    namespace = {}
    exec(marshal.loads(pyc[16:]), namespace)
    assert namespace["double"](21) == 42


def test_modules_imported_before_the_baseline_get_no_bytecode(installed):
    root, site, _baseline = installed
    data = archive(list(sys.modules), str(site), str(root / "stdlib-bytecode"), root=str(root))
    with zipfile.ZipFile(io.BytesIO(data)) as zipped:
        assert not [name for name in zipped.namelist() if name.endswith(".pyc")]
        assert "site-packages/bootpkg/mod.py" in zipped.namelist()  # the files themselves are always there


def test_stdlib_imports_name_stdlib_modules_but_never_pyodides_own(monkeypatch):
    baseline = list(sys.modules)
    for name, origin in [("zipped_stdlib_module", "/lib/python312.zip/zipped_stdlib_module.py"),
                         ("pyodide_like", "/lib/python312.zip/pyodide_like.py"),
                         ("pyodide.http", "/lib/python312.zip/pyodide/http.py"),
                         ("site_module", "/lib/python3.12/site-packages/site_module.py")]:
        module = types.ModuleType(name)
        module.__spec__ = importlib.machinery.ModuleSpec(name, None, origin=origin)
        monkeypatch.setitem(sys.modules, name, module)
    names = stdlib_imports(baseline)
    assert "zipped_stdlib_module" in names and "pyodide_like" in names
    assert "pyodide.http" not in names  # holds JavaScript references: a snapshot cannot carry it
    assert "site_module" not in names
