"""The solver page in real Chromium: every input path, caching, offline, custom models, bad input."""

import io
import json
import shutil

import numpy as np
import pytest
from PIL import Image

from helpers import shipped_specialists, wait_until
from conftest import REAL, ROOT
from kcsolver import Solver

pytestmark = pytest.mark.browser

SAMPLES = {
    "l2_digits": sorted((REAL / "l2_digits_png").glob("*.png"))[:3],
    "stock23": sorted((REAL / "stock23_jpg").glob("*.jpg"))[:2] + sorted((REAL / "stock20_true_png").glob("*.png"))[:1],
    "classic": sorted((REAL / "classic126_jpg").glob("*.jpg"))[:2],
}
BUNDLE = ROOT / "site" / "models" / "kcaptcha"


@pytest.fixture(scope="module")
def cpython_answers():
    """What the same solvers answer under CPython, as the page shows it ('(no answer)' when refused)."""
    answers = {}
    for model, files in SAMPLES.items():
        for name in (model, "auto"):
            solver = Solver.load(name)
            for path in files:
                result = solver.solve(path)
                result.shown = result.text or "(no answer)"
                answers[(name, path.name)] = result
    return answers


def answer(page):
    wait_until(page, "document.querySelector('#answer').textContent.length > 0 && "
                           "document.querySelector('#status').textContent.startsWith('Solved')")
    return page.locator("#answer").inner_text()


def reset(page):
    """Clear the last answer, and the file input so that picking the same file again fires `change`."""
    page.evaluate("document.querySelector('#answer').textContent = ''; document.querySelector('#status').textContent = '';"
                  "document.querySelector('#file').value = ''")


@pytest.mark.parametrize("model", sorted(SAMPLES))
def test_file_input_matches_cpython(app_page, cpython_answers, model):
    app_page.select_option("#model", model)
    for path in SAMPLES[model]:
        reset(app_page)
        app_page.set_input_files("#file", str(path))
        expected = cpython_answers[(model, path.name)]
        assert answer(app_page) == expected.shown
        chars = app_page.locator("#chars li").all_inner_texts()
        assert len(chars) == len(expected.chars)


def page_file_js(path, mime):
    return f"fetch('/real/{path.parent.name}/{path.name}').then(r => r.blob()).then(b => new File([b], '{path.name}', {{type: '{mime}'}}))"


def test_paste_and_drop(app_page, cpython_answers):
    path = SAMPLES["l2_digits"][1]
    expected = cpython_answers[("l2_digits", path.name)].shown
    app_page.select_option("#model", "l2_digits")
    app_page.evaluate(f"""async () => {{
        const file = await {page_file_js(path, 'image/png')};
        const data = new DataTransfer();
        data.items.add(file);
        document.dispatchEvent(new ClipboardEvent('paste', {{clipboardData: data, bubbles: true}}));
    }}""")
    assert answer(app_page) == expected
    reset(app_page)
    path = SAMPLES["l2_digits"][2]
    app_page.evaluate(f"""async () => {{
        const file = await {page_file_js(path, 'image/png')};
        const data = new DataTransfer();
        data.items.add(file);
        document.querySelector('#drop').dispatchEvent(new DragEvent('drop', {{dataTransfer: data, bubbles: true}}));
    }}""")
    assert answer(app_page) == cpython_answers[("l2_digits", path.name)].shown


def test_solve_api_accepts_every_source(app_page, cpython_answers):
    path = SAMPLES["stock23"][0]
    expected = cpython_answers[("stock23", path.name)]
    results = app_page.evaluate(f"""async () => {{
        const blob = await {page_file_js(path, 'image/jpeg')};
        const img = new Image();
        img.src = URL.createObjectURL(blob);
        await img.decode();
        const canvas = document.createElement('canvas');
        canvas.width = img.naturalWidth; canvas.height = img.naturalHeight;
        canvas.getContext('2d').drawImage(img, 0, 0);
        const imageData = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height);
        const out = [];
        for (const source of [blob, img, canvas, imageData]) out.push(await kcsolver.solve(source, {{model: 'stock23'}}));
        out.push(await kcsolver.solve(blob));  // the automatic choice, made in Python as under CPython
        return out;
    }}""")
    for result in results[:-1]:
        assert result["text"] == expected.text and result["solver"] == "stock23"
        assert abs(result["confidence"] - expected.confidence) < 1e-3
        assert len(result["chars"]) == len(expected.chars) and result["ms"] > 0
    automatic = cpython_answers[("auto", path.name)]
    assert (results[-1]["text"], results[-1]["solver"]) == (automatic.text, automatic.solver)


