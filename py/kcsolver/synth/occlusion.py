"""How KCAPTCHA's "no spaces" packing covers and interleaves glyphs, and which misreads that explains.

    python -m kcsolver.synth.occlusion --config classic -n 3000 --seed 90210 [--eval REPORT.json]

KCAPTCHA pastes every glyph after the first as far left as its touching test
allows, and the test scans only a band of rows (1.2.6: rows 7 to h-21 of a
50 px strip, at most 12 px to the left), so ink outside the band can land on a
neighbour's. Ink on ink stays ink: the part of a glyph under a neighbour is
lost. A glyph's *visibility* is the share of its ink pixels (GD alpha below 64,
more than half opaque) that no other glyph of the image covers, on the text
canvas before the wave. A glyph's *interleaving* is the share of its ink
columns where another glyph has ink too: glyphs side by side share none, a
small `v` tucked between `e` and `s` shares nearly all, and a reader that emits
one symbol per few columns must then tell two apart in the same columns.

The command replays `kcsolver synth` for a configuration and seed (the same
images, byte for byte), prints how the least visible and the most interleaved
glyph per image are distributed and, given `kcsolver eval --errors --json` on
that folder, where the misreads fall.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import numpy as np

from .configs import get_config
from .render import Style, render

INK_BELOW = 64                       # GD alpha (0 opaque .. 127 transparent) counted as ink
BUCKETS = (0.0, 0.3, 0.5, 0.7, 0.9, 1.01)


def glyph_masks(style: Style) -> list[np.ndarray]:
    """Each pasted glyph's ink on the text canvas (in text order)."""
    masks = []
    for symbol, x, y in style.placements:
        glyph = style.strip.glyph(symbol) < INK_BELOW
        mask = np.zeros((style.height, style.width), bool)
        rows, cols = glyph.shape
        y0, x0, y1, x1 = max(y, 0), max(x, 0), min(y + rows, style.height), min(x + cols, style.width)
        if y1 > y0 and x1 > x0:
            mask[y0:y1, x0:x1] = glyph[y0 - y:y1 - y, x0 - x:x1 - x]
        masks.append(mask)
    return masks


def glyph_visibility(style: Style) -> list[float]:
    """Per glyph: the share of its ink on the canvas that no other glyph covers."""
    masks = glyph_masks(style)
    coverage = np.sum(masks, axis=0) if masks else np.zeros((style.height, style.width))
    shares = []
    for mask in masks:
        ink = mask.sum()
        shares.append(float((mask & (coverage == 1)).sum() / ink) if ink else 0.0)
    return shares


def glyph_interleaving(style: Style) -> list[float]:
    """Per glyph: the share of its ink columns in which another glyph has ink as well."""
    columns = [mask.any(axis=0) for mask in glyph_masks(style)]
    inked = np.sum(columns, axis=0) if columns else np.zeros(style.width)
    return [float((own & (inked > 1)).sum() / own.sum()) if own.any() else 0.0 for own in columns]


def replay(config_name: str, n: int, seed: int) -> list[tuple[str, list[float], list[float]]]:
    """(label, visibilities, interleavings) per image `kcsolver synth --config NAME -n N --seed SEED` writes."""
    config = get_config(config_name)
    rng = np.random.default_rng(seed)  # as synth.write_dataset draws them
    out = []
    for _index in range(n):
        _image, label, style = render(config, rng)
        out.append((label, glyph_visibility(style), glyph_interleaving(style)))
    return out


def bucket_of(value: float) -> int:
    return next(i for i in range(len(BUCKETS) - 1) if value < BUCKETS[i + 1])


def table(title: str, values: list[float], misread: list[float] | None) -> list[str]:
    """Images (and misreads) per bucket of one per-image measure."""
    counts = np.bincount([bucket_of(v) for v in values], minlength=len(BUCKETS) - 1)
    wrong = np.bincount([bucket_of(v) for v in misread or []], minlength=len(BUCKETS) - 1)
    extra = misread is not None
    rows = [f"{title} | images | share" + (" | misread | error rate" if extra else ""),
            "--- | ---: | ---:" + (" | ---: | ---:" if extra else "")]
    for i, count in enumerate(counts):
        row = f"{BUCKETS[i]:.1f}-{min(BUCKETS[i + 1], 1.0):.1f} | {count} | {count / len(values):.2%}"
        if extra:
            row += f" | {wrong[i]} | {wrong[i] / count:.2%}" if count else " | 0 | -"
        rows.append(row)
    return rows + [""]


def report(images: list[tuple[str, list[float], list[float]]], errors: list[dict] | None) -> str:
    """Two tables (least visible glyph, most interleaved glyph per image), then each misread's glyphs."""
    lines, wrong = [], []
    for error in errors or []:
        index = int(re.search(r"_(\d+)\.\w+$", error["file"]).group(1))
        label, visible, interleaved = images[index]
        if label != error["label"]:
            raise ValueError(f"{error['file']}: the replayed image {index} is {label!r}; "
                             "were --config, -n and --seed those of the folder?")
        wrong.append(images[index])
        read = "refused" if error.get("reason") else f"{error['read']!r} ({error['confidence']:.3f})"
        lines.append(f"  {label!r} read {read}: visible " + " ".join(f"{v:.2f}" for v in visible)
                     + ", interleaved " + " ".join(f"{v:.2f}" for v in interleaved))
    misread = errors is not None
    return "\n".join(
        table("least visible glyph", [min(v) for _, v, _ in images], [min(v) for _, v, _ in wrong] if misread else None)
        + table("most interleaved glyph", [max(v) for _, _, v in images],
                [max(v) for _, _, v in wrong] if misread else None)
        + lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kcsolver.synth.occlusion", description=__doc__.split("\n")[0])
    parser.add_argument("--config", required=True, help="the generator configuration the folder was made with")
    parser.add_argument("-n", type=int, required=True, help="images in the folder")
    parser.add_argument("--seed", type=int, required=True, help="the folder's --seed")
    parser.add_argument("--eval", type=Path, help="`kcsolver eval FOLDER --errors --json` output for that folder")
    args = parser.parse_args(argv)
    errors = json.loads(args.eval.read_text())["errors"] if args.eval else None
    print(report(replay(args.config, args.n, args.seed), errors))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
