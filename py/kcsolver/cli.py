"""Command line: `python -m kcsolver {solve,eval,predict,synth,train,adapt,...} ...` (also installed as `kcsolver`)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter

import numpy as np

from .errors import KcsolverError

COMMANDS = {}


def command(name, help_text):
    def register(fn):
        COMMANDS[name] = (fn, help_text)
        return fn

    return register


@command("predict", "raw inference: run MODEL_JSON on INPUT.npy and save OUTPUT.npy")
def predict(parser, argv):
    parser.add_argument("model_json", help="path or URL of a TF.js model.json")
    parser.add_argument("input", help=".npy file with a float32 NHWC batch (or .npz with one array per input)")
    parser.add_argument("output", help=".npy file to write (.npz when the model has several outputs)")
    parser.add_argument("--backend", default="numpy", choices=["numpy"])
    args = parser.parse_args(argv)
    from .model import load_model

    model = load_model(args.model_json, backend=args.backend)
    loaded = np.load(args.input, allow_pickle=False)
    x = dict(loaded) if isinstance(loaded, np.lib.npyio.NpzFile) else loaded
    start = time.perf_counter()
    y = model.predict(x)
    ms = (time.perf_counter() - start) * 1000
    if isinstance(y, list):
        np.savez(args.output, **{name: value for name, value in zip(model.output_names, y)})
        shapes = [v.shape for v in y]
    else:
        np.save(args.output, y)
        shapes = [y.shape]
    print(f"{args.output}: outputs {shapes} in {ms:.1f} ms ({model.format}, {args.backend})", file=sys.stderr)
    return 0


MODEL_HELP = ("solver: auto (the default: chosen per image, as the page does), a built-in one "
              "(l2_digits, digits, stock23, classic, any) or a model folder/model.json path or URL")


def add_site_options(parser) -> None:
    parser.add_argument("--charset", help="your site's symbols (e.g. 0-9, or 23456789abcdegikpqsvxyz): answers use "
                        "only these, captchas needing others are refused")
    parser.add_argument("--lengths", help="your site's lengths, e.g. 4-6 or 5,7: answers have one of these")


def load_solver(args):
    """The solver the options name, restricted to the site's symbols and lengths when given."""
    from .captcha import Solver
    from .captcha.solver import parse_lengths

    solver = Solver.load(args.model)
    if args.charset or args.lengths:
        solver = solver.restrict(args.charset, parse_lengths(args.lengths) if args.lengths else None)
    return solver


@command("solve", "read captcha images and print their text")
def solve(parser, argv):
    parser.add_argument("images", nargs="+", help="image files (PNG, JPEG, GIF, BMP, WEBP)")
    parser.add_argument("--model", default="auto", help=MODEL_HELP)
    parser.add_argument("--json", action="store_true",
                        help="print one JSON object per image: text, confidence, chars, solver (and reason when "
                             "there is no answer, with text empty)")
    add_site_options(parser)
    args = parser.parse_args(argv)
    solver = load_solver(args)
    failures = 0
    for path in args.images:
        try:
            result = solver.solve(path)
        except KcsolverError as exc:
            failures += 1
            print(json.dumps({"file": path, "error": str(exc)}) if args.json else f"{path}\terror: {exc}")
            continue
        if args.json:
            print(json.dumps({"file": path, **result.to_dict()}))
        elif result.reason:
            print(f"{path}\t\t0.000\t{result.solver}\tno answer: {result.reason}")
        else:
            print(f"{path}\t{result.text}\t{result.confidence:.3f}\t{result.solver}")
    return 1 if failures else 0


def labelled_files(folder):
    """(path, label) pairs from labels.csv, or from names LABEL_anything.ext."""
    import csv
    from pathlib import Path

    folder = Path(folder)
    if not folder.is_dir():
        raise KcsolverError(f"{folder}: not a directory")
    table = folder / "labels.csv"
    if table.exists():
        with open(table, newline="") as handle:
            return [(folder / row["file"], row["label"]) for row in csv.DictReader(handle)]
    images = [p for p in sorted(folder.iterdir()) if p.suffix.lower() in (".png", ".jpg", ".jpeg", ".gif", ".bmp", ".webp")]
    return [(p, p.stem.split("_")[0]) for p in images]


