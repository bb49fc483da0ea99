"""Draw one KCAPTCHA image the way the PHP library does (../shared/design/kcaptcha.md), in NumPy.

Both generations share the steps; `Generation` holds where they differ:
1. pick a string and a font strip; paste the glyphs left to right from x = 1 on a
   white grey-level canvas with GD's alpha blending, each at its vertical
   fluctuation (2.x alternates up/down, 1.2.6 draws each independently), each
   after the first shifted left until it touches the ink already there ("no
   spaces"); redo everything when the text does not fit;
2. 2.x only: white and black noise pixels;
3. the double-sine wave, sampling the canvas bilinearly into the output,
   coloured foreground -> background by the sampled grey level;
4. the optional 12 px credits strip (`www.captcha.ru` in GD's small font).
Encoding (PNG, JPEG q90 4:4:4 as GD writes it) is `encode`.

Integer details follow GD and PHP, since they decide which pixels are ink:
floats become ints by truncation, blending is `grey * alpha // 127`, and a
canvas read outside the image yields 0 (PHP's `false & 0xFF`), which the
touching test counts as dark.
"""

from __future__ import annotations

import functools
import io
import math
from dataclasses import dataclass, field, replace

import numpy as np
from PIL import Image

from .strips import GD_TRANSPARENT, FontStrip, real_strips, site_strips

DIGITS = "0123456789"
STOCK_SYMBOLS = "23456789abcdegikpqsvxyz"           # KCAPTCHA 2.x default
CLASSIC_SYMBOLS = "23456789abcdeghkmnpqsuvxyz"      # KCAPTCHA 1.2.6 default
FORBIDDEN_PAIRS = ("cp", "cb", "ck", "c6", "c9", "rn", "rm", "mm", "co", "do", "cl", "db", "qp", "qb", "dp", "ww")
CREDITS_HEIGHT = 12
CREDITS_TEXT = "www.captcha.ru"


@dataclass(frozen=True)
class Generation:
    """Where KCAPTCHA 2.x and 1.2.6 draw differently."""

    name: str
    fonts: str                 # font strip folder: "v2" or "v1"
    scan_first: int            # the touching test scans strip rows first .. height - scan_stop - 1
    scan_stop: int
    scan_reach: int            # ... and looks at most this far left for a dark canvas pixel
    dark_below: int            # canvas grey + glyph GD alpha below this is "dark"
    alternate: bool            # vertical placement: alternating up/down (2.x) or independent (1.2.6)
    noise: bool                # white and black noise pixels (2.x)
    wave_y: tuple              # range of the vertical wave amplitude
    fg_range: tuple            # random colours: each channel uniform in these ranges
    bg_range: tuple


GENERATIONS = {
    "2.x": Generation("2.x", "v2", 3, 10, 200, 170, True, True, (3.3, 4.5), (0, 80), (220, 255)),
    "1.2.6": Generation("1.2.6", "v1", 7, 20, 12, 190, False, False, (3.0, 4.09), (0, 100), (200, 255)),
}


@dataclass(frozen=True)
class CaptchaConfig:
    """How one KCAPTCHA deployment draws its images (defaults: the public TF.js demo's 2-digit config)."""

    name: str = "custom"
    generation: str = "2.x"      # "2.x" or "1.2.6"
    charset: str = DIGITS
    lengths: tuple = (2,)
    width: int = 160
    height: int = 60             # drawing area, without the credits strip
    credits: float = 0.0         # probability of the 12 px "www.captcha.ru" strip below (0, 1, or between)
    fluctuation: float = 5.0     # vertical fluctuation amplitude A
    white_noise: float = 1 / 6   # (2.x) (h - 30) * text_width * white_noise white pixels
    black_noise: float = 1 / 20  # (2.x) ... and black ones
    colors: str = "bw"           # "bw" (black on white), "random" (the generation's dark-on-light ranges) or
    foreground: tuple = (0, 0, 0)      # "fixed": these two RGB colours (a site's own setting)
    background: tuple = (255, 255, 255)
    image_format: str = "png"    # "png", "gif", "jpeg", or "jpeg-in-png" (JPEG-encoded, then stored as PNG)
    jpeg_quality: int = 90
    forbidden_pairs: tuple = ()
    lookalike: float = 0.0       # probability of a look-alike system face instead of a real strip
    vary: bool = False           # training: vary geometry, noise and drawing a little beyond the config
    geometries: tuple = field(default=())  # alternatives (width, height, credits, fluctuation, black_noise)
    fonts: str | None = None     # a folder of a site's own KCAPTCHA font strips (PNG), instead of the stock ones

    def with_overrides(self, **changes) -> "CaptchaConfig":
        return replace(self, **{k: v for k, v in changes.items() if v is not None})


