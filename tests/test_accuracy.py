"""Regression test: the shipped solvers' full-string accuracy on the shared real KCAPTCHA samples.

The floors are the figures recorded in docs/accuracy.md (rounded down); the
issue's targets are 99.5% for the digit solvers and 95% for stock23. The
samples only measure: no model was trained or tuned on them.
"""

import pytest

from conftest import REAL
from kcsolver import Solver
from kcsolver.cli import labelled_files

FLOORS = {
    ("l2_digits", "l2_digits_png"): 0.995,  # 100% measured
    ("digits", "digits_l4_6_png"): 0.995,  # 100% measured
    ("stock23", "stock23_jpg"): 0.985,      # 99.0% measured
    ("stock23", "stock20_true_png"): 0.965, # 97.0% measured
}


@pytest.mark.parametrize("model,folder", sorted(FLOORS))
def test_accuracy_on_real_samples(model, folder):
    files = labelled_files(REAL / folder)
    assert len(files) == 200
    results = Solver.load(model).solve_batch([path for path, _ in files])
    accuracy = sum(r.text == label for r, (_, label) in zip(results, files)) / len(files)
    assert accuracy >= FLOORS[(model, folder)], f"{model} on {folder}: {accuracy:.3f}"
