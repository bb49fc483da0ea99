"""What the worker has loaded: models by URL and backend, solvers, the automatic solvers' pending specialist
networks, the files a user picked from disk, and the fetch they all go through.

Handlers (browser/worker.py) and the boot snapshot (browser/snapshot.py) share this state; a model used without
naming a backend starts on numpy and follows "select-backend", its specialists with it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from ..errors import ModelSourceError
from . import ffi

# A model used without naming a backend starts on numpy, whose first prediction costs nothing extra
# (webgl compiles its shaders then); site/worker.js moves it to the faster backend once idle
# ("select-backend"), probing once per browser and model and remembering the result.
default: dict = {}  # the model loaded at start-up, whose backend info() reports
models: dict = {}  # (model.json URL, backend or None) -> Model
solvers: dict = {}  # (URL, backend, recipe JSON, preset) -> Solver
companions: list = []  # (bundle model, specialist model) pairs: the specialist follows the bundle's backend


@dataclass
class PendingSpecialist:
    """A specialist network an automatic solver has not received yet, and its download once one started
    (shared by every request that waits for it)."""

    where: str  # the network's model.json URL
    backend: str | None
    download: asyncio.Future | None = None


restricted: dict[tuple, object] = {}  # (id(solver), charset, lengths) -> that solver restricted to a site's
pending: dict[int, dict[str, PendingSpecialist]] = {}  # id(automatic solver) -> preset -> its pending network
local_files: dict[str, bytes] = {}  # model files picked from disk: "local:/name" -> bytes
given_files: dict[str, bytes] = {}  # URL -> bytes handed over without a fetch (the boot snapshot's: snapshot.py)


async def fetch(url: str) -> bytes:
    """Bytes of a URL, or of a model file the user picked from disk (local:/...)."""
    if url in given_files:
        return given_files[url]
    if url.startswith("local:"):
        if url not in local_files:
            raise ModelSourceError(f"{url[len('local:/'):]} was not among the files you picked; pick model.json with "
                                   "its shards")
        return local_files[url]
    return await ffi.fetch_bytes(url)


async def get_model(url: str, backend: str | None = None):
    """The model at url: on a given backend, or (None) the one whose backend select-backend manages."""
    from .. import load_model_async

    key = (url, backend)
    if key not in models:
        models[key] = await load_model_async(url, backend=backend or "numpy", fetch=fetch)
    return models[key]


async def get_solver(url: str, backend: str | None = None, recipe: dict | None = None, preset: str | None = None):
    """A Solver for a model.json URL (and one of its presets, or None for the automatic choice); the
    recipe comes from the request, model.json or a kcsolver.json beside it. A preset with a specialist
    network runs only that one (fetched now); the automatic choice starts without its specialists,
    which `fetch_specialists` adds when first needed, so that a first answer never waits for a
    network its captcha does not use."""
    import json

    from ..captcha import Recipe, Solver
    from ..captcha.solver import specialist_locations
    from ..errors import KcsolverError

    key = (url, backend, json.dumps(recipe, sort_keys=True) if recipe else None, preset)
    if key not in solvers:
        model = await get_model(url, backend)
        if recipe is None and not (model.metadata or {}).get("kcsolver"):
            side = url.rsplit("/", 1)[0] + "/kcsolver.json"
            try:
                recipe = json.loads(await fetch(side))
            except OSError:
                raise KcsolverError(f"{url} has no kcsolver recipe (no userDefinedMetadata.kcsolver and no "
                                    "kcsolver.json beside it): give charset, decoding and input") from None
        parsed = Recipe.from_dict(recipe, "recipe") if recipe else Solver.find_recipe(model.metadata, url)
        # Files picked from disk are one model folder (the names of two would collide): a bundle picked
        # that way is read without its specialists.
        networks = {} if url.startswith("local:") else specialist_locations(url, parsed)
        if preset in networks:
            solvers[key] = Solver(await get_companion(networks[preset], model, backend), parsed, name=preset,
                                   preset=preset)
        else:
            solver = solvers[key] = Solver(model, parsed, name=preset or url, preset=preset)
            if solver.automatic and networks:
                pending[id(solver)] = {name: PendingSpecialist(where, backend) for name, where in networks.items()}
    return solvers[key]


async def fetch_specialists(solver, names=None) -> None:
    """Fetch the specialist networks an automatic solver still lacks (those of `names`, or all) and
    give them to it. Requests that ask at the same time (a captcha and the idle preparation) wait for
    the same download, and the first to see it finish adds the network; a failed download leaves its
    network pending, for the next request to try again."""
    waiting = pending.get(id(solver), {})
    for name, entry in [(n, e) for n, e in waiting.items() if names is None or n in names]:
        if entry.download is None:
            entry.download = asyncio.ensure_future(get_companion(entry.where, solver.model, entry.backend))
        download = entry.download
        try:
            network = await download
        except BaseException:
            if entry.download is download:
                entry.download = None
            raise
        if waiting.get(name) is entry:  # not added meanwhile by another request awaiting the same download
            del waiting[name]
            solver.add_specialist(name, network)


def lacks_specialist(solver, name: str) -> bool:
    """Whether an automatic solver's preset `name` has a specialist network still to fetch."""
    return name in pending.get(id(solver), {})


async def get_companion(url: str, bundle, backend: str | None):
    """A specialist network of a bundle; used without naming a backend, it runs on the bundle's."""
    model = await get_model(url, backend)
    if backend is None:
        if model.backend != bundle.backend:
            model.select_backend(bundle.backend)
        if not any(b is bundle and m is model for b, m in companions):
            companions.append((bundle, model))
    return model


def site_solver(solver, charset: str | None, lengths: str | None):
    """`solver` restricted to a site's symbols and lengths (the widget's charset/lengths attributes, the
    page's site form), kept per solver and restriction; `solver` itself when neither is given."""
    from ..captcha.solver import parse_lengths

    if not charset and not lengths:
        return solver
    key = (id(solver), charset or "", lengths or "")
    if key not in restricted:
        restricted[key] = solver.restrict(charset, parse_lengths(lengths) if lengths else None)
    return restricted[key]


def replace_local_files(picked: dict[str, bytes]) -> None:
    """Files picked from disk ({name: bytes}, one model folder) replace the ones picked before, and the
    models and solvers loaded from those go."""
    restricted.clear()  # keyed by id(solver): ids of the solvers dropped below may come back
    for stale in [key for key in list(models) + list(solvers) if key[0].startswith("local:")]:
        solvers.pop(stale, None)
        model = models.pop(stale, None)
        if model is not None:
            model.close()  # its weight textures, now rather than whenever the collector runs
    alive = [id(model) for model in models.values()]
    companions[:] = [(b, m) for b, m in companions if id(b) in alive and id(m) in alive]
    local_files.clear()
    for name, data in picked.items():
        local_files["local:/" + name] = data
