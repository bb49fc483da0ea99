"""The KCAPTCHA-style generator: determinism, labels, geometry, the CLI."""

import csv
import hashlib
import subprocess
import sys

import numpy as np
import pytest

from kcsolver.synth import CONFIGS, get_config, render, write_dataset
from kcsolver.synth.render import CREDITS_HEIGHT, FORBIDDEN_PAIRS, STOCK_SYMBOLS, place_text, random_style


def digest(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_same_seed_same_bytes_other_seed_other_images(tmp_path):
    config = get_config("stock23")
    write_dataset(tmp_path / "a", config, 12, seed=7)
    write_dataset(tmp_path / "b", config, 12, seed=7)
    write_dataset(tmp_path / "c", config, 12, seed=8)
    assert digest(tmp_path / "a") == digest(tmp_path / "b")
    assert digest(tmp_path / "a") != digest(tmp_path / "c")


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_labels_follow_the_config(tmp_path, name):
    config = get_config(name)
    rows = write_dataset(tmp_path, config, 30, seed=1)
    with open(tmp_path / "labels.csv") as handle:
        assert [tuple(r) for r in csv.reader(handle)][1:] == [tuple(r) for r in rows]
    for file_name, label in rows:
        assert file_name.startswith(label + "_")
        assert len(label) in config.lengths and set(label) <= set(config.charset)
        assert not any(pair in label for pair in config.forbidden_pairs)
        assert file_name.endswith(".jpg" if config.image_format == "jpeg" else ".png")


def test_stock_geometry_has_credits_and_random_colours():
    rng = np.random.default_rng(3)
    image, label, style = render(get_config("stock20"), rng)
    assert image.shape == (80 + CREDITS_HEIGHT, 160, 3)
    bar = image[-CREDITS_HEIGHT:].reshape(-1, 3)
    assert (np.abs(bar.astype(int) - style.fg).sum(axis=1) < 10).mean() > 0.6  # mostly foreground colour
    assert all(0 <= c <= 80 for c in style.fg) and all(220 <= c <= 255 for c in style.bg)
    assert set(label) <= set(STOCK_SYMBOLS) and FORBIDDEN_PAIRS


def test_text_is_drawn_where_the_label_says():
    """More characters -> wider ink; the ink is centred; black-on-white for l2_digits."""
    rng = np.random.default_rng(0)
    config = get_config("digits")
    widths = {}
    for text in ["11", "8888", "808080"]:
        style = random_style(config.with_overrides(geometries=()), rng)
        placed = place_text(text, style, rng)
        assert placed is not None
        widths[text] = placed[1]
    assert widths["11"] < widths["8888"] < widths["808080"]
    image, _, _ = render(get_config("l2_digits"), rng, text="42")
    columns = np.nonzero((image.min(axis=2) < 128).any(axis=0))[0]
    assert 20 < columns.mean() < 140
    assert image.min() < 40 and np.median(image) == 255


def test_text_that_cannot_fit_is_an_error():
    config = get_config("digits").with_overrides(geometries=(), width=60)
    with pytest.raises(ValueError, match="never fits"):
        render(config, np.random.default_rng(0), text="8888888888")


def test_synth_cli_with_overrides(tmp_path):
    result = subprocess.run([sys.executable, "-m", "kcsolver", "synth", str(tmp_path), "--config", "digits", "-n", "6",
                             "--lengths", "4-5", "--width", "200", "--height", "70", "--colors", "random",
                             "--format", "jpeg"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    from PIL import Image

    files = sorted(tmp_path.glob("*.jpg"))
    assert len(files) == 6
    for path in files:
        assert Image.open(path).size == (200, 70)
        assert len(path.name.split("_")[0]) in (4, 5)