def test_the_sites_symbols_and_lengths_restrict_answers_as_under_cpython(app_page):
    path = SAMPLES["classic"][0]
    site = Solver.load("auto").restrict("23456789abcdeghkmnpqsuvxyz", [5, 6])
    expected, refused = site.solve(path), Solver.load("auto").restrict("0-9").solve(path)
    results = app_page.evaluate(f"""async () => {{
        const blob = await {page_file_js(path, 'image/jpeg')};
        return [await kcsolver.solve(blob, {{charset: '23456789abcdeghkmnpqsuvxyz', lengths: '5-6'}}),
                await kcsolver.solve(blob, {{charset: '0-9'}})];
    }}""")
    assert (results[0]["text"], results[0]["solver"]) == (expected.text, "site")
    assert abs(results[0]["confidence"] - expected.confidence) < 1e-3
    assert results[1]["text"] == "" and results[1]["reason"] == refused.reason
    reset(app_page)  # the page's form row does the same
    app_page.fill("#site-charset", "0-9")
    app_page.set_input_files("#file", str(path))
    assert answer(app_page) == "(no answer)"
    app_page.fill("#site-charset", "")


def test_automatic_choice_reads_classic_captchas_like_cpython(app_page, cpython_answers):
    for path in SAMPLES["classic"]:
        reset(app_page)
        app_page.set_input_files("#file", str(path))
        expected = cpython_answers[("auto", path.name)]
        assert answer(app_page) == expected.shown
        assert f"solver {expected.solver}" in app_page.locator("#timing").inner_text()


def test_the_automatic_choice_fetches_a_specialist_only_for_a_captcha_that_needs_it(page, site_url, cpython_answers):
    stock, classic = SAMPLES["stock23"][0], SAMPLES["classic"][0]
    page.goto(site_url + "?nosw=1")
    page.evaluate("kcsolver.ready")
    # straight after boot, before the worker's idle work prepares the specialists
    steps = page.evaluate(f"""async () => {{
        const loaded = () => kcsolver.request('info').then((i) => i.models_loaded.join(' '));
        const stock = await kcsolver.solve(await {page_file_js(stock, 'image/jpeg')});
        const afterStock = await loaded();
        const classic = await kcsolver.solve(await {page_file_js(classic, 'image/jpeg')});
        return [stock, afterStock, classic, await loaded()];
    }}""")
    assert steps[0]["solver"] == "stock23" and "kcaptcha-classic" not in steps[1]
    expected = cpython_answers[("auto", classic.name)]
    assert (steps[2]["text"], steps[2]["solver"]) == (expected.text, "classic")
    assert abs(steps[2]["confidence"] - expected.confidence) < 1e-3
    assert "kcaptcha-classic/model.json" in steps[3]


def test_a_captcha_and_the_idle_preparation_share_one_specialist_download(page, site_url, cpython_answers):
    classic = SAMPLES["classic"][1]
    page.goto(site_url + "?nosw=1")
    page.evaluate("kcsolver.ready")
    prepared, answer = page.evaluate(f"""async () => {{
        const bundle = new URL('models/kcaptcha/model.json', document.baseURI).href;
        const file = await {page_file_js(classic, 'image/jpeg')};
        return Promise.all([kcsolver.request('prepare-solver', {{modelUrl: bundle}}), kcsolver.solve(file)]);
    }}""")
    assert prepared["specialists"] == sorted(shipped_specialists())
    expected = cpython_answers[("auto", classic.name)]
    assert (answer["text"], answer["solver"]) == (expected.text, "classic")


def model_requests(server):
    return [r for r in server.requests if "/app/models/" in r]


