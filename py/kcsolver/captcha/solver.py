"""`Solver`: a model plus its recipe; reads captchas, refuses what it cannot read, chooses among presets.

    Solver.load("auto").solve("captcha.png")        # the built-in bundle, solver chosen per image
    Solver.load("classic").solve(pixels)            # one built-in solver
    Solver.load("path/to/model.json").solve(...)    # any TF.js model with a recipe

A reading is refused (empty text, `reason` set) when the image holds no text
(blank, tiny, no contrast, or the network reads nothing) or when the solver's
best reading explains the image much worse than the network's free reading
(`fit` below FIT_MIN: the captcha needs symbols, lengths or a drawing style the
solver lacks); the reason then names the solver of the bundle that fits.

A preset may have a specialist network of its own (the recipe's `presets.NAME.network`, shipped for
`classic`): that preset's solver runs it instead of the bundle's network, and the automatic choice,
having chosen that preset from the bundle's reading, reads the image again with it.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import replace
from pathlib import Path
from urllib.parse import urljoin

import numpy as np

from ..errors import KcsolverError
from ..limits import DEFAULT as DEFAULT_LIMITS
from .decode import best_path, collapse, decode_chunks, marginal, one_more_glyph, path_log_probability, restrict
from .images import load_image
from .preprocess import preprocess
from .recipe import Recipe, Result

# Doubtful answers (confidence below this) are read again from a few re-framed copies of the image
# (margins added or trimmed, which shifts and rescales the text in the model's input), and the readings
# vote, each with its confidence. Costs nothing on clear captchas.
RETRY_BELOW = 0.8
REFRAMINGS = ((0, 8), (0, -6), (6, 0), (-4, 0))  # (rows, columns) added (+) or trimmed (-) on each side
# A solver's reading less probable than this fraction of the free reading is refused: the text needs
# symbols, a length or a drawing style this solver does not have.
FIT_MIN = 0.01
# Images smaller than this, or whose darkest pixels are within MIN_CONTRAST grey levels of the
# background, hold no captcha text.
MIN_WIDTH, MIN_HEIGHT = 24, 12
MIN_CONTRAST = 32
NO_TEXT = "no captcha text found"
OTHER_CONFIGURATION = "looks like another KCAPTCHA configuration"

# The shipped bundle: one network, several solvers (its presets). A checkout finds it in site/models/;
# an installed wheel carries it as the kcsolver.models package data.
BUILTIN_BUNDLE = "kcaptcha"
BUILTIN = ("l2_digits", "digits", "stock23", "classic", "any")
BUILTIN_SEARCH = (Path(__file__).resolve().parents[1] / "models", Path(__file__).resolve().parents[3] / "site" / "models")


def builtin_bundle() -> Path:
    for folder in BUILTIN_SEARCH:
        if (folder / BUILTIN_BUNDLE / "model.json").is_file():
            return folder / BUILTIN_BUNDLE / "model.json"
    raise KcsolverError(f"the built-in solvers are not installed (looked for {BUILTIN_BUNDLE}/model.json in "
                        f"{', '.join(str(f) for f in BUILTIN_SEARCH)}); reinstall kcsolver")


class Solver:
    """A model and its recipe. `preset` picks one solver of a bundle; None lets each image choose.
    `specialists` (preset name -> model) re-read, for the automatic choice, the images it gives their
    preset; a solver of one preset that has a specialist is simply built on that specialist's model."""

    def __init__(self, model, recipe: Recipe, name: str = "custom", preset: str | None = None,
                 specialists: dict | None = None):
        self.model, self.recipe, self.name = model, recipe, name
        if preset is not None:
            recipe.preset(preset)  # checks the name
        self.preset = preset
        # the solvers this one can answer as, or compare with when refusing: name -> recipe
        self.solvers = ({n: recipe.preset(n) for n in recipe.presets} if recipe.presets else {name: recipe})
        self.specialists = {}
        self._feeds = {}  # id(network) -> the recipe its input is made with (its own input fields)
        for name, network in (specialists or {}).items():
            self.add_specialist(name, network)

    def feed(self, network=None) -> Recipe:
        """The recipe a network's input is made with: this solver's, with the input fields (size, colour,
        crops, text_stretch) of the network's own recipe when its model.json carries one. A specialist can
        so take its input in another form than the bundle that routes images to it."""
        network = network or self.model
        chosen = self.recipe.presets.get(self.preset) if self.preset else None
        if network is self.model and not (chosen and chosen.network):
            return self.recipe  # the network this recipe was written for (or given for)
        if id(network) not in self._feeds:
            own = (getattr(network, "metadata", None) or {}).get("kcsolver")
            recipe = self.recipe
            if isinstance(own, dict) and own.get("input"):
                parsed = Recipe.from_dict(own, "the network's own recipe")
                recipe = replace(self.recipe, input=parsed.input, crop_credits=parsed.crop_credits,
                                 crop_text_rows=parsed.crop_text_rows, text_stretch=parsed.text_stretch)
            self._feeds[id(network)] = (network, recipe)  # the network is kept so that its id stays its own
        return self._feeds[id(network)][1]

    def add_specialist(self, name: str, network) -> None:
        """Let `network` re-read the images the automatic choice gives preset `name` (the browser adds
        them once fetched)."""
        if name not in self.solvers:
            raise KcsolverError(f"a specialist network for unknown solver {name!r}")
        if self.automatic:
            self.specialists[name] = network

    def restrict(self, alphabet: str | None = None, lengths=None) -> "Solver":
        """This network reading only a site's own symbols and lengths (`--charset`/`--lengths`, the widget's
        `charset`/`lengths`): a solver of one reading, whose refusals compare it with the free reading, so a
        captcha with other symbols or lengths is refused rather than forced into them. Unset parts keep
        the chosen preset's (or, for the automatic choice, any symbol of the network and any length)."""
        base = self.solvers[self.preset] if self.preset else self.recipe
        alphabet = parse_alphabet(alphabet) if alphabet else (base.alphabet if self.preset else None)
        if alphabet:
            outside = sorted(set(alphabet) - set(self.recipe.charset))
            if outside:
                raise KcsolverError(f"symbols {''.join(outside)!r} are not read by this model (it reads "
                                    f"{self.recipe.charset!r}); give a charset within those")
        lengths = sorted(set(lengths)) if lengths else (list(base.lengths) if self.preset else [])
        recipe = replace(self.feed(), alphabet=alphabet, lengths=lengths,
                         generation=base.generation if self.preset else None, presets={},
                         check=base.check if self.preset else any(p.check for p in self.recipe.presets.values()),
                         power=base.power if self.preset else max([p.power for p in self.recipe.presets.values()
                                                                   if p.check] or [1.0]))
        return Solver(self.model, recipe, name="site")

    @property
    def automatic(self) -> bool:
        return self.preset is None and len(self.solvers) > 1

    # ------------------------------------------------------------ loading

    @staticmethod
    def resolve(name_or_path) -> tuple[str, str | None]:
        """A built-in solver name ("auto" included) or a model folder/model.json path or URL ->
        (model.json location, preset)."""
        text = str(name_or_path)
        if text == "auto":
            return str(builtin_bundle()), None
        if text in BUILTIN:
            return str(builtin_bundle()), text
        if "://" in text:
            return text, None
        path = Path(text)
        if path.is_dir():
            path = path / "model.json"
        if not path.is_file():
            raise KcsolverError(f"{text}: not a built-in solver (auto, {', '.join(BUILTIN)}) nor an existing model "
                                "path")
        return str(path), None

    @classmethod
    def load(cls, name_or_path="auto", backend: str = "numpy", recipe: dict | None = None,
             preset: str | None = None) -> "Solver":
        from ..model import load_model
        from ..tfjs.loader import parse_document, read_source

        location, builtin_preset = cls.resolve(name_or_path)
        preset = preset or builtin_preset
        if preset is not None:  # a preset with a specialist runs that network alone: the bundle gives only its recipe
            document = parse_document(read_source(location, DEFAULT_LIMITS.model_json_bytes), location)
            parsed = cls.find_recipe(document.get("userDefinedMetadata"), location, recipe)
            networks = specialist_locations(location, parsed)
            if preset in networks:
                return cls(load_model(networks[preset], backend=backend), parsed, name=str(name_or_path),
                           preset=preset)
        model = load_model(location, backend=backend)
        parsed = cls.find_recipe(model.metadata, location, recipe)
        specialists = ({name: load_model(where, backend=backend)
                        for name, where in specialist_locations(location, parsed).items()}
                       if preset is None else {})
        return cls(model, parsed, name=str(name_or_path), preset=preset, specialists=specialists)

    @staticmethod
    def find_recipe(metadata: dict | None, location: str, recipe: dict | None = None) -> Recipe:
        """The recipe: the `recipe` argument, else the model.json's userDefinedMetadata.kcsolver (`metadata`
        is the whole userDefinedMetadata), else a kcsolver.json beside a local model.json."""
        if recipe is not None:
            return Recipe.from_dict(recipe, "recipe argument")
        embedded = metadata.get("kcsolver") if isinstance(metadata, dict) else None
        if embedded:
            return Recipe.from_dict(embedded, f"{location} userDefinedMetadata.kcsolver")
        if "://" not in location:
            side = Path(location).parent / "kcsolver.json"
            if side.is_file():
                try:
                    data = json.loads(side.read_text())
                except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                    raise KcsolverError(f"{side}: not valid JSON ({exc})") from None
                return Recipe.from_dict(data, str(side))
        raise KcsolverError(f"{location} has no kcsolver recipe: add userDefinedMetadata.kcsolver to model.json "
                            "or a kcsolver.json beside it (see docs/solvers.md)")

    # ------------------------------------------------------------ reading

    def prepare(self, image, framing=None) -> np.ndarray:
        return preprocess(load_image(image), self.feed(), framing)

    def _predict(self, x: np.ndarray, network=None) -> np.ndarray:
        output = (network or self.model).predict(x)
        output = output[0] if isinstance(output, list) else output
        expected = self.recipe.classes
        if output.shape[-1] != expected:
            layout = ("charset x generations + blank" if self.recipe.decoding["type"] == "ctc" else
                      "length x charset")
            raise KcsolverError(f"the model gives {output.shape[-1]} scores per step but its recipe describes "
                                f"{expected} ({layout}); the recipe does not belong to this model")
        return output

    def no_text(self, rgb: np.ndarray) -> str | None:
        """Why an image holds no captcha text, or None when it may."""
        height, width = rgb.shape[:2]
        if width < MIN_WIDTH or height < MIN_HEIGHT:
            return f"{NO_TEXT} (the image is {width}x{height} pixels, too small for a captcha)"
        gray = rgb.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
        if float(np.median(gray) - np.percentile(gray, 1)) < MIN_CONTRAST:
            return f"{NO_TEXT} (the image is blank or has no dark text on a light background)"
        return None

    def _restricted(self, output: np.ndarray, recipe: Recipe) -> np.ndarray:
        """A CTC output's probabilities over one solver's symbols (its generation's classes, or all
        generations summed) and the blank."""
        symbols = [self.recipe.charset.index(c) for c in recipe.answer_alphabet]
        groups = ([self.recipe.generations.index(recipe.generation)] if recipe.generation
                  else list(range(self.recipe.groups)))
        return restrict(output, self.recipe.groups, symbols, groups)

    def _read_as(self, output: np.ndarray, recipe: Recipe, name: str, free_log_probability: float) -> Result:
        """One solver's reading of a CTC output, with its fit against the free reading."""
        alphabet = recipe.answer_alphabet
        probs = self._restricted(output, recipe)
        # The frame-wise best path bounds every path of this solver, of any length: when even it fits too
        # badly, the reading is refused whatever its length, and the length-constrained search (most of the
        # decoding's time in the browser) is skipped. `fit` is then that bound, itself below FIT_MIN.
        free_path = probs.argmax(axis=1)
        fit_bound = path_log_probability(probs, free_path) - free_log_probability
        if fit_bound < math.log(FIT_MIN):
            return Result("", 0.0, [], solver=name, fit=math.exp(fit_bound))
        path = best_path(probs, recipe.lengths)
        text, chars = collapse(path, probs, alphabet)
        fit = min(1.0, math.exp(min(0.0, path_log_probability(probs, path) - free_log_probability)))
        confidence = float(np.prod([p for _, p in chars])) * fit if chars else 0.0
        return Result(text, confidence, chars, solver=name, fit=fit)

    def _free_reading(self, output: np.ndarray) -> tuple[str, float]:
        """The unconstrained best path's text (any symbol, length, generation) and log probability."""
        free = marginal(output, self.recipe.groups)
        free_path = free.argmax(axis=1)
        return collapse(free_path, free, self.recipe.charset)[0], path_log_probability(free, free_path)

    def readings(self, output: np.ndarray, names=None) -> dict[str, Result]:
        """Every solver's reading of one network output, or only those `names` (refused ones carry a
        reason)."""
        names = list(names or self.solvers)
        if self.recipe.decoding["type"] != "ctc":
            text, chars, confidence = decode_chunks(output, self.recipe.charset, int(self.recipe.decoding["length"]))
            return {name: Result(text, confidence, chars, solver=name) for name in names}
        free_text, free_log_probability = self._free_reading(output)
        results = {}
        for name in names:
            result = self._read_as(output, self.solvers[name], name, free_log_probability)
            if not free_text:
                result = Result("", 0.0, [], solver=name, reason=NO_TEXT, fit=result.fit)
            results[name] = result
        self._explain_refusals(results, free_text)
        return results

    def choose(self, readings: list[Result]) -> Result | None:
        """The best-fitting reading; among those within a factor 2 of it, the most specific solver's
        (l2_digits before digits for a 2-digit captcha: both read it, one also knows its length)."""
        if not readings:
            return None
        best = max(r.fit for r in readings)
        close = [r for r in readings if r.fit >= best / 2]
        return min(close, key=lambda r: (specificity(self.solvers[r.solver]), -r.fit))

    def _explain_refusals(self, results: dict[str, Result], free_text: str) -> None:
        fitting = [r for r in results.values() if r.reason is None and r.fit >= FIT_MIN]
        best = self.choose(fitting)
        for result in results.values():
            if result.reason is None and result.fit < FIT_MIN:
                if best:
                    result.reason = f"{OTHER_CONFIGURATION}: try {best.solver}"
                elif len(results) < len(self.solvers):  # only some solvers were asked: the others might fit
                    result.reason = OTHER_CONFIGURATION
                else:
                    result.reason = (f"{OTHER_CONFIGURATION} (read as {free_text!r}), which this model's solvers "
                                     "do not read")
                result.text, result.chars, result.confidence = "", [], 0.0

    def decide(self, readings: dict[str, Result]) -> Result:
        """The answer: the preset's reading, or for automatic choice the best-fitting solver's."""
        if not self.automatic:
            return readings[self.preset or next(iter(readings))]
        chosen = self.choose([r for r in readings.values() if r.reason is None])
        if chosen is not None:
            return chosen
        refused = next(iter(readings.values()))
        reason = refused.reason if refused.reason == NO_TEXT else refused.reason.split(": try")[0].split(" (read")[0]
        return Result("", 0.0, [], solver="auto", reason=reason)

    def _specialist_looks(self, rgbs: list, inputs: list, answers: list[Result]) -> list:
        """Replace the automatic choice's answers whose preset has a specialist by that network's reading
        of the same image (kept unless the specialist refuses it). Returns, per answer, the network that
        made it (None: this solver's own)."""
        made_by = [None] * len(answers)
        for name, network in self.specialists.items():
            chosen = [i for i, answer in enumerate(answers) if answer.solver == name and answer.reason is None]
            if not chosen:
                continue
            feed = self.feed(network)
            same = feed is self.feed() or _same_input(feed, self.feed())
            batch = [inputs[i] if same else preprocess(rgbs[i], feed) for i in chosen]
            outputs = self._predict(np.stack(batch), network)
            for i, output in zip(chosen, outputs):
                second = self.readings(output, [name])[name]
                if second.reason is None:
                    answers[i], made_by[i] = second, network
        return made_by

    def _second_look(self, rgb: np.ndarray, result: Result, network=None) -> Result:
        """Re-read a doubtful answer from re-framed copies with the network that made it, as the same
        solver; keep the most voted reading. A solver that checks (`check` in its recipe: the general
        reading of any configuration) re-reads every answer, and its confidence keeps only the winner's
        share of the votes: readings that disagree on re-framing are not filled in."""
        recipe = self.solvers.get(result.solver)
        checks, power = (recipe.check, recipe.power) if recipe else (False, 1.0)
        if result.reason is not None or (result.confidence >= RETRY_BELOW and not checks):
            return result
        batch = np.stack([preprocess(rgb, self.feed(network), framing) for framing in REFRAMINGS])
        candidates = [result] + [self.readings(row, [result.solver])[result.solver]
                                 for row in self._predict(batch, network)]
        votes: dict[str, float] = {}
        for candidate in candidates:  # each answered reading votes with its confidence
            if candidate.reason is None:
                votes[candidate.text] = votes.get(candidate.text, 0.0) + candidate.confidence
        winner = max(votes, key=votes.get)
        best = max((c for c in candidates if c.text == winner and c.reason is None), key=lambda c: c.confidence)
        if checks:  # a refused re-reading counts as a vote against, with the answer's own weight
            against = sum(votes.values()) - votes[winner] + result.confidence * sum(c.reason is not None
                                                                                    for c in candidates)
            share = votes[winner] / (votes[winner] + against)
            best = replace(best, confidence=(best.confidence * share) ** power)
        return best

    def _doubt_dropped_glyphs(self, output: np.ndarray | None, result: Result) -> Result:
        """Divide an answer's confidence by 1 + the probability, under this solver's own network, of the
        readings with one glyph more (decode.one_more_glyph), with the answering solver's symbols and
        drawing style: a thin glyph dropped by every reading, with all others sure, was the main confident
        mistake on customised captchas (on a 1500-image calibration set of the space, seed 7777: 12 wrong
        at >= 0.9 before, 6 after, 23 fewer filled). A specialist's answer is checked against the
        bundle's network, a second opinion. The automatic choice counts every length; a named solver only
        the lengths it reads."""
        if output is None or result.reason is not None or not result.text or self.recipe.decoding["type"] != "ctc":
            return result
        recipe = self.solvers.get(result.solver)
        if recipe is None or (not self.automatic and recipe.lengths and len(result.text) + 1 not in recipe.lengths):
            return result
        ratio = one_more_glyph(self._restricted(output, recipe), result.text, recipe.answer_alphabet)
        return replace(result, confidence=result.confidence / (1.0 + ratio))

    def _refusal(self, reason: str) -> Result:
        return Result("", 0.0, [], solver="auto" if self.automatic else (self.preset or self.name), reason=reason)

    def solve(self, image) -> Result:
        return self.solve_batch([image])[0]

    def solve_batch(self, images, batch_size: int = 64) -> list[Result]:
        results = []
        for start in range(0, len(images), batch_size):
            begun = time.perf_counter()
            rgbs = [load_image(image) for image in images[start:start + batch_size]]
            refusals = [self.no_text(rgb) for rgb in rgbs]
            inputs = [None if refusal else preprocess(rgb, self.feed()) for rgb, refusal in zip(rgbs, refusals)]
            readable = [x for x in inputs if x is not None]
            predicted = iter(self._predict(np.stack(readable)) if readable else [])
            outputs = [None if refusal else next(predicted) for refusal in refusals]
            answers = [self._refusal(refusal) if refusal else self.decide(self.readings(output))
                       for refusal, output in zip(refusals, outputs)]
            made_by = self._specialist_looks(rgbs, inputs, answers)
            batch = [self._doubt_dropped_glyphs(output, self._second_look(rgb, answer, network))
                     for rgb, answer, network, output in zip(rgbs, answers, made_by, outputs)]
            ms = (time.perf_counter() - begun) * 1000 / len(rgbs)
            for result in batch:
                result.ms = ms
            results.extend(batch)
        return results


