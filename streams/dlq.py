"""Read and re-send dead letters (``streamscore dlq show|replay``), with kafka-python."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from streamscore.ground.config import Settings
from streamscore.ground.errors import ConfigError
from streamscore.ground.kafka.admin import wait_for_broker
from streamscore.ground.kafka.clients import kafka_python_options
from streamscore.streams.records import original_bytes


@dataclass(frozen=True)
class Letter:
    partition: int  # where the letter sits on the dead-letter topic
    offset: int
    body: dict[str, Any]

    @property
    def ref(self) -> str:
        return f"{self.partition}:{self.offset}"


def read_letters(settings: Settings, timeout: float = 30.0) -> Iterator[Letter]:
    """Every dead letter currently on the topic, oldest first per partition."""
    options = kafka_python_options(settings)
    wait_for_broker(options, timeout=15)
    consumer = KafkaConsumer(**options, group_id=None, enable_auto_commit=False)
    try:
        partitions = consumer.partitions_for_topic(settings.dlq_topic) or set()
        tps = [TopicPartition(settings.dlq_topic, p) for p in sorted(partitions)]
        if not tps:
            return
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        end = consumer.end_offsets(tps)
        deadline = time.monotonic() + timeout
        while any(consumer.position(tp) < end[tp] for tp in tps) and time.monotonic() < deadline:
            for tp, records in consumer.poll(timeout_ms=500).items():
                for rec in records:
                    if rec.offset >= end[tp]:
                        continue
                    try:
                        body = orjson.loads(rec.value)
                    except orjson.JSONDecodeError:
                        body = {"error": "unreadable dead letter", "value": None}
                    yield Letter(rec.partition, rec.offset, body)
    finally:
        consumer.close()


def parse_refs(refs: list[str]) -> set[tuple[int, int]]:
    """``["0:12", "1:3"]`` -> {(0, 12), (1, 3)}; ConfigError on anything else."""
    out = set()
    for ref in refs:
        try:
            partition, offset = ref.split(":")
            out.add((int(partition), int(offset)))
        except ValueError:
            raise ConfigError(
                f"dead letter {ref!r} is not PARTITION:OFFSET (see `streamscore dlq show`)"
            ) from None
    return out


def replay_letters(settings: Settings, letters: list[Letter], topic: str | None = None) -> int:
    """Send the original key and bytes of ``letters`` back to ``topic`` (default: events)."""
    target = topic or settings.events_topic
    producer = KafkaProducer(**kafka_python_options(settings), acks="all", max_block_ms=30_000)
    try:
        for letter in letters:
            producer.send(
                target,
                key=original_bytes(letter.body, "key"),
                value=original_bytes(letter.body, "value"),
            )
        producer.flush(timeout=60)
    finally:
        producer.close(timeout=10)
    return len(letters)
