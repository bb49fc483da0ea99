"""The model's input from an RGB captcha, as the recipe says: crops, resize, colour handling, scaling.

Pure NumPy (no Pillow), so the browser path needs nothing but NumPy. The resize
is the antialiased bilinear ("triangle") filter that Pillow's `resize(BILINEAR)`
uses, written as two small weight matrices: out = Wy @ image @ Wx.T.
"""

from __future__ import annotations

import functools

import numpy as np

from .images import crop_credits, crop_text_columns, crop_text_rows, reframe

LUMA = np.array([0.299, 0.587, 0.114], np.float32)


@functools.lru_cache(maxsize=256)
def resize_weights(source: int, target: int) -> np.ndarray:
    """(target, source) weights of the triangle filter, widened by the scale factor when shrinking."""
    scale = source / target
    support = max(scale, 1.0)
    centers = (np.arange(target) + 0.5) * scale
    taps = np.arange(source) + 0.5
    weights = np.clip(1.0 - np.abs(taps[None, :] - centers[:, None]) / support, 0.0, None)
    sums = weights.sum(axis=1, keepdims=True)
    return (weights / np.where(sums > 0, sums, 1.0)).astype(np.float32)


def resize(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """Resize an HxW or HxWxC float32 image with the triangle filter."""
    rows = resize_weights(image.shape[0], height)
    columns = resize_weights(image.shape[1], width)
    if image.ndim == 2:
        return rows @ image @ columns.T
    return np.einsum("ij,jkc,lk->ilc", rows, image, columns, optimize=True)


def fit(image: np.ndarray, height: int, width: int, text_stretch: float | None = None,
        background=None) -> np.ndarray:
    """Resize to height x width. With text_stretch (the image cropped to its text first): scale by the
    height, widen `text_stretch` times more (narrower when that would overflow the width) and centre the
    result on `background`, so each character spans more of the CTC's frames."""
    if not text_stretch:
        return resize(image, height, width)
    scaled = min(width, max(1, round(image.shape[1] * height / image.shape[0] * text_stretch)))
    out = np.empty((height, width) + image.shape[2:], np.float32)
    out[...] = background
    left = (width - scaled) // 2
    out[:, left:left + scaled] = resize(image, height, scaled)
    return out


def ink(gray: np.ndarray) -> np.ndarray:
    """1 = text, 0 = background: grey stretched between the image's darkest 1% and its median."""
    background = np.median(gray)
    darkest = np.percentile(gray, 1)
    span = max(background - darkest, 16.0)
    return np.clip((background - gray) / span, 0.0, 1.0)


def preprocess(rgb: np.ndarray, recipe, framing: tuple[int, int] | None = None) -> np.ndarray:
    """HxWx3 uint8 -> the model's float32 input (H', W', C) as the recipe says."""
    spec = recipe.input
    if recipe.crop_credits:
        rgb = crop_credits(rgb)
    if recipe.crop_text_rows:
        rgb = crop_text_rows(rgb)
    if framing is not None:
        rgb = reframe(rgb, *framing)
    background = None
    if recipe.text_stretch:  # the background colour before the crop, where it is most of the picture
        background = np.median(rgb.reshape(-1, rgb.shape[2]), axis=0).astype(np.float32)
        rgb = crop_text_columns(rgb)
    height, width, channels = int(spec["height"]), int(spec["width"]), int(spec.get("channels", 1))
    color = spec.get("color", "ink")
    if color == "rgb":
        x = fit(rgb.astype(np.float32), height, width, recipe.text_stretch, background)
    else:
        gray = fit(rgb.astype(np.float32) @ LUMA, height, width, recipe.text_stretch,
                   None if background is None else background @ LUMA)
        x = ink(gray) if color == "ink" else gray / 255.0
        x = x[..., None]
        if channels == 3:
            x = np.repeat(x, 3, axis=2)
    x = x * np.float32(spec.get("scale", 1.0))
    if "mean" in spec:
        x = (x - np.asarray(spec["mean"], np.float32)) / np.asarray(spec.get("std", 1.0), np.float32)
    return x.astype(np.float32)
