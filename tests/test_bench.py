"""The benchmark harness runs end to end (--quick) and writes the records it promises. No timing thresholds."""

import json
import subprocess
import sys

import pytest

pytestmark = pytest.mark.browser


def test_quick_bench_writes_records(tmp_path):
    out = tmp_path / "bench.json"
    result = subprocess.run([sys.executable, "-m", "kcsolver.bench", "--quick", "--profile", "--json", str(out)],
                            capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    records = json.loads(out.read_text())
    latency = [r for r in records if "median_ms" in r]
    assert {r["engine"] for r in latency} == {"kcsolver", "tfjs"}
    for r in latency:
        assert {"engine", "backend", "model", "median_ms"} <= r.keys() and r["median_ms"] > 0
    starts = {(r["metric"], r["target"]): r for r in records if "target" in r}
    other_site = "widget, host on another site"
    assert set(starts) == {(metric, target) for metric in ("first_visit", "return_visit_sw", "return_visit_http_cache")
                           for target in ("page", "widget", other_site)}
    for (metric, target), row in starts.items():
        assert row["engine"] == "kcsolver" and row["ms"] > 0
        # the page's own clock saw the answer appear, and not after the harness did
        assert row["page_ms"] is not None and 0 < row["page_ms"] <= row["ms"], row
        # a first visit downloads the runtime (megabytes); a return visit from the same site almost nothing
        if metric == "first_visit":
            assert row["bytes"] > 5_000_000
        elif target != other_site:
            assert row["bytes"] < 1_000_000
    for target in ("page", "widget"):  # booted from the NumPy snapshot
        assert (starts[("return_visit_sw", target)]["boot"]["cache"],
                starts[("return_visit_sw", target)]["boot"]["snapshot"]) == ("restored", "numpy")
    # Chromium gives a frame whose top page is on another site no Cache Storage: the worker says so and boots.
    assert starts[("return_visit_sw", other_site)]["boot"]["cache"].startswith(("none", "restored")), starts
    solves = {(r["folder"], r["model"]): r for r in records if "solve_ms" in r}
    assert {model for _, model in solves} == {"l2_digits", "digits", "stock23", "classic", "auto"}
    for (folder, model), row in solves.items():
        assert row["solve_ms"] > 0 and row["repeat"] == 2
        own = solves[(folder, "auto")] if model == "auto" else row
        assert row["answered_as"] == own["answered_as"]  # the automatic choice picked the folder's solver
    assert solves[("classic126_jpg", "auto")]["answered_as"] == "classic"
    assert any(r["metric"].startswith("solve_") and r["images_per_second"] > 0 for r in records if "images_per_second" in r)
    assert "| model | engine | backend | median ms |" in result.stdout
    assert "Per-op time, ours, kcaptcha on webgl" in result.stdout and "| 00 conv2d |" in result.stdout
