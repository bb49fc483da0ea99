"""Images in: any supported form to an RGB array, and the crops KCAPTCHA images need.

`load_image` accepts a path, bytes, a PIL image or an HxW[x1|3|4] array. Files
are decoded with Pillow (imported only then: the browser hands us pixels from a
canvas and never needs it). Sizes are checked before decoding, so a small file
that declares a huge image is refused without allocating it.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..limits import DEFAULT

MAX_PIXELS = DEFAULT.image_pixels  # larger images are refused (decompression bombs); captchas are ~10k pixels
MAX_BYTES = DEFAULT.image_bytes
CREDITS_HEIGHT = 12


def _too_large(what: str) -> InputError:
    return InputError(f"{what}: more than {MAX_PIXELS:,} pixels is refused (Limits.image_pixels); "
                      "captchas are about 160x60, so crop or resize the image first")


def load_image(image) -> np.ndarray:
    """Any supported image (path, bytes, PIL image, HxW[x1|3|4] array) as HxWx3 uint8 RGB."""
    if isinstance(image, np.ndarray):
        return array_to_rgb(image)
    if isinstance(image, (str, Path)):
        path = Path(image)
        if not path.is_file():
            raise InputError(f"{path}: no such file")
        if path.stat().st_size > MAX_BYTES:
            raise InputError(f"{path}: {path.stat().st_size:,} bytes is more than a captcha image can be "
                             f"({MAX_BYTES:,}, Limits.image_bytes)")
        image = path.read_bytes()
    if isinstance(image, (bytes, bytearray, memoryview)):
        image = _open(bytes(image))
    if not hasattr(image, "convert") or not hasattr(image, "size"):
        raise InputError(f"cannot read an image from {type(image).__name__}: give a path, bytes, a PIL image "
                         "or an HxWx3/4 uint8 array")
    width, height = image.size
    if width * height > MAX_PIXELS:
        raise _too_large(f"the image is {width}x{height} pixels")
    try:
        if getattr(image, "is_animated", False):
            image.seek(0)
        return np.asarray(image.convert("RGB"))
    except (OSError, SyntaxError, ValueError, IndexError, TypeError, EOFError) as exc:
        # Pillow reports damaged files in many ways (OSError "Truncated File Read", SyntaxError for bad
        # PNG chunks, IndexError/TypeError in some plugins); all of them mean the same thing here.
        raise InputError(f"the image is truncated or corrupt ({type(exc).__name__}: {exc}); "
                         "save or copy it again") from None


def _open(data: bytes):
    from PIL import Image, UnidentifiedImageError

    if not data:
        raise InputError("the image is empty (0 bytes)")
    if len(data) > MAX_BYTES:
        raise InputError(f"{len(data):,} bytes is more than a captcha image can be ({MAX_BYTES:,}, Limits.image_bytes)")
    try:
        return Image.open(io.BytesIO(data))
    except UnidentifiedImageError:
        raise InputError("not an image (or an unsupported format): use PNG, JPEG, GIF, BMP or WEBP") from None
    except Image.DecompressionBombError as exc:  # Pillow's own guard fired first (before we see the size)
        declared = re.search(r"\((\d+) pixels\)", str(exc))  # Pillow: "Image size (N pixels) exceeds limit ..."
        size = f" ({int(declared.group(1)):,} pixels)" if declared else ""
        raise _too_large(f"the image declares a huge size{size}") from None
    except (OSError, SyntaxError, ValueError, IndexError, TypeError, EOFError) as exc:
        raise InputError(f"the image is truncated or corrupt ({type(exc).__name__}: {exc}); "
                         "save or copy it again") from None


def array_to_rgb(array: np.ndarray) -> np.ndarray:
    """HxW, HxWx1/3/4 arrays (uint8, or floats in 0..1 or 0..255) as HxWx3 uint8; alpha composited on white."""
    if array.ndim == 2:
        array = array[..., None]
    if array.ndim != 3 or array.shape[2] not in (1, 3, 4):
        raise InputError(f"expected an HxW, HxWx3 or HxWx4 array, got shape {array.shape}")
    if array.shape[0] * array.shape[1] > MAX_PIXELS:
        raise _too_large(f"the image is {array.shape[1]}x{array.shape[0]} pixels")
    if array.dtype != np.uint8:
        if array.dtype.kind not in "fiub":
            raise InputError(f"expected an array of numbers, got dtype {array.dtype}")
        array = np.nan_to_num(array.astype(np.float32), nan=0.0, posinf=255.0, neginf=0.0)
        if array.size and array.max() <= 1.0:
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
    bar = gray[-CREDITS_HEIGHT:]
    background = np.median(gray[: height - CREDITS_HEIGHT])
    dark_fraction = (bar < background - 60).mean()
    if dark_fraction > 0.6 and np.median(gray[-CREDITS_HEIGHT - 2:-CREDITS_HEIGHT]) > background - 60:
        return rgb[:-CREDITS_HEIGHT]
    return rgb


def text_band(rgb: np.ndarray, axis: int, margin: int) -> tuple[int, int] | None:
    """The span of rows (axis 0) or columns (axis 1) that holds the middle 99% of the ink, plus a margin;
    sparse noise dots off the text barely move it. None when the image has no ink."""
    gray = rgb.astype(np.float32).mean(axis=2)
    ink = np.clip(np.median(gray) - gray, 0, None).sum(axis=1 - axis)
    total = ink.sum()
    if total <= 0:
        return None
    cumulative = np.cumsum(ink) / total
    start = int(np.searchsorted(cumulative, 0.005))
    stop = int(np.searchsorted(cumulative, 0.995)) + 1
    return max(0, start - margin), min(rgb.shape[axis], stop + margin)


def crop_text_rows(rgb: np.ndarray, margin: int = 4) -> np.ndarray:
    """Keep the band of rows that holds the text (plus a margin), so that canvases of any height give the
    model glyphs of about one size."""
    band = text_band(rgb, 0, margin)
    if band is None or band[1] - band[0] < rgb.shape[0] // 3:  # not a text band (a blank or odd image)
        return rgb
    return rgb[band[0]:band[1]]


def crop_text_columns(rgb: np.ndarray, margin: int = 4) -> np.ndarray:
    """Keep the columns that hold the text (plus a margin), for recipes with text_stretch."""
    band = text_band(rgb, 1, margin)
    if band is None or band[1] - band[0] < 2 * margin + 4:  # nothing like text: keep it all
        return rgb
    return rgb[:, band[0]:band[1]]


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
