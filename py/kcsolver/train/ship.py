"""Ship trained runs as the site's built-in solvers (site/models/<name>/).

    python -m kcsolver.train.ship digits            # runs/digits/model -> site/models/digits
    python -m kcsolver.train.ship stock23 --run runs/stock23_ft
    python -m kcsolver.train.ship l2_digits --from digits --lengths 2

`--from` makes a solver that reuses another solver's weights with its own
recipe (here: the digits network read with the length fixed to 2); its
model.json points at the other folder's shard, so the weights download once.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def ship(name: str, source: str | None = None, lengths=None, run: Path | None = None,
         models: Path = ROOT / "site" / "models") -> Path:
    target = models / name
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    if source is None:
        built = (run or ROOT / "runs" / name) / "model"
        if not (built / "model.json").exists():
            raise SystemExit(f"{built}/model.json not found: train first (python -m kcsolver train --config {name})")
        for file in built.iterdir():
            shutil.copy2(file, target / file.name)
        document = json.loads((target / "model.json").read_text())
    else:
        document = json.loads((models / source / "model.json").read_text())
        for group in document["weightsManifest"]:
            group["paths"] = [f"../{source}/{path}" for path in group["paths"]]
    if lengths:
        document["userDefinedMetadata"]["kcsolver"]["lengths"] = sorted(lengths)
    document["userDefinedMetadata"]["kcsolver"]["name"] = name
    (target / "model.json").write_text(json.dumps(document, separators=(",", ":")))
    return target / "model.json"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("name")
    parser.add_argument("--from", dest="source", help="reuse the weights of this shipped solver")
    parser.add_argument("--lengths", help="allowed lengths, e.g. 2 or 5,6,7")
    parser.add_argument("--run", type=Path, help="the training run folder (default runs/NAME)")
    args = parser.parse_args(argv)
    lengths = [int(v) for v in args.lengths.split(",")] if args.lengths else None
    print(ship(args.name, args.source, lengths, args.run))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
