"""Broken model folders fail at load time with an error that names the problem."""

import json
import shutil

import numpy as np
import pytest

import kcsolver
from conftest import FIXTURES


@pytest.fixture
def model_dir(tmp_path):
    target = tmp_path / "model"
    shutil.copytree(FIXTURES / "cnn_basic" / "layers", target)
    return target


def shard(model_dir):
    return model_dir / "group1-shard1of1.bin"


def test_truncated_shard(model_dir):
    data = shard(model_dir).read_bytes()
    shard(model_dir).write_bytes(data[: len(data) // 2])
    with pytest.raises(kcsolver.ModelFormatError, match=r"group1-shard1of1\.bin \(\d+ bytes\).*truncated"):
        kcsolver.load_model(model_dir / "model.json")


def test_wrong_byte_count_in_manifest(model_dir):
    doc = json.loads((model_dir / "model.json").read_text())
    doc["weightsManifest"][0]["weights"][0]["shape"][0] += 1
    (model_dir / "model.json").write_text(json.dumps(doc))
    with pytest.raises(kcsolver.ModelFormatError, match="size mismatch"):
        kcsolver.load_model(model_dir / "model.json")


def test_missing_shard_is_named(model_dir):
    shard(model_dir).unlink()
    with pytest.raises(kcsolver.ModelFormatError, match=r"missing weight shard.*group1-shard1of1\.bin"):
        kcsolver.load_model(model_dir / "model.json")


def test_malformed_json(model_dir):
    (model_dir / "model.json").write_text('{"modelTopology": {"class_name": ')
    with pytest.raises(kcsolver.ModelFormatError, match="not valid JSON"):
        kcsolver.load_model(model_dir / "model.json")


def test_json_that_is_not_a_model(model_dir):
    (model_dir / "model.json").write_text('{"hello": 1}')
    with pytest.raises(kcsolver.ModelFormatError, match="not a TF.js model.json"):
        kcsolver.load_model(model_dir / "model.json")


def test_unknown_layer_class_is_named_at_load(model_dir):
    doc = json.loads((model_dir / "model.json").read_text())
    layer = doc["modelTopology"]["model_config"]["config"]["layers"][2]
    layer["class_name"] = "FancyAttention"
    (model_dir / "model.json").write_text(json.dumps(doc))
    with pytest.raises(kcsolver.UnsupportedOpError, match=rf"'FancyAttention' \(layer '{layer['config']['name']}'\)"):
        kcsolver.load_model(model_dir / "model.json")


def test_unknown_graph_op_is_named_at_load(tmp_path):
    target = tmp_path / "graph"
    shutil.copytree(FIXTURES / "cnn_basic" / "graph", target)
    doc = json.loads((target / "model.json").read_text())
    node = next(n for n in doc["modelTopology"]["node"] if n["op"] == "MaxPool")
    node["op"] = "FractionalMaxPool"
    (target / "model.json").write_text(json.dumps(doc))
    with pytest.raises(kcsolver.UnsupportedOpError, match=rf"'FractionalMaxPool' \(node '{node['name']}'\)"):
        kcsolver.load_model(target / "model.json")


def test_nan_weights(model_dir):
    doc = json.loads((model_dir / "model.json").read_text())
    data = bytearray(shard(model_dir).read_bytes())
    data[0:4] = np.array([np.nan], np.float32).tobytes()
    shard(model_dir).write_bytes(bytes(data))
    first = doc["weightsManifest"][0]["weights"][0]["name"]
    with pytest.raises(kcsolver.ModelFormatError, match=rf"{first}.*NaN"):
        kcsolver.load_model(model_dir / "model.json")


def test_missing_model_file(tmp_path):
    with pytest.raises(kcsolver.ModelSourceError, match="no such file"):
        kcsolver.load_model(tmp_path / "nope" / "model.json")
