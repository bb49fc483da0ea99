"""The accuracy report of docs/accuracy.md: every built-in solver on every labelled folder.

    python -m kcsolver.accuracy ../shared/kcaptcha-real-dev/* /tmp/synth_*

Prints, as Markdown: full-string accuracy per solver x folder (and of the
automatic choice), how often a solver that cannot represent an image (symbols,
length or generation outside its own) refuses it or answers below 0.5, and how
often answers with confidence >= 0.9 are right; per folder, how the automatic
choice's answers split by confidence (filled at >= 0.9, doubtful, refused);
and for a folder written by `kcsolver synth --space` (each image a random
configuration, its settings in configs.csv) the automatic choice per setting
range. A folder's generation is 1.2.6 when its name says classic/126, else 2.x
(a --space folder's configs.csv gives it per image).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from .captcha.solver import BUILTIN, Solver
from .cli import labelled_files

CONFIDENT = 0.9
UNSURE = 0.5


def generation_of(folder: Path) -> str:
    return "1.2.6" if "classic" in folder.name or "126" in folder.name else "2.x"


def generations(folder: Path, count: int) -> list[str]:
    """Each image's generation: from configs.csv (a `synth --space` folder), else from the folder's name."""
    import csv

    if (folder / "configs.csv").is_file():
        with open(folder / "configs.csv", newline="") as handle:
            return [row["generation"] for row in csv.DictReader(handle)]
    return [generation_of(folder)] * count


def representable(solver: Solver, generation: str, label: str) -> bool:
    recipe = solver.solvers[solver.preset]
    return (set(label) <= set(recipe.answer_alphabet) and len(label) in recipe.lengths
            and recipe.generation in (None, generation))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m kcsolver.accuracy", description=__doc__.split("\n")[0])
    parser.add_argument("folders", nargs="+", type=Path)
    parser.add_argument("--model", default=None, help="a bundle's model.json (default: the built-in one)")
    parser.add_argument("--auto-only", action="store_true",
                        help="only the automatic choice (large synthetic sets: every preset reading them is slow)")
    args = parser.parse_args(argv)
    model = args.model or "auto"  # another bundle, e.g. a training run's export, has the same presets
    presets = [] if args.auto_only else [name for name in BUILTIN if name in Solver.load(model).solvers]
    names = ("auto", *presets)
    solvers = {name: Solver.load(model, preset=None if name == "auto" else name) for name in names}
    files = {folder: labelled_files(folder) for folder in args.folders}
    kinds = {folder: generations(folder, len(pairs)) for folder, pairs in files.items()}
    reads = {(name, folder): list(zip([label for _, label in pairs], solver.solve_batch([p for p, _ in pairs])))
             for name, solver in solvers.items() for folder, pairs in files.items()}

    def own(name, folder):  # (label, result) of the images a solver can represent (all of them for auto)
        return [(label, r) for (label, r), generation in zip(reads[(name, folder)], kinds[folder])
                if name == "auto" or representable(solvers[name], generation, label)]

    def outside(name, folder):
        return [r for (label, r), generation in zip(reads[(name, folder)], kinds[folder])
                if not representable(solvers[name], generation, label)]

    print("| solver | " + " | ".join(f"{f.name} ({len(files[f])})" for f in files) + " |")
    print("| --- |" + " ---: |" * len(files))
    for name in names:
        cells = []
        for folder in files:
            pairs = own(name, folder)
            if not pairs:
                cells.append("-")
                continue
            right = sum(r.text == label for label, r in pairs)
            refused = sum(not r.text for _, r in pairs)
            cells.append(f"{100 * right / len(pairs):.2f}%" + (f" ({refused} refused)" if refused else ""))
        print(f"| {name} | " + " | ".join(cells) + " |")
    mixed = [pair for folder in files for pair in reads[("auto", folder)]]
    print(f"\nautomatic choice, every folder mixed: {100 * sum(r.text == l for l, r in mixed) / len(mixed):.2f}% "
          f"of {len(mixed)}")
    print("\nThe automatic choice's answers by confidence, per folder:")
    for folder in files:
        print(f"- {folder.name}: {calibration(reads[('auto', folder)])}")
    for folder in files:
        if (folder / "configs.csv").is_file():
            print(f"\n{folder.name} (each image a random configuration), the automatic choice per setting range:\n")
            print("\n".join(space_bands(folder, reads[("auto", folder)])))

    print(f"\nOutside a solver's domain: refused or below {UNSURE}")
    for name in presets:
        rest = [r for folder in files for r in outside(name, folder)]
        caught = sum(not r.text or r.confidence < UNSURE for r in rest)
        print(f"- {name}: {caught}/{len(rest)} ({100 * caught / max(len(rest), 1):.2f}%)")

    confident = [(label, r) for name in presets for folder in files for label, r in own(name, folder)
                 if r.confidence >= CONFIDENT]
    confident += [(label, r) for label, r in mixed if r.confidence >= CONFIDENT]
    right = sum(r.text == label for label, r in confident)
    print(f"\nConfidence >= {CONFIDENT}: {right}/{len(confident)} right ({100 * right / max(len(confident), 1):.2f}%)")


def space_bands(folder: Path, pairs: list) -> list[str]:
    """Markdown rows, one per setting range of synth/space.py, for a folder `kcsolver synth --space` wrote
    (its configs.csv holds each image's settings): images, right, refused, and wrong at confidence >= 0.9."""
    import csv

    from .synth.render import CaptchaConfig
    from .synth.space import SPACE_BANDS

    with open(folder / "configs.csv", newline="") as handle:
        settings = {row["file"]: row for row in csv.DictReader(handle)}
    configs = []
    for (path, label), _ in zip(labelled_files(folder), pairs):
        row = settings[Path(path).name]
        configs.append(CaptchaConfig(generation=row["generation"], charset=row["charset"], width=int(row["width"]),
                                     height=int(row["height"]), credits=float(row["credits"]),
                                     fluctuation=float(row["fluctuation"]), black_noise=float(row["black_noise"]),
                                     colors=row["colors"], image_format=row["image_format"],
                                     jpeg_quality=int(row["jpeg_quality"])))
    rows = ["| setting range | images | right | refused | wrong at >= 0.9 |", "| --- | ---: | ---: | ---: | ---: |"]
    for band, test in SPACE_BANDS.items():
        chosen = [(label, r) for config, (label, r) in zip(configs, pairs) if test(config, label)]
        if chosen:
            rows.append(f"| {band} | {len(chosen)} | {100 * sum(r.text == l for l, r in chosen) / len(chosen):.2f}% | "
                        f"{sum(not r.text for _, r in chosen)} | "
                        f"{sum(bool(r.text) and r.text != l and r.confidence >= CONFIDENT for l, r in chosen)} |")
    return rows


def calibration(pairs: list) -> str:
    """How the automatic choice's answers split by confidence: right, wrong, refused."""
    answered = [(label, r) for label, r in pairs if r.text]
    confident = [(label, r) for label, r in answered if r.confidence >= CONFIDENT]
    doubtful = [(label, r) for label, r in answered if r.confidence < CONFIDENT]
    right = sum(r.text == label for label, r in confident)
    return (f"filled (confidence >= {CONFIDENT}): {len(confident)}, right {right} "
            f"({100 * right / max(len(confident), 1):.2f}%), wrong {len(confident) - right}; "
            f"doubtful (not filled): {len(doubtful)}, of which right {sum(r.text == l for l, r in doubtful)}; "
            f"refused: {len(pairs) - len(answered)}")


if __name__ == "__main__":
    main()
