"""Training smoke run: a few steps on tiny data, checkpoint and resume, export, reload, same outputs."""

import argparse

import numpy as np
import pytest

import torch  # the train extra is part of `make test`'s set-up

import kcsolver
from kcsolver.captcha import Recipe
from kcsolver.errors import KcsolverError
from kcsolver.train import net as netlib
from kcsolver.train.loop import batch_loss, encode_labels, make_batch, parse_mix, train
from kcsolver.train.mixture import get_mixture, kcaptcha_mixture, no_text_image
from kcsolver.train.soup import main as soup_main
from kcsolver.train.soup import soup


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    logs = []
    paused = train("l2_digits", out, steps=4, batch_size=4, workers=0, threads=1, checkpoint_every=2, stop_at=2,
                   log=logs.append, quantization=None)
    assert paused is None and (out / "checkpoint.pt").exists()
    path = train("l2_digits", out, steps=4, batch_size=4, workers=0, threads=1, checkpoint_every=2,
                 log=logs.append, quantization=None)
    return out, path, logs


def test_resumes_from_checkpoint(trained):
    _, _, logs = trained
    assert any("paused at step 2/4" in line for line in logs)
    assert any("resuming l2_digits from step 2/4" in line for line in logs)
    assert any("step 4/4" in line for line in logs)


def test_export_reloads_with_same_outputs_as_torch(trained):
    out, path, _ = trained
    state = torch.load(out / "checkpoint.pt", weights_only=False)
    net = netlib.CaptchaNet(10)
    net.load_state_dict(state["model"])
    recipe = Recipe.from_dict(state["recipe"])
    x, _ = make_batch(get_mixture("l2_digits"), recipe, np.random.default_rng(0), 3)
    ours = kcsolver.load_model(path).predict(x)
    np.testing.assert_allclose(ours, netlib.torch_probabilities(net, x), atol=1e-5)
    solver = kcsolver.Solver.load(path.parent)
    assert solver.recipe.charset == "0123456789" and solver.solvers["l2_digits"].lengths == [2]


@pytest.mark.parametrize("quantization,tolerance", [("float16", 2e-3), ("uint8", 5e-2)])
def test_quantized_export(tmp_path, trained, quantization, tolerance):
    out, path, _ = trained
    state = torch.load(out / "checkpoint.pt", weights_only=False)
    net = netlib.CaptchaNet(10)
    net.load_state_dict(state["model"])
    quantized = netlib.export(net, tmp_path / quantization, state["recipe"], quantization)
    assert quantized.with_name("group1-shard1of1.bin").stat().st_size < path.with_name("group1-shard1of1.bin").stat().st_size
    x, _ = make_batch(get_mixture("l2_digits"), Recipe.from_dict(state["recipe"]), np.random.default_rng(1), 2)
    np.testing.assert_allclose(kcsolver.load_model(quantized).predict(x), netlib.torch_probabilities(net, x),
                               atol=tolerance)


@pytest.mark.parametrize("widths,head,head_width", [(None, netlib.HEAD_CHANNELS, netlib.HEAD_WIDTH),
                                                    ((8, 16, 24, 32, 40), 48, 5)])
def test_exported_weights_import_back_for_fine_tuning(tmp_path, widths, head, head_width):
    torch.manual_seed(0)
    net = netlib.CaptchaNet(10, widths, head, head_width)
    for module in net.modules():  # non-trivial batch-norm statistics, so a mix-up would show
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-0.5, 0.5)
            module.running_var.uniform_(0.5, 2.0)
    path = netlib.export(net, tmp_path / "model", {"charset": "0123456789"})
    again = netlib.import_weights(netlib.CaptchaNet(10, widths, head, head_width), path)
    x = np.random.default_rng(2).random((2, netlib.INPUT_HEIGHT, netlib.INPUT_WIDTH, 1), np.float32)
    np.testing.assert_allclose(netlib.torch_probabilities(again, x), netlib.torch_probabilities(net, x), atol=1e-6)
    with pytest.raises(ValueError, match="needs"):  # another shape is refused by name, not mis-loaded
        netlib.import_weights(netlib.CaptchaNet(10, (8, 16, 24, 32, 48), head, head_width), path)


