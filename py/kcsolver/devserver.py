"""A small static file server for `build.py serve`, the browser tests and the benchmarks.

Serves a directory on 127.0.0.1 like GitHub Pages would (correct MIME types for
.wasm/.mjs, `Access-Control-Allow-Origin: *`), can mount extra directories
under URL prefixes, and records every request with the bytes it sent, so that
tests can count model downloads and benchmarks can split a cold start by part.
"""

from __future__ import annotations

import functools
import http.server
import threading
from pathlib import Path

MIME_TYPES = {".wasm": "application/wasm", ".mjs": "text/javascript", ".js": "text/javascript",
              ".json": "application/json", ".whl": "application/zip", ".bin": "application/octet-stream"}


class Handler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map, **MIME_TYPES}

    def __init__(self, *args, state=None, **kwargs):
        self.state = state
        super().__init__(*args, **kwargs)

    def translate_path(self, path):
        for prefix, root in (self.state.extra_roots if self.state else {}).items():
            if path.startswith(prefix):
                relative = path[len(prefix):].split("?")[0].split("#")[0]
                return str(Path(root) / relative)
        return super().translate_path(path)

    def send_head(self):
        handle = super().send_head()
        if self.state is not None:
            size = 0
            if handle is not None and hasattr(handle, "fileno"):
                try:
                    size = Path(self.translate_path(self.path)).stat().st_size
                except OSError:
                    size = 0
            self.state.log.append((self.path, size))
        return handle

    def end_headers(self):
        # Like GitHub Pages: any origin may load widget.js as a module script.
        self.send_header("Access-Control-Allow-Origin", "*")
        super().end_headers()

    def log_message(self, format, *args):  # noqa: A002 - the base class's signature
        if self.state is None and len(args) > 1 and not str(args[1]).startswith(("2", "3")):
            super().log_message(format, *args)


class StaticServer:
    """`with StaticServer(dir) as s:` serves dir on a free 127.0.0.1 port; `s.url`, `s.requests`."""

    def __init__(self, root, extra_roots: dict | None = None, port: int = 0):
        self.root = Path(root)
        self.extra_roots = extra_roots or {}
        self.port = port
        self.log: list[tuple[str, int]] = []

    @property
    def requests(self) -> list[str]:
        return [path for path, _size in self.log]

    def __enter__(self):
        handler = functools.partial(Handler, directory=str(self.root), state=self)
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


def serve_forever(directory: Path, port: int) -> None:
    handler = functools.partial(Handler, directory=str(directory))
    with http.server.ThreadingHTTPServer(("127.0.0.1", port), handler) as server:
        print(f"serving {directory} at http://127.0.0.1:{port}/  (Ctrl+C to stop)")
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
