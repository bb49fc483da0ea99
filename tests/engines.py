"""The three browser engines behind one small interface, for the cross-engine tests (test_browser_engines.py).

Chromium runs through pytest-playwright (its `page` fixture). Playwright's own Firefox and WebKit builds
cannot be downloaded here, so Debian's are driven the way their vendors intend:

- Firefox ESR over WebDriver BiDi: Firefox serves it itself (`--remote-debugging-port`), a websocket is all
  it takes (no geckodriver; Debian has none and PyPI's needs a download);
- WebKitGTK (Safari's engine) through WebKitWebDriver with selenium, its MiniBrowser in `--automation` mode
  on an Xvfb display (it has no headless mode).

Every engine page offers goto, evaluate (a JS expression, awaited, its value back through JSON), wait_until,
reload and close. Evaluation runs in the page's realm through the automation protocol, which a page's
Content-Security-Policy does not block (string predicates such as Playwright's wait_for_function do use eval).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

FIREFOX = "/usr/bin/firefox-esr"
WEBKIT_DRIVER = "/usr/bin/WebKitWebDriver"
MINIBROWSER = "/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser"
XVFB = "/usr/bin/Xvfb"

# Awaits the expression in the page and hands back its JSON text (undefined -> null).
WRAP = "(async () => JSON.stringify(await ({expression})) ?? 'null')()"


class EngineError(AssertionError):
    """An exception thrown by the page's JavaScript, with its message."""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class EnginePage:
    """What a cross-engine test may do with a page."""

    name = "engine"

    def goto(self, url: str) -> None:
        raise NotImplementedError

    def evaluate(self, expression: str):
        raise NotImplementedError

    def reload(self) -> None:
        self.goto(self.evaluate("location.href"))

    def close(self) -> None:
        pass

    def wait_until(self, expression: str, timeout_s: float = 90, interval_s: float = 0.1):
        """Poll a JS expression until it is truthy; returns its value."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            value = self.evaluate(expression)
            if value:
                return value
            time.sleep(interval_s)
        raise AssertionError(f"{self.name}: timed out after {timeout_s} s waiting for: {expression}")


class ChromiumPage(EnginePage):
    """pytest-playwright's Chromium page."""

    name = "chromium"

    def __init__(self, page):
        self.page = page

    def goto(self, url: str) -> None:
        self.page.goto(url)

    def evaluate(self, expression: str):
        return json.loads(self.page.evaluate(WRAP.format(expression=expression)))

    def reload(self) -> None:
        self.page.reload()


