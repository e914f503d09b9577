"""Helpers for tests on a real broker: produce, read back (the ground layer's reader), workers."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from streamscore.ground.config import Settings
from streamscore.ground.kafka import clients
from streamscore.ground.kafka.reading import Record, read_topic


def settings_env(settings: Settings) -> dict[str, str]:
    """Environment variables that reproduce ``settings`` in a child process."""
    return settings.to_env()


def produce(
    settings: Settings, topic: str, records: Iterable[tuple[str | bytes | None, Any]]
) -> int:
    """Send ``(key, value)`` pairs; dict/list values are JSON-encoded, bytes sent verbatim."""
    producer = clients.producer(settings, linger_ms=5)
    n = 0
    try:
        for key, value in records:
            if isinstance(key, str):
                key = key.encode()
            if not isinstance(value, bytes | bytearray):
                value = orjson.dumps(value)
            producer.send(topic, key=key, value=value)
            n += 1
        producer.flush(timeout=60)
    finally:
        producer.close(timeout=10)
    return n


def consume(settings: Settings, topic: str, n: int, timeout: float = 60.0) -> list[Record]:
    """``topic`` from the beginning until ``n`` records arrived or ``timeout`` passed."""
    return read_topic(settings, topic, until=lambda got: len(got) >= n, timeout=timeout)


def consume_all(settings: Settings, topic: str, n: int, timeout: float = 30.0) -> list[Record]:
    """Wait until ``topic`` holds ``n`` records (or ``timeout``), then read all of it: a
    duplicate written after the first ``n`` is counted too."""
    consume(settings, topic, n, timeout)
    return read_topic(settings, topic, timeout=timeout)


@dataclass
class Worker:
    """A ``streamscore`` subprocess (a worker, usually) with its log file."""

    proc: subprocess.Popen[bytes]
    log: Path

    @classmethod
    def start(cls, args: list[str], env: dict[str, str], log: Path) -> Worker:
        handle = open(log, "wb")  # noqa: SIM115
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamscore", *args],
            env=env,
            stdout=handle,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        handle.close()
        return cls(proc, log)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self, timeout: float = 30.0) -> int:
        """SIGTERM (a clean shutdown), then SIGKILL after ``timeout`` seconds."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        return self.proc.returncode

    def kill(self) -> None:
        """SIGKILL: a crash, no clean shutdown."""
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
