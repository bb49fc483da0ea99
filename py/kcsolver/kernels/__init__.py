"""Kernel backends: interchangeable runtimes for the same canonical ops.

A backend has `kernels` (op name -> function taking the node's inputs
positionally and its attributes as keywords), and moves tensors with
`to_device` / `to_host`. `numpy` is the reference and runs everywhere;
`webgl` (browser only) keeps tensors in WebGL2 textures and runs any op it
has no shader for with NumPy, for that node only.
"""

from __future__ import annotations

import numpy as np

from ..errors import InputError

BACKENDS = ("numpy",)          # backends available everywhere (the CPython test matrix)
ALL_BACKENDS = ("numpy", "webgl", "auto")


class NumpyBackend:
    name = "numpy"

    def __init__(self):
        from .numpy import KERNELS

        self.kernels = KERNELS
        self.fallbacks: set[str] = set()

    def to_device(self, array):
        return array

    def to_host(self, value) -> np.ndarray:
        return np.asarray(value)

    def check(self) -> None:
        """Raise if the backend can no longer run (the numpy one always can)."""

    def release(self) -> None:
        """Free device copies of the model's weights (numpy keeps none)."""

    def sync(self, value=None) -> None:
        """Wait until `value` is computed (for per-op timings; numpy runs synchronously)."""

    def info(self) -> dict:
        return {"backend": self.name}


def get_kernels(backend: str) -> dict:
    return get_backend(backend).kernels


def get_backend(name: str):
    if name == "numpy":
        return NumpyBackend()
    if name == "webgl":
        from .webgl import WebGLBackend

        return WebGLBackend()
    raise InputError(f"unknown backend {name!r}; available: {', '.join(ALL_BACKENDS)}")
