"""The boot cache's file archive (site/worker.js, site/caches.js): installed packages and their bytecode.

A first visit installs NumPy and kcsolver from their wheels (inflating 12 MB
inside wasm, about half a second) and compiles every module it imports from
source (NumPy's and kcsolver's, and stdlib modules that the build's bytecode zip,
stdlib_zip.py, does not cover: about half a second more). Once
idle, the worker calls `archive()` for the next visit: one uncompressed zip,
relative to /lib, that the worker writes straight into the file system
(site/unzip.js, a few tens of ms) instead of the wheels. It holds
  * every file of site-packages as installed (NumPy, kcsolver, their metadata);
  * for every module imported since boot, bytecode: from site-packages an
    unchecked-hash .pyc in its __pycache__, used without re-reading the source
    (PEP 552); from the stdlib zip (where no __pycache__ can be written) a
    sourceless .pyc in a directory the worker puts first on sys.path.
The boot cache is keyed by the runtime and wheel versions, so none of this
outlives the files it was made from.

The snapshot itself can hold more than a bare interpreter: `stdlib_imports()`
names the standard-library modules this visit imported (for NumPy and
kcsolver), which the worker imports into the interpreter it snapshots. Pyodide
cannot snapshot after loading NumPy's shared libraries, but pure stdlib modules
snapshot fine, and then cost nothing on the next visit.
"""

from __future__ import annotations

import importlib.util
import io
import marshal
import os
import sys
import zipfile

UNCHECKED_HASH = 0b01  # PEP 552 flags: hash-based, do not check the source


def pyc(code, source: bytes) -> bytes:
    return (importlib.util.MAGIC_NUMBER + UNCHECKED_HASH.to_bytes(4, "little") + importlib.util.source_hash(source)
            + marshal.dumps(code))


def _bytecode(baseline, site_packages: str, stdlib_target: str):
    """(path, .pyc bytes) for every module imported since `baseline` (module names)."""
    known = set(baseline)
    for name, module in sorted(sys.modules.items()):
        spec = getattr(module, "__spec__", None)
        origin = getattr(spec, "origin", None)
        if name in known or not origin or not origin.endswith(".py") or spec.loader is None:
            continue
        try:
            source = spec.loader.get_source(name)
        except (ImportError, OSError):
            continue
        if source is None:
            continue
        data = source.encode()
        code = compile(data, origin, "exec", dont_inherit=True)
        if origin.startswith(site_packages + "/"):
            yield importlib.util.cache_from_source(origin), pyc(code, data)
            continue
        # the stdlib zip: a sourceless module in stdlib_target, unless its package came from the zip at boot
        parts = name.split(".")
        if any(".".join(parts[:i]) in known for i in range(1, len(parts))):
            continue  # the zip's package __path__ would win over stdlib_target anyway
        relative = "/".join(parts + ["__init__"]) if spec.submodule_search_locations is not None else "/".join(parts)
        yield f"{stdlib_target}/{relative}.pyc", pyc(code, data)


# Pyodide's own modules hold references to JavaScript objects, which a memory snapshot cannot carry.
NOT_SNAPSHOTTED = ("pyodide", "_pyodide", "js", "pyodide_js", "micropip")


def stdlib_imports(baseline) -> list[str]:
    """The standard-library modules imported since `baseline` (module names), for the next snapshot."""
    known = set(baseline)
    names = []
    for name, module in sorted(sys.modules.items()):
        origin = getattr(getattr(module, "__spec__", None), "origin", None) or ""
        from_stdlib = origin in ("built-in", "frozen") or ".zip/" in origin
        if name not in known and from_stdlib and name.split(".")[0] not in NOT_SNAPSHOTTED:
            names.append(name)
    return names


def archive(baseline, site_packages: str, stdlib_target: str, root: str = "/lib") -> bytes:
    """An uncompressed zip, paths relative to `root`, of site-packages and the bytecode described above."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as out:
        for directory, _dirs, files in os.walk(site_packages):
            for file in sorted(files):
                path = os.path.join(directory, file)
                if path.startswith(root + "/") and "/__pycache__/" not in path:
                    out.write(path, path[len(root) + 1:])
        for path, data in _bytecode(baseline, site_packages, stdlib_target):
            if path.startswith(root + "/"):
                out.writestr(path[len(root) + 1:], data)
    return buffer.getvalue()
