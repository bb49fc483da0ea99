"""Fuzzing the CPython API: only kcsolver errors come out, nothing hangs, and good input still works after.

Hypothesis drives every case from a fixed seed (derandomize), so a run is
repeatable and bounded; the counts are printed in the test summary
(conftest.py) and recorded in docs/errors.md. The browser side (worker
requests, embed messages) is in test_browser_fuzz.py.
"""

import io
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

import kcsolver
from conftest import FIXTURES, FUZZ_COUNTS
from kcsolver import KcsolverError
from kcsolver.synth import get_config, render

pytestmark = pytest.mark.timeout(300)

FOLDERS = sorted(p.parent for p in FIXTURES.glob("*/*/model.json"))
NASTY = [None, -1, 0, 1, 1e308, -1e308, "x", "", [], {}, [[]], 10 ** 30, True, [1, "a"], {"a": 1}, "\u0000" * 3,
         [None, None], [-5, 3], 1.5]
FUZZ = settings(max_examples=300, derandomize=True, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


def json_paths(value, prefix=()):
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from json_paths(item, prefix + (key,))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from json_paths(item, prefix + (index,))


def mutated(document, path, action, replacement):
    document = json.loads(json.dumps(document))
    parent = document
    for key in path[:-1]:
        parent = parent[key]
    if action == "delete" or (action == "drop" and not isinstance(parent, list)):
        del parent[path[-1]]
    elif action == "drop":
        parent.pop(path[-1])
    elif action == "duplicate" and isinstance(parent, list):
        parent.insert(path[-1], parent[path[-1]])
    else:
        parent[path[-1]] = replacement
    return document


def outcome(kind, call):
    """Run one case: success or a KcsolverError; anything else fails the test. Counted per kind."""
    FUZZ_COUNTS[kind] = FUZZ_COUNTS.get(kind, 0) + 1
    try:
        call()
    except KcsolverError:
        pass


@pytest.fixture(scope="module")
def documents():
    return {folder: json.loads((folder / "model.json").read_text()) for folder in FOLDERS}


@FUZZ
@given(data=st.data())
def test_structural_mutations_of_model_json(tmp_path_factory, documents, data):
    folder = data.draw(st.sampled_from(FOLDERS), label="fixture")
    paths = [p for p in json_paths(documents[folder]) if p]
    path = data.draw(st.sampled_from(paths), label="path")
    action = data.draw(st.sampled_from(["delete", "replace", "replace", "drop", "duplicate"]), label="action")
    replacement = data.draw(st.sampled_from(NASTY), label="value")
    target = tmp_path_factory.mktemp("m")
    for shard in folder.glob("*.bin"):
        (target / shard.name).symlink_to(shard)
    (target / "model.json").write_text(json.dumps(mutated(documents[folder], path, action, replacement)))

    def run():
        model = kcsolver.load_model(target / "model.json")
        model.predict(np.load(folder.parent / "input.npy"))

    outcome("model.json structure", run)


@FUZZ
@given(data=st.data())
def test_shard_byte_flips_and_truncations(tmp_path_factory, data):
    folder = data.draw(st.sampled_from(FOLDERS), label="fixture")
    target = tmp_path_factory.mktemp("s")
    shutil.copy(folder / "model.json", target / "model.json")
    shards = sorted(folder.glob("*.bin"))
    for shard in shards:
        shutil.copy(shard, target / shard.name)
    victim = target / data.draw(st.sampled_from(shards), label="shard").name
    raw = bytearray(victim.read_bytes())
    if data.draw(st.booleans(), label="truncate"):
        raw = raw[:data.draw(st.integers(0, max(len(raw) - 1, 0)), label="length")]
    else:
        for _ in range(data.draw(st.integers(1, 16), label="flips")):
            position = data.draw(st.integers(0, len(raw) - 1), label="position")
            raw[position] = data.draw(st.integers(0, 255), label="byte")
    victim.write_bytes(bytes(raw))

    def run():
        kcsolver.load_model(target / "model.json").predict(np.load(folder.parent / "input.npy"))

    outcome("weight shard bytes", run)


@pytest.fixture(scope="module")
def solver():
    return kcsolver.Solver.load("auto")


@pytest.fixture(scope="module")
def encoded_images():
    image, _, _ = render(get_config("stock23"), np.random.default_rng(0))
    files = {}
    for fmt in ("PNG", "JPEG", "GIF", "BMP", "WEBP"):
        buffer = io.BytesIO()
        Image.fromarray(image).save(buffer, fmt)
        files[fmt] = buffer.getvalue()
    return files


@settings(max_examples=600, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_mutated_and_spliced_images(solver, encoded_images, data):
    fmt = data.draw(st.sampled_from(sorted(encoded_images)), label="format")
    raw = bytearray(encoded_images[fmt])
    how = data.draw(st.sampled_from(["flip", "truncate", "splice", "insert"]), label="mutation")
    if how == "flip":
        for _ in range(data.draw(st.integers(1, 20), label="flips")):
            raw[data.draw(st.integers(0, len(raw) - 1), label="position")] = data.draw(st.integers(0, 255))
    elif how == "truncate":
        raw = raw[:data.draw(st.integers(0, len(raw) - 1), label="length")]
    elif how == "splice":
        other = encoded_images[data.draw(st.sampled_from(sorted(encoded_images)), label="other")]
        raw = raw[:data.draw(st.integers(0, len(raw)))] + other[data.draw(st.integers(0, len(other))):]
    else:
        position = data.draw(st.integers(0, len(raw)), label="position")
        raw[position:position] = data.draw(st.binary(min_size=1, max_size=64), label="bytes")
    outcome(f"image files ({fmt})", lambda: solver.solve(bytes(raw)))


@settings(max_examples=150, derandomize=True, deadline=None)
@given(shape=st.lists(st.integers(0, 120), min_size=0, max_size=4),
       dtype=st.sampled_from(["uint8", "float32", "float64", "int64", "bool", "complex64"]))
def test_nonsense_pixel_arrays(solver, shape, dtype):
    outcome("pixel arrays", lambda: solver.solve(np.ones(shape, dtype=dtype)))


def test_good_input_still_works_after_the_fuzzing(solver):
    """The caches and state the fuzz cases touched did not break anything."""
    assert kcsolver.load_model(FOLDERS[0] / "model.json").predict(np.load(FOLDERS[0].parent / "input.npy")).size
    image, label, _ = render(get_config("l2_digits"), np.random.default_rng(4))
    assert solver.solve(image).text.isdigit()


def test_a_tiny_file_cannot_ask_for_gigabytes(tmp_path):
    """Declared sizes are checked against the limits before anything is allocated or read."""
    document = json.loads((FOLDERS[0] / "model.json").read_text())
    document["weightsManifest"][0]["weights"][0]["shape"] = [1 << 20, 1 << 20]
    (tmp_path / "model.json").write_text(json.dumps(document))
    with pytest.raises(kcsolver.ResourceLimitError, match="Limits.tensor_elements"):
        kcsolver.load_model(tmp_path / "model.json")
    layers = next(folder for folder in FOLDERS if folder.name == "layers")
    document = json.loads((layers / "model.json").read_text())
    layer = document["modelTopology"]["model_config"]["config"]["layers"][0]
    layer["config"]["batch_input_shape"] = [None, 60000, 60000, 3]
    (tmp_path / "model.json").write_text(json.dumps(document))
    for shard in layers.glob("*.bin"):
        shutil.copy(shard, tmp_path / shard.name)
    with pytest.raises(kcsolver.ResourceLimitError, match=r"layers\[0\]\.config\.batch_input_shape declares 10,800,000,000 elements"):
        kcsolver.load_model(tmp_path / "model.json")
    # the limits are the caller's to raise
    loose = kcsolver.Limits(tensor_elements=20_000_000_000, shape_value=1 << 20)
    with pytest.raises(KcsolverError):
        kcsolver.load_model(tmp_path / "model.json", limits=loose).predict(np.zeros((1, 4, 4, 3), np.float32))


def test_huge_images_are_refused_before_decoding(solver):
    buffer = io.BytesIO()
    Image.new("L", (20000, 20000)).save(buffer, "PNG")
    with pytest.raises(kcsolver.InputError, match="huge size.*: more than 4,000,000 pixels"):
        solver.solve(buffer.getvalue())
    with pytest.raises(kcsolver.InputError, match="3000x3000 pixels: more than 4,000,000"):
        solver.solve(np.zeros((3000, 3000, 3), np.uint8))


def test_shard_constants_cannot_ask_for_gigabytes():
    """A graph model's paddings live in a shard, not in model.json: they are bounded when the op runs."""
    from kcsolver.graph import Graph, Plan, TensorSpec
    from kcsolver.kernels import NumpyBackend

    def padding_graph(amount):
        graph = Graph(inputs=[TensorSpec("x", (None, 4, 4, 1))], outputs=[TensorSpec("padded", (None, None, None, 1))])
        graph.add("padded", "pad", ["x", graph.const("paddings", [[0, 0], [0, amount], [0, amount], [0, 0]])])
        return graph

    x = np.zeros((1, 4, 4, 1), np.float32)
    with pytest.raises(kcsolver.ResourceLimitError, match="pad: .* 10,000,800,016 elements"):
        Plan(padding_graph(100_000), NumpyBackend()).run([x])
    assert Plan(padding_graph(2), NumpyBackend()).run([x])[0].shape == (1, 6, 6, 1)


def test_digests_catch_a_changed_file(tmp_path):
    from kcsolver.integrity import read_sums, write_sums

    shutil.copytree(FOLDERS[0], tmp_path / "m")
    digests = read_sums(write_sums(tmp_path / "m"))
    assert kcsolver.load_model(tmp_path / "m" / "model.json", digests=digests)
    shard = next((tmp_path / "m").glob("*.bin"))
    shard.write_bytes(shard.read_bytes()[:-1] + b"\x01")
    with pytest.raises(kcsolver.IntegrityError, match="differs from the recorded"):
        kcsolver.load_model(tmp_path / "m" / "model.json", digests=digests)


def test_fixture_folders_are_all_covered():
    assert len(FOLDERS) == 15 and all(Path(f / "model.json").exists() for f in FOLDERS)
