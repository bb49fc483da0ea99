"""Weight shards <-> NumPy arrays, following the TF.js `weightsManifest`.

A manifest is a list of groups `{paths: [...], weights: [{name, shape, dtype,
quantization?}]}`. The shards of a group are concatenated and the weights are
laid out back to back in manifest order. Quantized weights store uint8/uint16
values `q` with `value = q * scale + min`, or float16 values.
"""

from __future__ import annotations

import numpy as np

from ..errors import ModelFormatError

_STORED = {"float32": np.float32, "int32": np.int32, "bool": np.bool_, "uint8": np.uint8,
           "uint16": np.uint16, "float16": np.float16}
_OUTPUT = {"float32": np.float32, "int32": np.int32, "bool": np.bool_}


def stored_dtype(spec: dict) -> np.dtype:
    """The dtype of the bytes in the shard for one manifest entry."""
    quantization = spec.get("quantization")
    name = quantization["dtype"] if quantization else spec.get("dtype", "float32")
    if name not in _STORED:
        raise ModelFormatError(f"weight {spec.get('name')!r}: unsupported stored dtype {name!r} "
                               f"(supported: {', '.join(_STORED)})")
    return np.dtype(_STORED[name])


def group_byte_length(group: dict) -> int:
    return sum(int(np.prod(w["shape"], dtype=np.int64)) * stored_dtype(w).itemsize for w in group["weights"])


def decode_group(group: dict, buffer: bytes, where: str) -> dict[str, np.ndarray]:
    """Split one group's concatenated shard bytes into named arrays (dequantized)."""
    expected = group_byte_length(group)
    if len(buffer) != expected:
        raise ModelFormatError(
            f"{where}: shards hold {len(buffer)} bytes but the manifest describes {expected} bytes "
            f"for {len(group['weights'])} weights; the files are truncated or do not belong to this model.json"
        )
    arrays = {}
    offset = 0
    for spec in group["weights"]:
        dtype = stored_dtype(spec)
        count = int(np.prod(spec["shape"], dtype=np.int64))
        raw = np.frombuffer(buffer, dtype=dtype, count=count, offset=offset)
        offset += count * dtype.itemsize
        arrays[spec["name"]] = dequantize(raw, spec).reshape(spec["shape"])
    return arrays


def dequantize(raw: np.ndarray, spec: dict) -> np.ndarray:
    quantization = spec.get("quantization")
    out_dtype = _OUTPUT.get(spec.get("dtype", "float32"))
    if out_dtype is None:
        raise ModelFormatError(f"weight {spec['name']!r}: unsupported dtype {spec.get('dtype')!r}")
    if not quantization:
        return raw.astype(out_dtype, copy=True)
    if quantization["dtype"] == "float16":
        return raw.astype(np.float32)
    scale, minimum = quantization.get("scale"), quantization.get("min")
    if scale is None or minimum is None:
        raise ModelFormatError(f"weight {spec['name']!r}: {quantization['dtype']} quantization needs scale and min")
    values = raw.astype(np.float32) * np.float32(scale) + np.float32(minimum)
    return values.astype(out_dtype) if out_dtype is not np.float32 else values


def quantize(array: np.ndarray, dtype: str | None) -> tuple[bytes, dict | None]:
    """Encode an array for a shard: raw float32/int32, or uint8/uint16/float16 quantized."""
    if dtype is None or array.dtype.kind != "f":
        return np.ascontiguousarray(array).tobytes(), None
    array = array.astype(np.float32)
    if dtype == "float16":
        return array.astype(np.float16).tobytes(), {"dtype": "float16", "original_dtype": "float32"}
    levels = {"uint8": 255, "uint16": 65535}[dtype]
    low, high = float(array.min(initial=0.0)), float(array.max(initial=0.0))
    scale = (high - low) / levels if high > low else 1.0
    q = np.round((array - low) / scale).clip(0, levels).astype(_STORED[dtype])
    return q.tobytes(), {"dtype": dtype, "min": low, "scale": scale, "original_dtype": "float32"}
