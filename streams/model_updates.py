"""New model versions travel on the compacted ``model-updates`` topic.

A record carries the whole artifact (no shared disk is assumed between
machines): key = model name, value = JSON
``{"model", "version", "promoted_ts", "sha256", "artifact"}`` where ``artifact`` is
the base64 of :meth:`models.registry.Registry.pack`. Every worker reads the topic
from the beginning at start (the last record per model wins: a promotion may also
be a rollback) and follows it while it runs, outside any consumer group, so each
worker sees every update.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
from collections.abc import Callable
from typing import Any

import orjson

from streamscore.ground.config import Settings
from streamscore.ground.errors import ModelError
from streamscore.ground.kafka import clients
from streamscore.ground.kafka.admin import MODEL_UPDATE_MAX_BYTES, create_topics
from streamscore.ground.kafka.reading import end_offsets, iter_topic
from streamscore.ground.times import now_ms
from streamscore.models.registry import Registry


def update_record(registry: Registry, name: str, version: str) -> bytes:
    blob = registry.pack(name, version)
    return orjson.dumps(
        {
            "model": name,
            "version": version,
            "promoted_ts": now_ms(),
            "sha256": hashlib.sha256(blob).hexdigest(),
            "artifact": base64.b64encode(blob).decode("ascii"),
        }
    )


def publish(settings: Settings, registry: Registry, name: str, version: str) -> None:
    """Send ``name``/``version`` to every worker (blocks until the broker has it)."""
    create_topics(settings, [settings.model_updates_topic])
    producer = clients.producer(settings, acks="all", max_request_size=MODEL_UPDATE_MAX_BYTES)
    try:
        producer.send(
            settings.model_updates_topic,
            key=name.encode(),
            value=update_record(registry, name, version),
        ).get(timeout=60)
    finally:
        producer.close(timeout=10)


def install_update(registry: Registry, value: bytes) -> tuple[str, str]:
    """Verify an update record and unpack its artifact into ``registry``."""
    try:
        record = orjson.loads(value)
        blob = base64.b64decode(record["artifact"], validate=True)
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise ModelError(f"unreadable model update: {exc}") from None
    if hashlib.sha256(blob).hexdigest() != record.get("sha256"):
        raise ModelError(
            f"model update {record.get('model')}/{record.get('version')} fails its sha256 check"
        )
    return registry.install_packed(blob)


def latest_update(settings: Settings, name: str) -> tuple[bytes | None, dict[int, int]]:
    """The newest update record for ``name``, and the offsets to follow the topic from.

    Following from those offsets (:func:`follow_updates`) misses nothing published
    after this read (an update published meanwhile may be seen twice: installing a
    version again changes nothing).
    """
    topic = settings.model_updates_topic
    start = end_offsets(settings, topic)
    if not start:
        raise ModelError(f"topic {topic} not found; run `streamscore topics create`")
    newest: bytes | None = None
    # a generous bound: reading the whole topic may take longer than reaching the broker
    records = iter_topic(
        settings,
        topic,
        timeout=10 * settings.broker_timeout,
        parse=False,
        max_partition_fetch_bytes=MODEL_UPDATE_MAX_BYTES,
        fetch_max_bytes=MODEL_UPDATE_MAX_BYTES,
    )
    for record in records:
        if record.key == name and record.raw:
            newest = record.raw
    return newest, start


async def follow_updates(
    settings: Settings,
    name: str,
    on_update: Callable[[bytes], Any],
    start_offsets: dict[int, int],
) -> None:
    """Call ``on_update(value)`` (in a thread) for each later update of ``name``."""
    from aiokafka import TopicPartition as ATP

    consumer = clients.aiokafka_consumer(
        settings,
        max_partition_fetch_bytes=MODEL_UPDATE_MAX_BYTES,
        fetch_max_bytes=MODEL_UPDATE_MAX_BYTES,
    )
    await consumer.start()
    try:
        # The partitions are the ones latest_update() read: a fresh consumer's metadata
        # cache is empty, so asking it here could return none and follow nothing.
        tps = [ATP(settings.model_updates_topic, p) for p in sorted(start_offsets)]
        consumer.assign(tps)
        for tp in tps:
            consumer.seek(tp, start_offsets.get(tp.partition, 0))
        loop = asyncio.get_running_loop()
        while True:
            batches = await consumer.getmany(timeout_ms=1000)
            for records in batches.values():
                for rec in records:
                    if rec.key is not None and rec.key.decode() == name and rec.value:
                        # Unpacking and loading a model is slow: keep the event loop free.
                        await loop.run_in_executor(None, on_update, rec.value)
    finally:
        await consumer.stop()
