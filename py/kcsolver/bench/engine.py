"""CPython latency of the engine: every shared fixture and a DenseNet121-sized graph.

    python -m kcsolver.bench.engine [--repeat 20] [--fixtures ../shared/fixtures/tfjs]

Prints a markdown table (median / min over repeats, batch of 1, after warm-up).
A benchmark, not a test: it asserts nothing about speed.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from ..model import load_model
from .densenet import build_densenet121


def time_model(model, x, repeat: int) -> tuple[float, float]:
    model.predict(x)  # warm-up
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        model.predict(x)
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples), min(samples)


def rows(fixtures: Path, repeat: int):
    for folder in sorted(p for p in fixtures.iterdir() if p.is_dir()):
        x = np.load(folder / "input.npy")[:1]
        for variant in sorted(p.name for p in folder.iterdir() if (p / "model.json").exists()):
            start = time.perf_counter()
            model = load_model(folder / variant / "model.json")
            load_ms = (time.perf_counter() - start) * 1000
            median, best = time_model(model, x, repeat)
            yield f"{folder.name}/{variant}", load_ms, median, best, len(model.plan.steps)
    with tempfile.TemporaryDirectory() as tmp:
        path = build_densenet121(Path(tmp) / "densenet121")
        size = sum(f.stat().st_size for f in path.parent.iterdir())
        start = time.perf_counter()
        model = load_model(path)
        load_ms = (time.perf_counter() - start) * 1000
        median, best = time_model(model, np.random.default_rng(0).random((1, 60, 160, 3), np.float32),
                                  max(3, repeat // 4))
        yield f"densenet121 60x160 ({size / 1e6:.1f} MB)", load_ms, median, best, len(model.plan.steps)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--fixtures", type=Path, default=Path(__file__).resolve().parents[3].parent / "shared" / "fixtures" / "tfjs")
    args = parser.parse_args(argv)
    print(f"CPython {platform.python_version()}, NumPy {np.__version__}, {platform.processor() or platform.machine()}")
    print("| model | load ms | predict median ms | min ms | steps |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for name, load_ms, median, best, steps in rows(args.fixtures, args.repeat):
        print(f"| {name} | {load_ms:.1f} | {median:.2f} | {best:.2f} | {steps} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
