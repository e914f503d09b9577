"""The newest value of a key on a compacted topic, then every later one: one home for
what model updates and online-model snapshots both need.

A worker reads the topic to its end at start (the newest record of the key wins),
then follows it from where that read stopped, outside any consumer group, so every
worker sees every value. Values may be large (a model artifact): the fetch limits
are raised to the topic's ``max.message.bytes``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from streamscore.ground.config import Settings
from streamscore.ground.errors import BrokerError
from streamscore.ground.kafka import clients
from streamscore.ground.kafka.admin import MODEL_UPDATE_MAX_BYTES
from streamscore.ground.kafka.reading import end_offsets, iter_topic

BIG: dict[str, Any] = {
    "max_partition_fetch_bytes": MODEL_UPDATE_MAX_BYTES,
    "fetch_max_bytes": MODEL_UPDATE_MAX_BYTES,
}


def latest(settings: Settings, topic: str, key: str) -> tuple[bytes | None, dict[int, int]]:
    """The newest value of ``key`` and the offsets to :func:`follow` from.

    Following from those offsets misses nothing written after this read (a value
    written meanwhile may be seen twice).
    """
    start = end_offsets(settings, topic)
    if not start:
        raise BrokerError(f"topic {topic} not found; run `streamscore topics create`")
    newest: bytes | None = None
    # a generous bound: reading a whole topic may take longer than reaching the broker
    for record in iter_topic(settings, topic, timeout=10 * settings.broker_timeout,
                             parse=False, **BIG):  # fmt: skip
        if record.key == key and record.raw:
            newest = record.raw
    return newest, start


async def follow(
    settings: Settings,
    topic: str,
    key: str,
    on_value: Callable[[bytes], Any],
    start_offsets: dict[int, int],
) -> None:
    """Call ``on_value(value)`` in a thread (loading a model is slow) for each later value."""
    from aiokafka import TopicPartition

    consumer = clients.aiokafka_consumer(settings, **BIG)
    await consumer.start()
    try:
        # the partitions latest() read: a fresh consumer's metadata cache is empty
        tps = [TopicPartition(topic, p) for p in sorted(start_offsets)]
        consumer.assign(tps)
        for tp in tps:
            consumer.seek(tp, start_offsets.get(tp.partition, 0))
        loop = asyncio.get_running_loop()
        wanted = key.encode()
        while True:
            for records in (await consumer.getmany(timeout_ms=1000)).values():
                for record in records:
                    if record.key == wanted and record.value:
                        await loop.run_in_executor(None, on_value, record.value)
    finally:
        await consumer.stop()
