"""Where topics end and where a consumer group stands: rates and lag, from Kafka itself.

A :class:`OffsetWatch` keeps one consumer and one admin client open, so a caller that
asks every second (``monitor``) pays one request per question, not a new connection.
Rates come from end offsets (records appended per second, whoever reads them) and
lag from the group's committed offsets, so both hold for workers on any machine.

>>> lag_of({0: 10, 1: 7}, {0: 4}, {0: 0, 1: 2})
GroupLag(total=11, partitions={0: 6, 1: 5}, committed=1)
>>> lag_of({}, {}, {})
GroupLag(total=0, partitions={}, committed=0)
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

from streamscore.ground.config import Settings
from streamscore.ground.errors import BrokerError
from streamscore.ground.kafka import clients


@dataclass(frozen=True)
class GroupLag:
    """Records of a topic the group has not committed yet, in all and per partition.

    ``committed`` counts the partitions with a committed offset; a partition without
    one counts from its first record (a new group reads from the beginning).
    """

    total: int
    partitions: dict[int, int]
    committed: int


def lag_of(end: dict[int, int], committed: dict[int, int], first: dict[int, int]) -> GroupLag:
    """The lag of each partition of ``end`` given a group's ``committed`` offsets."""
    parts = {p: max(0, e - committed.get(p, first.get(p, 0))) for p, e in end.items()}
    return GroupLag(sum(parts.values()), parts, sum(1 for p in end if p in committed))


class OffsetWatch:
    """End offsets of topics and a group's lag, asked again and again over open clients."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._consumer: Any = None
        self._admin: Any = None

    def _clients(self) -> tuple[Any, Any]:
        if self._consumer is None:
            self._consumer = clients.consumer(self.settings)
        if self._admin is None:
            self._admin = clients.admin(self.settings)
        return self._consumer, self._admin

    def _tps(self, topic: str) -> list[Any]:
        from kafka import TopicPartition

        consumer, _ = self._clients()
        return [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic))]

    def end_offsets(self, topic: str) -> dict[int, int]:
        """Each partition's end offset (empty when the topic does not exist)."""
        from kafka.errors import KafkaError

        try:
            tps = self._tps(topic)
            ends = self._consumer.end_offsets(tps) if tps else {}
        except KafkaError as exc:
            self.close()
            raise BrokerError(f"cannot read the end offsets of {topic!r}: {exc}") from None
        return {tp.partition: off for tp, off in ends.items()}

    def total(self, topic: str) -> int:
        """Records appended to ``topic`` so far (the sum of its end offsets)."""
        return sum(self.end_offsets(topic).values())

    def lag(self, group: str, topic: str) -> GroupLag:
        """How far ``group`` is behind the end of ``topic``."""
        from kafka.errors import KafkaError

        try:
            tps = self._tps(topic)
            if not tps:
                return lag_of({}, {}, {})
            consumer, admin = self._clients()
            ends = {tp.partition: off for tp, off in consumer.end_offsets(tps).items()}
            first = {tp.partition: off for tp, off in consumer.beginning_offsets(tps).items()}
            offsets = admin.list_group_offsets({group: tps}).get(group, {})
        except KafkaError as exc:
            self.close()
            raise BrokerError(f"cannot read the offsets of group {group!r}: {exc}") from None
        committed = {
            tp.partition: meta.offset
            for tp, meta in offsets.items()
            if tp.topic == topic and meta is not None and meta.offset >= 0
        }
        return lag_of(ends, committed, first)

    def close(self) -> None:
        """Close the clients (they are opened again on the next question)."""
        for client in (self._consumer, self._admin):
            if client is not None:
                with contextlib.suppress(Exception):  # closing a broken client must not raise
                    client.close()
        self._consumer = self._admin = None
