"""A KCAPTCHA-style renderer (after ../shared/design/kcaptcha.md), NumPy-vectorised.

One image: pick a font and string; paste hollow glyphs left to right with
alternating vertical fluctuation, each glyph shifted left until it touches
the previous ink ("no spaces"); sprinkle white and black noise; apply the
double-sine wave distortion with bilinear sampling; colour; add the credits
strip if configured. Encoding (PNG / JPEG q90 4:4:4) is `encode`.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field, replace

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from .fonts import STRIP_HEIGHT, available_fonts, glyph

DIGITS = "0123456789"
STOCK_SYMBOLS = "23456789abcdegikpqsvxyz"
FORBIDDEN_PAIRS = ("cp", "cb", "ck", "c6", "c9", "rn", "rm", "mm", "co", "do", "cl", "db", "qp", "qb", "dp", "ww")
CREDITS_HEIGHT = 12


@dataclass(frozen=True)
class CaptchaConfig:
    """How a KCAPTCHA deployment draws its images (defaults: the public demo's l2 config)."""

    name: str = "custom"
    charset: str = DIGITS
    lengths: tuple = (2,)
    width: int = 160
    height: int = 60             # drawing area, without the credits strip
    credits: bool = False        # 12 px "www.captcha.ru" strip below
    fluctuation: float = 5.0     # vertical fluctuation amplitude A
    white_noise: float = 1 / 6   # fraction factor: (h - 30) * text_width * white_noise pixels
    black_noise: float = 1 / 20
    colors: str = "bw"           # "bw" or "random" (dark on light)
    image_format: str = "png"    # "png" or "jpeg"
    jpeg_quality: int = 90
    forbidden_pairs: tuple = ()
    vary: bool = False           # training: vary geometry, noise, fonts a little beyond the documented ranges
    geometries: tuple = field(default=())  # alternative (width, height, credits, fluctuation, black_noise)

    def with_overrides(self, **changes) -> "CaptchaConfig":
        return replace(self, **{k: v for k, v in changes.items() if v is not None})


@dataclass
class Style:
    """Per-image random choices (kept so tests can check what was drawn)."""

    font: str
    size: int
    outline: int
    squeeze: float
    width: int
    height: int
    credits: bool
    fluctuation: float
    black_noise: float
    white_noise: float
    fg: tuple
    bg: tuple
    overlap: int = 0          # extra pixels each glyph is pushed into the previous one
    shear: float = 0.0        # slant of the whole text (sx += shear * (y - h/2))
    stretch: float = 1.0      # vertical scale of the whole text
    wave_gain: float = 1.0    # multiplies the distortion amplitudes


def random_text(config: CaptchaConfig, rng: np.random.Generator) -> str:
    while True:
        length = int(rng.choice(config.lengths))
        text = "".join(rng.choice(list(config.charset), size=length))
        if not any(pair in text for pair in config.forbidden_pairs):
            return text


def random_style(config: CaptchaConfig, rng: np.random.Generator) -> Style:
    fonts = available_fonts()
    width, height, credits, fluctuation, black = (config.width, config.height, config.credits,
                                                  config.fluctuation, config.black_noise)
    if config.geometries:
        width, height, credits, fluctuation, black = config.geometries[rng.integers(len(config.geometries))]
    white = config.white_noise
    size = int(rng.integers(52, 63))
    outline = int(rng.integers(2, 4))
    squeeze = float(rng.uniform(0.68, 0.85))
    if config.vary:
        fluctuation = float(rng.uniform(0.6, 1.4) * fluctuation)
        black *= float(rng.uniform(0.5, 1.6))
        white *= float(rng.uniform(0.6, 1.4))
        size = int(rng.integers(48, 67))
        squeeze = float(rng.uniform(0.62, 0.92))
        if rng.random() < 0.3:  # other deployments' canvas sizes
            width = int(rng.integers(max(100, width - 50), width + 60))
            height = int(rng.integers(max(48, height - 10), height + 12))
    # Quantised so that the glyph cache stays small (sizes in steps of 3 px, squeeze in steps of 0.05).
    size = 3 * round(size / 3)
    squeeze = round(squeeze * 20) / 20
    if config.colors == "random":
        fg = tuple(int(v) for v in rng.integers(0, 81, 3))
        bg = tuple(int(v) for v in rng.integers(220, 256, 3))
    else:
        fg, bg = (0, 0, 0), (255, 255, 255)
    style = Style(fonts[rng.integers(len(fonts))], size, outline, squeeze, width, height, credits,
                  fluctuation, black, white, fg, bg)
    if config.vary:
        style.overlap = int(rng.integers(0, 4))
        style.shear = float(rng.uniform(-0.2, 0.2))
        style.stretch = float(rng.uniform(0.88, 1.12))
        style.wave_gain = float(rng.uniform(0.8, 1.25))
    return style


def place_text(text: str, style: Style, rng: np.random.Generator):
    """Paste glyphs on the text canvas (ink in [0, 1]); returns (ink, text_width) or None if it does not fit."""
    h, w = style.height, style.width
    ink = np.zeros((h, w + 100), np.float32)  # room to spare; text_width decides what is used
    right_edge = np.full(h, -1, np.int64)     # rightmost inked column per canvas row
    sign = 1 if rng.random() < 0.5 else -1
    amplitude = style.fluctuation
    jitter = int(round(amplitude / 3))
    x = 1
    strip_top = (h - STRIP_HEIGHT) // 2
    for i, char in enumerate(text):
        g, gw = glyph(style.font, char, style.size, style.outline, style.squeeze)
        y = int(round(((i % 2) * amplitude - amplitude / 2) * sign + rng.integers(-jitter, jitter + 1)))
        top = strip_top + y
        if i > 0:
            x = max(x - _touching_shift(g, top, x, right_edge, h, rng) - style.overlap, 0)
        if x + gw >= ink.shape[1]:
            return None
        src0, dst0 = max(0, -top), max(0, top)
        rows = min(STRIP_HEIGHT - src0, h - dst0)
        if rows > 0:
            region = ink[dst0:dst0 + rows, x:x + gw]
            np.maximum(region, g[src0:src0 + rows], out=region)
            inked = g[src0:src0 + rows] > 0.4
            has = inked.any(axis=1)
            last = gw - 1 - np.argmax(inked[:, ::-1], axis=1)
            right_edge[dst0:dst0 + rows] = np.where(has, np.maximum(right_edge[dst0:dst0 + rows], x + last),
                                                    right_edge[dst0:dst0 + rows])
        x += gw
    if x >= w - 10:
        return None
    return ink[:, :w], x


def _touching_shift(g, top, x, right_edge, h, rng) -> int:
    """How far to move a glyph left so that it touches the ink already there."""
    rows = np.arange(3, STRIP_HEIGHT - 10)
    canvas_rows = rows + top
    valid = (canvas_rows >= 0) & (canvas_rows < h)
    rows, canvas_rows = rows[valid], canvas_rows[valid]
    inked = g[rows] > 0.4
    has = inked.any(axis=1) & (right_edge[canvas_rows] >= 0)
    if not has.any():
        return int(rng.integers(4, 7))
    leftmost = np.argmax(inked, axis=1)
    gaps = x + leftmost[has] - right_edge[canvas_rows[has]]
    return int(gaps.min()) - 1 + int(rng.integers(0, 2))


def add_noise(ink: np.ndarray, text_width: int, style: Style, rng: np.random.Generator) -> None:
    h = style.height
    if h - 15 <= 10:
        return
    for count, value in ((int((h - 30) * text_width * style.white_noise), 0.0),
                         (int((h - 30) * text_width * style.black_noise), 1.0)):
        if count > 0:
            xs = rng.integers(0, text_width, count)
            ys = rng.integers(10, h - 15, count)
            ink[ys, xs] = value


def wave(ink: np.ndarray, text_width: int, style: Style, rng: np.random.Generator) -> np.ndarray:
    """KCAPTCHA's distortion: sample the text image at sine-displaced points, bilinearly."""
    h, w = style.height, style.width
    p1, p2, p3, p4 = rng.uniform(0.075, 0.12, 4)
    f1, f2, f3, f4 = rng.uniform(0, np.pi, 4)
    a1, a2 = rng.uniform(3.0, 3.82) * style.wave_gain, rng.uniform(3.3, 4.5) * style.wave_gain
    x = np.arange(w, dtype=np.float64)[None, :]
    y = np.arange(h, dtype=np.float64)[:, None]
    sx = x + (np.sin(x * p1 + f1) + np.sin(y * p3 + f3)) * a1 - w / 2 + text_width / 2 + 1
    sy = y + (np.sin(x * p2 + f2) + np.sin(y * p4 + f4)) * a2
    if style.shear or style.stretch != 1.0:  # training variety only; KCAPTCHA itself has neither
        sx = sx + style.shear * (y - h / 2)
        sy = h / 2 + (sy - h / 2) / style.stretch
    inside = (sx >= 0) & (sy >= 0) & (sx < w - 1) & (sy < h - 1)
    x0 = np.clip(np.floor(sx).astype(np.int64), 0, w - 2)
    y0 = np.clip(np.floor(sy).astype(np.int64), 0, h - 2)
    fx, fy = sx - x0, sy - y0
    value = (ink[y0, x0] * (1 - fx) * (1 - fy) + ink[y0, x0 + 1] * fx * (1 - fy)
             + ink[y0 + 1, x0] * (1 - fx) * fy + ink[y0 + 1, x0 + 1] * fx * fy)
    return np.where(inside, value, 0.0).astype(np.float32)


def colorize(ink: np.ndarray, style: Style) -> np.ndarray:
    fg = np.array(style.fg, np.float32)
    bg = np.array(style.bg, np.float32)
    rgb = bg + (fg - bg) * ink[..., None]
    image = np.round(rgb).astype(np.uint8)
    if style.credits:
        image = np.concatenate([image, credits_strip(style.width, style.fg, style.bg)], axis=0)
    return image


def credits_strip(width: int, fg, bg) -> np.ndarray:
    strip = Image.new("RGB", (width, CREDITS_HEIGHT), tuple(fg))
    draw = ImageDraw.Draw(strip)
    font = ImageFont.load_default()
    text = "www.captcha.ru"
    text_width = draw.textlength(text, font=font)
    draw.text(((width - text_width) / 2, 0), text, fill=tuple(bg), font=font)
    return np.asarray(strip)


def render(config: CaptchaConfig, rng: np.random.Generator, text: str | None = None):
    """One image as an HxWx3 uint8 array, with its text and style. Retries strings that do not fit."""
    for _attempt in range(100):
        style = random_style(config, rng)
        label = text if text is not None else random_text(config, rng)
        placed = place_text(label, style, rng)
        if placed is None:
            continue
        ink, text_width = placed
        add_noise(ink, text_width, style, rng)
        return colorize(wave(ink, text_width, style, rng), style), label, style
    raise ValueError(f"text {text!r} never fits a {config.width}x{config.height} canvas")


def encode(image: np.ndarray, config: CaptchaConfig) -> bytes:
    buffer = io.BytesIO()
    if config.image_format == "jpeg":
        Image.fromarray(image).save(buffer, "JPEG", quality=config.jpeg_quality, subsampling=0)
    else:
        Image.fromarray(image).save(buffer, "PNG")
    return buffer.getvalue()


def roundtrip(image: np.ndarray, config: CaptchaConfig, rng: np.random.Generator | None = None) -> np.ndarray:
    """The image as a decoder sees it after encoding (JPEG artefacts included).

    With `config.vary` and an rng (training), a JPEG config is sometimes stored losslessly and otherwise
    at a random quality: deployments of the same library save PNG (the true stock 2.0 sample) or other
    JPEG qualities."""
    if config.image_format != "jpeg":
        return image
    if config.vary and rng is not None:
        if rng.random() < 0.3:
            return image
        config = config.with_overrides(jpeg_quality=int(rng.integers(70, 96)))
    return np.asarray(Image.open(io.BytesIO(encode(image, config))).convert("RGB"))