def _same_input(a: Recipe, b: Recipe) -> bool:
    return (a.input, a.crop_credits, a.crop_text_rows, a.text_stretch) == (
        b.input, b.crop_credits, b.crop_text_rows, b.text_stretch)


def parse_alphabet(text: str) -> str:
    """A site's symbols as given by a person: '0-9a-z', 'abcdef2345' or 'A-F' -> the lower-case symbols in
    order, each once (KCAPTCHA draws lower case only)."""
    text = str(text).strip().lower()
    symbols, i = [], 0
    while i < len(text):
        if i + 2 < len(text) and text[i + 1] == "-" and text[i] <= text[i + 2]:
            symbols += [chr(c) for c in range(ord(text[i]), ord(text[i + 2]) + 1)]
            i += 3
        else:
            symbols.append(text[i])
            i += 1
    bad = sorted({c for c in symbols if not c.isalnum() or not c.isascii()})
    if bad or not symbols:
        raise KcsolverError(f"charset {text!r}: give KCAPTCHA symbols (0-9, a-z), e.g. '0-9' or "
                            f"'23456789abcdegikpqsvxyz'{'; not symbols: ' + repr(''.join(bad)) if bad else ''}")
    return "".join(dict.fromkeys(symbols))


def parse_lengths(text) -> list[int]:
    """'4-6', '5,7' or '5' -> [4, 5, 6], [5, 7], [5]; a clear error for anything else."""
    try:
        values = []
        for part in str(text).replace(" ", "").split(","):
            low, dash, high = part.partition("-")
            values += range(int(low), int(high if dash else low) + 1)
    except ValueError:
        values = []
    if not values or not all(1 <= v <= 64 for v in values):
        raise KcsolverError(f"lengths {text!r}: give lengths from 1 to 64 as '4-6', '5,7' or '5'")
    return sorted(set(values))


def specialist_locations(location: str, recipe: Recipe) -> dict[str, str]:
    """preset name -> the model.json of its specialist network, resolved against the bundle's location."""
    def resolve(relative: str) -> str:
        if "://" in location or location.startswith("local:"):
            return urljoin(location, relative)
        return str((Path(location).parent / relative).resolve())

    return {name: resolve(preset.network) for name, preset in recipe.presets.items() if preset.network}


def specificity(recipe: Recipe) -> int:
    """How many strings a solver can answer, roughly: symbols x lengths (fewer = more specific)."""
    return len(recipe.answer_alphabet) * (len(recipe.lengths) or 100)
