"""What the boot snapshot holds beyond a bare interpreter, and the check that a restored one computes right.

site/snapshot.js makes the snapshot in a second, fresh interpreter once the page is idle: it writes the boot
cache's file archive, loads NumPy's extension modules (recording where each lands), then calls `prepare()`
here: kcsolver's worker imported and the default model's automatic solver built on the numpy backend with
all its specialist networks, their weights in NumPy arrays. `digest()` runs there, before the heap is saved, and again right after a restore on
the next visit; the snapshot is trusted only when the two agree, otherwise the worker boots normally and
replaces it. The solve inside `digest()` is the same as a page's first one, so a restored heap whose side
modules do not match it (another memory or table base, another build) fails there, not in front of a user.
"""

from __future__ import annotations

import hashlib
import json

CHECK_SIZE = (70, 200)  # height, width of the fixed image solved by digest(): a default KCAPTCHA's size


async def prepare(model_url: str, files: dict) -> None:
    """Load the default model and build its automatic solver with every specialist network, each file read
    from the path `files` gives for its URL (written there by snapshot.js: a fetch would leave JS objects
    behind, which a snapshot cannot hold), so that after a restore no captcha waits for a network."""
    from . import loaded, worker
    from .protocol import Request

    for url, path in files.items():
        with open(path, "rb") as file:
            loaded.given_files[url] = file.read()
    try:
        await worker.load(Request("load", {"modelUrl": model_url}))
        await loaded.fetch_specialists(await loaded.get_solver(model_url))
    finally:
        loaded.given_files.clear()


def check_image():
    """A fixed RGBA image with dark strokes on a light ground, so that the network and the decoder both
    do real work on it."""
    import numpy as np

    height, width = CHECK_SIZE
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    ink = (np.sin(x / 4.0) * np.cos(y / 7.0) > 0.6) & (np.abs(y - height / 2) < height / 4)
    rgba = np.full((height, width, 4), 255, np.uint8)
    rgba[..., :3] = np.where(ink[..., None], 30, 235).astype(np.uint8)
    return rgba


def digest(model_url: str) -> str:
    """sha256 over a NumPy computation (products and reductions through NumPy's extension modules) and one
    solve of `check_image()` by the automatic solver of `model_url` (which `prepare` built): its answer and
    its network's outputs. (The solve also warms the solver up for the visitor's first captcha.)"""
    import numpy as np

    from . import loaded

    h = hashlib.sha256()
    a = (np.arange(64 * 64, dtype=np.float64).reshape(64, 64) % 17) / 7
    h.update((a @ a.T).tobytes())
    h.update(np.einsum("ij,jk->ik", a.astype(np.float32), a.astype(np.float32)).tobytes())
    h.update(np.sort(np.sin(a).ravel()).tobytes())
    key = next(k for k in loaded.solvers if k[0] == model_url and k[1:] == (None, None, None))
    model = loaded.solvers[key].model
    outputs = []

    def predict(x, _predict=model.predict):  # the network's own outputs count too, bit for bit
        y = _predict(x)
        outputs.extend(y if isinstance(y, list) else [y])
        return y

    model.predict = predict  # shadows the method for this one solve
    try:
        answer = loaded.solvers[key].solve(check_image()).to_dict()
    finally:
        del model.predict
    answer.pop("ms", None)  # the only part that may differ between two right runs
    h.update(json.dumps(answer, sort_keys=True, default=str).encode())
    for output in outputs:
        h.update(np.ascontiguousarray(output, np.float32).tobytes())
    return h.hexdigest()
