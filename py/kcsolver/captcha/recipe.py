"""The decoding recipe a solver bundle carries in model.json (`userDefinedMetadata.kcsolver`), and `Result`.

    {"charset": "0123456789abcdeghikmnpqsuvxyz",      # the network's symbols, in class order
     "generations": ["2.x", "1.2.6"],                  # classes: charset once per drawing style, blank last
     "decoding": {"type": "ctc"} | {"type": "chunks", "length": 2, "activation": "softmax"|"sigmoid"},
     "alphabet": "0123456789", "lengths": [2], "generation": "2.x",   # what this solver answers with
     "input": {"height": 48, "width": 128, "channels": 1,
               "color": "ink" | "gray" | "rgb",         # ink: 1 = text, 0 = background (contrast-stretched)
               "scale": 1.0, "mean": [..], "std": [..]},  # x = (pixels * scale - mean) / std
     "crop_credits": true, "crop_text_rows": false, "text_stretch": 1.4, "check": false,
     "presets": {"digits": {"alphabet": ..., "lengths": ..., "generation": ..., "description": ...},
                 "classic": {..., "network": "../kcaptcha-classic/model.json"}, ...}}

A bundle with `presets` holds several solvers on one network (the shipped
`kcaptcha` bundle: l2_digits, digits, stock23, classic); `Recipe.preset(name)`
gives one of them. A preset may name a specialist `network` (a model.json path relative to the
bundle's, with the same output layout) that reads its images instead of the bundle's network.
docs/solvers.md documents every field.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from ..errors import RecipeError

COLORS = ("ink", "gray", "rgb")


@dataclass(frozen=True)
class Preset:
    """One solver of a bundle: what it answers with and which drawing it reads."""

    alphabet: str
    lengths: tuple
    generation: str | None = None
    description: str = ""
    network: str | None = None  # a specialist model.json, relative to the bundle's, that reads this preset
    check: bool = False  # every answer is read again from re-framed copies, and only agreement keeps confidence
    power: float = 1.0   # a checked answer's confidence is raised to this power (calibration of a general reading)


@dataclass
class Recipe:
    charset: str
    decoding: dict
    input: dict
    lengths: list = field(default_factory=list)
    crop_credits: bool = True
    crop_text_rows: bool = False
    text_stretch: float | None = None
    generations: list = field(default_factory=list)
    alphabet: str | None = None
    generation: str | None = None
    presets: dict = field(default_factory=dict)
    check: bool = False  # (see Preset.check and Preset.power) for a recipe read as one solver
    power: float = 1.0

    @property
    def groups(self) -> int:
        """How many times the network's classes repeat the charset (one per drawing style)."""
        return max(len(self.generations), 1)

    @property
    def classes(self) -> int:
        """The size of the network's output per frame (CTC) or in all (chunks)."""
        if self.decoding["type"] == "ctc":
            return len(self.charset) * self.groups + 1
        return len(self.charset) * int(self.decoding["length"])

    @property
    def answer_alphabet(self) -> str:
        return self.alphabet or self.charset

    def preset(self, name: str) -> "Recipe":
        """The recipe of one of the bundle's solvers."""
        if name not in self.presets:
            raise RecipeError(f"no solver {name!r} in this bundle; it has {', '.join(self.presets) or 'none'}")
        chosen: Preset = self.presets[name]
        return replace(self, alphabet=chosen.alphabet, lengths=list(chosen.lengths), generation=chosen.generation,
                       check=chosen.check, power=chosen.power)

    @classmethod
    def from_dict(cls, data, where: str = "recipe") -> "Recipe":
        """Parse and check a recipe; every problem is a RecipeError naming the field."""
        if not isinstance(data, dict):
            raise RecipeError(f"{where}: a kcsolver recipe must be a JSON object, got {type(data).__name__}")
        missing = [key for key in ("charset", "decoding", "input") if key not in data]
        if missing:
            raise RecipeError(f"{where}: incomplete kcsolver recipe (missing {', '.join(missing)}); it needs "
                              "charset, decoding and input (see docs/solvers.md)")
        charset = _text(data["charset"], f"{where}.charset")
        if len(set(charset)) != len(charset):
            raise RecipeError(f"{where}.charset: repeated symbols in {charset!r}")
        decoding = _object(data["decoding"], f"{where}.decoding")
        if decoding.get("type") not in ("ctc", "chunks"):
            raise RecipeError(f"{where}.decoding.type must be 'ctc' or 'chunks', got {decoding.get('type')!r}")
        if decoding["type"] == "chunks":
            _positive(decoding.get("length"), f"{where}.decoding.length")
        spec = _object(data["input"], f"{where}.input")
        for key in ("height", "width"):
            _positive(spec.get(key), f"{where}.input.{key}", limit=4096)
        if spec.get("channels", 1) not in (1, 3):
            raise RecipeError(f"{where}.input.channels must be 1 or 3, got {spec.get('channels')!r}")
        if spec.get("color", "ink") not in COLORS:
            raise RecipeError(f"{where}.input.color must be one of {', '.join(COLORS)}, got {spec.get('color')!r}")
        generations = [str(g) for g in _list(data.get("generations", []), f"{where}.generations")]
        recipe = cls(charset=charset, decoding=decoding, input=spec,
                     lengths=_lengths(data.get("lengths", []), f"{where}.lengths"),
                     crop_credits=bool(data.get("crop_credits", True)),
                     crop_text_rows=bool(data.get("crop_text_rows", False)),
                     text_stretch=_stretch(data.get("text_stretch"), f"{where}.text_stretch"),
                     generations=generations,
                     alphabet=_alphabet(data.get("alphabet"), charset, f"{where}.alphabet"),
                     generation=_generation(data.get("generation"), generations, f"{where}.generation"),
                     check=bool(data.get("check", False)), power=_power(data.get("power", 1.0), f"{where}.power"))
        presets = _object(data.get("presets", {}), f"{where}.presets")
        for name, value in presets.items():
            entry = _object(value, f"{where}.presets.{name}")
            recipe.presets[str(name)] = Preset(
                alphabet=_alphabet(entry.get("alphabet"), charset, f"{where}.presets.{name}.alphabet") or charset,
                lengths=tuple(_lengths(entry.get("lengths", []), f"{where}.presets.{name}.lengths")),
                generation=_generation(entry.get("generation"), generations, f"{where}.presets.{name}.generation"),
                description=str(entry.get("description", "")),
                network=_relative_path(entry.get("network"), f"{where}.presets.{name}.network"),
                check=bool(entry.get("check", False)),
                power=_power(entry.get("power", 1.0), f"{where}.presets.{name}.power"))
        return recipe

    def to_dict(self) -> dict:
        data = {"charset": self.charset, "decoding": self.decoding, "input": self.input, "lengths": self.lengths,
                "crop_credits": self.crop_credits, "crop_text_rows": self.crop_text_rows}
        if self.text_stretch:
            data["text_stretch"] = self.text_stretch
        if self.generations:
            data["generations"] = self.generations
        if self.alphabet:
            data["alphabet"] = self.alphabet
        if self.generation:
            data["generation"] = self.generation
        if self.check:
            data["check"] = True
        if self.power != 1.0:
            data["power"] = self.power
        if self.presets:
            data["presets"] = {name: _preset_dict(p) for name, p in self.presets.items()}
        return data


