"""`kcsolver adapt`: a site's labelled folder -> inferred settings, a fine-tuned model folder that the
solver, `verify` and the CLI read; clear errors for too few images, bad labels and unreadable files."""

import json
import shutil

import numpy as np
import pytest

import torch  # noqa: F401  (the train extra is part of `make test`'s set-up)

from kcsolver import Solver
from kcsolver.cli import main as cli
from kcsolver.errors import KcsolverError
from kcsolver.integrity import verify_folder
from kcsolver.synth import write_dataset
from kcsolver.synth.render import CaptchaConfig
from kcsolver.train.adapt import adapt, infer_settings, read_folder

SITE = CaptchaConfig(name="site", generation="1.2.6", charset="2345678", lengths=(4, 5), width=130, height=50,
                     colors="fixed", foreground=(20, 40, 150), background=(240, 240, 225), fluctuation=4.0)


@pytest.fixture(scope="module")
def site_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("site")
    write_dataset(folder, SITE, 200, seed=11)
    return folder


def test_the_sites_settings_are_inferred_from_its_folder(site_folder):
    _paths, images, labels = read_folder(site_folder)
    settings = infer_settings(images, labels, Solver.load("auto"))
    assert settings.charset == "2345678" and settings.lengths == [4, 5]
    assert (settings.width, settings.height, settings.credits) == (130, 50, 0.0)
    assert settings.colors == {"colors": "fixed", "foreground": (20, 40, 150), "background": (240, 240, 225)}
    assert settings.generation == "1.2.6"


def test_adapt_writes_a_model_folder_the_solver_reads(site_folder, tmp_path):
    logs = []
    report = adapt(site_folder, tmp_path / "site-model", steps=3, log=logs.append)
    out = tmp_path / "site-model"
    assert verify_folder(out) == []
    recipe = json.loads((out / "model.json").read_text())["userDefinedMetadata"]["kcsolver"]
    assert recipe["alphabet"] == "2345678" and recipe["lengths"] == [4, 5] and "presets" not in recipe
    assert report["held_out"] == 50 and 0 <= report["before"] <= 1 and 0 <= report["after"] <= 1
    assert recipe["adapted"] == report  # provenance in the recipe: the folder, its settings, held-out accuracy
    assert any("inferred KCAPTCHA 1.2.6, symbols '2345678', lengths 4-5, 130x50" in line for line in logs)
    assert any(line.startswith("[") and "step 3/3" in line for line in logs)  # the progress bar
    result = Solver.load(str(out)).solve(next(site_folder.glob("*.png")))
    assert set(result.text) <= set("2345678")
    assert not (tmp_path / ".site-model.run").exists()  # the training run's scratch folder is gone


def copy_folder(source, target, count):
    target.mkdir()
    for path in sorted(source.glob("*.png"))[:count]:
        shutil.copy(path, target / path.name)
    return target


@pytest.mark.parametrize("damage,says", [
    ("few", "199 labelled images; adapt needs at least 200"),
    ("label", "labels are not KCAPTCHA answers"),
    ("file", "unreadable"),
])
def test_bad_folders_are_refused_with_what_to_do(site_folder, tmp_path, damage, says):
    folder = copy_folder(site_folder, tmp_path / "bad", 199 if damage == "few" else 200)
    if damage == "label":
        first = next(folder.glob("*.png"))
        first.rename(folder / ("AB!_" + first.name.split("_")[1]))
    if damage == "file":
        next(folder.glob("*.png")).write_bytes(b"not an image at all")
    with pytest.raises(KcsolverError, match=says):
        adapt(folder, tmp_path / "out", steps=1, log=lambda _message: None)
    assert not (tmp_path / "out").exists()


def test_the_adapt_command_reports_errors_in_one_line(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert cli(["adapt", str(tmp_path / "empty"), "--out", str(tmp_path / "out")]) == 2
    assert "0 labelled images; adapt needs at least 200" in capsys.readouterr().err


def test_site_fonts_that_are_not_strips_are_refused(site_folder, tmp_path):
    (tmp_path / "fonts").mkdir()
    (tmp_path / "fonts" / "face.png").write_bytes(np.zeros(10, np.uint8).tobytes())
    with pytest.raises(KcsolverError, match="face.png: not a readable PNG font strip"):
        adapt(site_folder, tmp_path / "out", fonts=tmp_path / "fonts", steps=1, log=lambda _message: None)