@dataclass
class Style:
    """Per-image random choices (kept so tests can check what was drawn)."""

    strip: FontStrip
    width: int
    height: int
    credits: bool
    fluctuation: float
    white_noise: float
    black_noise: float
    fg: tuple
    bg: tuple
    shear: float = 0.0        # training only: slant of the whole text (sx += shear * (y - h/2))
    stretch: float = 1.0      # training only: vertical scale of the whole text
    wave_gain: float = 1.0    # training only: multiplies the wave amplitudes
    placements: list = field(default_factory=list)  # (symbol, x, y): where each glyph was pasted


def php_round(value: float) -> int:
    """PHP's round(): halves away from zero."""
    return int(math.floor(abs(value) + 0.5)) * (1 if value >= 0 else -1)


def random_text(config: CaptchaConfig, rng: np.random.Generator) -> str:
    while True:
        length = int(rng.choice(config.lengths))
        text = "".join(rng.choice(list(config.charset), size=length))
        if not any(pair in text for pair in config.forbidden_pairs):
            return text


def pick_strip(config: CaptchaConfig, rng: np.random.Generator) -> FontStrip:
    generation = GENERATIONS[config.generation]
    if config.lookalike and rng.random() < config.lookalike:
        from .lookalike import available, lookalike_strip

        fonts = available(generation.fonts)
        # A few steps of each, so that the cache of rendered strips stays small.
        scale = float(rng.choice((0.9, 1.0, 1.1)))
        squeeze = float(rng.choice((0.7, 0.8, 0.9)))
        outline = int(rng.integers(2, 4)) if generation.fonts == "v2" else 0
        return lookalike_strip(fonts[rng.integers(len(fonts))], generation.fonts, scale, squeeze, outline)
    strips = site_strips(config.fonts) if config.fonts else real_strips(generation.fonts)
    return strips[rng.integers(len(strips))]


def random_style(config: CaptchaConfig, rng: np.random.Generator) -> Style:
    generation = GENERATIONS[config.generation]
    width, height, credits, fluctuation, black = (config.width, config.height, config.credits,
                                                  config.fluctuation, config.black_noise)
    if config.geometries:
        width, height, credits, fluctuation, black = config.geometries[rng.integers(len(config.geometries))]
    white = config.white_noise
    if config.vary:
        fluctuation = float(rng.uniform(0.6, 1.4) * fluctuation)
        black *= float(rng.uniform(0.5, 1.6))
        white *= float(rng.uniform(0.6, 1.4))
        if rng.random() < 0.25:  # other deployments' canvas sizes
            width = int(rng.integers(max(100, width - 40), width + 60))
            height = int(rng.integers(max(48, height - 10), height + 16))
    if config.colors == "random":
        fg = tuple(int(v) for v in rng.integers(generation.fg_range[0], generation.fg_range[1] + 1, 3))
        bg = tuple(int(v) for v in rng.integers(generation.bg_range[0], generation.bg_range[1] + 1, 3))
    elif config.colors == "fixed":
        fg, bg = tuple(config.foreground), tuple(config.background)
    else:
        fg, bg = (0, 0, 0), (255, 255, 255)
    style = Style(pick_strip(config, rng), width, height, bool(rng.random() < credits), fluctuation,
                  white if generation.noise else 0.0, black if generation.noise else 0.0, fg, bg)
    if config.vary and rng.random() < 0.5:
        style.shear = float(rng.uniform(-0.15, 0.15))
        style.stretch = float(rng.uniform(0.9, 1.1))
        style.wave_gain = float(rng.uniform(0.85, 1.2))
    return style


