"""The command line: predict (raw inference) and its errors."""

import subprocess
import sys

import numpy as np
import pytest

from conftest import FIXTURES


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "kcsolver", *map(str, args)], capture_output=True, text=True)


@pytest.mark.parametrize("variant", ["layers", "graph_uint16"])
def test_predict_writes_expected_output(tmp_path, variant):
    out = tmp_path / "y.npy"
    result = run_cli("predict", FIXTURES / "mobile_mix" / variant / "model.json", FIXTURES / "mobile_mix" / "input.npy", out)
    assert result.returncode == 0, result.stderr
    expected = np.load(FIXTURES / "mobile_mix" / f"expected_{variant}.npy")
    np.testing.assert_allclose(np.load(out), expected, atol=2e-3 * np.abs(expected).max())


def test_predict_bad_input_shape_is_a_clear_error(tmp_path):
    bad = tmp_path / "x.npy"
    np.save(bad, np.zeros((1, 10, 10, 3), np.float32))
    result = run_cli("predict", FIXTURES / "cnn_basic" / "layers" / "model.json", bad, tmp_path / "y.npy")
    assert result.returncode == 2
    assert "expected shape ('N', 60, 160, 3), got (1, 10, 10, 3)" in result.stderr
    assert "Traceback" not in result.stderr


def test_predict_missing_model_is_a_clear_error(tmp_path):
    result = run_cli("predict", tmp_path / "none.json", FIXTURES / "cnn_basic" / "input.npy", tmp_path / "y.npy")
    assert result.returncode == 2 and "no such file" in result.stderr and "Traceback" not in result.stderr


def test_unknown_command():
    result = run_cli("fly")
    assert result.returncode == 2 and "unknown command" in result.stderr
