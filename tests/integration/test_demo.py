"""`streamscore demo`: the whole story (synth -> train -> promote -> worker -> replay with
delayed labels under the monitor -> report -> summary) as a user runs it, on small numbers."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

pytestmark = pytest.mark.integration


def test_demo_runs_end_to_end_and_loses_nothing(settings_factory, tmp_path):
    settings = settings_factory(drift_window=500)
    env = {**os.environ, **settings.to_env(), "COLUMNS": "200"}
    done = subprocess.run(
        [sys.executable, "-m", "streamscore", "demo",
         "--n-train", "3000", "--n-stream", "9000", "--rate", "2000", "--out", "out"],
        env=env, capture_output=True, text=True, timeout=400, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:] + done.stdout[-2000:]

    def row(label: str) -> str:
        match = re.search(re.escape(label) + r"[^│]*│\s*([^│]+?)\s*│", done.stdout)
        assert match, done.stdout
        return match.group(1)

    assert row("events replayed").startswith("9,000 at")
    assert row("predictions (distinct ids)") == "9,000"
    assert row("events without a prediction") == "0"
    assert row("duplicate predictions") == "0"
    assert row("dead letters") == "3 (3)"
    assert row("labels learned") == "9,000"
    fired = re.findall(r"│ alert\s*│ (\S+)\s*│ (\S+)\s*│ ([\d,]+)", done.stdout)
    assert {name for name, _, _ in fired} >= {"x0"}, done.stdout  # the drifted input alerts
    drift_row = int(re.search(r"data drift at row ([\d,]+)", done.stdout)[1].replace(",", ""))
    x0 = min(int(at.replace(",", "")) for name, _, at in fired if name == "x0")
    assert drift_row <= x0 <= drift_row + 2000
    assert {name for name, _, _ in fired} <= {"x0", "segment", "score"}
    batch = re.search(r"│\s*batch │\s*([\d.]+) │\s*([\d.]+) │", done.stdout)
    online = re.search(r"│\s*online │\s*([\d.]+) │\s*([\d.]+) │", done.stdout)
    assert batch and online, done.stdout
    assert float(batch[1]) > 0.85 and float(batch[2]) < 0.7  # the change beats the batch model
    assert float(online[2]) > float(batch[2])  # ... and the online model adapts
    report = tmp_path / "out" / "report" / "index.html"
    assert report.is_file() and f"report: {report.relative_to(tmp_path)}" in done.stdout
