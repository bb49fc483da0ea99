"""Wrapping someone else's TF.js model as a solver through a recipe (side file or metadata).

The stand-in is a tiny graph model shaped like the public TF.js demo's
DenseNet: RGB 60x160 input normalised with ImageNet mean/std, 2 x 10 sigmoid
scores out, read as two fixed-length chunks.
"""

import json

import numpy as np
import pytest
from PIL import Image

from kcsolver import KcsolverError, Solver, load_model
from kcsolver.synth import get_config, render
from kcsolver.tfjs.writer import GraphModelBuilder

IMAGENET = {"height": 60, "width": 160, "channels": 3, "color": "rgb", "scale": 1 / 255,
            "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]}
RECIPE = {"charset": "0123456789", "decoding": {"type": "chunks", "length": 2, "activation": "sigmoid"},
          "input": IMAGENET, "crop_credits": False}


def demo_like_model(folder, metadata=None):
    rng = np.random.default_rng(0)
    g = GraphModelBuilder()
    x = g.placeholder("input_1", (None, 60, 160, 3))
    conv = g.op("conv/Relu", "_FusedConv2D", [x, g.const("conv/w", rng.standard_normal((3, 3, 3, 8)) * 0.3),
                                              g.const("conv/b", np.zeros(8))],
                strides=[1, 2, 2, 1], padding="SAME", data_format="NHWC", dilations=[1, 1, 1, 1],
                fused_ops=["BiasAdd", "Relu"], num_args=1)
    pooled = g.op("pool/Mean", "Mean", [conv, g.const("pool/axes", np.array([1, 2]))], keep_dims=False)
    logits = g.op("dense/BiasAdd", "_FusedMatMul", [pooled, g.const("dense/w", rng.standard_normal((8, 20))),
                                                    g.const("dense/b", rng.standard_normal(20) * 0.1)],
                  fused_ops=["BiasAdd"], num_args=1, transpose_a=False, transpose_b=False)
    out = g.op("out/Sigmoid", "Sigmoid", [logits])
    return g.write(folder, {"input_1": x}, {"scores": out}, metadata)


@pytest.fixture
def captcha_png(tmp_path):
    image, _, _ = render(get_config("l2_digits"), np.random.default_rng(2))
    Image.fromarray(image).save(tmp_path / "c.png")
    return tmp_path / "c.png", image


def test_side_file_recipe_wraps_a_foreign_model(tmp_path, captcha_png):
    folder = tmp_path / "demo"
    demo_like_model(folder)
    (folder / "kcsolver.json").write_text(json.dumps(RECIPE))
    solver = Solver.load(folder)
    path, rgb = captcha_png
    x = solver.prepare(path)
    resized = np.asarray(Image.fromarray(rgb).resize((160, 60), Image.BILINEAR), np.float32)
    expected_x = (resized / 255 - np.array(IMAGENET["mean"], np.float32)) / np.array(IMAGENET["std"], np.float32)
    np.testing.assert_allclose(x, expected_x, rtol=1e-5, atol=1e-5)
    scores = load_model(folder / "model.json").predict(expected_x[None])[0].reshape(2, 10)
    result = solver.solve(path)
    assert result.text == "".join(str(int(k)) for k in scores.argmax(axis=1))
    assert len(result.chars) == 2 and 0 < result.confidence <= 1
    assert result.confidence == pytest.approx(np.prod([p for _, p in result.chars]))


def test_metadata_recipe_and_missing_recipe(tmp_path, captcha_png):
    with_meta = demo_like_model(tmp_path / "meta", {"kcsolver": RECIPE})
    assert len(Solver.load(with_meta).solve(captcha_png[0]).text) == 2
    demo_like_model(tmp_path / "bare")
    with pytest.raises(KcsolverError, match="no kcsolver recipe"):
        Solver.load(tmp_path / "bare")


def test_unknown_solver_name(tmp_path):
    with pytest.raises(KcsolverError, match="not a built-in solver"):
        Solver.load(tmp_path / "missing")