def test_pruning_drops_the_channels_that_carry_nothing():
    torch.manual_seed(0)
    wide = netlib.CaptchaNet(10, (8, 16, 24, 32, 40), 48, 3).eval()
    norms = [m for m in wide.features if isinstance(m, torch.nn.BatchNorm2d)]
    with torch.no_grad():
        for norm in norms:
            norm.running_mean.uniform_(-0.5, 0.5)
            norm.running_var.uniform_(0.5, 2.0)
        for norm, dead in zip(norms, (2, 4, 8, 8, 8, 16)):  # dead channels: ReLU(0 * x + b <= 0) is always 0
            norm.weight[-dead:] = 0.0
            norm.bias[-dead:] = -1.0
    narrow = netlib.prune_into(netlib.CaptchaNet(10, (6, 12, 16, 24, 32), 32, 3), wide)
    x = np.random.default_rng(3).random((2, netlib.INPUT_HEIGHT, netlib.INPUT_WIDTH, 1), np.float32)
    np.testing.assert_allclose(netlib.torch_probabilities(narrow, x), netlib.torch_probabilities(wide, x), atol=1e-6)
    with pytest.raises(ValueError, match="cannot prune 8 channels into 10"):
        netlib.prune_into(netlib.CaptchaNet(10, (10, 16, 24, 32, 40), 48, 3), wide)


def test_a_narrower_network_starts_from_a_wider_one_and_learns_from_it(tmp_path, trained):
    out, _, _ = trained
    logs = []
    path = train("l2_digits", tmp_path, steps=2, batch_size=4, workers=0, threads=1, log=logs.append,
                 quantization=None, init=out / "checkpoint.pt", teacher=out / "checkpoint.pt",
                 widths=(16, 32, 48, 64, 64), head_channels=64)
    assert any("pruned from (16, 32, 64, 64, 80) + 96 to (16, 32, 48, 64, 64) + 64" in line for line in logs)
    exported = netlib.load_trained(path, 10)  # read back from model.json: the shape comes from the weights
    assert (exported.widths, exported.head_channels, exported.head_width) == ((16, 32, 48, 64, 64), 64, 3)


@pytest.mark.parametrize("grown,logged", [({"subframes": 2}, "each frame repeated 2 times"),
                                           ({"context": 1}, "1 context convolution(s) added as the identity")])
def test_a_network_grown_from_a_trained_one_starts_reading_as_it_does(tmp_path, trained, grown, logged):
    out, _, _ = trained
    logs = []
    path = train("l2_digits", tmp_path, steps=2, batch_size=4, workers=0, threads=1, log=logs.append, lr=1e-9,
                 quantization=None, init=out / "checkpoint.pt", **grown)
    assert any(logged in line for line in logs)
    source = netlib.load_trained(out / "checkpoint.pt", 10)
    grow = netlib.widen_frames if "subframes" in grown else netlib.add_context
    bigger = grow(netlib.CaptchaNet(10, **grown), source)
    x = np.random.default_rng(4).random((2, netlib.INPUT_HEIGHT, netlib.INPUT_WIDTH, 1), np.float32)
    before, after = netlib.torch_probabilities(source, x), netlib.torch_probabilities(bigger, x)
    frames = grown.get("subframes", 1)
    assert after.shape == (2, frames * before.shape[1], 11)
    for frame in range(frames):  # each column's frames, in order, read as the source's one
        np.testing.assert_allclose(after[:, frame::frames], before, atol=1e-6)
    exported = netlib.load_trained(path, 10)  # the shape comes back from model.json's weights
    assert (exported.subframes, exported.context) == (frames, grown.get("context", 0))
    state = torch.load(tmp_path / "checkpoint.pt", weights_only=False)
    trained_bigger = netlib.CaptchaNet(10, **grown)
    trained_bigger.load_state_dict(state["model"])
    np.testing.assert_allclose(kcsolver.load_model(path).predict(x), netlib.torch_probabilities(trained_bigger, x),
                               atol=1e-5)  # kcsolver's engine runs the export as torch does
    train("l2_digits", tmp_path, steps=2, batch_size=4, workers=0, threads=1, log=logs.append, quantization=None)
    resumed = netlib.load_trained(tmp_path / "checkpoint.pt", 10)  # a resume keeps the grown shape
    assert (resumed.subframes, resumed.context) == (frames, grown.get("context", 0))
    again = train("l2_digits", tmp_path / "again", steps=1, batch_size=4, workers=0, threads=1, log=logs.append,
                  quantization=None, init=tmp_path / "checkpoint.pt")  # so does a fine-tune that names no shape
    assert (netlib.load_trained(again, 10).subframes, netlib.load_trained(again, 10).context) == (
        frames, grown.get("context", 0))
    with pytest.raises(ValueError, match="keeps every other dimension"):
        grow(netlib.CaptchaNet(10, **grown), bigger)


