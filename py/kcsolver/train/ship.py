"""Ship a trained run as a built-in bundle of the site (site/models/<name>/).

    python -m kcsolver.train.ship kcaptcha --run runs/kcaptcha     # runs/kcaptcha/model -> site/models/kcaptcha

The shipped `kcaptcha` bundle is one network whose recipe holds every built-in
solver as a preset (l2_digits, digits, stock23, classic); the wheel for Python
users carries site/models/ as kcsolver.models, build.py copies it into the site.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

from ..integrity import write_sums

ROOT = Path(__file__).resolve().parents[3]


def ship(name: str, run: Path | None = None, models: Path = ROOT / "site" / "models") -> Path:
    built = (run or ROOT / "runs" / name) / "model"
    if not (built / "model.json").exists():
        raise SystemExit(f"{built}/model.json not found: train first (python -m kcsolver train --config {name})")
    target = models / name
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    for file in built.iterdir():
        shutil.copy2(file, target / file.name)
    document = json.loads((target / "model.json").read_text())
    document["userDefinedMetadata"]["kcsolver"]["name"] = name
    (target / "model.json").write_text(json.dumps(document, separators=(",", ":")))
    write_sums(target)  # build.py and `kcsolver verify` check the folder against these
    return target / "model.json"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("name")
    parser.add_argument("--run", type=Path, help="the training run folder (default runs/NAME)")
    args = parser.parse_args(argv)
    print(ship(args.name, args.run))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
