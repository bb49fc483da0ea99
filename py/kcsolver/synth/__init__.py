"""KCAPTCHA image generator on the real font strips: `render` one image, `write_dataset` a labelled folder.

    python -m kcsolver synth --config stock23 -n 1000 OUT

Modules: `strips` (the real KCAPTCHA font strips), `lookalike` (system fonts as strips, for variety),
`render` (the drawing algorithm of both generations), `configs` (the deployments the solvers read),
`compare` (statistics of generated images beside real ones).
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from .configs import CONFIGS, get_config
from .render import GENERATIONS, CaptchaConfig, encode, render, roundtrip

__all__ = ["CONFIGS", "GENERATIONS", "CaptchaConfig", "get_config", "render", "encode", "roundtrip", "write_dataset"]


def write_dataset(out: Path, config: CaptchaConfig, n: int, seed: int = 0) -> list[tuple[str, str]]:
    """Write n images named LABEL_INDEX.ext plus labels.csv; the same seed gives the same bytes."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    ext = "jpg" if config.image_format == "jpeg" else "png"  # jpeg-in-png too
    rows = []
    for index in range(n):
        image, label, _style = render(config, rng)
        name = f"{label}_{index:05d}.{ext}"
        (out / name).write_bytes(encode(image, config))
        rows.append((name, label))
    with open(out / "labels.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["file", "label"])
        writer.writerows(rows)
    return rows
