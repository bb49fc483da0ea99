"""Test helpers: a threaded static HTTP server that records every request."""

from __future__ import annotations

import functools
import http.server
import threading
from pathlib import Path

import build


class _Handler(build.QuietHandler):
    def __init__(self, *args, server_state, **kwargs):
        self.state = server_state
        super().__init__(*args, **kwargs)

    def translate_path(self, path):
        for prefix, root in self.state.extra_roots.items():
            if path.startswith(prefix):
                relative = path[len(prefix):].split("?")[0].split("#")[0]
                return str(Path(root) / relative)
        return super().translate_path(path)

    def send_head(self):
        self.state.requests.append(self.path)
        return super().send_head()

    def log_message(self, *args):
        pass


class StaticServer:
    """`with StaticServer(dir) as s:` serves dir on 127.0.0.1:<free port>; s.requests lists paths."""

    def __init__(self, root: Path, extra_roots: dict | None = None):
        self.root = Path(root)
        self.extra_roots = extra_roots or {}
        self.requests: list[str] = []

    def __enter__(self):
        handler = functools.partial(_Handler, directory=str(self.root), server_state=self)
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


def wait_until(page, expression: str, timeout_s: float = 60, interval_ms: int = 100):
    """Poll a JS expression with page.evaluate until it is truthy; returns its value.

    Playwright's wait_for_function evaluates its predicate with eval(), which the
    pages' own Content-Security-Policy rightly blocks; evaluate() is not affected.
    """
    for _ in range(int(timeout_s * 1000 / interval_ms)):
        value = page.evaluate(expression)
        if value:
            return value
        page.wait_for_timeout(interval_ms)
    raise AssertionError(f"timed out after {timeout_s} s waiting for: {expression}")
