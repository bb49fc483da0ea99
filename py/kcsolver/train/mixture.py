"""What a network is trained on: a mixture of generator configurations, plus images with no text.

The shipped network (`kcaptcha`) reads every shipped configuration. Its output
classes are its charset once per KCAPTCHA generation (2.x, 1.2.6), blank last,
so a reading also says which drawing it saw; each shipped solver is a preset of
the recipe that restricts the symbols, lengths and generation (captcha/recipe.py).
About one image in twenty has no text at all (blank canvases, noise, shapes,
smooth textures), labelled with the empty string, so that the network reads
nothing where there is nothing.

A single configuration name (`--config stock23`) trains a network for that
configuration alone, for comparisons.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ..synth import get_config, render, roundtrip
from ..synth.render import CLASSIC_SYMBOLS, DIGITS, STOCK_SYMBOLS, CaptchaConfig, credits_strip

LOOKALIKE = 0.12  # share of training images drawn with look-alike system faces instead of the real strips


@dataclass(frozen=True)
class Mixture:
    name: str
    parts: tuple          # (CaptchaConfig, weight)
    negatives: float      # share of images without text
    charset: str          # the network's symbols
    generations: tuple    # the drawing styles it tells apart (its classes repeat the charset per style)
    presets: dict         # solver name -> {alphabet, lengths, generation, description}

    def sample(self, rng: np.random.Generator):
        """(RGB image as a decoder sees it, label, generation index); label '' for images without text."""
        if rng.random() < self.negatives:
            return no_text_image(rng), "", 0
        weights = np.array([w for _, w in self.parts])
        config = self.parts[rng.choice(len(self.parts), p=weights / weights.sum())][0]
        image, label, _style = render(config, rng)
        return roundtrip(image, config, rng), label, self.generations.index(config.generation)

    def targets(self, label: str, generation: int) -> list[int]:
        """CTC target classes of a label drawn in a generation."""
        return [generation * len(self.charset) + self.charset.index(c) for c in label]


def _training(name: str, **overrides) -> CaptchaConfig:
    return get_config(name).with_overrides(vary=True, lookalike=LOOKALIKE, **overrides)


KCAPTCHA_PRESETS = {
    "l2_digits": {"alphabet": DIGITS, "lengths": [2], "generation": "2.x",
                  "description": "2 digits, the public TF.js demo's configuration"},
    "digits": {"alphabet": DIGITS, "lengths": [2, 3, 4, 5, 6], "generation": "2.x",
               "description": "2-6 digits (KCAPTCHA 2.x drawing)"},
    "stock23": {"alphabet": STOCK_SYMBOLS, "lengths": [5, 6, 7], "generation": "2.x",
                "description": "stock KCAPTCHA 2.x: 23 symbols, 5-7 long"},
    "classic": {"alphabet": CLASSIC_SYMBOLS, "lengths": [5, 6], "generation": "1.2.6",
                "description": "KCAPTCHA 1.2.6 (classic): 26 symbols, 5-6 long"},
}


def kcaptcha_mixture() -> Mixture:
    charset = "".join(sorted(set(DIGITS + STOCK_SYMBOLS + CLASSIC_SYMBOLS)))
    parts = ((_training("l2_digits"), 0.10), (_training("digits", lengths=(2, 3, 4, 5, 6)), 0.20),
             (_training("stock23"), 0.18), (_training("stock20"), 0.17), (_training("classic"), 0.30))
    return Mixture("kcaptcha", parts, 0.05, charset, ("2.x", "1.2.6"), KCAPTCHA_PRESETS)


def single_mixture(name: str) -> Mixture:
    config = _training(name)
    preset = {"alphabet": config.charset, "lengths": sorted(config.lengths), "generation": config.generation}
    return Mixture(name, ((config, 1.0),), 0.05, config.charset, (config.generation,), {name: preset})


def get_mixture(name: str, weights: dict | None = None) -> Mixture:
    """The named mixture; `weights` (configuration name -> weight) changes the shares of its parts, e.g.
    {"classic": 0.5} to fine-tune on more 1.2.6 images (the others keep theirs; all are renormalised)."""
    mixture = kcaptcha_mixture() if name == "kcaptcha" else single_mixture(name)
    if not weights:
        return mixture
    names = [config.name for config, _ in mixture.parts]
    unknown = sorted(set(weights) - set(names))
    if unknown:
        raise ValueError(f"mixture {name!r} has no part {', '.join(unknown)}; its parts are {', '.join(names)}")
    parts = tuple((config, weights.get(config.name, weight)) for config, weight in mixture.parts)
    return replace(mixture, parts=parts)


def no_text_image(rng: np.random.Generator) -> np.ndarray:
    """An image a captcha solver should read nothing from: blank, noise, shapes or a smooth texture."""
    from PIL import Image, ImageDraw

    width, height = int(rng.integers(90, 240)), int(rng.integers(36, 100))
    bg = tuple(int(v) for v in rng.integers(180, 256, 3))
    fg = tuple(int(v) for v in rng.integers(0, 120, 3))
    kind = rng.integers(5)
    image = Image.new("RGB", (width, height), bg)
    draw = ImageDraw.Draw(image)
    if kind == 1:  # sparse noise pixels, as KCAPTCHA scatters them
        for _ in range(int(rng.integers(20, 400))):
            draw.point((int(rng.integers(width)), int(rng.integers(height))), fill=fg)
    elif kind == 2:  # lines, arcs and boxes
        for _ in range(int(rng.integers(1, 6))):
            (x0, x1), (y0, y1) = sorted(rng.integers(0, width, 2).tolist()), sorted(rng.integers(0, height, 2).tolist())
            box, stroke = [x0, y0, x1 + 1, y1 + 1], int(rng.integers(1, 4))
            shape = rng.integers(3)
            if shape == 0:
                draw.line(box, fill=fg, width=stroke)
            elif shape == 1:
                draw.ellipse(box, outline=fg, width=stroke)
            else:
                draw.rectangle(box, outline=fg, width=stroke)
    elif kind == 3:  # a smooth random texture (photo-like)
        coarse = rng.integers(0, 256, (int(rng.integers(2, 8)), int(rng.integers(2, 12)), 3)).astype(np.uint8)
        image = Image.fromarray(coarse).resize((width, height), Image.BICUBIC)
    elif kind == 4:  # uniform noise
        image = Image.fromarray(rng.integers(0, 256, (height, width, 3)).astype(np.uint8))
    array = np.asarray(image)
    if rng.random() < 0.3:
        array = np.concatenate([array, credits_strip(width, fg, bg)], axis=0)
    return array
