"""Build time: Pyodide's standard-library zip with bytecode for the modules the browser imports.

Pyodide 0.27 ships its standard library (python_stdlib.zip) as sources only, so
a first visit compiles every stdlib module it imports: Pyodide's own start
(asyncio, typing, inspect, logging, ... about 180 modules) and then NumPy's and
kcsolver's imports. Measured in Node on the same files: `loadPyodide()` takes
3.9 s with the official zip and 1.3 s when its modules come precompiled.

`build.py` runs `tools/stdlib-bytecode.mjs`, which boots that same Pyodide
under Node (so the bytecode is exactly this interpreter's), imports what the
worker imports, loads the default solver and solves one image, then calls
`browser_stdlib()`: the official zip where each stdlib module that run
imported is an unchecked-hash .pyc (PEP 552) instead of its source, less
STDLIB_BROWSER_EXCLUDE (modules a captcha solver in a browser never imports:
debuggers, test frameworks, mail, HTTP and RPC clients, HTML and XML, multiprocessing) and
LEGACY_CODE_PAGES (single-byte codec tables); the build fails if the run imported one of them. Sourceless
bytecode is 1.85x the compressed size of the source, so keeping both would
add 0.7 MB to a first visit; tracebacks through those stdlib frames show file
and line without the source text. Every other module still compiles from
source when first imported. The result (2.09 MB) is about 0.27 MB smaller than the
official zip.
"""

from __future__ import annotations

import re
import sys
import zipfile

from .boot_archive import pyc

ZIP_PREFIX = f"/lib/python{sys.version_info[0]}{sys.version_info[1]}.zip/"


def imported_from_zip(modules=None) -> list[str]:
    """Paths inside the stdlib zip (e.g. "asyncio/events.py") of the imported modules that came from it."""
    paths = set()
    for module in list((modules or sys.modules).values()):
        origin = getattr(getattr(module, "__spec__", None), "origin", None)
        if isinstance(origin, str) and origin.startswith(ZIP_PREFIX) and origin.endswith(".py"):
            paths.add(origin[len(ZIP_PREFIX):])
    return sorted(paths)


STDLIB_BROWSER_EXCLUDE = ("pydoc.py", "pydoc_data/", "doctest.py", "pdb.py", "unittest/", "mailbox.py",
                          "imaplib.py", "smtplib.py", "nntplib.py", "poplib.py", "ftplib.py", "xmlrpc/",
                          "wsgiref/", "multiprocessing/", "pickletools.py", "_pyio.py",
                          # HTTP, HTML and XML in Python: the worker fetches through JavaScript's fetch
                          # (pyodide.http) and parses nothing but JSON (158 KB of a first visit)
                          "http/", "html/", "xml/")
# Single-byte code-page tables (cp1251, koi8_r, mac_roman, iso8859_5, ...: 273 KB of a first visit). The
# worker decodes only UTF-8 and ASCII text; cp437 stays because zipfile decodes names of entries without
# the UTF-8 flag with it. The codec wrappers that have no table (utf_16, latin_1, idna, the CJK ones over
# C modules) stay too: they are small.
LEGACY_CODE_PAGES = re.compile(r"encodings/(cp(?!437\.)\d+|mac_\w+|iso8859_\d+|koi8_\w+|kz1048|ptcp154|tis_620"
                               r"|hp_roman8|palmos)\.py$")


def excluded(name: str) -> bool:
    """Whether the stdlib zip entry `name` stays out of the browser's copy."""
    return name.startswith(STDLIB_BROWSER_EXCLUDE) or bool(LEGACY_CODE_PAGES.match(name))


def browser_stdlib(source_zip: str, target_zip: str, compiled: list[str]) -> int:
    """Copy `source_zip` to `target_zip` less what `excluded` names, with each of `compiled` (paths of
    sources in the zip) as unchecked-hash bytecode in place of its source. Returns how many; a ValueError
    when one of `compiled` is excluded (the browser would fail to import it)."""
    wanted = set(compiled)
    needed = sorted(name for name in wanted if excluded(name))
    if needed:
        raise ValueError(f"the browser imported {', '.join(needed)}, which STDLIB_BROWSER_EXCLUDE or "
                         "LEGACY_CODE_PAGES leave out of its stdlib zip: take them off those lists")
    count = 0
    with zipfile.ZipFile(source_zip) as source, zipfile.ZipFile(target_zip, "w") as target:
        for item in source.infolist():
            if excluded(item.filename):
                continue
            name, data = item.filename, source.read(item)
            if name in wanted:
                code = compile(data, ZIP_PREFIX + name, "exec", dont_inherit=True)
                name, data = name[:-3] + ".pyc", pyc(code, data)
                count += 1
            target.writestr(_entry(name, item.date_time), data, compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)
    return count


def _entry(name: str, date_time) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time)
    info.external_attr = 0o644 << 16
    return info
