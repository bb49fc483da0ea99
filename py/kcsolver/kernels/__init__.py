"""Kernel backends: each maps canonical op names to functions.

A backend module exposes `KERNELS: dict[str, callable]`; a kernel takes the
node's input arrays positionally and its attributes as keywords and returns
one array. `numpy` is the reference backend and runs everywhere.
"""

from __future__ import annotations

BACKENDS = ("numpy",)


def get_kernels(backend: str) -> dict:
    if backend == "numpy":
        from .numpy import KERNELS

        return KERNELS
    raise ValueError(f"unknown backend {backend!r}; available: {', '.join(BACKENDS)}")