def test_a_file_that_is_no_trained_network_is_refused_by_name(tmp_path):
    bogus = tmp_path / "checkpoint.pt"
    bogus.write_bytes(b"not a checkpoint")
    with pytest.raises(kcsolver.KcsolverError, match="checkpoint.pt: not a trained solver network"):
        train("l2_digits", tmp_path / "run", steps=1, batch_size=2, workers=0, threads=1, log=lambda _: None,
              init=bogus)


def test_the_shipped_mixture_tags_classes_by_generation():
    mixture = kcaptcha_mixture()
    assert mixture.generations == ("2.x", "1.2.6") and set(mixture.presets) == {"l2_digits", "digits", "stock23",
                                                                                  "classic"}
    rng = np.random.default_rng(0)
    samples = [mixture.sample(rng) for _ in range(60)]
    assert {generation for _, label, generation in samples if label} == {0, 1}
    targets, lengths = encode_labels([("ab", 1), ("", 0), ("2", 0)], mixture)
    k = len(mixture.charset)
    assert targets.tolist() == [k + mixture.charset.index("a"), k + mixture.charset.index("b"),
                                mixture.charset.index("2")]
    assert lengths.tolist() == [2, 0, 1]


def test_mix_changes_the_shares_of_the_mixture_and_names_unknown_parts():
    mixture = get_mixture("kcaptcha", {"classic": 0.9, "l2_digits": 0.0})
    shares = {config.name: weight for config, weight in mixture.parts}
    assert shares["classic"] == 0.9 and shares["l2_digits"] == 0.0 and shares["digits"] == 0.20
    rng = np.random.default_rng(3)
    drawn = [generation for _, label, generation in (mixture.sample(rng) for _ in range(60)) if label]
    assert sum(drawn) / len(drawn) > 0.6  # generation 1 is 1.2.6: about 0.9 / 1.45 of the images with text
    with pytest.raises(ValueError, match="has no part clasic; its parts are l2_digits, digits"):
        get_mixture("kcaptcha", {"clasic": 0.5})
    assert parse_mix("classic=0.5, digits=0.1") == {"classic": 0.5, "digits": 0.1}
    with pytest.raises(argparse.ArgumentTypeError, match="NAME=WEIGHT"):
        parse_mix("classic")


def test_a_resumed_run_keeps_its_mix(tmp_path, trained):
    out, _, _ = trained
    with pytest.raises(ValueError, match="from another run .* mix None"):
        train("l2_digits", out, steps=4, batch_size=4, workers=0, threads=1, log=lambda _: None,
              mix={"l2_digits": 1.0})


def test_hard_examples_count_twice_in_the_batch_loss():
    losses = torch.tensor([1.0, 2.0, 3.0, 4.0])
    assert batch_loss(losses).item() == 2.5
    assert batch_loss(losses, 0.5).item() == 2.5 + (4.0 + 3.0) / 4  # the two highest, once more


def test_no_text_images_are_images_without_text():
    rng = np.random.default_rng(1)
    for _ in range(10):
        image = no_text_image(rng)
        assert image.ndim == 3 and image.shape[2] == 3 and image.dtype == np.uint8 and image.shape[1] >= 90


