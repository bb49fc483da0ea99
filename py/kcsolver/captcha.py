"""Solving captchas: image loading, preprocessing, decoding, and the `Solver` API.

A solver is a TF.js layers-model (or any TF.js model) whose model.json carries
the recipe in `userDefinedMetadata.kcsolver` (or a side file `kcsolver.json`):

    {"charset": "0123456789",
     "decoding": {"type": "ctc"} | {"type": "chunks", "length": 2, "activation": "softmax"|"sigmoid"},
     "lengths": [2],                      # allowed lengths (CTC: constrains decoding)
     "input": {"height": 48, "width": 128, "channels": 1,
               "color": "ink" | "gray" | "rgb",   # ink: 1 = text, 0 = background (contrast-stretched)
               "scale": 1.0, "mean": [..], "std": [..]},  # x = (pixels * scale - mean) / std
     "crop_credits": true}                # drop KCAPTCHA's 12 px "www.captcha.ru" strip
"""

from __future__ import annotations

import io
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import InputError, KcsolverError

# Doubtful answers (confidence below this) are read again from a few re-framed copies of the
# image (margins added or trimmed, which shifts and rescales the text in the model's input),
# and the readings vote, each with its confidence. Costs nothing on clear captchas.
RETRY_BELOW = 0.8
REFRAMINGS = ((0, 8), (0, -6), (6, 0), (-4, 0))  # (rows, columns) added (+) or trimmed (-) on each side
MAX_PIXELS = 4_000_000  # larger images are refused (decompression bombs); captchas are ~10k pixels
MAX_BYTES = 20 << 20
# Shipped solvers live in the site (site/models/<name>/, served as models/<name>/); a checkout or an
# editable install finds them there, a wheel built for CPython may carry them in kcsolver/models/.
BUILTIN_SEARCH = (Path(__file__).parent / "models", Path(__file__).resolve().parents[2] / "site" / "models")
BUILTIN = ("l2_digits", "digits", "stock23")


@dataclass
class Recipe:
    charset: str
    decoding: dict
    input: dict
    lengths: list = field(default_factory=list)
    crop_credits: bool = True
    crop_text_rows: bool = False

    @classmethod
    def from_dict(cls, data: dict, where: str = "recipe") -> "Recipe":
        try:
            recipe = cls(charset=str(data["charset"]), decoding=dict(data["decoding"]), input=dict(data["input"]),
                         lengths=[int(n) for n in data.get("lengths", [])],
                         crop_credits=bool(data.get("crop_credits", True)),
                         crop_text_rows=bool(data.get("crop_text_rows", False)))
        except (KeyError, TypeError, ValueError) as exc:
            raise KcsolverError(f"{where}: incomplete kcsolver recipe ({exc}); it needs charset, decoding "
                                "and input (see docs/solvers.md)") from None
        if recipe.decoding.get("type") not in ("ctc", "chunks"):
            raise KcsolverError(f"{where}: decoding type must be 'ctc' or 'chunks'")
        return recipe

    def to_dict(self) -> dict:
        return {"charset": self.charset, "decoding": self.decoding, "input": self.input,
                "lengths": self.lengths, "crop_credits": self.crop_credits, "crop_text_rows": self.crop_text_rows}


@dataclass
class Result:
    text: str
    confidence: float                      # probability that the whole string is right
    chars: list                            # [(character, probability)]
    ms: float = 0.0

    def to_dict(self) -> dict:
        return {"text": self.text, "confidence": self.confidence,
                "chars": [[c, p] for c, p in self.chars], "ms": self.ms}


# ---------------------------------------------------------------- images

def load_image(image) -> np.ndarray:
    """Any supported image (path, bytes, PIL image, HxW[x1|3|4] uint8 array) as HxWx3 uint8 RGB."""
    from PIL import Image, UnidentifiedImageError

    if isinstance(image, np.ndarray):
        return _array_to_rgb(image)
    if isinstance(image, (str, Path)):
        path = Path(image)
        if not path.exists():
            raise InputError(f"{path}: no such file")
        if path.stat().st_size > MAX_BYTES:
            raise InputError(f"{path}: {path.stat().st_size} bytes is too large for a captcha image")
        image = path.read_bytes()
    if isinstance(image, (bytes, bytearray, memoryview)):
        data = bytes(image)
        if not data:
            raise InputError("the image is empty (0 bytes)")
        if len(data) > MAX_BYTES:
            raise InputError(f"{len(data)} bytes is too large for a captcha image")
        try:
            image = Image.open(io.BytesIO(data))
        except UnidentifiedImageError:
            raise InputError("not an image (or an unsupported format): use PNG, JPEG, GIF, BMP or WEBP") from None
        except Image.DecompressionBombError as exc:
            raise InputError(f"refused: {exc} (captchas are about 160x60)") from None
    if not hasattr(image, "convert"):
        raise InputError(f"cannot read an image from {type(image).__name__}: give a path, bytes, a PIL image "
                         "or an HxWx3/4 uint8 array")
    width, height = image.size
    if width * height > MAX_PIXELS:
        raise InputError(f"the image is {width}x{height} pixels; more than {MAX_PIXELS} is refused "
                         "(captchas are about 160x60)")
    try:
        if getattr(image, "is_animated", False):
            image.seek(0)
        return np.asarray(image.convert("RGB"))
    except (OSError, SyntaxError, ValueError) as exc:
        raise InputError(f"the image is truncated or corrupt: {exc}") from None


