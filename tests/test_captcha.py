"""Image loading, preprocessing, CTC and chunk decoding, bad images."""

import io
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import REAL, ROOT
from kcsolver import InputError, KcsolverError
from kcsolver.captcha import (NO_TEXT, Recipe, RecipeError, Solver, crop_credits, crop_text_rows, decode_chunks,
                              decode_ctc, load_image)
from kcsolver.captcha.decode import marginal, restrict
from kcsolver.captcha.images import crop_text_columns
from kcsolver.captcha.preprocess import preprocess, resize
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


def test_ctc_length_constraint_finds_the_most_probable_path_of_an_allowed_length():
    """Against every path, enumerated: the decoder's path has an allowed length and the highest probability."""
    import itertools

    from kcsolver.captcha.decode import best_path, path_log_probability

    rng = np.random.default_rng(5)
    for case in range(60):
        steps, classes = int(rng.integers(2, 7)), int(rng.integers(2, 4))  # classes include the blank
        probs = rng.dirichlet(np.full(classes, 0.4), size=steps)
        lengths = sorted({int(n) for n in rng.integers(1, 5, size=2)})

        def emitted(path):
            return sum(k != classes - 1 and (t == 0 or k != path[t - 1]) for t, k in enumerate(path))

        allowed = [path for path in itertools.product(range(classes), repeat=steps) if emitted(path) in lengths]
        found = best_path(probs, lengths)
        if not allowed:
            continue
        assert emitted(list(found)) in lengths, case
        assert path_log_probability(probs, found) == pytest.approx(
            max(path_log_probability(probs, path) for path in allowed)), case


def test_ctc_sequence_probability_sums_every_alignment():
    """Against every path, enumerated and collapsed: the forward recursion's P(label) of labels with and
    without repeated symbols, of every length up to the frames."""
    import itertools

    from kcsolver.captcha.decode import sequence_log_probabilities

    rng = np.random.default_rng(11)
    for case in range(30):
        steps, classes = int(rng.integers(1, 6)), int(rng.integers(2, 4))
        probs = rng.dirichlet(np.full(classes, 0.5), size=steps)
        totals = {}
        for path in itertools.product(range(classes), repeat=steps):
            label = tuple(k for t, k in enumerate(path) if k != classes - 1 and (t == 0 or k != path[t - 1]))
            totals[label] = totals.get(label, 0.0) + float(np.prod(probs[np.arange(steps), path]))
        labels = sorted(totals)
        found = np.exp(sequence_log_probabilities(probs, [list(label) for label in labels]))
        assert found == pytest.approx([totals[label] for label in labels], rel=1e-9), case


def test_a_glyph_the_best_path_drops_keeps_its_mass_in_one_more_glyph():
    from kcsolver.captcha.decode import one_more_glyph

    clear = frames(BLANK, 7, BLANK, BLANK, BLANK, 3, BLANK, confidence=0.999)
    assert decode_ctc(clear, CHARSET)[0] == "73" and one_more_glyph(clear, "73", CHARSET) < 0.01
    squeezed = clear.copy()  # a thin 1 between them, each of its frames more likely blank than 1
    for t in (2, 3, 4):
        squeezed[t] = 0.0
        squeezed[t, 1], squeezed[t, BLANK] = 0.3, 0.7
    text, chars, confidence = decode_ctc(squeezed, CHARSET)
    assert text == "73" and confidence > 0.9  # the best path is sure of what it read
    assert one_more_glyph(squeezed, "73", CHARSET) > 1.0  # yet "713" is more probable than "73"


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
    (np.zeros((60, 160, 3), dtype=object), "array of numbers"),
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
    with pytest.raises(InputError, match="900,000,000 pixels|30000x30000"):
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


def text_canvas(height=60, width=160, text=(slice(20, 44), slice(50, 90))):
    canvas = np.full((height, width, 3), 240, np.uint8)
    canvas[text] = 20
    return canvas


def test_text_columns_crop_keeps_the_text_plus_a_margin():
    canvas = text_canvas()
    canvas[[5, 50], [3, 150]] = 0  # noise dots left and right of the text
    cropped = crop_text_columns(canvas)
    assert cropped.shape == (60, 40 + 2 * 4, 3) and (cropped[:, 4:-4] == canvas[:, 50:90]).all()
    blank = np.full((60, 160, 3), 255, np.uint8)
    assert crop_text_columns(blank).shape == blank.shape


