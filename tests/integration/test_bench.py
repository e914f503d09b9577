"""`streamscore bench` runs and reports every figure; its numbers are printed, never asserted."""

from __future__ import annotations

import os
import subprocess
import sys

import orjson
import pytest

pytestmark = pytest.mark.integration


def test_bench_reports_every_figure(kafka_bootstrap, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("STREAMSCORE_")}
    env["STREAMSCORE_BOOTSTRAP_SERVERS"] = kafka_bootstrap
    out = tmp_path / "bench.json"
    done = subprocess.run(
        [sys.executable, "-m", "streamscore", "bench", "-n", "3000", "--latency-rate", "300",
         "--latency-seconds", "3", "--naive-events", "200", "--json", str(out)],
        env=env, capture_output=True, text=True, timeout=600, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    result = orjson.loads(out.read_bytes())
    names = [run["name"] for run in result["runs"]]
    assert names == ["raw", "limit", "naive", "worker x1", "worker x2", "worker x1, whole pipeline"]
    for run in result["runs"]:
        assert run["events_per_s"] > 0 and run["cpu_us_per_event"] >= 0 and run["peak_rss_mb"] > 0
    one = result["runs"][3]
    limit = result["runs"][1]
    assert result["worker_vs_limit"] == pytest.approx(one["events_per_s"] / limit["events_per_s"])
    assert result["worker_cpu_us_per_event"] == one["cpu_us_per_event"]
    (latency,) = result["latency"]
    assert latency["answered"] == latency["events"] == 900  # every paced event answered
    assert latency["p50_ms"] <= latency["p99_ms"] <= latency["max_ms"]
    assert "worker_vs_naive" in result and "workers2_vs_1" in result
    assert result["whole_pipeline_events_per_s"] == result["runs"][-1]["events_per_s"]
    assert "worker_vs_limit" in done.stdout and "contestant" in done.stdout
