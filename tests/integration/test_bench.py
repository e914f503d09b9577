"""`streamscore bench` runs and reports; its numbers are printed, never asserted."""

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
    done = subprocess.run(
        [sys.executable, "-m", "streamscore", "bench", "-n", "3000", "--latency-rate", "300"],
        env=env, capture_output=True, text=True, timeout=400, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    result = orjson.loads(done.stdout.strip().splitlines()[-1])
    assert result["events"] == 3000
    assert result["duplicates"] == 0
    assert result["latency_events"] == 3000  # every paced event was answered
    for key in ("produce_events_per_s", "raw_passthrough_events_per_s", "worker_events_per_s"):
        assert result[key] > 0
    assert result["worker_vs_raw"] == pytest.approx(
        result["worker_events_per_s"] / result["raw_passthrough_events_per_s"]
    )