def glyph_top(index: int, generation: Generation, style: Style, strip_height: int, odd: int,
              rng: np.random.Generator) -> float:
    """The glyph's vertical position y (a float, as PHP computes it)."""
    amplitude = style.fluctuation
    if generation.alternate:
        jitter = php_round(amplitude / 3)
        return (((index % 2) * amplitude - amplitude / 2) * odd + int(rng.integers(-jitter, jitter + 1))
                + (style.height - strip_height) / 2)
    reach = php_round(amplitude)
    return int(rng.integers(-reach, reach + 1)) + (style.height - strip_height) / 2 + 2


def touching_shift(canvas: np.ndarray, strip: FontStrip, symbol: str, x: int, y: float, generation: Generation,
                   rng: np.random.Generator) -> int:
    """How far KCAPTCHA moves a glyph left so that it touches the ink already on the canvas.

    Per scanned strip row: the glyph's first non-transparent pixel (from the column before its start),
    then the nearest canvas pixel at or left of where it would land that is dark enough."""
    height, width = canvas.shape
    start, end = strip.extents[symbol]
    rows = np.arange(generation.scan_first, strip.height - generation.scan_stop)  # strip rows (marker = row 0)
    window = strip.alpha[rows - 1, start - 1:end]
    inked = window < GD_TRANSPARENT
    has_ink = inked.any(axis=1)
    rows, window, inked = rows[has_ink], window[has_ink], inked[has_ink]
    first = np.argmax(inked, axis=1)
    opacity = window[np.arange(len(rows)), first].astype(np.int32)
    left = first - 1 + x                       # canvas column of that pixel before any shift
    py = np.trunc(rows + y).astype(np.int64)   # PHP truncates the float row
    keep = py <= height                        # KCAPTCHA skips rows below the canvas
    py, left, opacity = py[keep], left[keep], opacity[keep]
    if len(py) == 0:
        return int(rng.integers(4, 7))
    inside = (py >= 0) & (py < height)
    grey = np.zeros((len(py), width), np.int32)  # rows outside read as 0: dark
    grey[inside] = canvas[py[inside]]
    columns = np.arange(width)
    top = np.minimum(left, width - 1)[:, None]
    candidates = (grey + opacity[:, None] < generation.dark_below) & (columns <= top) \
        & (columns > left[:, None] - generation.scan_reach)
    found = candidates.any(axis=1)
    if not found.any():
        return int(rng.integers(4, 7))
    nearest = width - 1 - np.argmax(candidates[:, ::-1], axis=1)
    return int((left - nearest)[found].min())


