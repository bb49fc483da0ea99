"""Average the weights of fine-tunes of one network into one (a "model soup").

    python -m kcsolver.train.soup runs/soup site/models/kcaptcha/model.json \\
        runs/classic_rebalance2/model/model.json               # equal shares -> runs/soup/model/
    python -m kcsolver.train.ship kcaptcha --run runs/soup     # as any training run

Networks fine-tuned from the same weights stay close enough that their average
is a working network, often better than each (Wortsman et al., "Model soups",
2022): the shipped bundle is such an average (docs/accuracy.md says why and how
it was measured). Every ingredient must be an exported model.json of the same
shape and recipe; batch-norm statistics are averaged like the other weights.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..errors import KcsolverError
from . import net as netlib


def recipe_of(path: Path) -> dict:
    try:
        recipe = dict(json.loads(Path(path).read_text())["userDefinedMetadata"]["kcsolver"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise KcsolverError(f"{path}: not an exported kcsolver model.json ({exc})") from None
    recipe.pop("name", None)  # ship.py names the bundle; the soup is not shipped yet
    return recipe


def soup(out: Path, models: list[Path], shares: list[float] | None = None, quantization: str | None = "float16") -> Path:
    """Write the weighted average of `models` (equal shares unless given; they must sum to 1) to out/model/,
    where ship.py looks for a run's export."""
    shares = shares or [1 / len(models)] * len(models)
    if len(shares) != len(models) or abs(sum(shares) - 1) > 1e-6:
        raise KcsolverError(f"need one share per model, summing to 1; got {shares} for {len(models)} models")
    recipe = recipe_of(models[0])
    for path in models[1:]:
        if recipe_of(path) != recipe:
            raise KcsolverError(f"{path} has another recipe than {models[0]}: only fine-tunes of one network mix")
    classes = len(recipe["charset"]) * len(recipe["generations"])
    nets = [netlib.load_trained(path, classes) for path in models]
    states = [net.state_dict() for net in nets]
    if any(state[key].shape != states[0][key].shape for state in states for key in state):
        raise KcsolverError("the models differ in shape: only fine-tunes of one network mix")
    averaged = {key: sum(share * state[key].double() for share, state in zip(shares, states)).to(states[0][key].dtype)
                for key in states[0]}
    nets[0].load_state_dict(averaged)
    return netlib.export(nets[0], Path(out) / "model", recipe, quantization)


def shares_arg(text: str) -> list[float]:
    try:
        return [float(value) for value in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: give numbers separated by commas, e.g. 0.5,0.5") from None


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kcsolver.train.soup", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path, help="run folder: the average is written to OUT/model/")
    parser.add_argument("models", type=Path, nargs="+", help="exported model.json files of one network's fine-tunes")
    parser.add_argument("--shares", type=shares_arg,
                        help="comma-separated weights, one per model, summing to 1 (default: equal)")
    args = parser.parse_args(argv)
    try:
        print(soup(args.out, args.models, args.shares))
    except KcsolverError as exc:
        parser.exit(2, f"error: {exc}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
