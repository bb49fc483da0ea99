"""Fetch a TF.js model folder: model.json plus its weight shards.

`source` is a file path or an http(s) URL of a model.json; shard paths in the
manifest resolve relative to it. Under CPython files and URLs are read
synchronously; in the browser `load_artifacts_async` uses an async fetch
(`kcsolver.browser.ffi.fetch_bytes`). Both end in `parse_artifacts`, which
checks everything it can before any kernel runs.
"""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import ModelFormatError
from .weights import decode_group, group_byte_length

MAX_MODEL_JSON_BYTES = 64 << 20


@dataclass
class Artifacts:
    """Everything in a model folder, parsed: the JSON document and named weight arrays."""

    source: str
    document: dict
    weights: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def format(self) -> str:
        return self.document.get("format") or ("graph-model" if "node" in self.topology else "layers-model")

    @property
    def topology(self) -> dict:
        return self.document.get("modelTopology") or {}

    @property
    def metadata(self) -> dict:
        return self.document.get("userDefinedMetadata") or {}


def resolve(base: str, relative: str) -> str:
    """A shard path relative to model.json, for URLs and file paths alike."""
    if "://" in base:
        return urllib.parse.urljoin(base, relative)
    return str(Path(base).parent / relative)


def read_source(location: str) -> bytes:
    """Bytes of a local file or an http(s)/file URL (CPython)."""
    if "://" in location:
        try:
            with urllib.request.urlopen(location, timeout=60) as response:
                return response.read()
        except Exception as exc:  # HTTPError, URLError, timeouts
            raise OSError(f"could not fetch {location}: {exc}") from None
    path = Path(location)
    if not path.exists():
        raise FileNotFoundError(f"{location}: no such file")
    return path.read_bytes()


def parse_document(raw: bytes, source: str) -> dict:
    if len(raw) > MAX_MODEL_JSON_BYTES:
        raise ModelFormatError(f"{source}: {len(raw)} bytes is too large for a model.json")
    try:
        document = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelFormatError(f"{source}: not valid JSON ({exc}); expected a TF.js model.json") from None
    if not isinstance(document, dict) or "modelTopology" not in document:
        raise ModelFormatError(f"{source}: no 'modelTopology' key; this is not a TF.js model.json "
                               "(export one with tensorflowjs_converter or kcsolver's writer)")
    manifest = document.get("weightsManifest", [])
    if not isinstance(manifest, list) or any(not isinstance(g, dict) or "paths" not in g or "weights" not in g
                                             for g in manifest):
        raise ModelFormatError(f"{source}: 'weightsManifest' must be a list of {{paths, weights}} groups")
    return document


def shard_urls(document: dict, source: str) -> list[list[str]]:
    return [[resolve(source, path) for path in group["paths"]] for group in document.get("weightsManifest", [])]


def parse_artifacts(source: str, document: dict, shards: list[list[bytes]]) -> Artifacts:
    """Decode all weights; check sizes and finiteness with errors that name the file."""
    artifacts = Artifacts(source, document)
    for group, urls, blobs in zip(document.get("weightsManifest", []), shard_urls(document, source), shards):
        where = ", ".join(urls)
        expected = group_byte_length(group)
        if sum(len(b) for b in blobs) != expected:
            sizes = ", ".join(f"{u} ({len(b)} bytes)" for u, b in zip(urls, blobs))
            raise ModelFormatError(f"weight shard size mismatch: {sizes}; the manifest needs {expected} bytes "
                                   "in all. A shard is truncated, missing or from another model.")
        for name, array in decode_group(group, b"".join(blobs), where).items():
            if array.dtype.kind == "f" and not np.isfinite(array).all():
                raise ModelFormatError(f"weight {name!r} in {where} contains NaN or infinite values; "
                                       "the model file is corrupt or was exported from a diverged training run")
            artifacts.weights[name] = array
    return artifacts


def load_artifacts(source: str | Path) -> Artifacts:
    source = str(source)
    document = parse_document(read_source(source), source)
    shards = []
    for urls in shard_urls(document, source):
        blobs = []
        for url in urls:
            try:
                blobs.append(read_source(url))
            except OSError as exc:
                raise ModelFormatError(f"missing weight shard: {exc}") from None
        shards.append(blobs)
    return parse_artifacts(source, document, shards)


async def load_artifacts_async(source: str, fetch) -> Artifacts:
    """Same as load_artifacts with an async `fetch(url) -> bytes` (the browser's)."""
    document = parse_document(await fetch(source), source)
    shards = []
    for urls in shard_urls(document, source):
        blobs = []
        for url in urls:
            try:
                blobs.append(await fetch(url))
            except OSError as exc:
                raise ModelFormatError(f"missing weight shard: {exc}") from None
        shards.append(blobs)
    return parse_artifacts(source, document, shards)
