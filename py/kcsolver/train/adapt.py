"""`kcsolver adapt FOLDER --out MODEL_DIR`: a solver for one site, fine-tuned on its labelled captchas.

For a site whose captchas the shipped solvers refuse or misread (its own font
strips, a drawing the generator lacks, settings far from the defaults):

1. read the folder (>= 200 labelled images: LABEL_anything.ext or labels.csv),
   check every file and label, and infer the site's symbols, lengths, canvas
   size, credits strip, colours, format and KCAPTCHA generation (the last from
   the shipped network's own reading);
2. keep a held-out share of the folder (default 20%) aside, and report the
   shipped solver's accuracy on it, restricted to the inferred symbols and lengths;
3. fine-tune the shipped network on the rest of the folder (re-framed a little
   each time) mixed with synthetic captchas of the inferred settings, drawn with
   the site's own font strips when `--fonts DIR` gives them (KCAPTCHA's strip
   format: the 36 symbols in a row, row 0 marking each glyph), else the stock ones;
4. write MODEL_DIR (model.json with the recipe, weight shards, SHA256SUMS) whose
   recipe answers with the site's symbols and lengths, and report its held-out
   accuracy. `kcsolver solve --model MODEL_DIR`, the page's custom model and the
   widget's `model="URL"` read it.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import KcsolverError

MIN_IMAGES = 200
SYMBOLS = "0123456789abcdefghijklmnopqrstuvwxyz"


@dataclass
class SiteSettings:
    """What the folder says about the site's KCAPTCHA configuration."""

    charset: str
    lengths: list
    width: int
    height: int           # the drawing area, without the credits strip
    credits: float        # share of images with the credits strip
    colors: dict          # CaptchaConfig colour fields
    image_format: str
    generation: str

    def describe(self) -> str:
        colours = self.colors["colors"] + (f" {self.colors['foreground']} on {self.colors['background']}"
                                           if self.colors["colors"] == "fixed" else "")
        return (f"KCAPTCHA {self.generation}, symbols {self.charset!r}, lengths {self.lengths[0]}-{self.lengths[-1]}, "
                f"{self.width}x{self.height}{' + credits' if self.credits else ''}, {colours}, {self.image_format}")

    def fixed(self, fonts: str | None) -> dict:
        """The settings pinned for the synthetic images (synth/space.py draws the rest: fluctuation, noise)."""
        fixed = dict(generation=self.generation, charset=self.charset, lengths=tuple(self.lengths),
                     width=self.width, height=self.height, credits=self.credits, image_format=self.image_format,
                     **self.colors)
        if self.image_format == "jpeg":
            fixed.pop("image_format")  # the quality is unknown: let the space draw PNG/GIF/JPEG at any quality
        if fonts:
            fixed["fonts"] = str(fonts)
        return fixed


def read_folder(folder: Path) -> tuple[list, list, list]:
    """(paths, RGB images, labels) of a labelled folder; a clear error for too few, unreadable or mislabelled."""
    from ..captcha import load_image
    from ..cli import labelled_files

    files = labelled_files(folder)
    if len(files) < MIN_IMAGES:
        raise KcsolverError(f"{folder}: {len(files)} labelled images; adapt needs at least {MIN_IMAGES} of one site "
                            "(named LABEL_anything.png/.jpg/.gif, or listed in labels.csv as file,label)")
    bad_labels = [(str(path), label) for path, label in files
                  if not label or label.lower() != label or any(c not in SYMBOLS for c in label)]
    if bad_labels:
        examples = ", ".join(f"{Path(p).name}: {label!r}" for p, label in bad_labels[:5])
        raise KcsolverError(f"{len(bad_labels)} labels are not KCAPTCHA answers (lower-case 0-9 and a-z, at least "
                            f"one symbol), e.g. {examples}; fix or remove those files")
    images = []
    for path, _label in files:
        try:
            images.append(load_image(path))
        except KcsolverError as exc:
            raise KcsolverError(f"{path}: unreadable ({exc}); remove it or replace it with the image file") from None
    return [path for path, _ in files], images, [label for _, label in files]


