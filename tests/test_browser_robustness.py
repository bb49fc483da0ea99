"""The page under hostile or unlucky conditions, in real Chromium on the vendored runtime.

- fuzzing: nonsense requests to the worker and nonsense messages to the embed
  iframe (hypothesis, fixed seeds; the counts join the fuzz summary). Only
  kcsolver errors come back, nothing hangs, and the next good request works;
- a dead worker (terminated as a crash would, or a Pyodide fatal error) is
  replaced, its waiting requests fail with a clear error, the page says so;
- the boot cache: a snapshot with NumPy and the default solver restores on the next
  visit; a corrupt, stale or unrestorable one (bytes, file archive, a side module
  missing or at another base, another function table, a failed digest) is
  dropped, the page boots normally and writes a new one.
"""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import FUZZ_COUNTS
from helpers import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.timeout(600)]

REQUEST_TYPES = ["solve", "predict", "load", "profile", "select-backend", "register-files", "kernel-check", "info"]
KEYS = ["modelUrl", "image", "data", "width", "height", "shape", "model", "backend", "recipe", "files", "input",
        "name", "charset", "digests"]
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-2 ** 40, 2 ** 40), st.floats(allow_nan=False),
                    st.text(max_size=20), st.sampled_from(["models/kcaptcha/model.json", "auto", "webgl", "numpy",
                                                           "l2_digits", "data:,x", "http://127.0.0.1:1/m.json"]),
                    st.builds(lambda n: {"__bytes__": n}, st.integers(0, 5000)))
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                      st.dictionaries(st.sampled_from(KEYS), inner, max_size=4)),
                      max_leaves=12)
