"""The accuracy report of docs/accuracy.md: every built-in solver on every labelled folder.

    python -m kcsolver.accuracy ../shared/kcaptcha-real-dev/* /tmp/synth_*

Prints, as Markdown: full-string accuracy per solver x folder (and of the
automatic choice), how often a solver that cannot represent an image (symbols,
length or generation outside its own) refuses it or answers below 0.5, and how
often answers with confidence >= 0.9 are right. A folder's generation is 1.2.6
when its name says classic/126, else 2.x.
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


def representable(solver: Solver, folder: Path, label: str) -> bool:
    recipe = solver.solvers[solver.preset]
    return (set(label) <= set(recipe.answer_alphabet) and len(label) in recipe.lengths
            and recipe.generation == generation_of(folder))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m kcsolver.accuracy", description=__doc__.split("\n")[0])
    parser.add_argument("folders", nargs="+", type=Path)
    parser.add_argument("--model", default=None, help="a bundle's model.json (default: the built-in one)")
    args = parser.parse_args(argv)
    names = ("auto", *BUILTIN)
    model = args.model or "auto"  # another bundle, e.g. a training run's export, has the same presets
    solvers = {name: Solver.load(model, preset=None if name == "auto" else name) for name in names}
    files = {folder: labelled_files(folder) for folder in args.folders}
    reads = {(name, folder): list(zip([label for _, label in pairs], solver.solve_batch([p for p, _ in pairs])))
             for name, solver in solvers.items() for folder, pairs in files.items()}

    print("| solver | " + " | ".join(f"{f.name} ({len(files[f])})" for f in files) + " |")
    print("| --- |" + " ---: |" * len(files))
    for name in names:
        cells = []
        for folder in files:
            pairs = [(label, r) for label, r in reads[(name, folder)]
                     if name == "auto" or representable(solvers[name], folder, label)]
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

    print(f"\nOutside a solver's domain: refused or below {UNSURE}")
    for name in BUILTIN:
        outside = [r for folder in files for label, r in reads[(name, folder)]
                   if not representable(solvers[name], folder, label)]
        caught = sum(not r.text or r.confidence < UNSURE for r in outside)
        print(f"- {name}: {caught}/{len(outside)} ({100 * caught / max(len(outside), 1):.2f}%)")

    confident = [(label, r) for name in BUILTIN for folder in files for label, r in reads[(name, folder)]
                 if representable(solvers[name], folder, label) and r.confidence >= CONFIDENT]
    confident += [(label, r) for label, r in mixed if r.confidence >= CONFIDENT]
    right = sum(r.text == label for label, r in confident)
    print(f"\nConfidence >= {CONFIDENT}: {right}/{len(confident)} right ({100 * right / max(len(confident), 1):.2f}%)")


if __name__ == "__main__":
    main()
