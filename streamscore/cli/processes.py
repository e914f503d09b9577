"""Run ``streamscore worker`` as a child process (for ``demo`` and ``bench``)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from streamscore.ground.config import Settings
from streamscore.ground.kafka.reading import wait_worker_ready


@contextmanager
def running_worker(settings: Settings, model: str, log: Path) -> Iterator[subprocess.Popen]:
    """A worker scoring with ``model``, ready (partitions assigned) when the block starts;
    stopped cleanly (SIGTERM, then SIGKILL after 30 s) when it ends."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "wb") as handle:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamscore", "worker", "--model", model],
            env={**os.environ, **settings.to_env()},
            stdout=handle,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    try:
        wait_worker_ready(settings.web_port, alive=lambda: proc.poll() is None)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
