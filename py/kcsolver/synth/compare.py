"""How close is the generator? The same image statistics on a real folder and on generated images.

    python -m kcsolver.synth.compare [--real ../shared/kcaptcha-real-dev] [-n 200] [--configs stock20 classic]

prints a markdown table per configuration (real folder beside synthetic images of
its config, each statistic as mean and standard deviation over the images).
The statistics are chosen to catch what differs between deployments and between
a faithful and an unfaithful generator: canvas size and credits, colours, how
much ink and where, how thick the strokes are (hollow 2.x vs solid 1.2.6
glyphs) and how many isolated noise pixels there are. docs/solvers.md keeps a
run of it; the real folders are only measured, never trained on.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from .configs import CONFIGS, REAL_FOLDERS, REAL_FORMATS
from .render import CREDITS_HEIGHT, encode, render

STATISTICS = {
    "height": "image height (px)",
    "credits": "credits strip present",
    "background": "background grey level",
    "colourfulness": "background colour spread (max-min channel)",
    "ink": "ink pixels (% of drawing area)",
    "text_width": "text width (px, 98% of the ink)",
    "text_height": "text height (px, 98% of the ink)",
    "solid": "solid ink (% of ink pixels with 4 ink neighbours)",
    "specks": "isolated ink pixels (per image)",
}


def has_credits(rgb: np.ndarray) -> bool:
    """A solid bar darker than the canvas across the bottom 12 rows."""
    if rgb.shape[0] < 40:
        return False
    grey = rgb.astype(np.float32).mean(axis=2)
    return bool((grey[-CREDITS_HEIGHT:] < np.median(grey[:-CREDITS_HEIGHT]) - 60).mean() > 0.6)


def _span(profile: np.ndarray, share: float = 0.98) -> int:
    total = profile.sum()
    if total <= 0:
        return 0
    cumulative = np.cumsum(profile) / total
    tail = (1 - share) / 2
    return int(np.searchsorted(cumulative, 1 - tail) - np.searchsorted(cumulative, tail) + 1)


def image_statistics(rgb: np.ndarray) -> dict:
    credits = has_credits(rgb)
    area = rgb[:-CREDITS_HEIGHT] if credits else rgb
    grey = area.astype(np.float32).mean(axis=2)
    background = float(np.median(grey))
    darkest = float(np.percentile(grey, 0.5))
    ink = grey < (background + darkest) / 2
    neighbours = np.zeros(ink.shape, np.int32)
    padded = np.pad(ink, 1)
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            if dy or dx:
                neighbours += padded[1 + dy:1 + dy + ink.shape[0], 1 + dx:1 + dx + ink.shape[1]]
    four = padded[:-2, 1:-1] & padded[2:, 1:-1] & padded[1:-1, :-2] & padded[1:-1, 2:]
    back_pixels = area[grey > background - 10].reshape(-1, 3).astype(np.float32)
    spread = float(np.median(back_pixels.max(axis=1) - back_pixels.min(axis=1))) if len(back_pixels) else 0.0
    return {
        "height": rgb.shape[0],
        "credits": float(credits),
        "background": background,
        "colourfulness": spread,
        "ink": 100 * float(ink.mean()),
        "text_width": _span(ink.sum(axis=0).astype(np.float64)),
        "text_height": _span(ink.sum(axis=1).astype(np.float64)),
        "solid": 100 * float((ink & four).sum() / max(ink.sum(), 1)),
        "specks": float((ink & (neighbours == 0)).sum()),
    }


def folder_statistics(images) -> dict:
    rows = [image_statistics(image) for image in images]
    return {key: (float(np.mean([r[key] for r in rows])), float(np.std([r[key] for r in rows]))) for key in STATISTICS}


def real_images(folder: Path, limit: int):
    from ..captcha.images import load_image

    files = sorted(p for p in Path(folder).iterdir() if p.suffix.lower() in (".png", ".jpg", ".jpeg"))[:limit]
    return [load_image(path) for path in files]


def synthetic_images(name: str, n: int, seed: int = 0):
    """n images of a config as its real folder stores them (encoded, then decoded)."""
    from ..captcha.images import load_image

    config = CONFIGS[name].with_overrides(image_format=REAL_FORMATS.get(name))
    rng = np.random.default_rng(seed)
    return [load_image(encode(render(config, rng)[0], config)) for _ in range(n)]


def comparison_table(name: str, real_folder: Path, n: int = 200) -> str:
    real = folder_statistics(real_images(real_folder, n))
    synthetic = folder_statistics(synthetic_images(name, n))
    lines = [f"**{name}** (real: `{real_folder.name}`, {n} images each)", "",
             "| statistic | real | synthetic |", "| --- | ---: | ---: |"]
    for key, label in STATISTICS.items():
        (rm, rs), (sm, ss) = real[key], synthetic[key]
        lines.append(f"| {label} | {rm:.1f} ± {rs:.1f} | {sm:.1f} ± {ss:.1f} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--real", type=Path, default=Path(__file__).resolve().parents[3].parent / "shared" / "kcaptcha-real-dev",
                        help="folder holding the real development folders")
    parser.add_argument("-n", type=int, default=200, help="images per side")
    parser.add_argument("--configs", nargs="*", default=list(REAL_FOLDERS), choices=list(REAL_FOLDERS))
    args = parser.parse_args(argv)
    for name in args.configs:
        print(comparison_table(name, args.real / REAL_FOLDERS[name], args.n))
        print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
