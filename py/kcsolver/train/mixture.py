"""What a network is trained on: a mixture of generator configurations, plus images with no text.

The `kcaptcha` mixture holds the four default configurations; `general` adds the whole space of
configurations a site can set (synth/space.py) and all 36 symbols, for the `any` preset. Its output
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

from dataclasses import dataclass, field, replace

import numpy as np

from ..captcha.images import reframe
from ..synth import get_config, render, roundtrip
from ..synth.render import CLASSIC_SYMBOLS, DIGITS, STOCK_SYMBOLS, CaptchaConfig, credits_strip
from ..synth.space import ALL_SYMBOLS, MAX_LENGTH, render_from_space

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
        part = self.parts[rng.choice(len(self.parts), p=weights / weights.sum())][0]
        if isinstance(part, Space):
            image, label, config = render_from_space(rng, **{"vary": True, "lookalike": LOOKALIKE, **part.fixed})
            return image, label, self.generations.index(config.generation)
        if isinstance(part, Labelled):
            image, label = part.sample(rng)
            return image, label, self.generations.index(part.generation)
        image, label, _style = render(part, rng)
        return roundtrip(image, part, rng), label, self.generations.index(part.generation)

    def targets(self, label: str, generation: int) -> list[int]:
        """CTC target classes of a label drawn in a generation."""
        return [generation * len(self.charset) + self.charset.index(c) for c in label]


@dataclass(frozen=True)
class Space:
    """A mixture part that draws a new deployment per image from the whole configuration space
    (synth/space.py) instead of one configuration."""

    name: str = "space"
    generation: str = "any"
    fixed: dict = field(default_factory=dict)  # settings pinned for every draw (a site's symbols, size, fonts)


@dataclass(frozen=True)
class Labelled:
    """A mixture part of real labelled captchas of one site (`kcsolver adapt`), each drawn with a small
    random re-framing (side margins added or trimmed; rows untouched, which keeps a credits strip whole) so that the network does not learn them pixel by pixel."""

    images: tuple
    labels: tuple
    generation: str
    name: str = "site"

    def sample(self, rng: np.random.Generator) -> tuple[np.ndarray, str]:
        index = int(rng.integers(len(self.images)))
        return reframe(self.images[index], 0, int(rng.integers(-4, 9))), self.labels[index]


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


# The general reader's extra preset: whatever a site configured, read with every symbol and length.
ANY_PRESET = {"alphabet": ALL_SYMBOLS, "lengths": list(range(1, MAX_LENGTH + 1)), "generation": None, "check": True, "power": 8.0,
              "description": "any KCAPTCHA configuration: 36 symbols, 1-10 long, either drawing"}


def general_mixture() -> Mixture:
    """Every configuration a site can set (60% of the images, synth/space.py) beside the four defaults (35%,
    in the kcaptcha mixture's proportions) and images without text: the network behind the `any` preset,
    with all 36 symbols in both drawings."""
    defaults = kcaptcha_mixture()
    # The last two parts weigh nothing unless `--mix` gives them a share: the space's weakest bands
    # (1.2.6 drawings; long strings on wide canvases), for fine-tunes that want more of them.
    extra = ((Space("space126", fixed={"generation": "1.2.6"}), 0.0),
             (Space("space_long", fixed={"long_strings": True}), 0.0))
    parts = tuple((config, weight * 0.35) for config, weight in defaults.parts) + ((Space(), 0.60),) + extra
    presets = dict(KCAPTCHA_PRESETS, any=ANY_PRESET)
    return Mixture("general", parts, 0.05, ALL_SYMBOLS, ("2.x", "1.2.6"), presets)


def single_mixture(name: str) -> Mixture:
    config = _training(name)
    preset = {"alphabet": config.charset, "lengths": sorted(config.lengths), "generation": config.generation}
    return Mixture(name, ((config, 1.0),), 0.05, config.charset, (config.generation,), {name: preset})


def get_mixture(name: str, weights: dict | None = None) -> Mixture:
    """The named mixture; `weights` (configuration name -> weight) changes the shares of its parts, e.g.
    {"classic": 0.5} to fine-tune on more 1.2.6 images (the others keep theirs; all are renormalised)."""
    named = {"kcaptcha": kcaptcha_mixture, "general": general_mixture}
    mixture = named[name]() if name in named else single_mixture(name)
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
