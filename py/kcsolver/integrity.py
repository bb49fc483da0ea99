"""sha256 digests of model folders: written when a model is shipped or built, checked before use.

Every model folder of the site carries a `SHA256SUMS` file in the format of
coreutils' `sha256sum` (so `sha256sum -c SHA256SUMS` works there too), and
build.py copies the same digests into runtime.json for the page's model cache.
`kcsolver verify DIR` checks a model folder (or every model of a built site)
against them; `load_model(..., digests=read_sums(folder))` checks each file as
it is read.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from .errors import IntegrityError

SUMS = "SHA256SUMS"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def model_files(folder: Path) -> list[Path]:
    return sorted(p for p in Path(folder).iterdir() if p.is_file() and p.name != SUMS)


def write_sums(folder: Path) -> Path:
    """Record the digest of every file of a model folder in folder/SHA256SUMS."""
    folder = Path(folder)
    lines = [f"{sha256_file(p)}  {p.name}" for p in model_files(folder)]
    (folder / SUMS).write_text("\n".join(lines) + "\n")
    return folder / SUMS


def read_sums(source) -> dict[str, str]:
    """{file name: sha256} from a SHA256SUMS file (or a model folder holding one)."""
    path = Path(source)
    path = path / SUMS if path.is_dir() else path
    if not path.is_file():
        raise IntegrityError(f"{path}: no digests to check against (expected a {SUMS} file as build.py and "
                             "`python -m kcsolver.train.ship` write)")
    digests = {}
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        digest, _, name = line.partition("  ")
        if len(digest) != 64 or not name or any(c not in "0123456789abcdef" for c in digest):
            raise IntegrityError(f"{path}:{number}: not a '<sha256>  <file name>' line: {line[:80]!r}")
        digests[name.lstrip("*")] = digest
    return digests


def verify_folder(folder: Path, digests: dict[str, str] | None = None) -> list[str]:
    """Problems of a model folder against its digests (missing, extra or changed files); [] when it matches."""
    folder = Path(folder)
    digests = read_sums(folder) if digests is None else digests
    present = {p.name: p for p in model_files(folder)}
    problems = [f"{folder / name}: missing (the digests list it)" for name in sorted(set(digests) - set(present))]
    problems += [f"{folder / name}: not covered by the digests" for name in sorted(set(present) - set(digests))]
    for name in sorted(set(digests) & set(present)):
        actual = sha256_file(present[name])
        if actual != digests[name]:
            problems.append(f"{folder / name}: sha256 {actual} differs from the recorded {digests[name]} "
                            "(stale, damaged or tampered with)")
    return problems


def site_models(site: Path) -> dict[str, dict[str, str]]:
    """{model folder: digests} of every model a built site's runtime.json lists."""
    config = json.loads((Path(site) / "runtime.json").read_text())
    return {name: {file: entry["sha256"] for file, entry in model["files"].items()}
            for name, model in config.get("models", {}).items()}
