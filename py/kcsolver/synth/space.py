"""The whole space of KCAPTCHA deployments a site owner can configure, as a distribution to draw from.

`kcaptcha_config.php` lets a site change the symbols, the length, the canvas
size, the fluctuation, the noise (2.x), the colours, the credits strip and the
image format. A reader that only saw the defaults refuses most customised
captchas, or worse, misreads them with confidence. `random_config(rng)` draws
one deployment from the ranges below (both generations, stock fonts), so a
network trained on many draws reads the space, not points of it:

| setting | drawn from |
| --- | --- |
| generation | 2.x or 1.2.6, evenly |
| symbols | all 36 (40%), a common set (digits, letters, the 2.x or 1.2.6 defaults: 30%), or any random subset of 6-35 symbols (30%) |
| lengths | a range inside 1-10, capped by what fits the width (KCAPTCHA redraws strings that do not fit) |
| size | width 80-300, height 40-100 (drawing area); credits strip on in 30% |
| fluctuation | 0-10 px |
| noise (2.x only) | none (30%), else white 0-1/5 and black 0-1/18 per pixel factor |
| colours | black on white, the generation's random ranges, or fixed colours of the site (dark on light) |
| format | PNG 35%, GIF 10%, JPEG 55% at quality 50-95 |

`SPACE_BANDS` names the setting ranges that the accuracy report breaks the
space down by (docs/accuracy.md).
"""

from __future__ import annotations

import numpy as np

from .render import CLASSIC_SYMBOLS, DIGITS, FORBIDDEN_PAIRS, STOCK_SYMBOLS, CaptchaConfig

ALL_SYMBOLS = "0123456789abcdefghijklmnopqrstuvwxyz"
LETTERS = "abcdefghijklmnopqrstuvwxyz"
COMMON_ALPHABETS = (DIGITS, LETTERS, STOCK_SYMBOLS, CLASSIC_SYMBOLS, "abcdefghkmnpqrstuvwxyz",
                    "23456789abcdefghkmnpqrstuvwxyz")
MAX_LENGTH = 10
# A generous average advance per glyph (px) after KCAPTCHA's touching shift: lengths above what fits are
# not drawn (the library would redraw them forever).
ADVANCE = {"2.x": 19, "1.2.6": 15}


def random_alphabet(rng: np.random.Generator) -> str:
    kind = rng.random()
    if kind < 0.4:
        return ALL_SYMBOLS
    if kind < 0.7:
        return COMMON_ALPHABETS[rng.integers(len(COMMON_ALPHABETS))]
    size = int(rng.integers(6, 36))
    return "".join(sorted(rng.choice(list(ALL_SYMBOLS), size=size, replace=False)))


def random_colors(generation: str, rng: np.random.Generator) -> dict:
    kind = rng.random()
    if kind < 0.35:
        return {"colors": "bw"}
    if kind < 0.7:
        return {"colors": "random"}
    while True:  # a site's own pair: some dark colour on some light one, with contrast enough to read
        fg = rng.integers(0, 160, 3)
        bg = rng.integers(170, 256, 3)
        if (bg - fg) @ np.array([0.299, 0.587, 0.114]) >= 90:
            return {"colors": "fixed", "foreground": tuple(int(v) for v in fg),
                    "background": tuple(int(v) for v in bg)}


def random_config(rng: np.random.Generator, generation: str | None = None, long_strings: bool = False,
                  **fixed) -> CaptchaConfig:
    """One deployment drawn from the space; `generation` and any CaptchaConfig field in `fixed` pin it.
    `long_strings` draws only wide canvases (200-300 px) and lengths near the most that fits, the space's
    weakest band, for training mixtures that want more of it."""
    generation = generation or ("2.x" if rng.random() < 0.5 else "1.2.6")
    width, height = int(rng.integers(200 if long_strings else 80, 301)), int(rng.integers(40, 101))
    width, height = fixed.pop("width", width), fixed.pop("height", height)
    fits = max(1, min(MAX_LENGTH, (width - 12) // ADVANCE[generation]))
    low = int(rng.integers(max(1, fits - 3) if long_strings else 1, fits + 1))
    high = int(rng.integers(low, min(fits, low + 3) + 1))
    quiet = rng.random() < 0.3
    roll = rng.random()
    image_format, quality = ("png", 90) if roll < 0.35 else ("gif", 90) if roll < 0.45 else (
        "jpeg", int(rng.integers(50, 96)))
    settings = dict(name="space", generation=generation, charset=random_alphabet(rng),
                    lengths=tuple(range(low, high + 1)), width=width, height=height,
                    credits=float(rng.random() < 0.3), fluctuation=float(rng.uniform(0, 10)),
                    white_noise=0.0 if quiet else float(rng.uniform(0, 1 / 5)),
                    black_noise=0.0 if quiet else float(rng.uniform(0, 1 / 18)),
                    image_format=image_format, jpeg_quality=quality,
                    forbidden_pairs=FORBIDDEN_PAIRS if rng.random() < 0.5 else (),
                    **random_colors(generation, rng))
    settings.update(fixed)
    return CaptchaConfig(**settings)


def render_from_space(rng: np.random.Generator, **fixed):
    """(image as a decoder sees it, label, config): a random deployment's random captcha. A drawn config
    whose strings never fit its canvas is replaced by another draw."""
    from .render import render, roundtrip

    for _ in range(20):
        config = random_config(rng, **fixed)
        try:
            image, label, _style = render(config, rng)
        except ValueError:
            continue
        return roundtrip(image, config, rng), label, config
    raise ValueError(f"no configuration drawn with {fixed} fits its canvas")


# Setting ranges the accuracy report groups a synthetic space set by: name -> (test on a config, label).
SPACE_BANDS = {
    "generation 2.x": lambda c, t: c.generation == "2.x",
    "generation 1.2.6": lambda c, t: c.generation == "1.2.6",
    "all 36 symbols": lambda c, t: c.charset == ALL_SYMBOLS,
    "digits only": lambda c, t: c.charset == DIGITS,
    "other symbol sets": lambda c, t: c.charset not in (ALL_SYMBOLS, DIGITS),
    "length 1-3": lambda c, t: len(t) <= 3,
    "length 4-6": lambda c, t: 4 <= len(t) <= 6,
    "length 7-10": lambda c, t: len(t) >= 7,
    "width < 140": lambda c, t: c.width < 140,
    "width 140-219": lambda c, t: 140 <= c.width < 220,
    "width >= 220": lambda c, t: c.width >= 220,
    "height < 60": lambda c, t: c.height < 60,
    "height >= 60": lambda c, t: c.height >= 60,
    "fluctuation < 5": lambda c, t: c.fluctuation < 5,
    "fluctuation >= 5": lambda c, t: c.fluctuation >= 5,
    "2.x with noise": lambda c, t: c.generation == "2.x" and c.black_noise > 0,
    "2.x without noise": lambda c, t: c.generation == "2.x" and c.black_noise == 0,
    "black on white": lambda c, t: c.colors == "bw",
    "random colours": lambda c, t: c.colors == "random",
    "fixed colours": lambda c, t: c.colors == "fixed",
    "credits": lambda c, t: c.credits > 0,
    "PNG": lambda c, t: c.image_format == "png",
    "GIF": lambda c, t: c.image_format == "gif",
    "JPEG q50-74": lambda c, t: c.image_format == "jpeg" and c.jpeg_quality < 75,
    "JPEG q75-95": lambda c, t: c.image_format == "jpeg" and c.jpeg_quality >= 75,
}
