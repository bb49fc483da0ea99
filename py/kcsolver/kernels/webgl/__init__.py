"""The webgl backend: WebGL2 fragment-shader kernels driven from Python in the browser worker.

Tensors stay on the GPU between ops and only model outputs are read back;
constants (weights) are uploaded once per model, in the layout each kernel
wants, and freed with the model. An op without a shader (or a case a shader
does not cover, such as a matmul of two activations) runs with NumPy for that
node only, and is listed once in `info()["fallback_ops"]`. Creating the
backend raises `WebGLUnavailable` where WebGL2 or float render targets are
missing; `Model` then uses numpy (see model.py).
"""

from __future__ import annotations

import numpy as np

from ..numpy import KERNELS as NUMPY_KERNELS
from .context import GLContext, GpuTensor, WebGLUnavailable
from .ops import Kernels

__all__ = ["WebGLBackend", "WebGLUnavailable", "GpuTensor", "context_made", "shared_context"]

_context: GLContext | None = None


def context_made() -> bool:
    """Whether this worker holds a live GL context (made by shared_context, never by asking)."""
    return _context is not None and not _context.lost


def shared_context() -> GLContext:
    """One GL context per worker (browsers cap the number of contexts); recreated after a loss."""
    global _context
    if _context is None or _context.lost:
        _context = GLContext()
    return _context


class WebGLBackend:
    name = "webgl"

    def __init__(self):
        self.ctx = shared_context()
        self.constants: dict[tuple, tuple[np.ndarray, GpuTensor]] = {}
        self.fallbacks: set[str] = set()
        gpu = Kernels(self).registry()
        self.kernels = {name: self._wrap(name, gpu.get(name), fn) for name, fn in NUMPY_KERNELS.items()}

    def _wrap(self, name, gpu_kernel, numpy_kernel):
        ctx = self.ctx

        def kernel(*args, **attrs):
            on_gpu = any(isinstance(a, GpuTensor) for a in args)
            if not on_gpu:
                return numpy_kernel(*args, **attrs)  # shape arithmetic and other host values
            if gpu_kernel is not None:
                result = gpu_kernel(*args, **attrs)
                if result is not None:
                    return result
            self.fallbacks.add(name)
            host = [ctx.download(a) if isinstance(a, GpuTensor) else a for a in args]
            result = np.asarray(numpy_kernel(*host, **attrs))
            if result.dtype.kind == "f" and 0 < result.ndim <= 4:
                return ctx.upload(result)
            return result

        kernel.__name__ = name
        return kernel

    def constant_texture(self, array: np.ndarray, layout=None) -> GpuTensor:
        key = (id(array), layout)
        cached = self.constants.get(key)
        if cached is None:
            cached = self.constants[key] = (array, self.ctx.upload(self._arrange(array, layout)))
        return cached[1]

    @staticmethod
    def _arrange(array: np.ndarray, layout) -> np.ndarray:
        """Weights in the layout a kernel reads them: one row per input index, output channels packed."""
        if layout is None:
            return array
        kind = layout[0]
        if kind == "conv":
            kh, kw, ci, co = array.shape
            padded = np.zeros((kh, kw, layout[1] * 4, co), np.float32)
            padded[:, :, :ci] = array
            return padded.reshape(-1, 1, co)
        if kind == "depthwise":
            kh, kw, ci, m = array.shape
            return array.reshape(kh * kw, 1, ci * m)
        if kind == "dense":
            weights = array.T if layout[1] else array
            k, units = weights.shape
            padded = np.zeros((layout[2] * 4, units), np.float32)
            padded[:k] = weights
            return padded.reshape(-1, 1, units)
        raise ValueError(f"unknown weight layout {layout!r}")

    def to_device(self, array):
        array = np.asarray(array)
        return self.ctx.upload(array) if array.dtype.kind == "f" and 0 < array.ndim <= 4 else array

    def to_host(self, value) -> np.ndarray:
        return self.ctx.download(value) if isinstance(value, GpuTensor) else np.asarray(value)

    def check(self) -> None:
        if self.ctx.lost:
            raise WebGLUnavailable("the WebGL context was lost")

    def sync(self, value=None) -> None:
        if isinstance(value, GpuTensor):
            self.ctx.wait(value)

    def info(self) -> dict:
        return {"backend": self.name, "renderer": self.ctx.renderer, "fallback_ops": sorted(self.fallbacks),
                "max_texture_size": self.ctx.max_size, "weight_textures": len(self.constants)}

    def release(self) -> None:
        """Delete the weight textures (the model is dropped or moves to another backend)."""
        for _array, tensor in self.constants.values():
            self.ctx.delete(tensor)
        self.constants.clear()

