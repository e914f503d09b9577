"""Helpers for tests on a real broker: plain kafka-python clients and worker processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from kafka import KafkaConsumer, KafkaProducer

from streamscore.ground.config import Settings
from streamscore.ground.kafka.clients import kafka_python_options


def settings_env(settings: Settings) -> dict[str, str]:
    """Environment variables that reproduce ``settings`` in a child process."""
    return settings.to_env()


def produce(
    settings: Settings, topic: str, records: Iterable[tuple[str | bytes | None, Any]]
) -> int:
    """Send ``(key, value)`` pairs; dict/list values are JSON-encoded, bytes sent verbatim."""
    producer = KafkaProducer(**kafka_python_options(settings), linger_ms=5)
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


@dataclass
class Received:
    key: str | None
    value: Any
    partition: int
    offset: int
    raw: bytes


def consume(settings: Settings, topic: str, n: int, timeout: float = 60.0) -> list[Received]:
    """Read ``topic`` from the beginning until ``n`` records arrived or ``timeout`` passed."""
    consumer = KafkaConsumer(
        topic,
        **kafka_python_options(settings),
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        group_id=None,
        consumer_timeout_ms=1000,
    )
    out: list[Received] = []
    deadline = time.monotonic() + timeout
    try:
        while len(out) < n and time.monotonic() < deadline:
            for msg in consumer:
                try:
                    value = orjson.loads(msg.value)
                except orjson.JSONDecodeError:
                    value = None
                key = msg.key.decode() if msg.key is not None else None
                out.append(Received(key, value, msg.partition, msg.offset, msg.value))
                if len(out) >= n:
                    break
    finally:
        consumer.close()
    return out


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
