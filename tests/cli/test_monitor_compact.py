"""``streamscore monitor`` piped (what ``make demo`` shows): one summary line every N
seconds, correct before any record comes and after, ending by itself at ``--duration``."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time

import pytest

from streamscore.ground.kafka.admin import create_topics
from tests.cli import scene
from tests.kafka_helpers import settings_env

pytestmark = pytest.mark.integration


def _lines_until(proc: subprocess.Popen, seen, timeout: float) -> list[str]:
    lines: list[str] = []
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        line = proc.stdout.readline()  # a line comes every --every seconds
        if not line:
            break
        lines.append(line.rstrip("\n"))
        if seen(lines[-1]):
            return lines
    raise AssertionError(f"not seen within {timeout} s:\n" + "\n".join(lines))


def test_compact_lines_follow_the_stream_and_the_run_ends_at_its_duration(settings_factory):
    settings = settings_factory()
    create_topics(settings)
    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamscore", "monitor", "--duration", "25", "--every", "1"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, **settings_env(settings)},
    )  # fmt: skip
    try:
        quiet = _lines_until(proc, lambda line: "events/s 0.0" in line, timeout=20)
        assert all("no data yet" in line for line in quiet), quiet
        assert re.search(r"lag 0 \| dead letters/s 0.0 \| model \? \| no data yet$", quiet[-1])

        scene.drift_history(settings, windows=10, drift_at=2, drift_until=99)
        with scene.predictions_flowing(settings, per_second=100):
            busy = _lines_until(
                proc,
                lambda line: (
                    "alerts: c0 psi,chi2; x0 psi,ks; score psi,ks" in line
                    and re.search(r"events/s [1-9]", line)
                ),
                timeout=20,
            )
        line = busy[-1]
        assert "model synthetic v3" in line and "challenger winner" in line, line
        assert re.search(r"accuracy batch \d\.\d{3} online \d\.\d{3}", line), line
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert 25 <= time.monotonic() - started < 45
    assert out.strip(), "a last line when the run ends"
    assert "Traceback" not in err


def test_the_demo_can_watch_while_it_works_and_stop_the_monitor(settings_factory):
    import io

    from rich.console import Console

    from streamscore.cli.monitor import monitoring

    settings = settings_factory()
    out = io.StringIO()
    with monitoring(settings, console=Console(file=out, width=300), every=0.5) as state:
        scene.drift_history(settings, windows=10, drift_at=2, drift_until=99)
        end = time.monotonic() + 30
        while "x0 psi,ks" not in out.getvalue():  # compact: the console is not a terminal
            assert time.monotonic() < end, out.getvalue()
            time.sleep(0.1)
    assert ("x0", "psi") in state.active_alerts() and state.skipped.total == 0
    # stopped with the block: no thread of the monitor is left to print more
    assert not [t for t in threading.enumerate() if t.name in ("monitor", "feed", "gauge")]
