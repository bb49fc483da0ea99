"""Shared fixtures: the shared/ folder, a built dist/, a local HTTP server, Chromium.

Browser tests drive Debian's /usr/bin/chromium through pytest-playwright
(Playwright's own browser download is unavailable here) with the flags the
architecture doc requires. dist/ is built once per session with the vendored
runtime and served on 127.0.0.1 under a sub-path (/app/), as GitHub Pages
project sites are.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # build.py
sys.path.insert(0, str(Path(__file__).resolve().parent))  # helpers

from helpers import StaticServer, wait_until  # noqa: E402

SHARED = Path(os.environ.get("KCSOLVER_SHARED", ROOT.parent / "shared"))
FUZZ_COUNTS: dict[str, int] = {}  # fuzz cases run, by kind (test_fuzz.py, test_browser_fuzz.py)
FIXTURES = SHARED / "fixtures" / "tfjs"
REAL = SHARED / "kcaptcha-real-dev"

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--no-sandbox", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--enable-unsafe-swiftshader",
]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_FLAGS}


@pytest.fixture(scope="session")
def dist_dir(tmp_path_factory):
    """A fresh dist/ built from this checkout with the vendored runtime."""
    import build

    out = tmp_path_factory.mktemp("site") / "app"
    build.build(out, "vendored")
    return out


@pytest.fixture(scope="session")
def server(dist_dir):
    """Serves dist/'s parent, so the site lives under the /app/ sub-path."""
    with StaticServer(dist_dir.parent, extra_roots={
        "/fixtures/": FIXTURES, "/node_modules/": ROOT / "node_modules", "/pages/": ROOT / "tests" / "pages",
        "/real/": REAL,
    }) as srv:
        yield srv


@pytest.fixture(scope="session")
def site_url(server):
    return server.url + "/app/"


@pytest.fixture
def app_page(page, site_url):
    """The solver page, loaded and ready (Python booted in the worker)."""
    messages = []
    page.on("console", lambda msg: messages.append(msg.text))
    page.goto(site_url)
    wait_until(page, "window.kcsolver !== undefined")
    page.evaluate("kcsolver.ready")
    page.console_messages = messages
    return page


def pytest_terminal_summary(terminalreporter):
    """How many fuzz cases ran, by kind (docs/errors.md records a run)."""
    if FUZZ_COUNTS:
        terminalreporter.section("fuzz cases")
        for kind, count in sorted(FUZZ_COUNTS.items()):
            terminalreporter.write_line(f"{count:6d}  {kind}")
        terminalreporter.write_line(f"{sum(FUZZ_COUNTS.values()):6d}  in all")