def _array_to_rgb(array: np.ndarray) -> np.ndarray:
    if array.ndim == 2:
        array = array[..., None]
    if array.ndim != 3 or array.shape[2] not in (1, 3, 4):
        raise InputError(f"expected an HxW, HxWx3 or HxWx4 array, got shape {array.shape}")
    if array.shape[0] * array.shape[1] > MAX_PIXELS:
        raise InputError(f"the image is {array.shape[1]}x{array.shape[0]} pixels; more than {MAX_PIXELS} is refused")
    if array.shape[0] < 8 or array.shape[1] < 8:
        raise InputError(f"the image is {array.shape[1]}x{array.shape[0]} pixels; too small to be a captcha")
    if array.dtype != np.uint8:
        if array.dtype.kind == "f" and array.max(initial=0) <= 1.0:
            array = array * 255.0
        array = np.clip(array, 0, 255).astype(np.uint8)
    if array.shape[2] == 1:
        return np.repeat(array, 3, axis=2)
    if array.shape[2] == 4:  # composite on white, as a browser shows it
        alpha = array[..., 3:4].astype(np.float32) / 255.0
        return np.round(array[..., :3] * alpha + 255.0 * (1 - alpha)).astype(np.uint8)
    return array


def crop_credits(rgb: np.ndarray) -> np.ndarray:
    """Remove KCAPTCHA's credits strip: a solid dark bar across the bottom 12 rows (with light text)."""
    height = rgb.shape[0]
    if height < 40:
        return rgb
    gray = rgb.mean(axis=2)
    bar = gray[-12:]
    background = np.median(gray[: height - 12])
    dark_fraction = (bar < background - 60).mean()
    if dark_fraction > 0.6 and np.median(gray[-14:-12]) > background - 60:
        return rgb[:-12]
    return rgb


def crop_text_rows(rgb: np.ndarray, margin: int = 4) -> np.ndarray:
    """Keep the band of rows that holds the text (plus a margin), so that canvases of any height give the
    model glyphs of about one size. The band spans the middle 99% of the ink, which sparse noise dots
    above or below the text barely move."""
    gray = rgb.astype(np.float32).mean(axis=2)
    ink = np.clip(np.median(gray) - gray, 0, None).sum(axis=1)
    total = ink.sum()
    if total <= 0:
        return rgb
    cumulative = np.cumsum(ink) / total
    top = int(np.searchsorted(cumulative, 0.005))
    bottom = int(np.searchsorted(cumulative, 0.995)) + 1
    top, bottom = max(0, top - margin), min(rgb.shape[0], bottom + margin)
    if bottom - top < rgb.shape[0] // 3:  # not a text band (a blank or odd image): keep it all
        return rgb
    return rgb[top:bottom]


def reframe(rgb: np.ndarray, rows: int, columns: int) -> np.ndarray:
    """Add (edge-replicated) or trim `rows` at top and bottom and `columns` at left and right."""
    def axis(image, amount, index):
        if amount > 0:
            pad = [(0, 0)] * 3
            pad[index] = (amount, amount)
            return np.pad(image, pad, mode="edge")
        if amount < 0 and image.shape[index] > 4 * -amount:
            return image[-amount:amount] if index == 0 else image[:, -amount:amount]
        return image

    return axis(axis(rgb, rows, 0), columns, 1)


