"""The Pages-like server the site is served, tested and benchmarked with: gzip, cache headers, ETag/304."""

import gzip
import time
import urllib.request

import pytest

from kcsolver.devserver import MAX_AGE, Link, StaticServer


@pytest.fixture
def served(tmp_path):
    (tmp_path / "app.js").write_text("console.log('kcsolver');\n" * 200)
    (tmp_path / "shard.bin").write_bytes(bytes(range(256)) * 40)
    (tmp_path / "core.wasm").write_bytes(b"\0asm" + bytes(4000))
    with StaticServer(tmp_path) as server:
        yield server


def get(url, **headers):
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers)) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:  # 304 arrives as an HTTPError from urllib
        return error.code, dict(error.headers), b""


@pytest.mark.parametrize("name,compressed", [("app.js", True), ("core.wasm", True), ("shard.bin", False)])
def test_compressible_types_are_gzipped_like_pages(served, name, compressed):
    status, headers, body = get(f"{served.url}/{name}", **{"Accept-Encoding": "gzip"})
    original = (served.root / name).read_bytes()
    assert status == 200 and headers["Cache-Control"] == f"max-age={MAX_AGE}"
    assert (headers.get("Content-Encoding") == "gzip") is compressed
    assert (gzip.decompress(body) if compressed else body) == original
    assert served.log[-1] == (f"/{name}", len(body))  # bytes on the wire, as the benchmarks count them
    if compressed:
        assert len(body) < len(original)
    _, plain_headers, plain = get(f"{served.url}/{name}")  # a client that does not accept gzip
    assert "Content-Encoding" not in plain_headers and plain == original


def test_revalidation_with_the_etag_is_a_304_without_a_body(served):
    _, headers, _ = get(f"{served.url}/app.js")
    status, again, body = get(f"{served.url}/app.js", **{"If-None-Match": headers["ETag"]})
    assert status == 304 and body == b""
    # The server logs a request when its handler returns, which may be just after the client has the answer.
    for _ in range(100):
        if ("/app.js", 0) in served.log:
            break
        time.sleep(0.02)
    assert ("/app.js", 0) in served.log  # nothing sent but the headers
    (served.root / "app.js").write_text("changed\n")
    status, _, body = get(f"{served.url}/app.js", **{"If-None-Match": headers["ETag"]})
    assert status == 200 and body == b"changed\n"


def test_wasm_mime_type_and_missing_files(served):
    assert get(f"{served.url}/core.wasm")[1]["Content-Type"] == "application/wasm"
    assert get(f"{served.url}/nothing.js")[0] == 404


def test_a_shared_link_paces_concurrent_downloads(served):
    """The benchmark's slow connection: bytes arrive intact, and two downloads share the rate
    (sleep-paced, so the elapsed time cannot be under bytes / rate)."""
    from concurrent.futures import ThreadPoolExecutor

    link = served.link = Link(bits_per_second=800_000, latency_ms=40)  # 100 kB/s
    started = time.perf_counter()
    with ThreadPoolExecutor(2) as pool:
        bodies = list(pool.map(lambda _: get(f"{served.url}/shard.bin")[2], range(2)))
    elapsed = time.perf_counter() - started
    assert bodies == [(served.root / "shard.bin").read_bytes()] * 2
    assert link.sent == 2 * 10240 and elapsed >= link.sent / 100_000 + 0.04
    served.link = None  # full speed again: nothing more goes through the link
    assert get(f"{served.url}/shard.bin")[2] == bodies[0] and link.sent == 2 * 10240