@pytest.mark.parametrize("stretch", [1.0, 1.4])
def test_text_stretch_scales_the_text_by_its_height_and_centres_it(stretch):
    """With text_stretch the text keeps its proportions (times the stretch) wherever it sits on the canvas."""
    base = {"charset": "01", "decoding": {"type": "ctc"}, "input": {"height": 48, "width": 128},
            "crop_credits": False, "crop_text_rows": True}
    recipe = Recipe.from_dict({**base, "text_stretch": stretch})
    assert Recipe.from_dict(recipe.to_dict()).text_stretch == stretch
    left, right = text_canvas(), text_canvas(text=(slice(20, 44), slice(110, 150)))
    x = preprocess(left, recipe)[..., 0]
    assert x.shape == (48, 128) and np.allclose(x, preprocess(right, recipe)[..., 0], atol=1e-5)
    columns = np.flatnonzero(x.max(axis=0) > 0.5)
    rows = np.flatnonzero(x.max(axis=1) > 0.5)
    # rows: 24 text + 2 x 4 margin = 32 -> 48, so the 40 text columns become 40 * 1.5 * stretch
    assert abs(len(columns) - 40 * 1.5 * stretch) <= 2 and abs(len(rows) - 24 * 1.5) <= 2
    assert abs((columns[0] + columns[-1]) / 2 - 63.5) <= 1.5  # centred
    assert x[:, :columns[0] - 8].max() == 0 and x[:, columns[-1] + 8:].max() == 0  # background around it
    # without text_stretch the whole canvas is stretched to the input: the text's place shows
    plain = preprocess(left, Recipe.from_dict(base))[..., 0]
    assert np.flatnonzero(plain.max(axis=0) > 0.5)[0] < 45


def test_text_stretch_never_overflows_the_input():
    recipe = Recipe.from_dict({"charset": "01", "decoding": {"type": "ctc"}, "input": {"height": 48, "width": 128},
                               "crop_credits": False, "crop_text_rows": True, "text_stretch": 4})
    x = preprocess(text_canvas(text=(slice(20, 44), slice(5, 155, 4))), recipe)[..., 0]  # strokes, 150 px
    columns = np.flatnonzero(x.max(axis=0) > 0.5)
    assert x.shape == (48, 128) and columns[0] <= 6 and columns[-1] >= 121  # fills the width, squeezed

@pytest.mark.parametrize("shape", [(60, 160), (92, 160), (60, 120), (30, 50), (48, 128), (200, 300)])
def test_numpy_resize_matches_pillow_bilinear(shape):
    """The browser path has no Pillow: our resize must give what the models were trained on."""
    gray = np.random.default_rng(0).random(shape).astype(np.float32) * 255
    pillow = np.asarray(Image.fromarray(gray, mode="F").resize((128, 48), Image.BILINEAR))
    np.testing.assert_allclose(resize(gray, 48, 128), pillow, atol=1e-3)


def test_marginal_and_restrict_over_generations():
    # 2 symbols x 2 generations + blank: [a@1, b@1, a@2, b@2, blank]
    probs = np.array([[0.1, 0.2, 0.3, 0.0, 0.4]])
    np.testing.assert_allclose(marginal(probs, 2), [[0.4, 0.2, 0.4]])
    np.testing.assert_allclose(restrict(probs, 2, [0], [1]), [[0.3, 0.4]])       # 'a' drawn in generation 2
    np.testing.assert_allclose(restrict(probs, 2, [1, 0], [0, 1]), [[0.2, 0.4, 0.4]])  # both, other order


BUNDLE = {"charset": "0123456789ab", "generations": ["2.x", "1.2.6"], "decoding": {"type": "ctc"},
          "input": {"height": 8, "width": 16},
          "presets": {"two": {"alphabet": "0123456789", "lengths": [2], "generation": "2.x"},
                      "digits": {"alphabet": "0123456789", "lengths": [2, 3, 4], "generation": "2.x"},
                      "letters": {"alphabet": "ab", "lengths": [3], "generation": "1.2.6"}}}


def bundle_output(*frames, p=0.97):
    """Frames of (symbol, generation index) or None for blank, each at probability p."""
    charset, groups = BUNDLE["charset"], 2
    probs = np.full((len(frames), len(charset) * groups + 1), (1 - p) / (len(charset) * groups))
    for t, frame in enumerate(frames):
        k = len(charset) * groups if frame is None else frame[1] * len(charset) + charset.index(frame[0])
        probs[t, k] = p
    return probs


def bundle_solver(preset=None):
    return Solver(None, Recipe.from_dict(BUNDLE), "bundle", preset=preset)  # readings() never run the model


