"""A small static file server that behaves like GitHub Pages, for `build.py serve`, the browser tests and
the benchmarks.

Like Pages: correct MIME types for .wasm/.mjs, gzip on the fly for compressible
types (html, js, json, css, wasm, text) when the browser accepts it,
`Cache-Control: max-age=600`, an ETag with 304 answers to revalidations, and
`Access-Control-Allow-Origin: *`. It can mount extra directories under URL
prefixes, and records every request with the bytes it put on the wire, so
tests can count downloads and benchmarks can report bytes per visit. A `Link`
shared by servers emulates a slow connection for everything the browser fetches
from them (pages, iframes, workers, service workers alike).
"""

from __future__ import annotations

import email.utils
import functools
import gzip
import hashlib
import http.server
import threading
import time
from pathlib import Path

MIME_TYPES = {".wasm": "application/wasm", ".mjs": "text/javascript", ".js": "text/javascript",
              ".json": "application/json", ".whl": "application/zip", ".bin": "application/octet-stream",
              ".md": "text/markdown"}
COMPRESSIBLE = ("text/", "application/javascript", "application/json", "application/wasm", "image/svg+xml")
MAX_AGE = 600  # what GitHub Pages sends


@functools.lru_cache(maxsize=256)
def _encoded(path: str, mtime: float, size: int, compress: bool) -> tuple[bytes, str]:
    """The file's bytes (gzipped when asked) and its ETag; cached per version of the file."""
    data = Path(path).read_bytes()
    etag = '"' + hashlib.sha1(data).hexdigest()[:20] + '"'
    return (gzip.compress(data, 6, mtime=0) if compress else data), etag


class Link:
    """A slow connection shared by every request to the servers that use it: each response waits one
    round trip (`latency_ms`), then its bytes queue for `bits_per_second` in the order they are sent.
    (Chromium's own network emulation through DevTools leaves out requests from a worker in a
    cross-origin iframe, i.e. the widget's, so the benchmark throttles here instead.)"""

    def __init__(self, bits_per_second: float, latency_ms: float):
        self.bytes_per_second = bits_per_second / 8
        self.latency = latency_ms / 1000
        self._lock = threading.Lock()
        self._free_at = 0.0
        self.sent = 0  # bytes paced so far

    def round_trip(self) -> None:
        time.sleep(self.latency)

    def send(self, size: int) -> None:
        """Block until `size` more bytes have gone through the link."""
        with self._lock:
            self.sent += size
            self._free_at = max(time.monotonic(), self._free_at) + size / self.bytes_per_second
            done_at = self._free_at
        time.sleep(max(0.0, done_at - time.monotonic()))


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

    def _record(self, size: int) -> None:
        if self.state is not None:
            self.state.log.append((self.path, size))

    def send_head(self):
        link = self.state.link if self.state else None
        if link:
            link.round_trip()
        path = Path(self.translate_path(self.path))
        if not path.is_file():  # directories (index.html, redirects) and 404s: the standard behaviour
            handle = super().send_head()
            self._record(0)
            return handle
        ctype = self.guess_type(str(path))
        compress = (ctype.startswith(COMPRESSIBLE) and "gzip" in self.headers.get("Accept-Encoding", "")
                    and (self.state is None or self.state.gzip))
        stat = path.stat()
        body, etag = _encoded(str(path), stat.st_mtime, stat.st_size, compress)
        if etag in [tag.strip() for tag in self.headers.get("If-None-Match", "").split(",")]:
            self.send_response(304)
            self.send_header("ETag", etag)
            self.send_header("Cache-Control", f"max-age={MAX_AGE}")
            self.end_headers()
            self._record(0)
            return None
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("ETag", etag)
        self.send_header("Last-Modified", email.utils.formatdate(stat.st_mtime, usegmt=True))
        self.send_header("Cache-Control", f"max-age={MAX_AGE}")
        self.send_header("Vary", "Accept-Encoding")
        if compress:
            self.send_header("Content-Encoding", "gzip")
        self.end_headers()
        self._record(len(body))
        return _Body(body, link)

    def end_headers(self):
        # Like GitHub Pages: any origin may load widget.js as a module script.
        self.send_header("Access-Control-Allow-Origin", "*")
        super().end_headers()

    def log_message(self, format, *args):  # noqa: A002 - the base class's signature
        if self.state is None and len(args) > 1 and not str(args[1]).startswith(("2", "3")):
            super().log_message(format, *args)


class _Body:
    """The file-like object SimpleHTTPRequestHandler copies to the socket."""

    def __init__(self, data: bytes, link: Link | None = None):
        self.data = data
        self.link = link

    def read(self, size=-1):
        if self.link:  # small chunks, so that concurrent downloads share the link
            size = 16384 if size < 0 else min(size, 16384)
        chunk, self.data = (self.data, b"") if size < 0 else (self.data[:size], self.data[size:])
        if self.link and chunk:
            self.link.send(len(chunk))
        return chunk

    def close(self):
        pass


class _Server(http.server.ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        import sys

        if isinstance(sys.exc_info()[1], ConnectionError):
            return  # the browser went away mid-download (a closed tab, a terminated worker): nothing to report
        super().handle_error(request, client_address)


class StaticServer:
    """`with StaticServer(dir) as s:` serves dir on a free 127.0.0.1 port; `s.url`, `s.requests`, `s.log`
    ((path, bytes on the wire) per request). `gzip=False` serves everything uncompressed; `link`
    (a `Link`, or None for full speed; settable while serving) slows every response down."""

    def __init__(self, root, extra_roots: dict | None = None, port: int = 0, gzip: bool = True,
                 link: Link | None = None):
        self.root = Path(root)
        self.extra_roots = extra_roots or {}
        self.port = port
        self.gzip = gzip
        self.link = link
        self.log: list[tuple[str, int]] = []

    @property
    def requests(self) -> list[str]:
        return [path for path, _size in self.log]

    def __enter__(self):
        handler = functools.partial(Handler, directory=str(self.root), state=self)
        self.httpd = _Server(("127.0.0.1", self.port), handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


def serve_forever(directory: Path, port: int) -> None:
    handler = functools.partial(Handler, directory=str(directory))
    with _Server(("127.0.0.1", port), handler) as server:
        print(f"serving {directory} at http://127.0.0.1:{port}/  (Ctrl+C to stop)")
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