BROWSER_FUZZ = settings(max_examples=200, derandomize=True, deadline=None,
                        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

# Replaces {"__bytes__": n} by a Uint8Array of n bytes, so payloads carry typed arrays like real requests.
REVIVE = """const revive = (v) => v && typeof v === 'object' ? ('__bytes__' in v ? new Uint8Array(v.__bytes__).fill(7)
    : Array.isArray(v) ? v.map(revive) : Object.fromEntries(Object.entries(v).map(([k, x]) => [k, revive(x)]))) : v;"""
GOOD_SOLVE = """kcsolver.request('solve', {modelUrl: new URL('models/kcaptcha/model.json', document.baseURI).href,
    image: {data: new Uint8Array(160 * 60 * 4).fill(255), width: 160, height: 60}})"""


@BROWSER_FUZZ
@given(kind=st.sampled_from(REQUEST_TYPES), payload=st.one_of(SCALARS, st.dictionaries(st.sampled_from(KEYS), VALUES)))
def test_nonsense_worker_requests_get_kcsolver_errors(app_page, kind, payload):
    FUZZ_COUNTS["worker requests (browser)"] = FUZZ_COUNTS.get("worker requests (browser)", 0) + 1
    outcome = app_page.evaluate(f"""async ([kind, payload]) => {{
        {REVIVE}
        const request = kcsolver.request(kind, revive(payload)).then(() => 'ok', (e) => e.message);
        return Promise.race([request, new Promise((r) => setTimeout(() => r('hang'), 60000))]);
    }}""", [kind, payload])
    assert outcome == "ok" or outcome.startswith("kcsolver.errors."), (kind, json.dumps(payload)[:300], outcome)


def test_the_worker_still_answers_after_the_fuzzing(app_page):
    assert app_page.evaluate(GOOD_SOLVE)["reason"].startswith("no captcha text found")


EMBED = """async () => {
    const frame = document.createElement('iframe');
    frame.src = new URL('embed.html', document.baseURI).href;
    window.embedReplies = [];
    window.addEventListener('message', (e) => { if (e.source === frame.contentWindow && e.data.type !== 'kcsolver:ready')
        window.embedReplies.push(e.data); });
    const ready = new Promise((r) => window.addEventListener('message', (e) => e.data?.type === 'kcsolver:ready' && r()));
    document.body.append(frame);
    await ready;
    window.embedFrame = frame;
}"""
MESSAGE_FIELDS = st.fixed_dictionaries({}, optional={
    "type": st.one_of(st.just("kcsolver:solve"), st.text(max_size=12)),
    "id": st.one_of(st.integers(-5, 10 ** 12), st.floats(), st.text(max_size=4)),
    "model": st.one_of(st.sampled_from(["l2_digits", "stock23", "auto", "../models/x", ""]), st.integers()),
    "width": st.one_of(st.integers(-10, 5000), st.floats()),
    "height": st.one_of(st.integers(-10, 5000), st.floats()),
    "data": st.one_of(st.builds(lambda n: {"__buffer__": n}, st.integers(0, 100_000)), st.text(max_size=8)),
})


@settings(max_examples=150, derandomize=True, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(messages=st.lists(st.one_of(MESSAGE_FIELDS, SCALARS), min_size=1, max_size=1))
def _send(page, messages):
    """(helper driven by hypothesis inside the test below)"""
    FUZZ_COUNTS["embed messages (browser)"] = FUZZ_COUNTS.get("embed messages (browser)", 0) + len(messages)
    page.evaluate("""(messages) => { for (const m of messages) {
        const body = m && typeof m === 'object' && m.data?.__buffer__ !== undefined
            ? { ...m, data: new ArrayBuffer(m.data.__buffer__) } : m;
        window.embedFrame.contentWindow.postMessage(body, '*');
    } }""", messages)


def test_nonsense_embed_messages_are_ignored_and_a_good_one_answers(app_page):
    app_page.evaluate(EMBED)
    _send(app_page)
    counts = wait_until(app_page, """(() => { const c = window.embedFrame.contentWindow.kcsolverEmbed;
        return c.accepted + c.ignored >= %d && c.accepted === window.embedReplies.length ? c : null; })()"""
                        % FUZZ_COUNTS["embed messages (browser)"], 120)
    replies = app_page.evaluate("window.embedReplies")
    assert counts["ignored"] > 0 and all(r["type"] in ("kcsolver:answer", "kcsolver:error") for r in replies)
    app_page.evaluate("""() => window.embedFrame.contentWindow.postMessage({type: 'kcsolver:solve', id: 424242,
        model: 'l2_digits', width: 160, height: 60, data: new Uint8Array(160 * 60 * 4).fill(255).buffer}, '*')""")
    reply = wait_until(app_page, "window.embedReplies.find((r) => r.id === 424242)", 120)
    assert reply["type"] == "kcsolver:answer" and reply["result"]["text"] == ""
    assert reply["result"]["reason"].startswith("no captcha text found")


# ---------------------------------------------------------------- a dead worker is replaced

@pytest.mark.parametrize("how", ["terminated", "pyodide fatal error"])
def test_a_dead_worker_is_replaced(app_page, how):
    if how == "terminated":  # no event at all: the ping watchdog notices the silence (20 s)
        error = app_page.evaluate(f"""() => {{ kcsolver.worker().terminate();
            return {GOOD_SOLVE}.then(() => null, (e) => e.message); }}""")
        assert "stopped answering" in error
    else:
        error = app_page.evaluate("kcsolver.request('debug-fatal').then(() => null, (e) => e.message)")
        assert "the Python runtime failed" in error and "fatal error provoked" in error
    assert "was restarted; please try again" in error
    shown = app_page.locator("#error").inner_text()  # the page says what happened
    assert "worker stopped" in shown and "It was restarted" in shown
    wait_until(app_page, "document.querySelector('#status').textContent.startsWith('Ready again')", 180)
    assert app_page.evaluate(GOOD_SOLVE)["reason"].startswith("no captcha text found")


# ---------------------------------------------------------------- the boot cache

def boot_cache_of(page):
    page.evaluate("kcsolver.ready")
    return page.evaluate("kcsolver.info().boot.cache")


def replace_part(part, junk):
    """A script that puts `junk` (a JS expression) in place of a boot-cache part, with a matching digest,
    so that only the step that uses the part can object to it."""
    return f"""caches.open('kcsolver-boot').then(async (c) => {{
        const junk = {junk};
        const digest = Array.from(new Uint8Array(await crypto.subtle.digest('SHA-256', junk)),
            (b) => b.toString(16).padStart(2, '0')).join('');
        const meta = await (await c.match('boot/meta.json')).json();
        await c.put('boot/{part}', new Response(junk));
        await c.put('boot/meta.json', new Response(JSON.stringify({{...meta, {part}: digest}}))); }})"""


def edit_meta(change):
    """A script that changes the boot cache's meta.json (`change`: JS statements on `meta`), digests kept."""
    return f"""caches.open('kcsolver-boot').then(async (c) => {{
        const meta = await (await c.match('boot/meta.json')).json();
        {change}
        await c.put('boot/meta.json', new Response(JSON.stringify(meta))); }})"""


# NumPy's core extension module, the one every computation goes through (the digest's among them)
CORE_MODULE = "meta.libraries.modules.find((m) => m.name.includes('_multiarray_umath'))"
DAMAGE = {
    "corrupt": ("caches.open('kcsolver-boot').then((c) => c.put('boot/snapshot', new Response(new Uint8Array(64))))",
                "dropped: its snapshot is corrupt"),
    "stale": (edit_meta("meta.version = 'an older release';"), "dropped: stale (made for an older release)"),
    "unrestorable": (replace_part("snapshot", "new Uint8Array(24 << 20).map((_, i) => (i * 131) % 251)"),  # sized like one
                     "dropped: restoring the snapshot failed (Snapshot has invalid magic number"),
    "truncated": (replace_part("snapshot", "new Uint8Array(100000)"),
                  "dropped: restoring the snapshot failed (not a memory snapshot (100000 bytes))"),
    # The snapshot holds NumPy (site/snapshot.js): its side modules must come back exactly as recorded.
    "unreadable file archive": (replace_part("files", "new Uint8Array(5000).fill(80)"),
                                "dropped: restoring the snapshot failed (not a zip archive"),
    "missing side module": (edit_meta(f"{CORE_MODULE}.name = {CORE_MODULE}.name.replace('.so', '-gone.so');"),
                            "dropped: restoring the snapshot failed (side module /lib/python3.12/site-packages/numpy/"),
    "wrong memory base": (edit_meta(f"{CORE_MODULE}.memoryBase += 65536;"),
                          "dropped: booting from the snapshot failed ("),
    "wrong table base": (edit_meta(f"{CORE_MODULE}.tableBase += 8;"),
                         "dropped: restoring the snapshot failed (the side modules left"),
    "other runtime layout": (edit_meta("meta.libraries.tableLength += 1;"),
                             "dropped: restoring the snapshot failed (the function table has"),
    "different results": (edit_meta("meta.digest = '0'.repeat(64);"),
                          "dropped: booting from the snapshot failed (the restored interpreter computes differently"),
}


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_a_damaged_boot_cache_boots_normally_and_is_replaced(page, site_url, damage):
    page.goto(site_url + "?nosw=1")
    assert boot_cache_of(page) == "none"
    assert page.evaluate("kcsolver.request('make-boot-cache')")["cache"] == "made"
    page.reload()
    assert boot_cache_of(page) == "restored"
    assert page.evaluate(GOOD_SOLVE)["reason"].startswith("no captcha text found")
    script, expected = DAMAGE[damage]
    page.evaluate(script)
    page.reload()
    assert boot_cache_of(page).startswith(expected)
    assert page.evaluate(GOOD_SOLVE)["reason"].startswith("no captcha text found")  # a normal boot, working
    assert page.evaluate("kcsolver.request('make-boot-cache')")["cache"] == "made"  # and a new cache written
    page.reload()
    assert boot_cache_of(page) == "restored"


