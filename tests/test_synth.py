"""The KCAPTCHA generator on the real font strips: the strips, GD's arithmetic, both generations'
drawing rules, determinism, labels, the CLI, and the comparison with real folders."""

import csv
import hashlib
import subprocess
import sys

import numpy as np
import pytest

from conftest import REAL
from kcsolver.synth import CONFIGS, GENERATIONS, get_config, render, write_dataset
from kcsolver.synth.compare import comparison_table, image_statistics
from kcsolver.synth.lookalike import available, lookalike_strip
from kcsolver.synth.occlusion import glyph_interleaving, glyph_visibility, replay
from kcsolver.synth.occlusion import report as occlusion_report
from kcsolver.synth.render import (CLASSIC_SYMBOLS, CREDITS_HEIGHT, STOCK_SYMBOLS, Style, credits_strip, paste,
                                   place_text, random_style, touching_shift)
from kcsolver.synth.strips import ALPHABET, FONT_DIR, GD_TRANSPARENT, real_strips


def digest(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


@pytest.mark.parametrize("version,count,height", [("v2", 3, 69), ("v1", 22, 49)])
def test_real_strips_hold_every_symbol(version, count, height):
    strips = real_strips(version)
    assert len(strips) == count
    for strip in strips:
        assert strip.height == height and list(strip.extents) == list(ALPHABET)
        for symbol in ALPHABET:
            glyph = strip.glyph(symbol)
            assert 5 <= glyph.shape[1] <= 45 and (glyph < GD_TRANSPARENT).any(), (strip.name, symbol)


def test_the_licence_notice_ships_beside_the_strips():
    notice = (FONT_DIR / "NOTICE.md").read_text()
    assert "Kruglov Sergei" in notice and "www.captcha.ru" in notice


def test_2x_glyphs_are_hollow_and_1_2_6_glyphs_solid():
    """A row through the stem of a 2.x '1' crosses two outlines; through a 1.2.6 '1', one solid stroke."""
    def ink_runs(strip):
        ink = strip.glyph("1") < 64
        rows = ink[ink.any(axis=1)].astype(int)
        return np.median([(np.diff(np.concatenate([[0], row])) == 1).sum() for row in rows])
    assert [ink_runs(s) for s in real_strips("v2")] == [2, 2, 2]
    assert all(ink_runs(s) == 1 for s in real_strips("v1"))


def test_paste_blends_like_gd():
    canvas = np.full((3, 4), 200, np.uint8)
    glyph = np.array([[0, 127, 64, 100]], np.int16)  # opaque, transparent, half, mostly transparent
    paste(canvas, glyph, 0, 1)
    assert canvas[1].tolist() == [0, 200, 200 * 64 // 127, 200 * 100 // 127]
    assert (canvas[[0, 2]] == 200).all()
    paste(canvas, glyph, 2, -5)  # entirely off the canvas: nothing happens
    assert canvas[0].tolist() == [200] * 4


def style_for(config, strip, height=60, width=160):
    return Style(strip, width, height, False, config.fluctuation, 0.0, 0.0, (0, 0, 0), (255, 255, 255))


@pytest.mark.parametrize("name", ["stock23", "classic"])
def test_no_spaces_glyphs_touch_the_previous_ink(name):
    config = get_config(name)
    generation = GENERATIONS[config.generation]
    strip = real_strips(generation.fonts)[0]
    rng = np.random.default_rng(0)
    canvas = np.full((60, 160), 255, np.uint8)
    paste(canvas, strip.glyph("8"), 1, 0)
    x = 1 + strip.glyph("8").shape[1]
    shift = touching_shift(canvas, strip, "8", x, 0.0, generation, rng)
    assert 0 < shift < 20  # moved left until it touches, not by a random 4-6 px
    paste(canvas, strip.glyph("8"), x - shift, 0)
    dark = canvas < 128
    assert dark[:, x - shift - 1:x - shift + 3].any()  # ink where the two glyphs meet


def test_touching_test_counts_reads_above_the_canvas_as_dark():
    """PHP's imagecolorat() outside the image gives false, i.e. 0: a glyph row above the canvas
    stops the shift at once (shift 0)."""
    generation = GENERATIONS["2.x"]
    strip = real_strips("v2")[0]
    canvas = np.full((60, 160), 255, np.uint8)
    rng = np.random.default_rng(0)
    assert touching_shift(canvas, strip, "7", 40, -30.0, generation, rng) == 0
    assert 4 <= touching_shift(canvas, strip, "7", 40, 0.0, generation, rng) <= 6  # nothing to touch: random


def test_1_2_6_looks_only_12_px_to_the_left():
    generation = GENERATIONS["1.2.6"]
    strip = real_strips("v1")[0]
    canvas = np.full((60, 160), 255, np.uint8)
    canvas[:, 10] = 0  # a dark column far to the left of the glyph
    rng = np.random.default_rng(0)
    assert 4 <= touching_shift(canvas, strip, "8", 60, 5.0, generation, rng) <= 6
    assert touching_shift(canvas, strip, "8", 60, 5.0, GENERATIONS["2.x"], rng) > 40


def test_same_seed_same_bytes_other_seed_other_images(tmp_path):
    config = get_config("classic")
    write_dataset(tmp_path / "a", config, 8, seed=7)
    write_dataset(tmp_path / "b", config, 8, seed=7)
    write_dataset(tmp_path / "c", config, 8, seed=8)
    assert digest(tmp_path / "a") == digest(tmp_path / "b")
    assert digest(tmp_path / "a") != digest(tmp_path / "c")


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_labels_follow_the_config(tmp_path, name):
    config = get_config(name)
    rows = write_dataset(tmp_path, config, 20, seed=1)
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
    assert image.shape == (80 + CREDITS_HEIGHT, 160, 3) and style.credits
    bar = image[-CREDITS_HEIGHT:].reshape(-1, 3)
    assert (np.abs(bar.astype(int) - style.fg).sum(axis=1) < 10).mean() > 0.6  # mostly foreground colour
    assert (np.abs(bar.astype(int) - style.bg).sum(axis=1) < 10).mean() > 0.05  # the text, in background colour
    assert all(0 <= c <= 80 for c in style.fg) and all(220 <= c <= 255 for c in style.bg)
    assert set(label) <= set(STOCK_SYMBOLS)


def test_classic_is_1_2_6_without_noise_with_and_without_credits():
    rng = np.random.default_rng(4)
    shapes, noise = set(), []
    for _ in range(12):
        image, label, style = render(get_config("classic"), rng)
        shapes.add(image.shape[:2])
        noise.append(image_statistics(image)["specks"])
        assert set(label) <= set(CLASSIC_SYMBOLS) and len(label) in (5, 6)
        assert style.strip.name.startswith("v1/") and style.white_noise == style.black_noise == 0
        assert all(0 <= c <= 100 for c in style.fg) and all(200 <= c <= 255 for c in style.bg)
    assert shapes == {(60, 120), (72, 120)}
    stock_noise = [image_statistics(render(get_config("stock20"), rng)[0])["specks"] for _ in range(6)]
    assert np.mean(noise) < np.mean(stock_noise) / 4


def test_credits_text_is_centred_in_the_background_colour():
    strip = credits_strip(160, (10, 20, 30), (240, 230, 220))
    assert strip.shape == (CREDITS_HEIGHT, 160, 3)
    text_columns = np.nonzero((strip == (240, 230, 220)).all(axis=2).any(axis=0))[0]
    assert 30 <= text_columns.min() < text_columns.max() <= 130
    assert abs((text_columns.min() + text_columns.max()) / 2 - 80) < 6


def test_more_characters_give_wider_text():
    rng = np.random.default_rng(0)
    config = get_config("l2_digits")
    widths = {}
    for text in ["11", "8888", "808080"]:
        style = random_style(config, rng)
        placed = place_text(text, config, style, rng)
        assert placed is not None
        widths[text] = placed[1]
    assert widths["11"] < widths["8888"] < widths["808080"]
    image, _, _ = render(config, rng, text="42")
    columns = np.nonzero((image.min(axis=2) < 128).any(axis=0))[0]
    assert 20 < columns.mean() < 140
    assert image.min() < 40 and np.median(image) == 255


def test_text_that_cannot_fit_is_an_error():
    config = get_config("digits").with_overrides(geometries=(), width=60)
    with pytest.raises(ValueError, match="never fits"):
        render(config, np.random.default_rng(0), text="8888888888")


@pytest.mark.parametrize("style", ["v2", "v1"])
def test_lookalike_faces_become_strips_of_the_real_shape(style):
    strip = lookalike_strip(available(style)[0], style)
    real = real_strips(style)[0]
    assert strip.height == real.height and list(strip.extents) == list(ALPHABET)
    digit_rows = lambda s: np.nonzero((s.glyph("0") < 64).any(axis=1))[0]  # noqa: E731
    assert abs(len(digit_rows(strip)) - len(digit_rows(real))) <= 8  # about the real digits' height


def test_synth_cli_with_overrides(tmp_path):
    result = subprocess.run([sys.executable, "-m", "kcsolver", "synth", str(tmp_path), "--config", "classic", "-n", "6",
                             "--lengths", "4-5", "--width", "200", "--height", "70", "--credits", "off",
                             "--format", "png"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    from PIL import Image

    files = sorted(tmp_path.glob("*.png"))
    assert len(files) == 6
    for path in files:
        assert Image.open(path).size == (200, 70)
        assert len(path.name.split("_")[0]) in (4, 5)


def test_comparison_with_a_real_folder():
    table = comparison_table("classic", REAL / "classic126_jpg", n=20)
    assert "| credits strip present |" in table and table.count("\n| ") >= 9
    rows = {line.split(" | ")[0].lstrip("| "): line for line in table.splitlines() if line.startswith("| image height")}
    assert rows  # both sides measured the same statistics


def test_glyph_visibility_and_interleaving_of_placed_glyphs():
    config = get_config("classic")
    strip = real_strips("v1")[0]
    style = style_for(config, strip)
    width = strip.glyph("8").shape[1]
    style.placements = [("8", 1, 0), ("8", 1 + width + 5, 0)]  # side by side, 5 px apart
    assert glyph_visibility(style) == [1.0, 1.0] and glyph_interleaving(style) == [0.0, 0.0]
    style.placements = [("8", 1, 0), ("8", 1, 0)]  # one on the other: nothing of either is its own
    assert glyph_visibility(style) == [0.0, 0.0] and glyph_interleaving(style) == [1.0, 1.0]
    style.placements = [("8", 1, 0), ("8", 1 + width // 2, 0)]  # half over: partly covered, partly interleaved
    assert all(0.2 < v < 0.9 for v in glyph_visibility(style) + glyph_interleaving(style))


def test_render_records_where_it_pasted_each_glyph():
    image, label, style = render(get_config("classic"), np.random.default_rng(5))
    assert [symbol for symbol, _x, _y in style.placements] == list(label)
    xs = [x for _symbol, x, _y in style.placements]
    assert xs[0] == 1 and xs == sorted(xs)  # from x = 1, left to right


def test_occlusion_report_replays_a_synth_folder_and_places_its_misreads(tmp_path):
    rows = write_dataset(tmp_path, get_config("classic"), 6, seed=11)
    images = replay("classic", 6, 11)
    assert [label for label, _, _ in images] == [label for _name, label in rows]
    name, label = rows[4]
    error = {"file": str(tmp_path / name), "label": label, "read": label[:-1], "confidence": 0.99}
    text = occlusion_report(images, [error])
    for table in text.split("\n\n")[:2]:  # per table, bucket rows "0.3-0.5 | images | share | misread | rate"
        rows = [line.split(" | ") for line in table.splitlines()[2:]]
        assert sum(int(row[1]) for row in rows) == 6 and sum(int(row[3]) for row in rows) == 1
    assert f"{label!r} read {label[:-1]!r} (0.990)" in text
    with pytest.raises(ValueError, match="were --config, -n and --seed those of the folder"):
        occlusion_report(replay("classic", 6, 12), [error])
