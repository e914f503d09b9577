"""Deliver a batch's outputs: one producer batch per partition, then wait for the broker.

aiokafka's ``send`` creates a future and a lookup per record (measured: 10.7 µs of
CPU per record); ``create_batch`` / ``append`` / ``send_batch`` costs 1.2 µs. Outputs
go to the partition their event came from: events and labels are co-partitioned
by key, so a prediction lands where a keyed send would when the output topic has
the same partition count (kept whatever partitioner the producer of the events
used). Outputs given with partition ``None``, or for an output topic with another
count, get aiokafka's key partitioner (a one-partition topic: partition 0).

A batch counts as delivered only when the broker acknowledged every record
(``acks`` of the app's producer: all replicas). A send that fails is retried,
with the wait doubling up to 5 s, until it succeeds or the worker stops: a broker
that is away holds the stream back (nothing is committed meanwhile), it never
loses outputs; after a retry some may be written twice (at-least-once). An error
the broker will repeat (a record larger than a topic created by hand allows, a topic
this client may not write) is logged as an error naming the topic and what to change;
the worker keeps retrying rather than drop or skip the batch, so the fix takes effect
without a restart and nothing is lost (its ``/ready`` turns 503 while it stands still).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiokafka.errors import KafkaError

log = logging.getLogger(__name__)
RETRY_MAX_S = 5.0

Outputs = dict[int | None, list[tuple[bytes | None, bytes]]]


class Delivery:
    """Sends outputs with an aiokafka producer (the Faust app's own)."""

    def __init__(self, producer: Any, source_partitions: int) -> None:
        self.producer = producer
        self.source_partitions = source_partitions
        self._counts: dict[str, int] = {}

    async def send(self, outputs: dict[str, Outputs]) -> None:
        """Deliver ``{topic: {source partition: [(key, value), ...]}}``, acknowledged."""
        wait = 0.1
        while True:
            try:
                futures = []
                for topic, by_partition in outputs.items():
                    futures += await self._send_topic(topic, by_partition)
                if futures:
                    await asyncio.gather(*futures)
                return
            except KafkaError as exc:
                if getattr(exc, "retriable", True):
                    log.warning("outputs not delivered (%r); retrying in %.1f s", exc, wait)
                else:
                    log.error("outputs to %s refused by the broker (%r): this repeats until "
                              "the topic accepts them (max.message.bytes, ACLs); retrying in "
                              "%.1f s, nothing is committed meanwhile",
                              ", ".join(outputs), exc, wait)  # fmt: skip
                await asyncio.sleep(wait)
                wait = min(2 * wait, RETRY_MAX_S)

    async def _send_topic(self, topic: str, by_partition: Outputs) -> list[asyncio.Future]:
        count = await self._partition_count(topic)
        if count != self.source_partitions or None in by_partition:
            by_partition = self._by_key(by_partition, count)
        futures = []
        for partition, records in by_partition.items():
            assert partition is not None
            batch = self.producer.create_batch()
            for key, value in records:
                if batch.append(key=key, value=value, timestamp=None) is None:
                    futures.append(await self._close_and_send(batch, topic, partition))
                    batch = self.producer.create_batch()
                    batch.append(key=key, value=value, timestamp=None)
            futures.append(await self._close_and_send(batch, topic, partition))
        return futures

    async def _close_and_send(self, batch: Any, topic: str, partition: int) -> asyncio.Future:
        batch.close()
        return await self.producer.send_batch(batch, topic, partition=partition)

    async def _partition_count(self, topic: str) -> int:
        if topic not in self._counts:
            partitions = await self.producer.partitions_for(topic)
            self._counts[topic] = len(partitions)
        return self._counts[topic]

    def _by_key(self, by_partition: Outputs, count: int) -> Outputs:
        from aiokafka.partitioner import DefaultPartitioner

        if count == 1:
            return {0: [record for records in by_partition.values() for record in records]}
        choose = DefaultPartitioner()
        partitions = list(range(count))
        out: Outputs = {}
        for source, records in by_partition.items():
            for key, value in records:
                target = choose(key, partitions, partitions) if key else (source or 0) % count
                out.setdefault(target, []).append((key, value))
        return out


def for_app(app: Any, source_partitions: int) -> Delivery:
    """The app's one :class:`Delivery`, made when first needed (its producer runs by then)."""
    delivery = getattr(app, "_streamscore_delivery", None)
    if delivery is None:
        producer = app.producer._ensure_producer()  # Faust's aiokafka producer
        delivery = Delivery(producer, source_partitions)
        app._streamscore_delivery = delivery
    return delivery