def test_automatic_choice_takes_the_best_fitting_most_specific_preset():
    auto = bundle_solver()
    two_digits = bundle_output(None, ("4", 0), None, ("2", 0), None)
    assert auto.decide(auto.readings(two_digits)).solver == "two"  # "digits" reads it too, less specifically
    four_digits = bundle_output(("1", 0), None, ("2", 0), None, ("3", 0), None, ("4", 0))
    chosen = auto.decide(auto.readings(four_digits))
    assert (chosen.solver, chosen.text) == ("digits", "1234") and chosen.confidence > 0.8
    letters = bundle_output(("a", 1), None, ("b", 1), None, ("a", 1))
    assert auto.decide(auto.readings(letters)).text == "aba"


def test_a_preset_refuses_what_it_cannot_represent_and_names_the_one_that_fits():
    four_digits = bundle_output(("1", 0), None, ("2", 0), None, ("3", 0), None, ("4", 0))
    refused = bundle_solver("two").decide(bundle_solver("two").readings(four_digits))
    assert refused.text == "" and refused.confidence == 0
    assert refused.reason == "looks like another KCAPTCHA configuration: try digits"
    letters_as_digits = bundle_solver("digits").readings(bundle_output(("a", 1), None, ("b", 1), None, ("a", 1)))
    assert letters_as_digits["digits"].reason.endswith("try letters")
    # the same digits drawn in the other generation: the 2.x presets do not fit
    other_generation = bundle_solver("two").readings(bundle_output(("4", 1), None, ("2", 1)))
    assert other_generation["two"].reason is not None and other_generation["two"].fit < 1e-3


def test_an_empty_reading_is_no_captcha_text():
    blank = bundle_output(None, None, None)
    for solver in (bundle_solver(), bundle_solver("two")):
        result = solver.decide(solver.readings(blank))
        assert (result.text, result.reason) == ("", NO_TEXT)


class FixedNetwork:
    """A stand-in network that gives the same output for every image and counts its images."""

    def __init__(self, output):
        self.output, self.images = output, 0

    def predict(self, x):
        self.images += len(x)
        return np.repeat(self.output[None], len(x), axis=0)


CAPTCHA_LIKE = np.full((30, 60, 3), 255, np.uint8)
CAPTCHA_LIKE[10:20, 5:55] = 0  # dark text on a light background: the network runs


def test_the_automatic_choice_rereads_a_specialists_preset_with_its_network():
    letters = FixedNetwork(bundle_output(("a", 1), None, ("b", 1), None, ("a", 1)))
    specialist = FixedNetwork(bundle_output(("b", 1), None, ("b", 1), None, ("a", 1)))
    auto = Solver(letters, Recipe.from_dict(BUNDLE), "bundle", specialists={"letters": specialist})
    result = auto.solve(CAPTCHA_LIKE)
    assert (result.solver, result.text, specialist.images) == ("letters", "bba", 1)
    digits = FixedNetwork(bundle_output(None, ("4", 0), None, ("2", 0), None))
    auto = Solver(digits, Recipe.from_dict(BUNDLE), "bundle", specialists={"letters": specialist})
    assert auto.solve(CAPTCHA_LIKE).text == "42" and specialist.images == 1  # not asked: another preset


def test_a_specialists_refusal_keeps_the_bundles_reading():
    letters = FixedNetwork(bundle_output(("a", 1), None, ("b", 1), None, ("a", 1)))
    reads_digits = FixedNetwork(bundle_output(None, ("4", 0), None, ("2", 0), None))
    auto = Solver(letters, Recipe.from_dict(BUNDLE), "bundle", specialists={"letters": reads_digits})
    assert auto.solve(CAPTCHA_LIKE).text == "aba"
    # a doubtful answer is looked at again by the network that made it: here the bundle's
    doubtful = FixedNetwork(bundle_output(("a", 1), None, ("b", 1), None, ("a", 1), p=0.7))
    refuses = FixedNetwork(bundle_output(None, ("4", 0), None, ("2", 0), None))
    auto = Solver(doubtful, Recipe.from_dict(BUNDLE), "bundle", specialists={"letters": refuses})
    result = auto.solve(CAPTCHA_LIKE)
    assert result.text == "aba" and result.confidence < 0.8
    assert (doubtful.images, refuses.images) == (1 + 4, 1)  # the bundle read 4 re-framed copies too


def test_a_specialists_doubtful_answer_is_looked_at_again_by_the_specialist():
    letters = FixedNetwork(bundle_output(("a", 1), None, ("b", 1), None, ("a", 1)))
    doubtful = FixedNetwork(bundle_output(("b", 1), None, ("b", 1), None, ("a", 1), p=0.7))
    auto = Solver(letters, Recipe.from_dict(BUNDLE), "bundle", specialists={"letters": doubtful})
    assert auto.solve(CAPTCHA_LIKE).text == "bba" and (letters.images, doubtful.images) == (1, 1 + 4)


