"""Hollow bold serif glyphs, the raw material of KCAPTCHA-style text.

KCAPTCHA pastes glyphs from bitmap strips of bold serif faces (Palatino,
Perpetua, Times) whose strokes are hollow: only the outline is inked. We
render look-alike faces from Debian's font packages with Pillow, hollow them
out with a min filter, and cache every glyph as a float "ink" array (1 = ink).
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

# Bold serif faces close to KCAPTCHA's (Palatino, Times, Perpetua) plus a few
# neighbours for variety. Installed by `make system` (Debian packages).
FONT_CANDIDATES = [
    "/usr/share/fonts/opentype/urw-base35/P052-Bold.otf",          # Palatino clone
    "/usr/share/texmf/fonts/opentype/public/tex-gyre/texgyrepagella-bold.otf",  # Palatino clone
    "/usr/share/fonts/opentype/urw-base35/NimbusRoman-Bold.otf",   # Times clone
    "/usr/share/texmf/fonts/opentype/public/tex-gyre/texgyretermes-bold.otf",  # Times clone
    "/usr/share/fonts/truetype/freefont/FreeSerifBold.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSerif-Bold.ttf",
    "/usr/share/texmf/fonts/opentype/public/tex-gyre/texgyrebonum-bold.otf",
    "/usr/share/fonts/opentype/urw-base35/C059-Bold.otf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSerif-Bold.ttf",
    "/usr/share/fonts/opentype/linux-libertine/LinLibertine_RB.otf",
    "/usr/share/fonts/opentype/ebgaramond/EBGaramond12-Bold.otf",   # old-style, Perpetua's relatives
    "/usr/share/fonts/truetype/cardo/Cardob101.ttf",
    "/usr/share/fonts/truetype/crosextra/Caladea-Bold.ttf",
    "/usr/share/fonts/opentype/junicode/JunicodeTwoBeta-Bold.otf",
]
STRIP_HEIGHT = 69  # KCAPTCHA's glyph strips are 69 px tall


def available_fonts() -> list[str]:
    fonts = [path for path in FONT_CANDIDATES if Path(path).exists()]
    if not fonts:
        raise RuntimeError("no serif bold fonts found; install Debian's fonts-urw-base35, fonts-texgyre, "
                           "fonts-freefont-ttf, fonts-liberation (`make system` does)")
    return fonts


@functools.lru_cache(maxsize=30000)
def glyph(font_path: str, char: str, size: int, outline: int, squeeze: float) -> tuple[np.ndarray, int]:
    """A hollow glyph as float32 ink (rows = STRIP_HEIGHT) and its width.

    The glyph sits on a common baseline inside the 69 px strip, as in the
    KCAPTCHA font files, so glyphs of one string share a baseline.
    """
    font = ImageFont.truetype(font_path, size)
    ascent, descent = font.getmetrics()
    left, _top, right, _bottom = font.getbbox(char)
    width = max(right - left, 1) + 4
    canvas = Image.new("L", (width, ascent + descent + 4), 0)
    ImageDraw.Draw(canvas).text((2 - left, 2), char, font=font, fill=255)
    solid = np.asarray(canvas, np.float32) / 255.0
    inner = np.asarray(canvas.filter(ImageFilter.MinFilter(2 * outline - 1)), np.float32) / 255.0
    hollow = np.clip(solid - inner, 0.0, 1.0)
    # Horizontal squeeze: the KCAPTCHA faces are narrower than their free look-alikes.
    new_width = max(int(round(hollow.shape[1] * squeeze)), 3)
    hollow = np.asarray(Image.fromarray((hollow * 255).astype(np.uint8)).resize((new_width, hollow.shape[0]),
                                                                               Image.BILINEAR), np.float32) / 255
    columns = np.nonzero(hollow.max(axis=0) > 0.05)[0]
    hollow = hollow[:, columns[0]:columns[-1] + 1] if len(columns) else hollow
    # Place on the strip: baseline at about 3/4 of the strip height.
    strip = np.zeros((STRIP_HEIGHT, hollow.shape[1]), np.float32)
    baseline = int(STRIP_HEIGHT * 0.74)
    top = baseline - (ascent + 2)
    src_top = max(0, -top)
    dst_top = max(0, top)
    rows = min(hollow.shape[0] - src_top, STRIP_HEIGHT - dst_top)
    strip[dst_top:dst_top + rows] = hollow[src_top:src_top + rows]
    return strip, strip.shape[1]