def infer_settings(images: list, labels: list, solver) -> SiteSettings:
    """The site's settings from its images and labels; the generation from the shipped network's reading."""
    from ..captcha.images import crop_credits

    charset = "".join(sorted(set("".join(labels)), key=SYMBOLS.index))
    lengths = sorted({len(label) for label in labels})
    lengths = list(range(lengths[0], lengths[-1] + 1))
    credited = [crop_credits(rgb).shape[0] < rgb.shape[0] for rgb in images]
    sizes = Counter((rgb.shape[1], rgb.shape[0] - 12 * c) for rgb, c in zip(images, credited))
    (width, height), _count = sizes.most_common(1)[0]
    backgrounds = np.array([np.median(rgb.reshape(-1, 3), axis=0) for rgb in images])
    inks = np.array([np.percentile(rgb.reshape(-1, 3), 1, axis=0) for rgb in images])
    if backgrounds.std(axis=0).max() > 6 or inks.std(axis=0).max() > 12:
        colors = {"colors": "random"}
    elif backgrounds.mean() > 245 and inks.mean() < 40:
        colors = {"colors": "bw"}
    else:
        colors = {"colors": "fixed", "foreground": tuple(int(v) for v in np.median(inks, axis=0)),
                  "background": tuple(int(v) for v in np.median(backgrounds, axis=0))}
    return SiteSettings(charset, lengths, int(width), int(height), float(np.mean(credited)), colors,
                        "png", infer_generation(images[:100], solver))


def infer_generation(images: list, solver) -> str:
    """The drawing style the network sees most ink of: its classes repeat the charset per generation."""
    recipe = solver.recipe
    if len(recipe.generations) < 2:
        return recipe.generations[0] if recipe.generations else "2.x"
    outputs = solver._predict(np.stack([solver.prepare(rgb) for rgb in images]))
    symbols = len(recipe.charset)
    mass = outputs[..., :-1].reshape(*outputs.shape[:-1], recipe.groups, symbols).sum(axis=(0, 1, 3))
    return recipe.generations[int(np.argmax(mass))]


def image_format(paths: list) -> str:
    suffixes = Counter(Path(p).suffix.lower() for p in paths)
    suffix = suffixes.most_common(1)[0][0]
    return {".jpg": "jpeg", ".jpeg": "jpeg", ".gif": "gif"}.get(suffix, "png")


def accuracy(solver, images: list, labels: list) -> float:
    results = solver.solve_batch(images)
    return sum(r.text == label for r, label in zip(results, labels)) / len(labels)


