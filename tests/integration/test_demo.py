"""`streamscore demo`: the whole pipeline (synth -> train -> promote -> replay with lz4 ->
worker -> predictions and dead letters) as a user runs it, on small numbers."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

pytestmark = pytest.mark.integration


def test_demo_runs_end_to_end_and_loses_nothing(settings_factory, tmp_path):
    settings = settings_factory()
    env = {**os.environ, **settings.to_env()}
    done = subprocess.run(
        [sys.executable, "-m", "streamscore", "demo",
         "--n-train", "1500", "--n-stream", "3000", "--rate", "2000"],
        env=env, capture_output=True, text=True, timeout=300, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:] + done.stdout[-2000:]

    def row(label: str) -> str:
        match = re.search(re.escape(label) + r"\s*│\s*([^│]+?)\s*│", done.stdout)
        assert match, done.stdout
        return match.group(1)

    assert row("events replayed") == "3000"
    assert row("predictions (distinct ids)") == "3000"
    assert row("duplicate predictions") == "0"
    assert row("dead letters") == "3"
    assert 0.5 < float(row("accuracy vs held-back labels")) <= 1.0
