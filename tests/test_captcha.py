"""Image loading, preprocessing, CTC and chunk decoding, bad images."""

import io

import numpy as np
import pytest
from PIL import Image

from kcsolver import InputError
from kcsolver.captcha import Recipe, crop_credits, crop_text_rows, decode_chunks, decode_ctc, load_image
from kcsolver.synth import get_config, render

CHARSET = "0123456789"
BLANK = len(CHARSET)


def frames(*symbols, confidence=0.9):
    """Hand-made CTC score frames: each entry a class index (BLANK for blank)."""
    probs = np.full((len(symbols), BLANK + 1), (1 - confidence) / BLANK)
    for t, k in enumerate(symbols):
        probs[t, k] = confidence
    return probs


def test_ctc_collapses_repeats_and_blanks():
    text, chars, confidence = decode_ctc(frames(BLANK, 4, 4, BLANK, 4, 2, 2, BLANK), CHARSET)
    assert text == "442"
    assert [c for c, _ in chars] == ["4", "4", "2"]
    assert confidence == pytest.approx(0.9 ** 3)


def test_ctc_length_constraint_picks_best_allowed_path():
    probs = frames(BLANK, 7, BLANK, 3, BLANK, BLANK)
    probs[3] = 0.0
    probs[3, 3], probs[3, BLANK] = 0.45, 0.55  # best path drops the 3 -> "7"
    assert decode_ctc(probs, CHARSET)[0] == "7"
    text, chars, _ = decode_ctc(probs, CHARSET, lengths=[2])
    assert text == "73" and chars[1] == ("3", pytest.approx(0.45))


def test_chunk_decoding_sigmoid_heads():
    scores = np.zeros((2, 10))
    scores[0, 5], scores[1, 1] = 0.98, 0.6
    scores[1, 7] = 0.2
    text, chars, confidence = decode_chunks(scores.ravel(), CHARSET, 2)
    assert text == "51"
    assert chars[1][1] == pytest.approx(0.75)
    assert confidence == pytest.approx(1.0 * 0.75)


FORMAT_MODES = [(fmt, mode) for fmt in ["PNG", "GIF", "BMP", "WEBP"] for mode in ["RGB", "RGBA", "L", "P"]
                if not (fmt == "BMP" and mode == "RGBA")] + [("JPEG", "RGB"), ("JPEG", "L")]


@pytest.mark.parametrize("fmt,mode", FORMAT_MODES)
def test_images_in_every_mode_and_format(mode, fmt):
    rgb, _, _ = render(get_config("l2_digits"), np.random.default_rng(0))
    buffer = io.BytesIO()
    Image.fromarray(rgb).convert(mode).save(buffer, fmt)
    loaded = load_image(buffer.getvalue())
    assert loaded.shape == rgb.shape and loaded.dtype == np.uint8
    assert np.abs(loaded.astype(int) - rgb).mean() < 20


def test_arrays_pil_and_paths(tmp_path):
    rgba = np.zeros((60, 160, 4), np.uint8)
    rgba[..., 3] = 0  # fully transparent -> white, as a browser shows it
    assert (load_image(rgba) == 255).all()
    gray = np.full((60, 160), 7, np.uint8)
    assert load_image(gray).shape == (60, 160, 3)
    Image.fromarray(gray).save(tmp_path / "g.png")
    assert load_image(tmp_path / "g.png")[0, 0].tolist() == [7, 7, 7]
    assert load_image(Image.fromarray(gray)).shape == (60, 160, 3)


@pytest.mark.parametrize("data,message", [
    (b"", "empty"),
    (b"%PDF-1.4 not an image", "not an image"),
    (None, "cannot read an image from NoneType"),
    (np.zeros((60, 160, 5), np.uint8), "HxWx3"),
    (np.zeros((4, 4, 3), np.uint8), "too small"),
])
def test_bad_images(data, message):
    with pytest.raises(InputError, match=message):
        load_image(data)


def test_truncated_png():
    buffer = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (60, 160, 3), dtype=np.uint8)).save(buffer, "PNG")
    with pytest.raises(InputError, match="truncated or corrupt"):
        load_image(buffer.getvalue()[:2000])


def test_decompression_bomb_is_refused_before_decoding():
    buffer = io.BytesIO()
    Image.new("L", (30000, 30000)).save(buffer, "PNG")  # tiny file, 900 megapixels
    assert len(buffer.getvalue()) < 2_000_000
    with pytest.raises(InputError, match="900000000 pixels|30000x30000"):
        load_image(buffer.getvalue())


def test_credits_strip_is_cropped_only_when_present():
    rng = np.random.default_rng(5)
    stock, _, _ = render(get_config("stock20"), rng)
    assert crop_credits(stock).shape[0] == stock.shape[0] - 12
    demo, _, _ = render(get_config("l2_digits"), rng)
    assert crop_credits(demo).shape == demo.shape


def test_text_rows_crop_keeps_the_text_and_ignores_sparse_noise():
    canvas = np.full((80, 160, 3), 240, np.uint8)
    canvas[30:55, 20:140] = 20                       # the text band
    canvas[[3, 8, 70, 76], [10, 50, 90, 130]] = 0    # noise dots far above and below
    cropped = crop_text_rows(canvas)
    assert cropped.shape[0] == 25 + 2 * 4 and (cropped[4:-4] == canvas[30:55]).all()
    blank = np.full((60, 160, 3), 255, np.uint8)
    assert crop_text_rows(blank).shape == blank.shape  # nothing to find: unchanged


def test_recipe_keeps_text_row_cropping_through_a_round_trip():
    recipe = Recipe.from_dict({"charset": "01", "decoding": {"type": "ctc"}, "input": {"height": 8, "width": 8},
                               "crop_text_rows": True})
    assert recipe.crop_text_rows and Recipe.from_dict(recipe.to_dict()).crop_text_rows
    assert not Recipe.from_dict({**recipe.to_dict(), "crop_text_rows": False}).crop_text_rows