@command("eval", "accuracy of a solver on a folder of labelled images")
def evaluate(parser, argv):
    parser.add_argument("folder", help="images named LABEL_anything.ext, or with a labels.csv (file,label)")
    parser.add_argument("--model", default="auto", help=MODEL_HELP)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--errors", action="store_true", help="list the misread and refused files")
    add_site_options(parser)
    args = parser.parse_args(argv)
    files = labelled_files(args.folder)
    if not files:
        raise KcsolverError(f"{args.folder}: no labelled images found")
    solver = load_solver(args)
    start = time.perf_counter()
    results = solver.solve_batch([path for path, _ in files])
    elapsed = time.perf_counter() - start
    wrong = [(str(path), label, r) for (path, label), r in zip(files, results) if r.text != label]
    report = {"model": args.model, "folder": str(args.folder), "n": len(files),
              "correct": len(files) - len(wrong), "accuracy": (len(files) - len(wrong)) / len(files),
              "refused": sum(r.reason is not None for r in results),
              "solvers": dict(sorted(Counter(r.solver for r in results).items())),
              "ms_per_image": elapsed * 1000 / len(files)}
    if args.errors:
        report["errors"] = [{"file": f, "label": label, "read": r.text, "confidence": r.confidence, "solver": r.solver,
                             **({"reason": r.reason} if r.reason else {})} for f, label, r in wrong]
    if args.json:
        emit_json(report)
    else:
        print(f"{report['accuracy'] * 100:.2f}% ({report['correct']}/{report['n']}) full-string accuracy, "
              f"{report['refused']} refused, {report['ms_per_image']:.2f} ms/image, model {args.model} "
              f"(solvers used: {', '.join(f'{k} {v}' for k, v in report['solvers'].items())})")
        for f, label, r in wrong if args.errors else []:
            read = f"refused ({r.reason})" if r.reason else f"read as {r.text!r} ({r.confidence:.3f}, {r.solver})"
            print(f"  {f}: {label!r} {read}")
    return 0


@command("synth", "generate labelled KCAPTCHA-style images")
def synth(parser, argv):
    from pathlib import Path

    from .synth import CONFIGS, get_config, write_dataset

    parser.add_argument("out", type=Path, help="output folder (LABEL_INDEX.ext + labels.csv)")
    parser.add_argument("--config", default="l2_digits", choices=sorted(CONFIGS),
                        help="a shipped configuration (see docs/solvers.md); the options below override it")
    parser.add_argument("-n", type=int, default=100, help="number of images")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--charset", help="override the symbols")
    parser.add_argument("--lengths", help="allowed lengths, e.g. 4-6 or 5,7")
    parser.add_argument("--width", type=int)
    parser.add_argument("--height", type=int, help="drawing height, without credits")
    parser.add_argument("--credits", choices=["on", "off"])
    parser.add_argument("--generation", choices=["2.x", "1.2.6"], help="KCAPTCHA's drawing: fonts, placement, noise")
    parser.add_argument("--fluctuation", type=float, help="vertical fluctuation amplitude in px")
    parser.add_argument("--black-noise", type=float, help="black noise factor (1/30 stock, 1/20 demo)")
    parser.add_argument("--white-noise", type=float, help="white noise factor (1/6)")
    parser.add_argument("--colors", choices=["bw", "random", "fixed"],
                        help="black on white, the generation's random ranges, or fixed (--foreground/--background)")
    parser.add_argument("--foreground", help="fixed text colour R,G,B (implies --colors fixed)")
    parser.add_argument("--background", help="fixed background colour R,G,B (implies --colors fixed)")
    parser.add_argument("--format", dest="image_format", choices=["png", "gif", "jpeg", "jpeg-in-png"])
    parser.add_argument("--jpeg-quality", type=int, help="JPEG quality (GD: 4:4:4 chroma from 90, 4:2:0 below)")
    parser.add_argument("--fonts", type=Path, help="a folder of KCAPTCHA font strips (PNG) to draw with instead of "
                        "the stock ones")
    parser.add_argument("--space", action="store_true",
                        help="draw each image from a random configuration of the whole space a site can set "
                             "(synth/space.py); the options above pin parts of it")
    parser.add_argument("--lookalike", type=float, help="share of images drawn with look-alike system faces (0-1)")
    args = parser.parse_args(argv)

    def rgb(text):
        try:
            values = tuple(int(v) for v in text.split(","))
        except ValueError:
            values = ()
        if len(values) != 3 or not all(0 <= v <= 255 for v in values):
            raise KcsolverError(f"colour {text!r}: give R,G,B with each 0-255, e.g. 20,40,160")
        return values
    from .captcha.solver import parse_lengths

    lengths = tuple(parse_lengths(args.lengths)) if args.lengths else None
    overrides = dict(charset=args.charset, lengths=lengths, width=args.width, height=args.height,
                     credits=None if args.credits is None else float(args.credits == "on"),
                     fluctuation=args.fluctuation, black_noise=args.black_noise, white_noise=args.white_noise,
                     colors=args.colors, image_format=args.image_format, generation=args.generation,
                     lookalike=args.lookalike, jpeg_quality=args.jpeg_quality,
                     fonts=str(args.fonts) if args.fonts else None,
                     foreground=rgb(args.foreground) if args.foreground else None,
                     background=rgb(args.background) if args.background else None)
    if args.foreground or args.background:
        overrides["colors"] = "fixed"
    if args.n < 1:
        raise KcsolverError("-n must be at least 1")
    if args.space:
        from .synth import write_space_dataset

        rows = write_space_dataset(args.out, args.n, args.seed, **{k: v for k, v in overrides.items() if v is not None})
        print(f"wrote {len(rows)} images of random configurations to {args.out} (seed {args.seed}; settings in "
              "configs.csv)", file=sys.stderr)
        return 0
    config = get_config(args.config)
    if any(v is not None for k, v in overrides.items() if k in ("width", "height", "credits", "fluctuation", "black_noise")):
        config = config.with_overrides(geometries=())  # explicit geometry replaces the config's mix
    config = config.with_overrides(**overrides)
    rows = write_dataset(args.out, config, args.n, args.seed)
    print(f"wrote {len(rows)} images to {args.out} ({config.name}, seed {args.seed})", file=sys.stderr)
    return 0


