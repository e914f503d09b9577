"""Reading topics back with their record timestamps, for the producers' tests."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import orjson
from kafka import KafkaConsumer

from streamscore.ground.config import Settings
from streamscore.ground.kafka.clients import kafka_python_options


@dataclass
class Record:
    key: str
    value: Any
    partition: int
    offset: int
    timestamp: int  # CreateTime, epoch ms, set by the producer when it sent the record


def read_topic(settings: Settings, topic: str, n: int, timeout: float = 30.0) -> list[Record]:
    """Records of ``topic`` from the beginning until ``n`` arrived (or ``timeout``), then
    one more second to catch any extra (duplicate) record."""
    consumer = KafkaConsumer(
        topic,
        **kafka_python_options(settings),
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        group_id=None,
        consumer_timeout_ms=1000,
    )
    out: list[Record] = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            for msg in consumer:
                out.append(
                    Record(
                        msg.key.decode(),
                        orjson.loads(msg.value),
                        msg.partition,
                        msg.offset,
                        msg.timestamp,
                    )
                )
            if len(out) >= n:
                break
    finally:
        consumer.close()
    return out