def test_a_restored_boot_snapshot_reads_like_a_normal_boot(page, site_url, cpython_answers):
    """The boot snapshot holds NumPy, kcsolver and the default solver (site/snapshot.js): a return visit
    restores it without importing NumPy or loading the model, and reads captchas as the normal boot did."""
    paths = [p for files in SAMPLES.values() for p in files]
    read_all = "async () => { const out = []; for (const make of [" + ", ".join(
        page_file_js(p, "image/jpeg" if p.suffix == ".jpg" else "image/png") for p in paths) + \
        "]) out.push(await kcsolver.solve(await make)); return out; }"
    page.goto(site_url + "?nosw=1")
    page.evaluate("kcsolver.ready")
    assert page.evaluate("kcsolver.info().boot.cache") == "none"
    normal = page.evaluate(read_all)
    assert page.evaluate("kcsolver.request('make-boot-cache')")["cache"] == "made"
    assert page.evaluate("kcsolver.request('boot-cache-status')")["snapshot"] == "numpy"
    page.reload()
    page.evaluate("kcsolver.ready")
    boot = page.evaluate("kcsolver.info().boot")
    assert (boot["cache"], boot["snapshot"]) == ("restored", "numpy")
    assert "checked" in boot and "numpy" not in boot and "unpacked" not in boot  # nothing imported or unpacked anew
    restored = page.evaluate(read_all)
    for path, first, again in zip(paths, normal, restored):
        expected = cpython_answers[("auto", path.name)]
        assert (again["text"], again["solver"]) == (first["text"], first["solver"]) == (expected.text, expected.solver)
        assert abs(again["confidence"] - first["confidence"]) < 1e-4, path.name


def test_second_visit_fetches_no_model_file(page, site_url, server):
    page.goto(site_url)
    page.evaluate("kcsolver.ready")
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    path = SAMPLES["l2_digits"][0]
    page.set_input_files("#file", str(path))
    answer(page)
    assert model_requests(server), "the first visit downloads the model"
    page.wait_for_timeout(500)
    before = len(server.requests)
    page.reload()
    page.evaluate("kcsolver.ready")
    reset(page)
    page.set_input_files("#file", str(path))
    answer(page)
    assert [r for r in server.requests[before:] if "/app/models/" in r] == []


def test_offline_reload_still_solves(page, context, site_url, cpython_answers):
    page.goto(site_url)
    page.evaluate("kcsolver.ready")
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    if not page.evaluate("navigator.serviceWorker.controller !== null"):
        page.reload()  # the first visit installs the service worker; it controls the page from the next load
        page.evaluate("kcsolver.ready")
    path = SAMPLES["l2_digits"][0]
    page.select_option("#model", "l2_digits")
    page.set_input_files("#file", str(path))
    answer(page)
    context.set_offline(True)
    page.reload()
    page.evaluate("kcsolver.ready")
    page.select_option("#model", "l2_digits")
    reset(page)
    page.set_input_files("#file", str(path))
    assert answer(page) == cpython_answers[("l2_digits", path.name)].shown
    context.set_offline(False)


def test_corrupted_cache_entry_is_dropped_and_refetched(page, site_url, server, cpython_answers):
    page.goto(site_url + "?nosw=1")
    page.evaluate("kcsolver.ready")
    path = SAMPLES["l2_digits"][0]
    page.select_option("#model", "l2_digits")
    page.set_input_files("#file", str(path))
    answer(page)
    corrupted = page.evaluate("""async () => {
        const cache = await caches.open('kcsolver-models');
        const keys = (await cache.keys()).filter(k => k.url.includes('.bin'));
        for (const key of keys) await cache.put(key, new Response(new Uint8Array([1, 2, 3])));
        return keys.length;
    }""")
    assert corrupted == 1
    before = len(server.requests)
    page.reload()
    page.evaluate("kcsolver.ready")
    page.select_option("#model", "l2_digits")
    reset(page)
    page.set_input_files("#file", str(path))
    assert answer(page) == cpython_answers[("l2_digits", path.name)].shown
    refetched = [r for r in server.requests[before:] if r.endswith(".bin")]
    assert len(refetched) == 1


def test_custom_model_from_url_and_from_disk(app_page, server, cpython_answers, tmp_path):
    """A bundle given by URL or picked from disk: its presets are chosen from automatically, as for "auto"."""
    path = SAMPLES["l2_digits"][0]
    app_page.select_option("#model", "custom")
    app_page.fill("#custom-url", server.url + "/app/models/kcaptcha/model.json")
    app_page.set_input_files("#file", str(path))
    assert answer(app_page) == cpython_answers[("auto", path.name)].shown
    # From disk: model.json with its shard, picked together (paths made local to the folder).
    folder = tmp_path / "picked"
    folder.mkdir()
    document = json.loads((BUNDLE / "model.json").read_text())
    document["weightsManifest"][0]["paths"] = ["weights.bin"]
    (folder / "model.json").write_text(json.dumps(document))
    shutil.copy(BUNDLE / "group1-shard1of1.bin", folder / "weights.bin")
    app_page.fill("#custom-url", "")
    app_page.set_input_files("#custom-files", [str(folder / "model.json"), str(folder / "weights.bin")])
    reset(app_page)
    app_page.set_input_files("#file", str(SAMPLES["l2_digits"][1]))
    assert answer(app_page) == cpython_answers[("auto", SAMPLES["l2_digits"][1].name)].shown