def adapt(folder: Path, out: Path, fonts: Path | None = None, base: str = "auto", steps: int = 3500,
          holdout: float = 0.2, seed: int = 0, charset: str | None = None, lengths: list | None = None,
          site_share: float = 0.4, lr: float = 7e-4, log=print) -> dict:
    """Fine-tune the shipped network for the site whose captchas are in `folder`; returns the report."""
    from ..captcha import Solver
    from ..captcha.solver import parse_alphabet
    from ..integrity import write_sums
    from ..model import load_model
    from . import loop
    from .mixture import Labelled, Mixture, Space

    folder, out = Path(folder), Path(out)
    if fonts is not None:
        from ..synth.strips import site_strips

        try:
            strips = site_strips(str(fonts))
        except ValueError as exc:
            raise KcsolverError(str(exc)) from None
        log(f"site fonts: {len(strips)} strips from {fonts}")
    paths, images, labels = read_folder(folder)
    shipped = Solver.load(base)
    settings = infer_settings(images, labels, shipped)
    settings.image_format = image_format(paths)
    if charset:
        settings.charset = parse_alphabet(charset)
    if lengths:
        settings.lengths = sorted(lengths)
    # a base network without some of the site's symbols grows classes for them (train.net.remap_classes)
    unknown = "".join(sorted(set(settings.charset) - set(shipped.recipe.charset), key=SYMBOLS.index))
    charset = shipped.recipe.charset + unknown
    log(f"{folder}: {len(images)} images; inferred {settings.describe()}")
    order = np.random.default_rng(seed).permutation(len(images))
    held = max(50, int(round(holdout * len(images))))
    test, train_rows = order[:held], order[held:]
    test_images, test_labels = [images[i] for i in test], [labels[i] for i in test]
    baseline = shipped if unknown else shipped.restrict(settings.charset, settings.lengths)
    before = accuracy(baseline, test_images, test_labels)
    log(f"held out {len(test)} images; the shipped solver ({base}"
        f"{'' if unknown else ', restricted to the site symbols and lengths'}) reads {before:.1%} of them")

    base_json = Path(Solver.resolve(base)[0])
    generations = tuple(shipped.recipe.generations or ("2.x",))
    site = Labelled(tuple(images[i] for i in train_rows), tuple(labels[i] for i in train_rows), settings.generation)
    synthetic = Space(fixed=settings.fixed(str(fonts) if fonts else None))
    mixture = Mixture("adapt", ((site, site_share), (synthetic, 1.0 - site_share)), 0.03, charset, generations, {})
    run = out.parent / f".{out.name}.run"
    exported = loop.train("adapt", run, steps=steps, lr=lr, seed=seed, init=base_json, hard_share=0.25,
                          mixture=mixture, log=log, checkpoint_every=max(steps, 1))
    out.mkdir(parents=True, exist_ok=True)
    for file in Path(exported).parent.iterdir():
        (out / file.name).write_bytes(file.read_bytes())
    document = json.loads((out / "model.json").read_text())
    recipe = document["userDefinedMetadata"]["kcsolver"]
    recipe.pop("presets", None)
    recipe.update(alphabet=settings.charset, lengths=settings.lengths, name=out.name)
    report = {"folder": folder.name, "images": len(images), "held_out": len(test), "settings": settings.describe(),
              "steps": steps, "before": before}
    after = accuracy(Solver(load_model(exported), Solver.find_recipe({"kcsolver": recipe}, str(out))),
                     test_images, test_labels)
    report["after"] = after
    recipe["adapted"] = report  # provenance: what it was made from and how well it read the held-out images
    (out / "model.json").write_text(json.dumps(document, separators=(",", ":")))
    write_sums(out)
    log(f"wrote {out}: held-out accuracy {before:.1%} -> {after:.1%} ({len(test)} images)")
    import shutil

    shutil.rmtree(run, ignore_errors=True)
    return report


def main(argv=None) -> int:
    import argparse

    from ..captcha.solver import parse_lengths

    parser = argparse.ArgumentParser(prog="kcsolver adapt", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", type=Path, help=f"at least {MIN_IMAGES} labelled captchas of one site")
    parser.add_argument("--out", type=Path, required=True, help="the model folder to write")
    parser.add_argument("--fonts", type=Path, help="the site's own KCAPTCHA font strips (a folder of PNG strips)")
    parser.add_argument("--base", default="auto", help="the network to start from (default: the shipped one)")
    parser.add_argument("--steps", type=int, default=3500, help="fine-tuning steps of 48 images (default 3500, ~8 min on 2 cores)")
    parser.add_argument("--holdout", type=float, default=0.2, help="share of the folder kept to measure (>= 50 images)")
    parser.add_argument("--charset", help="the site's symbols, when the labels do not show them all")
    parser.add_argument("--lengths", help="the site's lengths (e.g. 4-6), when the labels do not show them all")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    def log(message):
        print(message, flush=True, file=sys.stderr)

    adapt(args.folder, args.out, args.fonts, args.base, args.steps, args.holdout, args.seed, args.charset,
          parse_lengths(args.lengths) if args.lengths else None, log=log)
    return 0
