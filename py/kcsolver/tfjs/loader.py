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
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import IntegrityError, ModelFormatError, ModelSourceError
from ..limits import DEFAULT, Limits
from .schema import validate
from .weights import decode_group, group_byte_length


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


def read_source(location: str, limit: int | None = None) -> bytes:
    """Bytes of a local file or an http(s)/file URL (CPython); ModelSourceError when it cannot be read."""
    if "://" in location:
        import urllib.request  # here: it pulls in http.client and email, which the browser never needs

        try:
            with urllib.request.urlopen(location, timeout=60) as response:
                return response.read(limit + 1 if limit else -1)
        except Exception as exc:  # HTTPError, URLError, timeouts, refused schemes
            raise ModelSourceError(f"could not fetch {location}: {exc}") from None
    path = Path(location)
    if not path.is_file():
        raise ModelSourceError(f"{location}: no such file")
    try:
        with open(path, "rb") as handle:
            return handle.read(limit + 1 if limit else -1)
    except OSError as exc:
        raise ModelSourceError(f"{location}: cannot be read ({exc})") from None


def parse_document(raw: bytes, source: str, limits: Limits = DEFAULT) -> dict:
    """The model.json document, checked (schema.validate) before anything else is read."""
    limits.check(f"{source}: a model.json of", len(raw), "model_json_bytes", " bytes")
    try:
        document = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise ModelFormatError(f"{source}: not valid JSON ({exc}); expected a TF.js model.json") from None
    if not isinstance(document, dict) or "modelTopology" not in document:
        raise ModelFormatError(f"{source}: no 'modelTopology' key; this is not a TF.js model.json "
                               "(export one with tensorflowjs_converter or kcsolver's writer)")
    validate(document, source, limits)
    return document


def check_digest(url: str, data: bytes, digests: dict | None) -> None:
    """With a digest map (file name -> sha256, as build.py records them), the file must match."""
    if not digests:
        return
    import hashlib

    name = url.replace("\\", "/").rsplit("/", 1)[-1]
    expected = digests.get(name)
    if expected is None:
        raise IntegrityError(f"{url}: no digest recorded for {name}; the model folder has a file the digests do not "
                             "cover")
    actual = hashlib.sha256(data).hexdigest()
    if actual != expected:
        raise IntegrityError(f"{url}: sha256 {actual} differs from the recorded {expected}: the file is stale, "
                             "damaged or tampered with; fetch the model again")


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


def load_artifacts(source: str | Path, limits: Limits = DEFAULT, digests: dict | None = None) -> Artifacts:
    """model.json and its shards from a path or URL; `digests` (file name -> sha256) makes every file
    checked against them."""
    source = str(source)
    raw = read_source(source, limits.model_json_bytes)
    check_digest(source, raw, digests)
    document = parse_document(raw, source, limits)
    shards = []
    for group, urls in zip(document.get("weightsManifest", []), shard_urls(document, source)):
        budget = group_byte_length(group)
        blobs = []
        for url in urls:
            try:
                blobs.append(read_source(url, budget))  # never more than the manifest says, plus one byte
            except OSError as exc:
                raise ModelFormatError(f"missing weight shard: {exc}") from None
            check_digest(url, blobs[-1], digests)
        shards.append(blobs)
    return parse_artifacts(source, document, shards)


async def load_artifacts_async(source: str, fetch, limits: Limits = DEFAULT, digests: dict | None = None) -> Artifacts:
    """Same as load_artifacts with an async `fetch(url) -> bytes` (the browser's)."""
    raw = await fetch(source)
    check_digest(source, raw, digests)
    document = parse_document(raw, source, limits)
    shards = []
    for urls in shard_urls(document, source):
        blobs = []
        for url in urls:
            try:
                blobs.append(await fetch(url))
            except OSError as exc:
                raise ModelFormatError(f"missing weight shard: {exc}") from None
            check_digest(url, blobs[-1], digests)
        shards.append(blobs)
    return parse_artifacts(source, document, shards)
