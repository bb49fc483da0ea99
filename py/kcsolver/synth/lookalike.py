"""Look-alike faces: free system fonts rendered into KCAPTCHA font strips, for variety.

Sites may prepare their own strips, so the training set mixes in faces close to
the real ones: bold serif faces hollowed out like the 2.x strips (Palatino,
Times and Perpetua relatives) and solid regular faces like 1.2.6's 22 (serif and
sans). Each is rendered with Pillow at a size near the real strips' (digits
about 35 px tall in 2.x, 24 px in 1.2.6) on the real strips' baseline, and
returned as a `FontStrip`. The fonts come from Debian packages (`make system`).
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from .strips import ALPHABET, GD_TRANSPARENT, FontStrip

_URW = "/usr/share/fonts/opentype/urw-base35/"
_GYRE = "/usr/share/texmf/fonts/opentype/public/tex-gyre/"
_TT = "/usr/share/fonts/truetype/"
BOLD_SERIF = [  # for 2.x-style (hollow) strips
    _URW + "P052-Bold.otf", _GYRE + "texgyrepagella-bold.otf", _URW + "NimbusRoman-Bold.otf",
    _GYRE + "texgyretermes-bold.otf", _TT + "freefont/FreeSerifBold.ttf", _TT + "liberation/LiberationSerif-Bold.ttf",
    _GYRE + "texgyrebonum-bold.otf", _URW + "C059-Bold.otf", _TT + "dejavu/DejaVuSerif-Bold.ttf",
    "/usr/share/fonts/opentype/linux-libertine/LinLibertine_RB.otf",
    "/usr/share/fonts/opentype/ebgaramond/EBGaramond12-Bold.otf", _TT + "cardo/Cardob101.ttf",
    _TT + "crosextra/Caladea-Bold.ttf",
]
REGULAR = [  # for 1.2.6-style (solid) strips: serif and sans, as its 22 faces are
    _URW + "P052-Roman.otf", _URW + "NimbusRoman-Regular.otf", _URW + "C059-Roman.otf", _URW + "URWBookman-Light.otf",
    _GYRE + "texgyrepagella-regular.otf", _GYRE + "texgyreschola-regular.otf", _TT + "freefont/FreeSerif.ttf",
    _TT + "liberation/LiberationSerif-Regular.ttf", _TT + "dejavu/DejaVuSerif.ttf", _TT + "crosextra/Caladea-Regular.ttf",
    "/usr/share/fonts/opentype/linux-libertine/LinLibertine_R.otf",
    "/usr/share/fonts/opentype/ebgaramond/EBGaramond12-Regular.otf", _TT + "cardo/Cardo104s.ttf",
    _URW + "NimbusSans-Regular.otf", _TT + "dejavu/DejaVuSans.ttf", _TT + "liberation/LiberationSans-Regular.ttf",
]
# (strip height, digit height, baseline row) of the real strips, per style
STRIP_SHAPES = {"v2": (69, 35, 46), "v1": (49, 24, 31)}


def available(style: str) -> list[str]:
    """Installed look-alike font files for a strip style ("v2": hollow bold serif, "v1": solid)."""
    fonts = [path for path in (BOLD_SERIF if style == "v2" else REGULAR) if Path(path).exists()]
    if not fonts:
        raise RuntimeError("no look-alike fonts found; install Debian's fonts-urw-base35, fonts-texgyre, "
                           "fonts-freefont-ttf, fonts-liberation (`make system` does)")
    return fonts


@functools.lru_cache(maxsize=512)
def lookalike_strip(font_path: str, style: str, scale: float = 1.0, squeeze: float = 0.8,
                    outline: int = 2) -> FontStrip:
    """The 36 symbols of a system font as a strip of `style`'s shape; hollow (outline px thick) for "v2".

    `scale` multiplies the real strips' digit height, `squeeze` the glyph widths (the real faces are
    narrower than most free ones)."""
    height, digit_height, baseline = STRIP_SHAPES[style]
    probe = ImageFont.truetype(font_path, 100)
    left, top, right, bottom = probe.getbbox("0", anchor="ls")
    size = max(8, int(round(100 * digit_height * scale / max(bottom - top, 1))))
    font = ImageFont.truetype(font_path, size)
    glyphs = []
    for symbol in ALPHABET:
        left, _top, right, _bottom = font.getbbox(symbol, anchor="ls")
        width = max(right - left, 1) + 4
        canvas = Image.new("L", (width, height), 0)
        ImageDraw.Draw(canvas).text((2 - left, baseline), symbol, font=font, fill=255, anchor="ls")
        ink = np.asarray(canvas, np.float32) / 255.0
        if style == "v2":  # hollow: keep only a band along the outline
            inner = np.asarray(canvas.filter(ImageFilter.MinFilter(2 * outline - 1)), np.float32) / 255.0
            ink = np.clip(ink - inner, 0.0, 1.0)
        new_width = max(int(round(ink.shape[1] * squeeze)), 3)
        ink = np.asarray(Image.fromarray((ink * 255).astype(np.uint8)).resize((new_width, height), Image.BILINEAR),
                         np.float32) / 255.0
        columns = np.nonzero(ink.max(axis=0) > 0.05)[0]
        glyphs.append(ink[:, columns[0]:columns[-1] + 1] if len(columns) else ink[:, :3])
    gap = 3
    alpha = np.full((height, sum(g.shape[1] + gap for g in glyphs) + 2), GD_TRANSPARENT, np.int16)
    extents, x = {}, 1 + gap
    for symbol, ink in zip(ALPHABET, glyphs):
        alpha[:, x:x + ink.shape[1]] = GD_TRANSPARENT - np.round(ink * GD_TRANSPARENT).astype(np.int16)
        extents[symbol] = (x, x + ink.shape[1])
        x += ink.shape[1] + gap
    return FontStrip(f"{style}-lookalike/{Path(font_path).stem}", alpha, extents)