class FirefoxPage(EnginePage):
    """Debian's Firefox ESR, a fresh profile, over WebDriver BiDi: headless, or on an X display with WebGL
    forced on (Firefox blocks Mesa's software llvmpipe by default; forcing it stands in for a user's GPU, so
    that the webgl backend runs in a second engine)."""

    name = "firefox"

    def __init__(self, language: str = "en-US", display: str | None = None):
        from websockets.sync.client import connect

        self.profile = Path(tempfile.mkdtemp(prefix="kcsolver-firefox-"))
        # Recommended automation prefs are applied by Firefox's remote agent; these add the test's language
        # and keep a fresh profile from reaching out (there is no network here besides 127.0.0.1).
        (self.profile / "user.js").write_text("\n".join(f'user_pref("{k}", {json.dumps(v)});' for k, v in {
            "intl.accept_languages": language, "app.update.enabled": False, "datareporting.policy.dataSubmissionEnabled": False,
            "browser.shell.checkDefaultBrowser": False, "network.captive-portal-service.enabled": False,
            **({"webgl.force-enabled": True} if display else {}),
        }.items()))
        if display:
            self.name = "firefox-webgl"
        port = _free_port()
        self.process = subprocess.Popen(
            [FIREFOX, *([] if display else ["--headless"]), "--no-remote", "--profile", str(self.profile), f"--remote-debugging-port={port}",
             "about:blank"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            env={**os.environ, **({"DISPLAY": display} if display else {})})
        self.connection = contextlib.ExitStack()
        deadline = time.monotonic() + 60
        while True:
            try:
                self.socket = self.connection.enter_context(
                    connect(f"ws://127.0.0.1:{port}/session", max_size=2 ** 26, open_timeout=5))
                break
            except OSError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    self.close()
                    raise RuntimeError(f"Firefox ({FIREFOX}) did not open WebDriver BiDi on port {port}")
                time.sleep(0.1)
        self.ids = itertools.count(1)
        self.version = self.command("session.new", {"capabilities": {}})["capabilities"]["browserVersion"]
        self.context = self.command("browsingContext.getTree", {})["contexts"][0]["context"]

    def command(self, method: str, params: dict, timeout_s: float = 300):
        number = next(self.ids)
        self.socket.send(json.dumps({"id": number, "method": method, "params": params}))
        deadline = time.monotonic() + timeout_s
        while True:
            message = json.loads(self.socket.recv(timeout=max(0.1, deadline - time.monotonic())))
            if message.get("id") != number:
                continue  # an event (none are subscribed) or a late answer
            if message.get("type") == "error":
                raise RuntimeError(f"firefox: {method}: {message.get('error')}: {message.get('message')}")
            return message["result"]

    def goto(self, url: str) -> None:
        self.command("browsingContext.navigate", {"context": self.context, "url": url, "wait": "complete"})

    def reload(self) -> None:
        self.command("browsingContext.reload", {"context": self.context, "wait": "complete"})

    def evaluate(self, expression: str):
        result = self.command("script.evaluate", {"expression": WRAP.format(expression=expression),
                                                  "target": {"context": self.context}, "awaitPromise": True})
        if result["type"] == "exception":
            details = result["exceptionDetails"]
            raise EngineError(f"firefox: {details.get('text')}")
        return json.loads(result["result"]["value"])

    def close(self) -> None:
        try:
            if hasattr(self, "connection"):
                self.connection.close()
        finally:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
            shutil.rmtree(self.profile, ignore_errors=True)


class Xvfb:
    """A virtual X display for MiniBrowser (WebKitGTK has no headless mode)."""

    def __init__(self):
        read, write = os.pipe()
        self.process = subprocess.Popen([XVFB, "-displayfd", str(write), "-screen", "0", "1280x1024x24", "-nolisten", "tcp"],
                                        pass_fds=(write,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(write)
        with os.fdopen(read) as pipe:
            number = pipe.readline().strip()
        if not number:
            self.close()
            raise RuntimeError(f"{XVFB} did not start a display")
        self.display = f":{number}"

    def close(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=20)


class WebKitPage(EnginePage):
    """Debian's WebKitGTK MiniBrowser through WebKitWebDriver (selenium), on an Xvfb display."""

    name = "webkit"

    def __init__(self, display: str, language: str = "en-US"):
        from selenium import webdriver
        from selenium.webdriver.webkitgtk.options import Options
        from selenium.webdriver.webkitgtk.service import Service

        options = Options()
        options.binary_location = MINIBROWSER
        options.add_argument("--automation")
        # WebKitGTK takes the page's languages from the process locale.
        locale = language.replace("-", "_") + ".UTF-8"
        env = {**os.environ, "DISPLAY": display, "LANG": locale, "LANGUAGE": language.replace("-", "_")}
        self.driver = webdriver.WebKitGTK(options=options, service=Service(executable_path=WEBKIT_DRIVER, env=env))
        self.driver.set_script_timeout(300)
        self.version = self.driver.capabilities.get("browserVersion")

    def goto(self, url: str) -> None:
        self.driver.get(url)

    def reload(self) -> None:
        self.driver.refresh()

    def evaluate(self, expression: str):
        from selenium.common.exceptions import JavascriptException

        try:
            return json.loads(self.driver.execute_script("return " + WRAP.format(expression=expression)))
        except JavascriptException as error:
            raise EngineError(f"webkit: {error.msg}") from None

    def close(self) -> None:
        self.driver.quit()
