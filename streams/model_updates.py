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

import base64
import hashlib
from collections.abc import Callable
from typing import Any

import orjson

from streamscore.ground.config import Settings
from streamscore.ground.errors import BrokerError, ModelError
from streamscore.ground.kafka import clients
from streamscore.ground.kafka.admin import MODEL_UPDATE_MAX_BYTES, create_topics
from streamscore.ground.times import now_ms
from streamscore.models.registry import Registry
from streamscore.streams import compacted


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
    """The newest update record for ``name``, and the offsets to follow the topic from."""
    try:
        return compacted.latest(settings, settings.model_updates_topic, name)
    except BrokerError as exc:
        raise ModelError(str(exc)) from None


async def follow_updates(
    settings: Settings, name: str, on_update: Callable[[bytes], Any], start: dict[int, int]
) -> None:
    """Call ``on_update(value)`` (in a thread) for each later update of ``name``."""
    await compacted.follow(settings, settings.model_updates_topic, name, on_update, start)