@command("verify", "check a model folder (or every model of a built site) against its sha256 digests, then load it")
def verify(parser, argv):
    from pathlib import Path

    from .integrity import SUMS, read_sums, site_models, verify_folder
    from .model import load_model

    parser.add_argument("path", type=Path, help=f"a model folder with a {SUMS} file, or a built site (dist/)")
    parser.add_argument("--digests", type=Path, help=f"the {SUMS} file to check against (default: the folder's own)")
    args = parser.parse_args(argv)
    if (args.path / "runtime.json").is_file():
        folders = {args.path / "models" / name: digests for name, digests in site_models(args.path).items()}
    else:
        folders = {args.path: read_sums(args.digests or args.path)}
    failed = 0
    for folder, digests in folders.items():
        problems = verify_folder(folder, digests)
        if not problems:
            try:
                model = load_model(folder / "model.json", digests=digests)
            except KcsolverError as exc:
                problems = [f"{folder}: the digests match but the model does not load: {exc}"]
            else:
                print(f"{folder}: OK ({len(digests)} files, {model.format}, {len(model.plan.steps)} steps)")
        for problem in problems:
            print(f"{problem}", file=sys.stderr)
        failed += bool(problems)
    return 1 if failed else 0


@command("train", "train a solver on fresh synthetic images (needs the train extra: PyTorch)")
def train(parser, argv):
    try:
        import torch  # noqa: F401  (only checks that the train extra is installed)
    except ImportError:
        raise KcsolverError("training needs PyTorch: pip install -e '.[train]' (torch==2.13.0, CPU)") from None
    from .train.loop import main as train_main

    return train_main(argv)


@command("adapt", "fine-tune the shipped solver on a folder of one site's labelled captchas (needs PyTorch)")
def adapt(parser, argv):
    try:
        import torch  # noqa: F401  (only checks that the train extra is installed)
    except ImportError:
        raise KcsolverError("adapt trains a network and needs PyTorch: pip install -e '.[train]' (torch==2.13.0, "
                            "CPU)") from None
    from .train.adapt import main as adapt_main

    return adapt_main(argv)


@command("font-strip", "render a TTF/OTF font into a KCAPTCHA font strip (PNG), e.g. to test `adapt --fonts`")
def font_strip(parser, argv):
    from pathlib import Path

    from PIL import Image

    from .synth.lookalike import lookalike_strip
    from .synth.strips import strip_rgba

    parser.add_argument("font", type=Path, help="a TrueType or OpenType font file")
    parser.add_argument("out", type=Path, help="the strip PNG to write")
    parser.add_argument("--style", choices=["v2", "v1"], default="v2",
                        help="v2: hollow glyphs on a 70 px strip (KCAPTCHA 2.x); v1: solid, 50 px (1.2.6)")
    parser.add_argument("--squeeze", type=float, default=0.8, help="glyph width factor (default 0.8)")
    args = parser.parse_args(argv)
    if not args.font.is_file():
        raise KcsolverError(f"{args.font}: no such font file")
    try:
        strip = lookalike_strip(str(args.font), args.style, 1.0, args.squeeze, 2 if args.style == "v2" else 0)
    except OSError as exc:
        raise KcsolverError(f"{args.font}: not a font Pillow can read ({exc})") from None
    args.out.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(strip_rgba(strip), "RGBA").save(args.out)
    print(f"wrote {args.out} ({strip.alpha.shape[1] - 2} x {strip.height + 1} px)", file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    top = argparse.ArgumentParser(prog="kcsolver", description="KCAPTCHA solver and TF.js model engine on NumPy")
    top.add_argument("command", choices=sorted(COMMANDS), help="; ".join(f"{k}: {v[1]}" for k, v in sorted(COMMANDS.items())))
    if not argv or argv[0] in ("-h", "--help"):
        top.print_help()
        return 0 if argv else 2
    name = argv[0]
    if name not in COMMANDS:
        top.error(f"unknown command {name!r}; choose from {', '.join(sorted(COMMANDS))}")
    fn, help_text = COMMANDS[name]
    parser = argparse.ArgumentParser(prog=f"kcsolver {name}", description=help_text)
    try:
        return fn(parser, argv[1:])
    except (KcsolverError, OSError, ValueError) as exc:
        print(f"kcsolver {name}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def emit_json(value) -> None:
    print(json.dumps(value, indent=1))
