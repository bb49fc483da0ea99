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
    starts = {r["metric"]: r for r in records if "metric" in r}
    assert starts["cold_start_unthrottled"]["ms"] > 0 and starts["warm_start_unthrottled"]["ms"] > 0
    assert starts["cold_bytes_model"]["bytes"] > 0 and starts["cold_bytes_runtime"]["bytes"] > starts["cold_bytes_model"]["bytes"]
    assert any(r["metric"].startswith("solve_") and r["images_per_second"] > 0 for r in records if "metric" in r)
    assert "| model | engine | backend | median ms |" in result.stdout
    assert "Per-op time, ours, l2_digits on webgl" in result.stdout and "| 00 conv2d |" in result.stdout
