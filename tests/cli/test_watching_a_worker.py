"""The monitor and the report on what a real worker wrote: a stream whose x0 and
color shift halfway (tests/integration/test_drift.py), scored, learned and measured
by ``streamscore worker``; nothing the worker writes is skipped."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from streamscore.ground.kafka.admin import create_topics
from tests.cli.test_report import summary
from tests.integration.pipeline import train_on, wait_for_drift
from tests.integration.test_drift import send, stream
from tests.kafka_helpers import settings_env

pytestmark = pytest.mark.integration


def _streamscore(settings, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "streamscore", *args], capture_output=True, text=True,
        timeout=300, env={**os.environ, **settings_env(settings)},
    )  # fmt: skip


def test_monitor_and_report_read_everything_a_worker_writes(
    settings_factory, worker_factory, tmp_path
):
    settings = settings_factory(partitions=2, drift_window=1000)
    create_topics(settings)
    train_on(settings, stream(4000, seed=1), estimator="logreg")
    worker_factory(settings, "--model", "m")
    send(settings, stream(8000, seed=2, shift_at=4000), labels=True)
    wait_for_drift(
        settings,
        lambda r: {x["name"] for x in r if x["kind"] == "alert"} >= {"x0", "color"}
        and any(x["kind"] == "performance" and x["name"] == "online" for x in r),
        180, "alerts on x0 and color, and the models' performance",
    )  # fmt: skip

    done = _streamscore(settings, "report", "--out", str(tmp_path / "report"))
    assert done.returncode == 0, done.stderr
    page = (tmp_path / "report" / "index.html").read_text()
    assert "records skipped" not in page and "skipping" not in done.stderr
    table = summary(page)
    assert int(table[("x0", "psi")][5]) >= 1 and int(table[("color", "psi")][5]) >= 1
    assert all(cells[5] == "0" for (name, _), cells in table.items()
               if name not in ("x0", "color", "score"))  # fmt: skip
    assert "No performance record" not in page and "No label record" not in page

    done = _streamscore(settings, "monitor", "--from-beginning", "--duration", "6", "--every", "2")
    assert done.returncode == 0, done.stderr
    last = done.stdout.strip().splitlines()[-1]
    assert re.search(r"model m v1 \| alerts: .*x0 psi", last), last
    assert re.search(r"accuracy batch \d\.\d{3} online \d\.\d{3}", last), last
    assert "skipping" not in done.stderr, done.stderr
