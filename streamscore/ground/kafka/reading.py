"""Read what the pipeline wrote, from a known starting point (for demo, bench, monitor).

Plain kafka-python, no consumer group: reading never moves anybody's offsets.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
from kafka import KafkaConsumer, TopicPartition

from streamscore.ground.config import Settings
from streamscore.ground.kafka.clients import kafka_python_options


@dataclass(frozen=True, slots=True)
class Record:
    key: str | None
    value: Any
    timestamp_ms: int
    partition: int
    offset: int


def end_offsets(settings: Settings, topic: str) -> dict[int, int]:
    """Current end offset of each partition of ``topic`` (empty if it does not exist)."""
    consumer = KafkaConsumer(**kafka_python_options(settings), group_id=None)
    try:
        partitions = consumer.partitions_for_topic(topic) or set()
        tps = [TopicPartition(topic, p) for p in partitions]
        return {tp.partition: off for tp, off in consumer.end_offsets(tps).items()} if tps else {}
    finally:
        consumer.close()


def read_from(
    settings: Settings,
    topic: str,
    start: dict[int, int],
    until: Callable[[list[Record]], bool],
    timeout: float,
    on_progress: Callable[[int], None] | None = None,
) -> list[Record]:
    """Records after ``start`` (partition -> offset) until ``until(records)`` or ``timeout``."""
    consumer = KafkaConsumer(
        **kafka_python_options(settings), group_id=None, enable_auto_commit=False
    )
    records: list[Record] = []
    try:
        deadline = time.monotonic() + timeout
        partitions: set[int] = set()
        while not partitions and time.monotonic() < deadline:
            partitions = consumer.partitions_for_topic(topic) or set()
            if not partitions:
                time.sleep(0.5)
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        consumer.assign(tps)
        for tp in tps:
            consumer.seek(tp, start.get(tp.partition, 0))
        while not until(records) and time.monotonic() < deadline:
            for batch in consumer.poll(timeout_ms=500).values():
                for msg in batch:
                    try:
                        value = orjson.loads(msg.value)
                    except orjson.JSONDecodeError:
                        value = None
                    key = msg.key.decode(errors="replace") if msg.key is not None else None
                    records.append(Record(key, value, msg.timestamp, msg.partition, msg.offset))
            if on_progress is not None:
                on_progress(len(records))
    finally:
        consumer.close()
    return records


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile; nan for no values.

    >>> percentile([1, 2, 3, 4], 50), percentile([1, 2, 3, 4], 99)
    (2, 4)
    """
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, int(-(-q * len(ordered) // 100)))
    return ordered[rank - 1]


def worker_metric(port: int, name: str, host: str = "127.0.0.1") -> float | None:
    """A value from a worker's ``/metrics`` (None while the endpoint is not up)."""
    import urllib.request

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
    from streamscore.ground.errors import StreamscoreError

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive():
            raise StreamscoreError("the worker exited during start-up")
        assigned = worker_metric(port, "streamscore_assigned_partitions")
        if assigned is not None and assigned > 0:
            return
        time.sleep(0.3)
    raise StreamscoreError(f"the worker had no partitions assigned after {timeout:.0f} s")
