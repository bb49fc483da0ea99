"""Ship a trained run as a built-in bundle of the site (site/models/<name>/), or as a preset's specialist.

    python -m kcsolver.train.ship kcaptcha --run runs/kcaptcha     # runs/kcaptcha/model -> site/models/kcaptcha
    python -m kcsolver.train.ship kcaptcha-classic --run runs/spec --specialist-for kcaptcha:classic

The shipped `kcaptcha` bundle is one network whose recipe holds every built-in
solver as a preset (l2_digits, digits, stock23, classic). A specialist is a
network fine-tuned from the bundle (same output layout) that reads one preset
better: shipped as a folder of its own, the bundle's preset names it
(`presets.classic.network`), and re-shipping the bundle keeps that reference.
The wheel for Python users carries site/models/ as kcsolver.models, build.py
copies it into the site.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

from ..integrity import write_sums

ROOT = Path(__file__).resolve().parents[3]
# The recipe fields a specialist must share with its bundle: they fix what its outputs mean. Its input
# (size, colour, crops, text_stretch) may differ: the solver feeds each network as its own recipe says.
LAYOUT = ("charset", "generations", "decoding")


def _recipe(document: dict) -> dict:
    return document["userDefinedMetadata"]["kcsolver"]


def _write(target: Path, document: dict) -> None:
    (target / "model.json").write_text(json.dumps(document, separators=(",", ":")))
    write_sums(target)  # build.py and `kcsolver verify` check the folder against these


def ship(name: str, run: Path | None = None, models: Path = ROOT / "site" / "models",
         specialist_for: str | None = None) -> Path:
    built = (run or ROOT / "runs" / name) / "model"
    if not (built / "model.json").exists():
        raise SystemExit(f"{built}/model.json not found: train first (python -m kcsolver train --config {name})")
    target = models / name
    kept = {}  # preset -> specialist network, from the bundle this one replaces
    if target.exists():
        previous = _recipe(json.loads((target / "model.json").read_text())).get("presets", {})
        kept = {preset: entry["network"] for preset, entry in previous.items() if entry.get("network")}
        shutil.rmtree(target)
    target.mkdir(parents=True)
    for file in built.iterdir():
        shutil.copy2(file, target / file.name)
    document = json.loads((target / "model.json").read_text())
    recipe = _recipe(document)
    recipe["name"] = name
    for preset, entry in recipe.get("presets", {}).items():
        entry.pop("network", None)
        if specialist_for is None and preset in kept and (target / kept[preset]).resolve().exists():
            entry["network"] = kept[preset]
            relayout(Path(target / kept[preset]).resolve(), recipe)
            print(f"{name}: preset {preset} keeps its specialist {kept[preset]}")
    _write(target, document)
    if specialist_for is not None:
        _attach(name, recipe, models, specialist_for)
    return target / "model.json"


def relayout(specialist_json: Path, recipe: dict) -> None:
    """Give a kept specialist the new bundle's output layout when it differs (a bundle that grew symbols):
    its classes keep their weights, the new ones get zero weights and a logit of -30, so it reads exactly
    as before and never emits them (its preset's alphabet has none of them anyway)."""
    from . import net as netlib

    document = json.loads(specialist_json.read_text())
    old = _recipe(document)
    if all(old.get(key) == recipe.get(key) for key in LAYOUT):
        return
    if old.get("decoding") != recipe.get("decoding"):
        raise SystemExit(f"{specialist_json}: its decoding differs from the new bundle's; fine-tune it again from "
                         "the new bundle")
    layout = (old["charset"], tuple(old.get("generations") or ("2.x",)))
    source = netlib.load_trained(specialist_json, len(layout[0]) * len(layout[1]))
    grown = netlib.remap_classes(source, layout, (recipe["charset"], tuple(recipe["generations"])), absent_logit=-30.0)
    new_recipe = dict(old, charset=recipe["charset"], generations=recipe["generations"])
    folder = specialist_json.parent
    for file in folder.iterdir():
        if file.suffix == ".bin":
            file.unlink()
    netlib.export(grown, folder, new_recipe, "float16")
    _write(folder, json.loads(specialist_json.read_text()))
    print(f"{folder.name}: re-laid out for {len(recipe['charset'])} symbols (new classes never emitted)")


def _attach(name: str, recipe: dict, models: Path, specialist_for: str) -> None:
    """Name the shipped specialist in its bundle's preset (BUNDLE:PRESET)."""
    bundle, _, preset = specialist_for.partition(":")
    bundle_json = models / bundle / "model.json"
    if not bundle_json.exists() or not preset:
        raise SystemExit(f"--specialist-for {specialist_for}: give BUNDLE:PRESET of a shipped bundle")
    document = json.loads(bundle_json.read_text())
    bundle_recipe = _recipe(document)
    differing = [key for key in LAYOUT if bundle_recipe.get(key) != recipe.get(key)]
    if differing:
        raise SystemExit(f"{name} cannot be a specialist of {bundle}: its recipe differs in {', '.join(differing)} "
                         f"(fine-tune it from the bundle: --init site/models/{bundle}/model.json)")
    if preset not in bundle_recipe.get("presets", {}):
        raise SystemExit(f"{bundle} has no preset {preset!r}; it has {', '.join(bundle_recipe.get('presets', {}))}")
    bundle_recipe["presets"][preset]["network"] = f"../{name}/model.json"
    _write(models / bundle, document)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("name")
    parser.add_argument("--run", type=Path, help="the training run folder (default runs/NAME)")
    parser.add_argument("--specialist-for", metavar="BUNDLE:PRESET",
                        help="ship it as the network that reads this preset of a shipped bundle")
    args = parser.parse_args(argv)
    print(ship(args.name, args.run, specialist_for=args.specialist_for))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
