"""The browser worker's specialist fetching (kcsolver.browser.loaded), under CPython with stand-in downloads.

The browser tests (test_browser_site.py) run the same code in Pyodide, where which request wins a race
depends on timing; here the order of the downloads is fixed, so each interleaving is tested every time.
"""

import asyncio
from concurrent.futures import ThreadPoolExecutor

import pytest

from kcsolver.browser import loaded


class AutomaticSolver:
    model = "bundle"

    def __init__(self):
        self.specialists = {}

    def add_specialist(self, name, network):
        assert name not in self.specialists, f"{name} added twice"
        self.specialists[name] = network


@pytest.fixture
def downloads(monkeypatch):
    """Stand-in for get_companion: each specialist's download finishes when the test releases it."""
    released = {}
    started = []
    failing = set()  # URLs whose next download fails

    async def get_companion(url, bundle, backend):
        started.append(url)
        await released.setdefault(url, asyncio.Event()).wait()
        if url in failing:
            failing.discard(url)
            raise OSError(f"{url}: network error")
        return f"network from {url}"

    monkeypatch.setattr(loaded, "get_companion", get_companion)
    monkeypatch.setattr(loaded, "pending", {})
    return released, started, failing


def waiting_solver():
    solver = AutomaticSolver()
    loaded.pending[id(solver)] = {name: loaded.PendingSpecialist(f"{name}.json", None) for name in ("digits", "classic")}
    return solver


def run(coroutine):
    """asyncio.run in a thread of its own: the browser tests' Playwright keeps an event loop running in this one."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


async def settle():
    for _ in range(5):
        await asyncio.sleep(0)


def test_a_captcha_fetching_a_later_specialist_while_the_idle_preparation_waits_on_an_earlier_one(downloads):
    released, started, _ = downloads

    async def scenario():
        solver = waiting_solver()
        preparation = asyncio.ensure_future(loaded.fetch_specialists(solver))  # digits first, then classic
        await settle()
        captcha = asyncio.ensure_future(loaded.fetch_specialists(solver, ["classic"]))
        await settle()
        released.setdefault("classic.json", asyncio.Event()).set()  # the captcha's network arrives first
        await captcha
        assert solver.specialists == {"classic": "network from classic.json"}
        released.setdefault("digits.json", asyncio.Event()).set()
        await preparation  # then goes on to classic, which the captcha already fetched
        return solver

    solver = run(scenario())
    assert solver.specialists == {"classic": "network from classic.json", "digits": "network from digits.json"}
    assert sorted(started) == ["classic.json", "digits.json"]  # one download each
    assert not loaded.lacks_specialist(solver, "classic") and not loaded.lacks_specialist(solver, "digits")


def test_two_requests_for_one_specialist_share_its_download(downloads):
    released, started, _ = downloads

    async def scenario():
        solver = waiting_solver()
        first = asyncio.ensure_future(loaded.fetch_specialists(solver, ["classic"]))
        second = asyncio.ensure_future(loaded.fetch_specialists(solver, ["classic"]))
        await settle()
        released.setdefault("classic.json", asyncio.Event()).set()
        await asyncio.gather(first, second)
        return solver

    solver = run(scenario())
    assert started == ["classic.json"] and solver.specialists == {"classic": "network from classic.json"}
    assert loaded.lacks_specialist(solver, "digits")


def test_a_failed_download_is_tried_again_by_the_next_request(downloads):
    released, started, failing = downloads
    failing.add("classic.json")

    async def scenario():
        solver = waiting_solver()
        released.setdefault("classic.json", asyncio.Event()).set()
        first, second = await asyncio.gather(loaded.fetch_specialists(solver, ["classic"]),
                                             loaded.fetch_specialists(solver, ["classic"]), return_exceptions=True)
        assert isinstance(first, OSError) and isinstance(second, OSError)  # both waited on the one failed download
        assert loaded.lacks_specialist(solver, "classic") and solver.specialists == {}
        await loaded.fetch_specialists(solver, ["classic"])
        return solver

    solver = run(scenario())
    assert started == ["classic.json", "classic.json"]
    assert solver.specialists == {"classic": "network from classic.json"}
    assert not loaded.lacks_specialist(solver, "classic")