def test_a_specialist_added_later_reads_what_the_automatic_choice_gives_its_preset():
    letters = FixedNetwork(bundle_output(("a", 1), None, ("b", 1), None, ("a", 1)))
    specialist = FixedNetwork(bundle_output(("b", 1), None, ("b", 1), None, ("a", 1)))
    auto = Solver(letters, Recipe.from_dict(BUNDLE), "bundle")
    assert auto.solve(CAPTCHA_LIKE).text == "aba"
    auto.add_specialist("letters", specialist)  # as the browser does once it has fetched it
    assert auto.solve(CAPTCHA_LIKE).text == "bba" and specialist.images == 1


def test_specialists_belong_to_presets_and_only_to_the_automatic_choice():
    with pytest.raises(KcsolverError, match="unknown solver .nope."):
        Solver(None, Recipe.from_dict(BUNDLE), "bundle", specialists={"nope": None})
    assert Solver(None, Recipe.from_dict(BUNDLE), "bundle", preset="two", specialists={"letters": None}).specialists == {}


def test_a_preset_with_a_network_is_read_by_it_alone(tmp_path):
    """On the shipped files: a bundle naming a specialist for a preset (here a copy of the same network)."""
    for name in ("bundle", "special"):
        shutil.copytree(ROOT / "site" / "models" / "kcaptcha", tmp_path / name)
    document = json.loads((tmp_path / "bundle" / "model.json").read_text())
    presets = document["userDefinedMetadata"]["kcsolver"]["presets"]
    for entry in presets.values():  # the shipped specialists are not copied: this bundle names one, below
        entry.pop("network", None)
    presets["classic"]["network"] = "../special/model.json"
    (tmp_path / "bundle" / "model.json").write_text(json.dumps(document))
    shard = tmp_path / "bundle" / "group1-shard1of1.bin"
    shard.rename(tmp_path / "shard")  # the classic solver needs only the bundle's recipe, not its weights
    classic = Solver.load(tmp_path / "bundle", preset="classic")
    (tmp_path / "shard").rename(shard)
    assert Path(classic.model.source).parent == tmp_path / "special" and classic.specialists == {}
    auto = Solver.load(tmp_path / "bundle")
    assert Path(auto.model.source).parent == tmp_path / "bundle"
    assert {name: Path(m.source).parent for name, m in auto.specialists.items()} == {"classic": tmp_path / "special"}
    image = sorted((REAL / "classic126_jpg").glob("*.jpg"))[0]
    assert auto.solve(image).solver == "classic" and auto.solve(image).text == classic.solve(image).text


@pytest.mark.parametrize("image,why", [
    (np.full((60, 160, 3), 255, np.uint8), "blank"),
    (np.zeros((60, 160, 4), np.uint8), "blank"),     # fully transparent: white, as a browser shows it
    (np.zeros((1, 1, 4), np.uint8), "1x1 pixels"),
    (np.full((60, 160, 3), 30, np.uint8), "blank"),  # one dark colour: no text on a background
])
def test_blank_and_tiny_images_get_no_answer_before_the_network_runs(image, why):
    result = bundle_solver().solve_batch([image])[0]
    assert result.text == "" and result.reason.startswith(NO_TEXT) and why in result.reason


@pytest.mark.parametrize("change,message", [
    ({"charset": ""}, "charset must be a non-empty string"),
    ({"charset": "aab"}, "repeated symbols"),
    ({"decoding": {"type": "beam"}}, "decoding.type"),
    ({"input": {"height": 0, "width": 8}}, "input.height must be an integer"),
    ({"input": {"height": 8, "width": 8, "color": "cmyk"}}, "input.color"),
    ({"lengths": [2, "x"]}, r"lengths\[1\]"),
    ({"alphabet": "xyz"}, "not in the charset"),
    ({"presets": {"p": {"generation": "3.0"}}}, "presets.p.generation"),
    ({"presets": []}, "presets must be a JSON object"),
    ({"text_stretch": "wide"}, "text_stretch must be a number"),
    ({"text_stretch": 9}, "text_stretch must be a number"),
    ({"presets": {"p": {"network": "https://elsewhere.example/model.json"}}}, "presets.p.network must be a relative"),
    ({"presets": {"p": {"network": "/abs/model.json"}}}, "presets.p.network must be a relative"),
    ({"presets": {"p": {"network": "../other/weights.bin"}}}, "presets.p.network must be a relative"),
])
def test_recipe_errors_name_the_field(change, message):
    with pytest.raises(RecipeError, match=message):
        Recipe.from_dict({**BUNDLE, **change})