def preprocess(rgb: np.ndarray, recipe: Recipe, framing: tuple[int, int] | None = None) -> np.ndarray:
    """HxWx3 uint8 -> the model's float32 input (H', W', C) as the recipe says."""
    from PIL import Image

    spec = recipe.input
    if recipe.crop_credits:
        rgb = crop_credits(rgb)
    if recipe.crop_text_rows:
        rgb = crop_text_rows(rgb)
    if framing is not None:
        rgb = reframe(rgb, *framing)
    height, width, channels = int(spec["height"]), int(spec["width"]), int(spec.get("channels", 1))
    color = spec.get("color", "ink")
    if color == "rgb":
        resized = np.asarray(Image.fromarray(rgb).resize((width, height), Image.BILINEAR), np.float32)
        x = resized
    else:
        gray = rgb.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
        gray = np.asarray(Image.fromarray(gray, mode="F").resize((width, height), Image.BILINEAR), np.float32)
        if color == "ink":
            background = np.median(gray)
            darkest = np.percentile(gray, 1)
            span = max(background - darkest, 16.0)
            x = np.clip((background - gray) / span, 0.0, 1.0)
        else:
            x = gray / 255.0
        x = x[..., None]
        if channels == 3:
            x = np.repeat(x, 3, axis=2)
    x = x * np.float32(spec.get("scale", 1.0))
    if "mean" in spec:
        x = (x - np.asarray(spec["mean"], np.float32)) / np.asarray(spec.get("std", 1.0), np.float32)
    return x.astype(np.float32)


# ---------------------------------------------------------------- decoding

def decode_ctc(probs: np.ndarray, charset: str, lengths=()) -> tuple[str, list, float]:
    """Best-path CTC decoding of (T, K+1) probabilities, blank last.

    If `lengths` is given and the best path has another length, the most
    probable alignment of an allowed length is found by dynamic programming
    over (time, characters emitted).
    """
    blank = len(charset)
    best = probs.argmax(axis=1)
    text, chars = _collapse(best, probs, charset, blank)
    if lengths and len(text) not in lengths:
        constrained = _best_path_with_length(probs, blank, lengths)
        if constrained is not None:
            text, chars = _collapse(constrained, probs, charset, blank)
    confidence = float(np.prod([p for _, p in chars])) if chars else 0.0
    return text, chars, confidence


def _collapse(path, probs, charset, blank):
    text, chars, previous = "", [], blank
    for t, k in enumerate(path):
        k = int(k)
        if k != blank and k != previous:
            text += charset[k]
            chars.append([charset[k], float(probs[t, k])])
        elif k != blank and k == previous:
            chars[-1][1] = max(chars[-1][1], float(probs[t, k]))
        previous = k
    return text, [tuple(c) for c in chars]


def _best_path_with_length(probs, blank, lengths):
    """Viterbi over states (emitted count, last symbol) keeping per-frame argmax symbols; small T, small L."""
    steps, classes = probs.shape
    logp = np.log(np.maximum(probs, 1e-12))
    target = max(lengths)
    # score[n][k]: best log prob having emitted n chars, current frame symbol k
    neg = -1e30
    score = np.full((target + 1, classes), neg)
    back = np.zeros((steps, target + 1, classes, 2), np.int64)
    score[0, blank] = logp[0, blank]
    score[1, :blank] = logp[0, :blank]
    for t in range(1, steps):
        new = np.full_like(score, neg)
        for n in range(target + 1):
            for k in range(classes):
                candidates = []
                # stay on the same symbol (no new emission)
                candidates.append((score[n, k], n, k))
                if k == blank:
                    best_prev = int(np.argmax(score[n]))
                    candidates.append((score[n, best_prev], n, best_prev))
                elif n > 0:
                    # emit k: previous was blank, or a different symbol, with n-1 emitted
                    prev_scores = score[n - 1].copy()
                    prev_scores[k] = neg
                    best_prev = int(np.argmax(prev_scores))
                    candidates.append((prev_scores[best_prev], n - 1, best_prev))
                value, pn, pk = max(candidates, key=lambda c: c[0])
                new[n, k] = value + logp[t, k]
                back[t, n, k] = (pn, pk)
        score = new
    allowed = [n for n in lengths if n <= target]
    n, k = max(((n, k) for n in allowed for k in range(classes)), key=lambda nk: score[nk])
    if score[n, k] <= neg / 2:
        return None
    path = [k]
    for t in range(steps - 1, 0, -1):
        n, k = back[t, n, k]
        path.append(int(k))
    return path[::-1]


