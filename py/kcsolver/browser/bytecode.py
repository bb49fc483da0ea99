"""Precompiled bytecode for the browser's boot cache (site/worker.js, site/caches.js).

The NumPy wheel and Pyodide's stdlib ship Python sources only, so every visit
compiles each module again when it is imported (about a second for NumPy).
After a first visit the worker calls `archive()`: a zip, relative to /lib, of
the bytecode of every module imported since boot, which the next visit unpacks
before importing anything:
  * modules from site-packages (NumPy, kcsolver) get an unchecked-hash .pyc in
    their __pycache__, used without re-reading the source (PEP 552);
  * stdlib modules (imported from Pyodide's zip, where no __pycache__ can be
    written) get a sourceless .pyc in a directory put first on sys.path.
The boot cache is keyed by the runtime and wheel versions, so this bytecode
never outlives the sources it was compiled from.
"""

from __future__ import annotations

import importlib.util
import io
import marshal
import sys
import zipfile

UNCHECKED_HASH = 0b01  # PEP 552 flags: hash-based, do not check the source


def pyc(code, source: bytes) -> bytes:
    return (importlib.util.MAGIC_NUMBER + UNCHECKED_HASH.to_bytes(4, "little") + importlib.util.source_hash(source)
            + marshal.dumps(code))


def archive(baseline, site_packages: str, stdlib_target: str, root: str = "/lib") -> bytes:
    """A zip of the bytecode of the modules imported since `baseline` (module names), paths under `root`."""
    known = set(baseline)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as out:
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
                target = importlib.util.cache_from_source(origin)
            else:  # the stdlib zip: a sourceless module in stdlib_target
                parts = name.split(".")
                if any(".".join(parts[:i]) in known for i in range(1, len(parts))):
                    continue  # its package was imported at boot, from the zip: the zip's __path__ wins
                relative = "/".join(parts + ["__init__"]) if spec.submodule_search_locations is not None else \
                    "/".join(parts)
                target = f"{stdlib_target}/{relative}.pyc"
            if target.startswith(root + "/"):
                out.writestr(target[len(root) + 1:], pyc(code, data))
    return buffer.getvalue()
