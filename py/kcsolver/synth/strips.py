"""Font strips: the glyph bitmaps KCAPTCHA pastes, in GD's terms.

A strip is what a KCAPTCHA font file holds: the 36 symbols side by side,
black with an alpha channel, and per symbol its column range. We keep the
alpha in GD's 7-bit scale (0 = opaque ink, 127 = transparent), because the
drawing arithmetic KCAPTCHA relies on (alpha blending, its "is this pixel
dark" test) is done in that scale.

`real_strips("v2")` loads the real strips of KCAPTCHA 2.x (3 hollow bold
faces), `real_strips("v1")` those of 1.2.6 (22 solid faces); both ship in
`kcaptcha_fonts/` with their licence notice. `lookalike.py` renders free
system fonts into the same form, for variety.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"  # the order of the symbols in every strip
FONT_DIR = Path(__file__).parent / "kcaptcha_fonts"
GD_TRANSPARENT = 127


@dataclass(frozen=True)
class FontStrip:
    """One face: GD alpha of the glyph rows (strip rows 1..), and each symbol's [start, end) columns.

    `alpha` keeps one extra column on each side of the strip's own (transparent), so the column before a
    glyph's start, which KCAPTCHA's touching test scans, always exists."""

    name: str
    alpha: np.ndarray           # (height, width + 2) int16, GD alpha: 0 ink .. 127 transparent
    extents: dict               # symbol -> (start, end), in `alpha` columns

    @property
    def height(self) -> int:
        """KCAPTCHA's `fontfile_height`: the strip's rows minus the marker row."""
        return self.alpha.shape[0]

    def glyph(self, symbol: str) -> np.ndarray:
        start, end = self.extents[symbol]
        return self.alpha[:, start:end]


def from_rgba(name: str, rgba: np.ndarray) -> FontStrip:
    """A strip from an RGBA font file: marker row 0 gives the extents, rows 1.. the glyphs."""
    if rgba.ndim != 3 or rgba.shape[2] != 4:
        raise ValueError(f"font strip {name}: expected an RGBA image, got shape {rgba.shape}")
    marked = rgba[0, :, 3] > 0
    edges = np.diff(np.concatenate([[0], marked.astype(np.int8), [0]]))
    starts, ends = np.nonzero(edges == 1)[0], np.nonzero(edges == -1)[0]
    if len(starts) != len(ALPHABET):
        raise ValueError(f"font strip {name}: row 0 marks {len(starts)} glyphs, expected {len(ALPHABET)}")
    # GD reads 8-bit PNG alpha A as 7-bit alpha 127 - (A >> 1).
    gd_alpha = GD_TRANSPARENT - (rgba[1:, :, 3].astype(np.int16) >> 1)
    padded = np.pad(gd_alpha, ((0, 0), (1, 1)), constant_values=GD_TRANSPARENT)
    extents = {symbol: (int(s) + 1, int(e) + 1) for symbol, s, e in zip(ALPHABET, starts, ends)}
    return FontStrip(name, padded, extents)


@functools.lru_cache(maxsize=None)
def real_strips(version: str) -> tuple[FontStrip, ...]:
    """The real KCAPTCHA strips of one generation's font folder: "v2" (2.x) or "v1" (1.2.6)."""
    from PIL import Image

    folder = FONT_DIR / version
    files = sorted(folder.glob("*.png"))
    if not files:
        raise FileNotFoundError(f"no font strips in {folder}; the kcsolver package is incomplete")
    return tuple(from_rgba(f"{version}/{path.stem}", np.asarray(Image.open(path).convert("RGBA"))) for path in files)


@functools.lru_cache(maxsize=8)
def site_strips(folder: str) -> tuple[FontStrip, ...]:
    """A site's own KCAPTCHA font strips (every PNG in `folder`, in KCAPTCHA's strip format: the 36 symbols
    in ALPHABET order, row 0 marking each glyph's columns); a clear error when one is not such a strip."""
    from PIL import Image, UnidentifiedImageError

    files = sorted(Path(folder).glob("*.png"))
    if not files:
        raise ValueError(f"{folder}: no font strips (*.png) there; give the folder of the site's KCAPTCHA fonts")
    strips = []
    for path in files:
        try:
            rgba = np.asarray(Image.open(path).convert("RGBA"))
        except (OSError, UnidentifiedImageError) as exc:
            raise ValueError(f"{path}: not a readable PNG font strip ({exc})") from None
        strips.append(from_rgba(f"site/{path.stem}", rgba))
    return tuple(strips)


def strip_rgba(strip: FontStrip) -> np.ndarray:
    """A strip as KCAPTCHA's font file holds it (the inverse of `from_rgba`): black RGBA glyphs whose 8-bit
    alpha GD reads back as the strip's 7-bit alpha, and row 0 opaque over each glyph's columns."""
    height, width = strip.alpha.shape[0], strip.alpha.shape[1] - 2
    rgba = np.zeros((height + 1, width, 4), np.uint8)
    rgba[1:, :, 3] = ((GD_TRANSPARENT - strip.alpha[:, 1:-1]) * 2 + 1).clip(0, 255) * (strip.alpha[:, 1:-1] < GD_TRANSPARENT)
    for start, end in strip.extents.values():
        rgba[0, start - 1:end - 1, 3] = 255
    return rgba
