"""KCAPTCHA image generator on the real font strips: `render` one image, `write_dataset` a labelled folder.

    python -m kcsolver synth --config stock23 -n 1000 OUT

Modules: `strips` (the real KCAPTCHA font strips), `lookalike` (system fonts as strips, for variety),
`render` (the drawing algorithm of both generations), `configs` (the deployments the solvers read),
`space` (every configuration a site can set, as a distribution),
`compare` (statistics of generated images beside real ones).
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from .configs import CONFIGS, get_config
from .render import GENERATIONS, CaptchaConfig, encode, render, roundtrip

__all__ = ["CONFIGS", "GENERATIONS", "CaptchaConfig", "get_config", "render", "encode", "roundtrip", "write_dataset",
           "write_space_dataset"]


def write_dataset(out: Path, config: CaptchaConfig, n: int, seed: int = 0) -> list[tuple[str, str]]:
    """Write n images named LABEL_INDEX.ext plus labels.csv; the same seed gives the same bytes."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    ext = {"jpeg": "jpg", "gif": "gif"}.get(config.image_format, "png")  # jpeg-in-png too
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


SPACE_COLUMNS = ("generation", "charset", "lengths", "width", "height", "credits", "fluctuation", "white_noise",
                 "black_noise", "colors", "image_format", "jpeg_quality")


def write_space_dataset(out: Path, n: int, seed: int = 0, **fixed) -> list[tuple[str, str]]:
    """n images, each of a configuration drawn from the whole space (synth/space.py; `fixed` pins settings),
    named LABEL_INDEX.ext, with labels.csv and configs.csv (each image's settings, for per-range reports)."""
    from .space import random_config

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    rows, settings, misses = [], [], 0
    while len(rows) < n:
        config = random_config(rng, **fixed)
        try:
            image, label, style = render(config, rng)
        except ValueError:  # strings of this configuration never fit its canvas: draw another one
            misses += 1
            if misses > 200:
                raise ValueError(f"the settings {fixed} leave no configuration whose text fits its canvas") from None
            continue
        ext = {"jpeg": "jpg", "gif": "gif"}.get(config.image_format, "png")
        name = f"{label}_{len(rows):05d}.{ext}"
        (out / name).write_bytes(encode(image, config))
        rows.append((name, label))
        values = {column: getattr(config, column) for column in SPACE_COLUMNS}
        values.update(charset=config.charset, lengths=f"{min(config.lengths)}-{max(config.lengths)}",
                      credits=int(style.credits))
        settings.append({"file": name, **values})
    with open(out / "labels.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["file", "label"])
        writer.writerows(rows)
    with open(out / "configs.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, ["file", *SPACE_COLUMNS])
        writer.writeheader()
        writer.writerows(settings)
    return rows
