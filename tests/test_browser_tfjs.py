"""TF.js 4.22 itself loads the shipped solver bundles and agrees with our engine and with PyTorch."""

import numpy as np
import pytest

from helpers import wait_until
from conftest import REAL
from kcsolver import Solver

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("folder", ["l2_digits_png", "stock23_jpg", "classic126_jpg"])
def test_tfjs_loads_the_shipped_bundle_and_matches_ours(page, server, folder):
    solver = Solver.load("auto")
    images = sorted((REAL / folder).glob("*.*"))[:2]
    x = np.stack([solver.prepare(p) for p in images if p.suffix != ".csv"])
    ours = solver.model.predict(x)
    page.goto(server.url + "/pages/tfjs.html")
    wait_until(page, "window.tf !== undefined")
    result = page.evaluate("([url, data, shape]) => tfPredict(url, data, shape, 'cpu')",
                           [f"{server.url}/app/models/kcaptcha/model.json", x.ravel().tolist(), list(x.shape)])
    theirs = np.array(result["data"], np.float32).reshape(result["shape"])
    assert theirs.shape == ours.shape
    np.testing.assert_allclose(theirs, ours, atol=1e-4)