def test_a_text_stretch_run_keeps_it_through_a_resume_and_ships_it_in_the_recipe(tmp_path):
    from kcsolver.synth import get_config, render

    out = tmp_path / "run"
    options = dict(steps=4, batch_size=4, workers=0, threads=1, checkpoint_every=2, log=lambda _: None,
                   quantization=None)
    assert train("l2_digits", out, stop_at=2, text_stretch=1.4, **options) is None
    path = train("l2_digits", out, **options)  # resumed without naming it: the run keeps its input
    solver = kcsolver.Solver.load(path)
    assert solver.recipe.text_stretch == 1.4
    image = render(get_config("l2_digits"), np.random.default_rng(2))[0]
    assert solver.prepare(image).shape == (netlib.INPUT_HEIGHT, netlib.INPUT_WIDTH, 1)
    result = solver.solve(image)  # four steps of training read nothing useful, but through this recipe
    assert result.reason is not None or len(result.text) == 2


def test_a_soup_is_the_weighted_average_of_its_ingredients(tmp_path, trained):
    out, path, _ = trained
    state = torch.load(out / "checkpoint.pt", weights_only=False)
    first = netlib.import_weights(netlib.CaptchaNet(10), path)
    torch.manual_seed(3)
    second = netlib.CaptchaNet(10)  # another network of the same shape, with its own batch-norm statistics
    for module in second.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-0.5, 0.5)
    other = netlib.export(second, tmp_path / "other", state["recipe"])
    mixed = soup(tmp_path / "soup", [path, other], [0.25, 0.75], quantization=None)
    assert mixed == tmp_path / "soup" / "model" / "model.json"  # where ship.py looks for a run's export
    got = netlib.import_weights(netlib.CaptchaNet(10), mixed).state_dict()
    a, b = first.state_dict(), second.state_dict()
    for key in got:
        if got[key].is_floating_point():
            torch.testing.assert_close(got[key], 0.25 * a[key] + 0.75 * b[key], atol=1e-6, rtol=1e-6)
    assert kcsolver.Solver.load(mixed).recipe.charset == "0123456789"


def test_a_soup_refuses_other_networks_and_bad_shares_by_name(tmp_path, trained):
    _, path, _ = trained
    state = torch.load(path.parent.parent / "checkpoint.pt", weights_only=False)
    wider = netlib.export(netlib.CaptchaNet(10, (8, 16, 24, 32, 40)), tmp_path / "wider", state["recipe"])
    with pytest.raises(KcsolverError, match="differ in shape"):
        soup(tmp_path / "a", [path, wider])
    renamed = netlib.export(netlib.CaptchaNet(10), tmp_path / "renamed", {**state["recipe"], "charset": "abcdefghik"})
    with pytest.raises(KcsolverError, match="another recipe"):
        soup(tmp_path / "b", [path, renamed])
    with pytest.raises(KcsolverError, match="summing to 1"):
        soup(tmp_path / "c", [path, path], [0.5, 0.6])


def test_the_soup_command_reports_bad_input_in_one_line(tmp_path, trained, capsys):
    _, path, _ = trained
    for argv, says in [([str(tmp_path / "a"), str(path), str(tmp_path / "missing.json")], "not an exported kcsolver"),
                       ([str(tmp_path / "b"), str(path), str(path), "--shares", "half,half"], "separated by commas")]:
        with pytest.raises(SystemExit) as exit_:
            soup_main(argv)
        assert exit_.value.code == 2 and says in capsys.readouterr().err
    assert soup_main([str(tmp_path / "c"), str(path), str(path)]) == 0
    assert (tmp_path / "c" / "model" / "model.json").exists()