@dataclass
class Result:
    """A reading: `text` ('' when there is no answer, with `reason`), `confidence` (probability that the
    whole string is right), `chars` [(character, probability)], the `solver` that read it."""

    text: str
    confidence: float
    chars: list
    ms: float = 0.0
    solver: str = ""
    reason: str | None = None
    fit: float = 1.0  # how well the solver's reading explains the image against the free reading (0..1)

    def to_dict(self) -> dict:
        data = {"text": self.text, "confidence": self.confidence, "chars": [[c, p] for c, p in self.chars],
                "solver": self.solver, "ms": self.ms}
        if self.reason:
            data["reason"] = self.reason
        return data


def _preset_dict(preset: Preset) -> dict:
    data = {"alphabet": preset.alphabet, "lengths": list(preset.lengths), "generation": preset.generation,
            "description": preset.description}
    if preset.network:
        data["network"] = preset.network
    if preset.check:
        data["check"] = True
    if preset.power != 1.0:
        data["power"] = preset.power
    return data


def _relative_path(value, where):
    """A specialist's model.json: relative to the bundle, so model content never sends the solver elsewhere."""
    if value is None:
        return None
    value = _text(value, where)
    if "://" in value or value.startswith(("/", "\\")) or ":" in value or not value.endswith("model.json"):
        raise RecipeError(f"{where} must be a relative path to a model.json beside the bundle (e.g. "
                          f"'../kcaptcha-classic/model.json'), got {value!r}")
    return value


def _text(value, where):
    if not isinstance(value, str) or not value:
        raise RecipeError(f"{where} must be a non-empty string, got {value!r}")
    return value


def _object(value, where):
    if not isinstance(value, dict):
        raise RecipeError(f"{where} must be a JSON object, got {type(value).__name__}")
    return value


def _list(value, where):
    if not isinstance(value, list):
        raise RecipeError(f"{where} must be a list, got {type(value).__name__}")
    return value


def _positive(value, where, limit=64):
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= limit:
        raise RecipeError(f"{where} must be an integer from 1 to {limit}, got {value!r}")
    return value


def _power(value, where):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.1 <= value <= 100:
        raise RecipeError(f"{where} must be a number from 0.1 to 100 (or absent), got {value!r}")
    return float(value)


def _stretch(value, where):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.25 <= value <= 4:
        raise RecipeError(f"{where} must be a number from 0.25 to 4 (or absent), got {value!r}")
    return float(value)


def _lengths(value, where):
    return sorted({_positive(n, f"{where}[{i}]") for i, n in enumerate(_list(value, where))})


def _alphabet(value, charset, where):
    if value is None:
        return None
    value = _text(value, where)
    outside = sorted(set(value) - set(charset))
    if outside:
        raise RecipeError(f"{where}: symbols {''.join(outside)!r} are not in the charset {charset!r}")
    return value


def _generation(value, generations, where):
    if value is None:
        return None
    if str(value) not in generations:
        raise RecipeError(f"{where}: {value!r} is not one of the network's generations {generations}")
    return str(value)