def png_bytes(array):
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, "PNG")
    return buffer.getvalue()


def expect_error_then_recover(page, trigger, message_part):
    reset(page)
    page.evaluate("document.querySelector('#error').hidden = true")
    trigger()
    wait_until(page, "!document.querySelector('#error').hidden", 15)
    text = page.locator("#error-message").inner_text()
    assert message_part.lower() in text.lower(), text
    reset(page)
    page.select_option("#model", "l2_digits")
    page.set_input_files("#file", str(SAMPLES["l2_digits"][0]))
    assert answer(page)


def test_bad_inputs_give_clear_messages_and_the_page_survives(app_page, tmp_path, server):
    big = io.BytesIO()
    Image.new("L", (30000, 30000)).save(big, "PNG")
    good = png_bytes(np.full((60, 160, 3), 255, np.uint8))
    cases = [
        ({"name": "notes.txt", "mimeType": "text/plain", "buffer": b"hello"}, "not an image"),
        ({"name": "empty.png", "mimeType": "image/png", "buffer": b""}, "empty"),
        ({"name": "cut.png", "mimeType": "image/png", "buffer": good[: len(good) // 3]}, "truncated"),
        ({"name": "huge.png", "mimeType": "image/png", "buffer": big.getvalue()}, "30000×30000"),
    ]
    for payload, message in cases:
        expect_error_then_recover(app_page, lambda: app_page.set_input_files("#file", files=[payload]), message)
    # A custom model with a missing shard, and one with an unsupported op.
    broken = tmp_path / "broken"
    broken.mkdir()
    shutil.copy(BUNDLE / "model.json", broken / "model.json")
    document = json.loads((broken / "model.json").read_text())
    document["weightsManifest"][0]["paths"] = ["missing.bin"]
    (broken / "model.json").write_text(json.dumps(document))

    def pick_broken():
        app_page.select_option("#model", "custom")
        app_page.set_input_files("#custom-files", [str(broken / "model.json")])
        app_page.set_input_files("#file", str(SAMPLES["l2_digits"][0]))

    expect_error_then_recover(app_page, pick_broken, "missing weight shard")
    unsupported = tmp_path / "unsupported"
    shutil.copytree(broken, unsupported)
    document["weightsManifest"][0]["paths"] = ["weights.bin"]
    document["modelTopology"]["model_config"]["config"]["layers"][1]["class_name"] = "MultiHeadAttention"
    (unsupported / "model.json").write_text(json.dumps(document))
    shutil.copy(BUNDLE / "group1-shard1of1.bin", unsupported / "weights.bin")

    def pick_unsupported():
        app_page.select_option("#model", "custom")
        app_page.set_input_files("#custom-files", [str(unsupported / "model.json"), str(unsupported / "weights.bin")])
        app_page.set_input_files("#file", str(SAMPLES["l2_digits"][0]))

    expect_error_then_recover(app_page, pick_unsupported, "MultiHeadAttention")


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_screenshot(browser, site_url, scheme, tmp_path_factory):
    context = browser.new_context(color_scheme=scheme, viewport={"width": 900, "height": 900})
    page = context.new_page()
    page.goto(site_url + "?nosw=1")
    page.evaluate("kcsolver.ready")
    page.select_option("#model", "stock23")
    page.set_input_files("#file", str(SAMPLES["stock23"][0]))
    answer(page)
    out = ROOT / "artifacts" / f"page-{scheme}.png"
    out.parent.mkdir(exist_ok=True)
    page.screenshot(path=str(out), full_page=True)
    image = np.asarray(Image.open(out).convert("L"), np.float32)
    assert image.std() > 20  # text, answer and gallery, not a blank page
    background = np.median(image)
    assert (background > 200) if scheme == "light" else (background < 60)
    context.close()
