"""The configuration space a site can set (synth/space.py), the formats and colours it adds, and a site's
own font strips: drawn within their ranges, encoded as GD would, written and read back."""

import csv
import io

import numpy as np
import pytest
from PIL import Image

from kcsolver.cli import main as cli
from kcsolver.synth import render, write_space_dataset
from kcsolver.synth.lookalike import lookalike_strip
from kcsolver.synth.render import CaptchaConfig, encode, roundtrip
from kcsolver.synth.space import ALL_SYMBOLS, MAX_LENGTH, SPACE_BANDS, random_config, render_from_space
from kcsolver.synth.strips import from_rgba, site_strips, strip_rgba

DEJAVU_BOLD = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"


def test_drawn_configurations_stay_inside_the_space_and_cover_it():
    rng = np.random.default_rng(1)
    configs = [random_config(rng) for _ in range(400)]
    for config in configs:
        assert 80 <= config.width <= 300 and 40 <= config.height <= 100
        assert 0 <= config.fluctuation <= 10
        assert set(config.charset) <= set(ALL_SYMBOLS) and len(config.charset) >= 6
        assert 1 <= min(config.lengths) <= max(config.lengths) <= MAX_LENGTH
        assert config.image_format in ("png", "gif", "jpeg") and 50 <= config.jpeg_quality <= 95
        if config.colors == "fixed":
            assert all(f < b for f, b in zip(config.foreground, config.background))
    assert {c.generation for c in configs} == {"2.x", "1.2.6"}
    assert {c.colors for c in configs} == {"bw", "random", "fixed"}
    assert {c.image_format for c in configs} == {"png", "gif", "jpeg"}
    assert any(c.charset == ALL_SYMBOLS for c in configs) and any(c.charset == "0123456789" for c in configs)
    assert max(max(c.lengths) for c in configs) == MAX_LENGTH and min(min(c.lengths) for c in configs) == 1


def test_every_drawn_captcha_has_a_label_of_its_configuration():
    rng = np.random.default_rng(2)
    for _ in range(40):
        image, label, config = render_from_space(rng)
        assert image.dtype == np.uint8 and image.shape[2] == 3
        assert image.shape[1] == config.width
        assert set(label) <= set(config.charset) and len(label) in config.lengths


def test_settings_can_be_pinned():
    rng = np.random.default_rng(3)
    for _ in range(10):
        _image, label, config = render_from_space(rng, generation="1.2.6", charset="0123456789", width=130, height=50)
        assert (config.generation, config.charset, config.width, config.height) == ("1.2.6", "0123456789", 130, 50)
        assert label.isdigit()


def test_every_setting_range_of_the_report_names_images_of_a_drawn_set():
    rng = np.random.default_rng(4)
    drawn = [render_from_space(rng)[1:] for _ in range(300)]
    for band, test in SPACE_BANDS.items():
        assert any(test(config, label) for label, config in drawn), band


def test_gif_goes_through_a_palette_and_jpeg_below_90_subsamples_chroma():
    config = CaptchaConfig(colors="random", width=160, height=60)
    image, _label, _style = render(config, np.random.default_rng(5))
    gif = encode(image, config.with_overrides(image_format="gif"))
    assert gif[:6] == b"GIF89a" or gif[:6] == b"GIF87a"
    assert np.abs(roundtrip(image, config.with_overrides(image_format="gif")).astype(int) - image).mean() < 3
    for quality, sampling in ((90, (1, 1)), (75, (2, 2))):
        data = encode(image, config.with_overrides(image_format="jpeg", jpeg_quality=quality))
        frame = Image.open(io.BytesIO(data))
        assert frame.layer[0][1:3] == sampling  # luma sampling factors: 4:4:4 has 1x1, 4:2:0 2x2


def test_fixed_colours_are_the_sites_own():
    config = CaptchaConfig(colors="fixed", foreground=(30, 50, 160), background=(235, 240, 250))
    image, _label, _style = render(config, np.random.default_rng(6))
    colours = {tuple(c) for c in image.reshape(-1, 3)}
    assert (30, 50, 160) in colours and (235, 240, 250) in colours


def test_a_font_rendered_into_a_strip_file_reads_back_as_the_same_strip(tmp_path):
    strip = lookalike_strip(DEJAVU_BOLD, "v2", 1.0, 0.8, 2)
    Image.fromarray(strip_rgba(strip), "RGBA").save(tmp_path / "face.png")
    back = site_strips(str(tmp_path))[0]
    assert back.extents == strip.extents and np.array_equal(back.alpha, strip.alpha)
    assert from_rgba("again", strip_rgba(back)).extents == strip.extents


def test_captchas_drawn_with_a_sites_own_strips_use_them(tmp_path):
    assert cli(["font-strip", DEJAVU_BOLD, str(tmp_path / "fonts" / "sans.png")]) == 0
    config = CaptchaConfig(fonts=str(tmp_path / "fonts"), charset=ALL_SYMBOLS, lengths=(5,))
    _image, _label, style = render(config, np.random.default_rng(7))
    assert style.strip.name == "site/sans"


def test_a_folder_without_strips_or_with_a_broken_one_is_refused_by_name(tmp_path):
    with pytest.raises(ValueError, match="no font strips"):
        site_strips(str(tmp_path))
    (tmp_path / "broken.png").write_bytes(b"not a png")
    with pytest.raises(ValueError, match="broken.png: not a readable PNG font strip"):
        site_strips(str(tmp_path))


def test_synth_space_writes_each_images_settings(tmp_path):
    assert cli(["synth", str(tmp_path / "set"), "--space", "-n", "12", "--seed", "8", "--generation", "1.2.6"]) == 0
    with open(tmp_path / "set" / "configs.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    with open(tmp_path / "set" / "labels.csv", newline="") as handle:
        labels = list(csv.DictReader(handle))
    assert len(rows) == len(labels) == 12 and [r["file"] for r in rows] == [r["file"] for r in labels]
    assert {r["generation"] for r in rows} == {"1.2.6"}
    for row, label in zip(rows, labels):
        assert (tmp_path / "set" / row["file"]).is_file()
        assert set(label["label"]) <= set(row["charset"])


def test_space_settings_that_never_fit_are_refused_not_looped(tmp_path):
    with pytest.raises(ValueError, match="no configuration whose text fits"):
        write_space_dataset(tmp_path, 1, 0, width=80, lengths=(10,))
