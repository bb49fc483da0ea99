"""kcsolver.browser.stdlib_zip under CPython: the stdlib zip build.py ships, with bytecode in place of sources.

The real one is made by Pyodide itself under Node (tools/stdlib-bytecode.mjs, run by build.py;
test_build.py checks the built file and every browser test boots from it).
"""

import sys
import zipfile

import pytest

from kcsolver.browser import stdlib_zip

SOURCES = {
    "fastmod.py": "VALUE = 6 * 7\n",
    "fastpkg/__init__.py": "from .inner import NAME\n",
    "fastpkg/inner.py": "NAME = 'inner'\n",
    "slowmod.py": "VALUE = 'from source'\n",
    "pdb.py": "raise ImportError('never shipped')\n",
    "unittest/__init__.py": "",
    "encodings/cp1251.py": "# a code-page table: left out\n",
    "encodings/cp437.py": "# zipfile's fallback for entry names: kept\n",
}


def official_zip(tmp_path):
    source = tmp_path / "python_stdlib.zip"
    with zipfile.ZipFile(source, "w") as archive:
        for name, text in SOURCES.items():
            archive.writestr(name, text)
    return source


@pytest.fixture
def shipped(tmp_path):
    source = official_zip(tmp_path)
    target = tmp_path / "python_stdlib-bytecode.zip"
    count = stdlib_zip.browser_stdlib(str(source), str(target), ["fastmod.py", "fastpkg/__init__.py", "fastpkg/inner.py"])
    return target, count


def test_imported_modules_become_bytecode_and_the_unused_ones_go(shipped):
    target, count = shipped
    assert count == 3
    with zipfile.ZipFile(target) as archive:
        names = set(archive.namelist())
    assert names == {"fastmod.pyc", "fastpkg/__init__.pyc", "fastpkg/inner.pyc", "slowmod.py", "encodings/cp437.py"}


def test_the_build_fails_when_the_browser_imported_a_module_it_would_leave_out(tmp_path):
    source = official_zip(tmp_path)
    with pytest.raises(ValueError, match="encodings/cp1251.py.*take them off"):
        stdlib_zip.browser_stdlib(str(source), str(tmp_path / "out.zip"), ["fastmod.py", "encodings/cp1251.py"])


def test_zipimport_runs_the_bytecode_and_the_remaining_sources(shipped, monkeypatch):
    target, _ = shipped
    monkeypatch.syspath_prepend(str(target))
    try:
        import fastmod
        import fastpkg
        import slowmod

        assert fastmod.VALUE == 42 and fastmod.__file__.endswith("fastmod.pyc")
        assert fastpkg.NAME == "inner" and fastpkg.__file__.endswith("__init__.pyc")
        assert slowmod.VALUE == "from source"
    finally:
        for name in ("fastmod", "fastpkg", "fastpkg.inner", "slowmod"):
            sys.modules.pop(name, None)


def test_imported_from_zip_names_the_zip_paths_of_modules():
    zipped = type(sys)("zipped")
    zipped.__spec__ = type("Spec", (), {"origin": stdlib_zip.ZIP_PREFIX + "asyncio/events.py"})()
    elsewhere = type(sys)("elsewhere")
    elsewhere.__spec__ = type("Spec", (), {"origin": "/lib/python3.12/site-packages/numpy/__init__.py"})()
    assert stdlib_zip.imported_from_zip({"zipped": zipped, "elsewhere": elsewhere, "builtin": sys}) == \
        ["asyncio/events.py"]
