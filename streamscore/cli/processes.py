"""Run ``streamscore worker`` as a child process (for ``demo`` and ``bench``); ask it how it is."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from streamscore.ground.config import Settings
from streamscore.ground.errors import StreamscoreError


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


def worker_metric(port: int, name: str, host: str = "127.0.0.1") -> float | None:
    """A value from a worker's ``/metrics`` (None while the endpoint is not up)."""
    try:
        body = urllib.request.urlopen(f"http://{host}:{port}/metrics", timeout=5).read()
    except OSError:
        return None
    for line in body.decode().splitlines():
        if line.startswith((name + " ", name + "{")):
            return float(line.split()[-1])
    return None


def wait_worker_ready(port: int, alive: Callable[[], bool], timeout: float = 120.0) -> None:
    """Block until the worker on ``port`` has partitions of the events topic assigned."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive():
            raise StreamscoreError("the worker exited during start-up")
        assigned = worker_metric(port, "streamscore_assigned_partitions")
        if assigned is not None and assigned > 0:
            return
        time.sleep(0.3)
    raise StreamscoreError(f"the worker had no partitions assigned after {timeout:.0f} s")


def supervise(commands: list[list[str]]) -> int:
    """Run ``streamscore COMMAND`` for each command; stop all on Ctrl-C, SIGTERM or a death.

    The children share this terminal. Returns 0 after a requested stop, else the exit
    code of the first child that died (the others are stopped with it).
    """
    children = [
        subprocess.Popen([sys.executable, "-m", "streamscore", *args], stdin=subprocess.DEVNULL)
        for args in commands
    ]
    stopping: list[int] = []

    def stop(signum: int, _frame: object) -> None:
        stopping.append(signum)
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        while all(child.poll() is None for child in children) and not stopping:
            time.sleep(0.2)
        died = next((c.returncode for c in children if c.returncode not in (None, 0)), 0)
        if not stopping:
            stop(signal.SIGTERM, None)
        for child in children:
            try:
                child.wait(60)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait(10)
        return 0 if stopping else died
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