def test_a_specialist_ships_beside_its_bundle_which_names_it_and_keeps_naming_it(tmp_path, trained):
    import json
    import shutil

    from conftest import ROOT
    from kcsolver.integrity import verify_folder
    from kcsolver.train.ship import ship

    models, run = tmp_path / "models", tmp_path / "run"
    shutil.copytree(ROOT / "site" / "models" / "kcaptcha", run / "model")
    ship("kcaptcha", run, models)
    ship("kcaptcha-classic", run, models, specialist_for="kcaptcha:classic")

    def presets(name):
        return json.loads((models / name / "model.json").read_text())["userDefinedMetadata"]["kcsolver"]["presets"]

    assert presets("kcaptcha")["classic"]["network"] == "../kcaptcha-classic/model.json"
    assert all("network" not in entry for entry in presets("kcaptcha-classic").values())
    assert verify_folder(models / "kcaptcha") == [] and verify_folder(models / "kcaptcha-classic") == []
    ship("kcaptcha", run, models)  # a new bundle keeps its specialist
    assert presets("kcaptcha")["classic"]["network"] == "../kcaptcha-classic/model.json"
    with pytest.raises(SystemExit, match="its recipe differs in charset"):  # trained's network reads l2_digits only
        ship("other", trained[0], models, specialist_for="kcaptcha:classic")
    with pytest.raises(SystemExit, match="has no preset 'nope'"):
        ship("kcaptcha-classic", run, models, specialist_for="kcaptcha:nope")


def test_a_network_grows_the_classes_of_a_bigger_charset_and_keeps_its_own(trained):
    from kcsolver.synth.space import ALL_SYMBOLS

    source = netlib.load_trained(trained[0] / "checkpoint.pt", 10)
    x = np.random.default_rng(0).random((2, netlib.INPUT_HEIGHT, netlib.INPUT_WIDTH, 1), dtype=np.float32)
    before = netlib.torch_probabilities(source, x)
    old, new = ("0123456789", ("2.x",)), (ALL_SYMBOLS, ("2.x", "1.2.6"))
    silent = netlib.remap_classes(source, old, new, absent_logit=-30.0)
    after = netlib.torch_probabilities(silent, x)
    assert after.shape[-1] == 2 * 36 + 1
    np.testing.assert_allclose(after[..., list(range(10)) + [72]], before, atol=1e-6)  # digits, blank: the same
    assert after[..., 10:72].max() < 1e-9
    learning = netlib.remap_classes(source, old, new)  # to fine-tune: new classes start below every trained one
    bias = learning.classifier.bias.detach()
    assert bias[10:72].max() < bias[:10].min() and bias[72] == source.classifier.bias.detach()[10]


def test_fine_tuning_into_another_charset_grows_the_classes(tmp_path, trained):
    from kcsolver.train.loop import load_source

    grown = load_source(trained[0] / "checkpoint.pt", get_mixture("general"))
    assert grown.classes == 72


def test_a_kept_specialist_is_re_laid_out_for_a_bundle_that_grew_symbols(tmp_path):
    import json
    import shutil

    from conftest import ROOT
    from kcsolver import Solver
    from kcsolver.integrity import verify_folder
    from kcsolver.synth.space import ALL_SYMBOLS
    from kcsolver.train.ship import relayout

    folder = tmp_path / "kcaptcha-classic"
    shutil.copytree(ROOT / "site" / "models" / "kcaptcha-classic", folder)
    before = kcsolver.load_model(folder / "model.json")
    recipe = json.loads((folder / "model.json").read_text())["userDefinedMetadata"]["kcsolver"]
    old_charset = recipe["charset"]
    relayout(folder / "model.json", dict(recipe, charset=ALL_SYMBOLS))
    after = kcsolver.load_model(folder / "model.json")
    assert after.metadata["kcsolver"]["charset"] == ALL_SYMBOLS and verify_folder(folder) == []
    x = np.random.default_rng(1).random((2, 48, 128, 1), dtype=np.float32)
    old_probs, new_probs = before.predict(x), after.predict(x)
    keep = [g * 36 + ALL_SYMBOLS.index(c) for g in range(2) for c in old_charset] + [72]
    moved = [g * len(old_charset) + k for g in range(2) for k in range(len(old_charset))] + [len(old_charset) * 2]
    np.testing.assert_allclose(new_probs[..., keep], old_probs[..., moved], atol=2e-3)
    assert Solver.load(str(folder)).recipe.charset == ALL_SYMBOLS
