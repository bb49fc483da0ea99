"""Resource limits, checked before anything is allocated, so that a small file cannot ask for gigabytes.

Every limit is generous for captcha solvers (ours have 0.3 M weights and take
48 x 128 inputs; DenseNet121, the largest model the benchmarks run, has 8 M
weights) and can be raised per call: `load_model(path, limits=Limits(weight_elements=...))`,
`Solver.load(..., limits=...)`. docs/errors.md lists them.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import ResourceLimitError


@dataclass(frozen=True)
class Limits:
    model_json_bytes: int = 64 << 20       # a model.json file
    weight_elements: int = 64_000_000      # all weights of a model together (256 MB as float32)
    tensor_elements: int = 64_000_000      # one declared weight, model input or output of an op
    layers: int = 20_000                   # layers (layers-model) or nodes (graph-model)
    shape_value: int = 1 << 20             # one dimension, size, stride, padding or axis value in model.json
    input_elements: int = 64_000_000       # one predict() batch
    image_bytes: int = 20 << 20            # an image file
    image_pixels: int = 4_000_000          # an image's width x height (captchas are about 10 000)

    def check(self, what: str, value: int, limit_name: str, unit: str = "") -> None:
        """Raise ResourceLimitError("{what} {value}{unit} is over the limit ...") when value > the limit."""
        limit = getattr(self, limit_name)
        if value > limit:
            raise ResourceLimitError(f"{what} {value:,}{unit}, over the limit of {limit:,}{unit} (Limits.{limit_name}); "
                                     "pass limits=Limits(...) to allow more if you trust the file")


DEFAULT = Limits()
