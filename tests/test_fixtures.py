"""Every converter-made fixture reproduces its reference output (TF.js 4.22 / Keras)."""

import numpy as np
import pytest

import kcsolver
from conftest import FIXTURES

MODELS = ["cnn_basic", "mobile_mix", "seq_tanh"]
VARIANTS = ["layers", "layers_uint8", "layers_f16", "graph", "graph_uint16"]
# float32 variants must match within 1e-4 of the output scale; quantized ones within 2e-3.
TOLERANCE = {"layers": 1e-4, "graph": 1e-4, "layers_uint8": 2e-3, "layers_f16": 2e-3, "graph_uint16": 2e-3}


def relative_error(actual, expected):
    return float(np.abs(actual - expected).max() / max(float(np.abs(expected).max()), 1e-6))


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("name", MODELS)
def test_fixture_matches_reference(name, variant):
    folder = FIXTURES / name
    model = kcsolver.load_model(folder / variant / "model.json")
    x = np.load(folder / "input.npy")
    expected = np.load(folder / f"expected_{variant}.npy")
    y = model.predict(x)
    assert y.shape == expected.shape and y.dtype == np.float32
    assert relative_error(y, expected) < TOLERANCE[variant]


@pytest.mark.parametrize("name", MODELS)
def test_quantized_variants_differ_from_float_only_by_quantization(name):
    """The quantized files decode to nearly the float model (proves dequantization, not a copy)."""
    folder = FIXTURES / name
    x = np.load(folder / "input.npy")
    reference = kcsolver.load_model(folder / "layers" / "model.json").predict(x)
    for variant in ["layers_uint8", "layers_f16"]:
        y = kcsolver.load_model(folder / variant / "model.json").predict(x)
        assert relative_error(y, reference) < 5e-2


def test_model_describes_inputs_and_outputs():
    model = kcsolver.load_model(FIXTURES / "mobile_mix" / "graph" / "model.json")
    assert model.format == "graph-model"
    assert model.inputs[0].shape == (None, 48, 96, 3)
    assert model.output_names == ["softmax"]
    layers = kcsolver.load_model(FIXTURES / "cnn_basic" / "layers" / "model.json")
    assert layers.format == "layers-model" and layers.inputs[0].shape == (None, 60, 160, 3)


def test_batch_of_one_and_wrong_shape():
    model = kcsolver.load_model(FIXTURES / "seq_tanh" / "layers" / "model.json")
    x = np.load(FIXTURES / "seq_tanh" / "input.npy")
    np.testing.assert_allclose(model.predict(x[:1])[0], model.predict(x)[0], rtol=1e-5, atol=1e-6)
    with pytest.raises(kcsolver.InputError, match=r"expected shape \('N', 28, 28, 1\), got \(1, 28, 27, 1\)"):
        model.predict(np.zeros((1, 28, 27, 1), np.float32))


def test_load_from_http_url(server):
    model = kcsolver.load_model(server.url + "/fixtures/cnn_basic/graph_uint16/model.json")
    x = np.load(FIXTURES / "cnn_basic" / "input.npy")
    expected = np.load(FIXTURES / "cnn_basic" / "expected_graph_uint16.npy")
    assert relative_error(model.predict(x), expected) < 2e-3


def test_profile_times_each_step_and_leaves_outputs_alone():
    model = kcsolver.load_model(FIXTURES / "cnn_basic" / "graph" / "model.json")
    x = np.load(FIXTURES / "cnn_basic" / "input.npy")[:1]
    before = model.predict(x)
    timings = model.profile(x)
    assert [op for op, _ms in timings] == model.plan.step_ops and len(timings) == len(model.plan.steps)
    assert all(ms >= 0 for _op, ms in timings)
    np.testing.assert_array_equal(model.predict(x), before)
