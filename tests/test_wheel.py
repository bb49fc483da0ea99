"""The wheel Python users install carries the built-in solvers: a fresh virtualenv, `pip install`, solve."""

import json
import subprocess
import sys

import pytest

from conftest import REAL, ROOT
from kcsolver import Solver

sys.path.insert(0, str(ROOT))
import build  # noqa: E402

SAMPLES = {"l2_digits": "l2_digits_png", "digits": "digits_l4_6_png", "stock23": "stock23_jpg",
           "classic": "classic126_jpg"}


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """A fresh virtualenv (no access to this checkout) with the built wheel installed by pip."""
    where = tmp_path_factory.mktemp("wheel")
    wheel = build.build_full_wheel(where)
    subprocess.run([sys.executable, "-m", "venv", str(where / "venv")], check=True)
    subprocess.run([where / "venv" / "bin" / "pip", "install", "-q", "--disable-pip-version-check", str(wheel)],
                   check=True, timeout=600)
    return where


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_every_builtin_solver_works_from_a_plain_install(installed, name):
    image = sorted(p for p in (REAL / SAMPLES[name]).iterdir() if p.suffix in (".png", ".jpg"))[0]
    result = subprocess.run([installed / "venv" / "bin" / "kcsolver", "solve", str(image), "--model", name, "--json"],
                            capture_output=True, text=True, cwd=installed, timeout=300)
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    expected = Solver.load(name).solve(image)
    assert answer["solver"] == name and answer["text"] == expected.text and answer["text"]
    assert abs(answer["confidence"] - expected.confidence) < 1e-6


def test_the_installed_package_is_not_this_checkout(installed):
    where = subprocess.run([installed / "venv" / "bin" / "python", "-c",
                            "import kcsolver, pathlib; print(pathlib.Path(kcsolver.__file__).resolve())"],
                           capture_output=True, text=True, cwd=installed, check=True).stdout
    assert str(installed) in where and str(ROOT) not in where
    notice = subprocess.run([installed / "venv" / "bin" / "python", "-c",
                             "import kcsolver.synth, pathlib; print((pathlib.Path(kcsolver.synth.__file__).parent"
                             " / 'kcaptcha_fonts' / 'NOTICE.md').read_text()[:200])"],
                            capture_output=True, text=True, cwd=installed, check=True).stdout
    assert "KCAPTCHA" in notice
