"""A site's own symbols and lengths (`--charset`/`--lengths`, `Solver.restrict`, the widget's attributes):
answers use only them, captchas needing others are refused, and people's ways of writing them parse."""

import pytest

from conftest import REAL
from kcsolver import Solver
from kcsolver.captcha.solver import OTHER_CONFIGURATION, parse_alphabet, parse_lengths
from kcsolver.cli import labelled_files
from kcsolver.cli import main as cli
from kcsolver.errors import KcsolverError


@pytest.mark.parametrize("text,symbols", [("0-9", "0123456789"), ("a-f0-3", "abcdef0123"), ("ABC", "abc"),
                                          ("23456789abcdegikpqsvxyz", "23456789abcdegikpqsvxyz"), ("aab", "ab")])
def test_a_charset_is_read_as_people_write_it(text, symbols):
    assert parse_alphabet(text) == symbols


@pytest.mark.parametrize("text,lengths", [("4-6", [4, 5, 6]), ("5,7", [5, 7]), ("5", [5]), ("2-3, 6", [2, 3, 6])])
def test_lengths_are_read_as_people_write_them(text, lengths):
    assert parse_lengths(text) == lengths


@pytest.mark.parametrize("bad", ["", "!!", "ab cd", "бв"])
def test_a_charset_that_is_not_symbols_is_refused_by_name(bad):
    with pytest.raises(KcsolverError, match="give KCAPTCHA symbols"):
        parse_alphabet(bad)


@pytest.mark.parametrize("bad", ["", "0", "four", "3-", "99"])
def test_lengths_that_are_not_lengths_are_refused_by_name(bad):
    with pytest.raises(KcsolverError, match="give lengths from 1 to 64"):
        parse_lengths(bad)


def folder_images(name, count=20):
    return labelled_files(REAL / name)[:count]


def test_answers_keep_to_the_sites_symbols_and_lengths():
    site = Solver.load("auto").restrict("0-9", [4, 5, 6])
    pairs = folder_images("digits_l4_6_png")
    results = site.solve_batch([path for path, _ in pairs])
    assert all(r.text == label for (_, label), r in zip(pairs, results))
    assert {r.solver for r in results} == {"site"}


def test_captchas_needing_other_symbols_or_lengths_are_refused():
    site = Solver.load("auto").restrict("0-9", [2])
    pairs = folder_images("stock23_jpg", 10) + folder_images("digits_l4_6_png", 10)
    for result in site.solve_batch([path for path, _ in pairs]):
        assert result.text == "" and result.reason.startswith(OTHER_CONFIGURATION)


def test_a_named_solver_keeps_what_the_site_does_not_restrict():
    site = Solver.load("classic").restrict(lengths=[5])
    assert site.recipe.alphabet == "23456789abcdeghkmnpqsuvxyz" and site.recipe.lengths == [5]
    assert site.recipe.generation == "1.2.6"


def test_symbols_the_network_does_not_read_are_refused_by_name():
    digits_only = Solver.load("l2_digits").restrict()  # a solver whose recipe reads 10 symbols
    narrow = Solver(digits_only.model, digits_only.recipe.__class__.from_dict(
        {"charset": "0123456789", "decoding": {"type": "ctc"}, "input": digits_only.recipe.input}))
    with pytest.raises(KcsolverError, match="symbols 'xyz' are not read by this model"):
        narrow.restrict("0-9xyz")


def test_the_cli_takes_the_sites_symbols_and_lengths(capsys):
    (path, label), = folder_images("l2_digits_png", 1)
    assert cli(["solve", str(path), "--charset", "0-9", "--lengths", "2"]) == 0
    line = capsys.readouterr().out.strip().split("\t")
    assert line[1] == label and line[3] == "site"
    assert cli(["solve", str(path), "--lengths", "many"]) == 2
    assert "give lengths from 1 to 64" in capsys.readouterr().err


def test_the_general_reading_checks_every_answer_and_calibrates_its_confidence(monkeypatch):
    from dataclasses import replace

    # the power alone (the dropped-glyph doubt divides both readings alike; tests/test_captcha.py)
    monkeypatch.setattr(Solver, "_doubt_dropped_glyphs", lambda self, output, result: result)

    from kcsolver.captcha import Recipe
    from kcsolver.errors import RecipeError

    general = Solver.load("any")
    preset = general.recipe.presets["any"]
    assert preset.check and preset.power == 8.0
    (path, _label), = folder_images("custom_c2x_letters_len5_6_170x65", 1)
    plain_recipe = replace(general.recipe, presets={"any": replace(preset, power=1.0)})
    plain = Solver(general.model, plain_recipe, preset="any").solve(path)
    calibrated = general.solve(path)
    assert calibrated.text == plain.text and abs(calibrated.confidence - plain.confidence ** 8) < 1e-6
    data = general.recipe.to_dict()
    assert data["presets"]["any"]["power"] == 8.0 and data["presets"]["any"]["check"] is True
    data["presets"]["any"]["power"] = "high"
    with pytest.raises(RecipeError, match="presets.any.power must be a number"):
        Recipe.from_dict(data)
