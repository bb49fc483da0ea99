"""Command line: `python -m kcsolver {solve,eval,predict,synth,train} ...` (also installed as `kcsolver`)."""

from __future__ import annotations

import argparse
import json
import sys
import time

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