def paste(canvas: np.ndarray, glyph: np.ndarray, x: int, y: int) -> None:
    """GD's imagecopy of a black glyph with alpha onto an opaque grey canvas: grey * alpha // 127."""
    height, width = canvas.shape
    rows, cols = glyph.shape
    y0, x0 = max(y, 0), max(x, 0)
    y1, x1 = min(y + rows, height), min(x + cols, width)
    if y1 <= y0 or x1 <= x0:
        return
    part = glyph[y0 - y:y1 - y, x0 - x:x1 - x].astype(np.int32)
    region = canvas[y0:y1, x0:x1].astype(np.int32)
    canvas[y0:y1, x0:x1] = (region * part // GD_TRANSPARENT).astype(np.uint8)


def place_text(text: str, config: CaptchaConfig, style: Style, rng: np.random.Generator):
    """The text canvas (grey, 255 = white) and the text width x, or None when it does not fit."""
    generation = GENERATIONS[config.generation]
    strip = style.strip
    canvas = np.full((style.height, style.width), 255, np.uint8)
    odd = 1 if rng.integers(0, 2) else -1
    x = 1
    style.placements = []
    for index, symbol in enumerate(text):
        y = glyph_top(index, generation, style, strip.height, odd, rng)
        shift = touching_shift(canvas, strip, symbol, x, y, generation, rng) if index > 0 else 0
        glyph = strip.glyph(symbol)
        paste(canvas, glyph, x - shift, int(y))  # int(): PHP truncates toward zero
        style.placements.append((symbol, x - shift, int(y)))
        x += glyph.shape[1] - shift
    if x >= style.width - 10:
        return None
    return canvas, x


def add_noise(canvas: np.ndarray, text_width: int, style: Style, rng: np.random.Generator) -> None:
    """2.x's noise: white, then black pixels in the text's box (x < text width, 10 <= y <= h - 15)."""
    height = style.height
    if height - 15 < 10 or height <= 30:
        return
    for density, value in ((style.white_noise, 255), (style.black_noise, 0)):
        count = math.ceil((height - 30) * text_width * density)  # PHP: for ($i = 0; $i < n; $i++)
        if count > 0:
            xs = rng.integers(0, text_width, count)
            ys = rng.integers(10, height - 15 + 1, count)
            canvas[ys, np.minimum(xs, style.width - 1)] = value


def wave(canvas: np.ndarray, text_width: int, config: CaptchaConfig, style: Style,
         rng: np.random.Generator) -> np.ndarray:
    """The distortion: each output pixel samples the canvas at a sine-displaced point; returns RGB uint8."""
    generation = GENERATIONS[config.generation]
    h, w = canvas.shape
    p1, p2, p3, p4 = rng.uniform(0.075, 0.12, 4)
    f1, f2, f3, f4 = rng.uniform(0, math.pi, 4)
    a1 = rng.uniform(3.0, 3.82) * style.wave_gain
    a2 = rng.uniform(*generation.wave_y) * style.wave_gain
    x = np.arange(w, dtype=np.float64)[None, :]
    y = np.arange(h, dtype=np.float64)[:, None]
    sx = x + (np.sin(x * p1 + f1) + np.sin(y * p3 + f3)) * a1 - w / 2 + text_width / 2 + 1
    sy = y + (np.sin(x * p2 + f2) + np.sin(y * p4 + f4)) * a2
    if style.shear or style.stretch != 1.0:  # training variety only; KCAPTCHA itself has neither
        sx = sx + style.shear * (y - h / 2)
        sy = h / 2 + (sy - h / 2) / style.stretch
    inside = (sx >= 0) & (sy >= 0) & (sx < w - 1) & (sy < h - 1)
    x0 = np.clip(np.floor(sx), 0, w - 2).astype(np.intp)
    y0 = np.clip(np.floor(sy), 0, h - 2).astype(np.intp)
    fx, fy = (sx - x0).astype(np.float32), (sy - y0).astype(np.float32)
    flat = canvas.astype(np.float32).ravel()
    index = y0 * w + x0
    c, cx, cy, cxy = flat.take(index), flat.take(index + 1), flat.take(index + w), flat.take(index + w + 1)
    top, bottom = c + (cx - c) * fx, cy + (cxy - cy) * fx
    level = np.minimum(top + (bottom - top) * fy, 255) / 255
    fg, bg = np.array(style.fg, np.float32), np.array(style.bg, np.float32)
    out = np.trunc(fg + (bg - fg) * level[..., None])  # PHP: the float colour becomes an int
    corners_min = np.minimum(np.minimum(c, cx), np.minimum(cy, cxy))
    corners_max = np.maximum(np.maximum(c, cx), np.maximum(cy, cxy))
    out[~inside | (corners_min == 255)] = bg
    out[inside & (corners_max == 0)] = fg
    return out.astype(np.uint8)


@functools.lru_cache(maxsize=1)
def _credits_mask() -> np.ndarray:
    """`www.captcha.ru` in GD's small font (the X11 6x13 fixed font it derives from), as a 13 x 84 mask."""
    import gzip
    import tempfile
    from pathlib import Path

    from PIL import ImageDraw, ImageFont, PcfFontFile

    pcf = Path("/usr/share/fonts/X11/misc/6x13.pcf.gz")
    if pcf.exists():
        with tempfile.TemporaryDirectory() as tmp, gzip.open(pcf) as handle:
            PcfFontFile.PcfFontFile(io.BytesIO(handle.read())).save(str(Path(tmp) / "6x13"))
            font = ImageFont.load(str(Path(tmp) / "6x13.pil"))
    else:  # without Debian's xfonts-base: Pillow's built-in bitmap font, close enough for a strip that is cropped
        font = ImageFont.load_default_imagefont()
    image = Image.new("L", (6 * len(CREDITS_TEXT), 13), 0)
    ImageDraw.Draw(image).text((0, 0), CREDITS_TEXT, font=font, fill=255)
    return np.asarray(image) > 0


def credits_strip(width: int, fg, bg) -> np.ndarray:
    """The 12 px foreground bar with the credits text in the background colour, drawn from row h - 2."""
    strip = np.empty((CREDITS_HEIGHT + 2, width, 3), np.uint8)
    strip[:] = bg
    strip[2:] = fg
    mask = _credits_mask()
    left = int(width / 2 - 6 * len(CREDITS_TEXT) / 2)
    rows, cols = mask.shape
    x0, x1 = max(left, 0), min(left + cols, width)
    region = strip[:rows, x0:x1]
    region[mask[:, x0 - left:x1 - left]] = bg
    return strip[2:]


def render(config: CaptchaConfig, rng: np.random.Generator, text: str | None = None):
    """One image as an HxWx3 uint8 array, with its text and style. Redraws strings that do not fit."""
    for _attempt in range(100):
        style = random_style(config, rng)
        label = text if text is not None else random_text(config, rng)
        placed = place_text(label, config, style, rng)
        if placed is None:
            continue
        canvas, text_width = placed
        add_noise(canvas, text_width, style, rng)
        image = wave(canvas, text_width, config, style, rng)
        if style.credits:
            image = np.concatenate([image, credits_strip(style.width, style.fg, style.bg)], axis=0)
        return image, label, style
    raise ValueError(f"text {text!r} never fits a {config.width}x{config.height} canvas")


def encode(image: np.ndarray, config: CaptchaConfig) -> bytes:
    """The image file as the deployment serves it: JPEG with 4:4:4 chroma at quality >= 90 and 4:2:0 below
    (as GD's libjpeg writes), GIF through a 256-colour palette, or PNG."""
    buffer = io.BytesIO()
    if config.image_format == "jpeg":
        Image.fromarray(image).save(buffer, "JPEG", quality=config.jpeg_quality,
                                    subsampling=0 if config.jpeg_quality >= 90 else 2)
    elif config.image_format == "gif":
        Image.fromarray(image).quantize(256, dither=Image.Dither.NONE).save(buffer, "GIF")
    elif config.image_format == "jpeg-in-png":
        Image.fromarray(roundtrip(image, config.with_overrides(image_format="jpeg"))).save(buffer, "PNG")
    else:
        Image.fromarray(image).save(buffer, "PNG")
    return buffer.getvalue()


def roundtrip(image: np.ndarray, config: CaptchaConfig, rng: np.random.Generator | None = None) -> np.ndarray:
    """The image as a decoder sees it after encoding (JPEG artefacts included).

    With `config.vary` and an rng (training), a JPEG config is sometimes stored losslessly and otherwise
    at a random quality: deployments of the same library save PNG or other JPEG qualities."""
    if config.image_format == "png":
        return image
    if config.image_format == "gif":
        return np.asarray(Image.open(io.BytesIO(encode(image, config))).convert("RGB"))
    config = config.with_overrides(image_format="jpeg")
    if config.vary and rng is not None:
        if rng.random() < 0.25:
            return image
        config = config.with_overrides(jpeg_quality=int(rng.integers(min(70, config.jpeg_quality), 96)))
    return np.asarray(Image.open(io.BytesIO(encode(image, config))).convert("RGB"))