def decode_chunks(scores: np.ndarray, charset: str, length: int) -> tuple[str, list, float]:
    """Fixed-length heads: scores (L*K,) or (L, K) -> one character per chunk."""
    table = np.asarray(scores, np.float64).reshape(length, len(charset))
    sums = table.sum(axis=1, keepdims=True)
    probs = table / np.where(sums > 0, sums, 1.0)  # sigmoid heads: normalise per position
    picks = probs.argmax(axis=1)
    chars = [(charset[k], float(probs[i, k])) for i, k in enumerate(picks)]
    return "".join(c for c, _ in chars), chars, float(np.prod([p for _, p in chars]))


# ---------------------------------------------------------------- solver

class Solver:
    """A model plus its recipe: `Solver.load("l2_digits").solve("captcha.png")`."""

    def __init__(self, model, recipe: Recipe, name: str = "custom"):
        self.model, self.recipe, self.name = model, recipe, name

    @staticmethod
    def resolve(name_or_path) -> str:
        """A built-in solver name or a model folder/model.json path or URL -> the model.json location."""
        text = str(name_or_path)
        if text in BUILTIN:
            for folder in BUILTIN_SEARCH:
                if (folder / text / "model.json").exists():
                    return str(folder / text / "model.json")
            raise KcsolverError(f"built-in solver {text!r} is not installed (looked in "
                                f"{', '.join(str(f) for f in BUILTIN_SEARCH)})")
        if "://" in text:
            return text
        path = Path(text)
        if path.is_dir():
            path = path / "model.json"
        if not path.exists():
            raise KcsolverError(f"{text}: not a built-in solver ({', '.join(BUILTIN)}) nor an existing model path")
        return str(path)

    @classmethod
    def load(cls, name_or_path, backend: str = "numpy", recipe: dict | None = None) -> "Solver":
        from .model import load_model

        location = cls.resolve(name_or_path)
        model = load_model(location, backend=backend)
        return cls(model, cls.find_recipe(model, location, recipe), name=str(name_or_path))

    @staticmethod
    def find_recipe(model, location: str, recipe: dict | None = None) -> Recipe:
        if recipe is not None:
            return Recipe.from_dict(recipe, "recipe argument")
        embedded = (model.metadata or {}).get("kcsolver")
        if embedded:
            return Recipe.from_dict(embedded, f"{location} userDefinedMetadata.kcsolver")
        if "://" not in location:
            side = Path(location).parent / "kcsolver.json"
            if side.exists():
                return Recipe.from_dict(json.loads(side.read_text()), str(side))
        raise KcsolverError(f"{location} has no kcsolver recipe: add userDefinedMetadata.kcsolver to model.json "
                            "or a kcsolver.json beside it (see docs/solvers.md)")

    def prepare(self, image, framing=None) -> np.ndarray:
        return preprocess(load_image(image), self.recipe, framing)

    def _predict(self, x: np.ndarray) -> np.ndarray:
        output = self.model.predict(x)
        return output[0] if isinstance(output, list) else output

    def _second_look(self, rgb: np.ndarray, result: Result) -> Result:
        """Re-read a doubtful answer from re-framed copies; keep the most confident reading."""
        if result.confidence >= RETRY_BELOW:
            return result
        batch = np.stack([preprocess(rgb, self.recipe, framing) for framing in REFRAMINGS])
        candidates = [result] + [self.decode(row) for row in self._predict(batch)]
        votes: dict[str, float] = {}
        for candidate in candidates:  # each reading votes with its confidence
            votes[candidate.text] = votes.get(candidate.text, 0.0) + candidate.confidence
        winner = max(votes, key=votes.get)
        return max((c for c in candidates if c.text == winner), key=lambda c: c.confidence)

    def decode(self, output: np.ndarray) -> Result:
        recipe = self.recipe
        if recipe.decoding["type"] == "ctc":
            text, chars, confidence = decode_ctc(output, recipe.charset, recipe.lengths)
        else:
            text, chars, confidence = decode_chunks(output, recipe.charset, int(recipe.decoding["length"]))
        return Result(text, confidence, chars)

    def solve(self, image) -> Result:
        start = time.perf_counter()
        rgb = load_image(image)
        result = self._second_look(rgb, self.decode(self._predict(preprocess(rgb, self.recipe)[None])[0]))
        result.ms = (time.perf_counter() - start) * 1000
        return result

    def solve_batch(self, images, batch_size: int = 64) -> list[Result]:
        results = []
        for start in range(0, len(images), batch_size):
            rgbs = [load_image(image) for image in images[start:start + batch_size]]
            output = self._predict(np.stack([preprocess(rgb, self.recipe) for rgb in rgbs]))
            results.extend(self._second_look(rgb, self.decode(row)) for rgb, row in zip(rgbs, output))
        return results
