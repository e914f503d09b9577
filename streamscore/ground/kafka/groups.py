"""Consumer groups as Kafka describes them: members, their partitions, committed offsets, lag.

Everything comes from the brokers (DescribeGroups, OffsetFetch, ListOffsets), so
``streamscore status`` sees workers on every machine. Lag is counted as
:func:`streamscore.ground.kafka.offsets.lag_of` counts it (``monitor`` too): end
offset minus the group's committed offset; a partition the group has never
committed counts from its first offset (workers start at the earliest record).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from streamscore.ground.config import Settings
from streamscore.ground.errors import BrokerError
from streamscore.ground.kafka import clients
from streamscore.ground.kafka.admin import wait_for_broker
from streamscore.ground.kafka.offsets import lag_of


@dataclass(frozen=True)
class Member:
    """One consumer in the group: ids, the host it connects from, its partitions by topic."""

    member_id: str
    client_id: str
    host: str
    partitions: dict[str, list[int]] = field(default_factory=dict)


@dataclass(frozen=True)
class PartitionLag:
    topic: str
    partition: int
    committed: int | None
    end: int
    lag: int
    member_id: str | None  # the member that owns it now, if any


@dataclass(frozen=True)
class Group:
    group_id: str
    state: str  # Stable, PreparingRebalance, CompletingRebalance, Empty, Dead (never joined)
    members: list[Member]
    partitions: list[PartitionLag]

    def owner(self, topic: str, partition: int) -> Member | None:
        return next((m for m in self.members if partition in m.partitions.get(topic, [])), None)


def describe_group(settings: Settings, group_id: str) -> Group:
    """The group's state, members and, for every partition it owns or has committed, the lag."""
    from kafka.errors import KafkaError

    wait_for_broker(settings)
    admin = clients.admin(settings)
    try:
        described = admin.describe_groups([group_id]).get(group_id, {})
        committed = admin.list_group_offsets(group_id).get(group_id, {})
    except KafkaError as exc:
        raise BrokerError(
            f"cannot describe group {group_id!r} on {settings.bootstrap}: {exc}"
        ) from None
    finally:
        admin.close()
    error = described.get("error")
    if error and "GroupIdNotFound" in error:  # Kafka 4: a group nobody has joined yet
        described = {"group_state": "Dead", "members": []}
    elif error:
        raise BrokerError(f"cannot describe group {group_id!r}: {error}")
    members = [_member(m) for m in described.get("members", [])]
    offsets = {(tp.topic, tp.partition): om.offset for tp, om in committed.items()}
    owned = {(t, p): m.member_id for m in members for t, ps in m.partitions.items() for p in ps}
    partitions = _lag(settings, set(offsets) | set(owned), offsets, owned)
    return Group(group_id, described.get("group_state") or "Dead", members, partitions)


def _member(raw: dict[str, Any]) -> Member:
    assignment = raw.get("member_assignment")
    partitions: dict[str, list[int]] = {}
    if isinstance(assignment, dict):  # decoded by kafka-python (protocol type "consumer")
        for entry in assignment.get("assigned_partitions", []):
            partitions[entry["topic"]] = sorted(entry["partitions"])
    host = str(raw.get("client_host", "")).lstrip("/")
    return Member(raw["member_id"], raw.get("client_id", ""), host, partitions)


def _lag(
    settings: Settings,
    tps: set[tuple[str, int]],
    committed: dict[tuple[str, int], int],
    owned: dict[tuple[str, int], str],
) -> list[PartitionLag]:
    from kafka import TopicPartition

    if not tps:
        return []
    consumer = clients.consumer(settings)
    try:
        wanted = [TopicPartition(t, p) for t, p in sorted(tps)]
        end = consumer.end_offsets(wanted)
        first = consumer.beginning_offsets(wanted)
    finally:
        consumer.close()
    done = {key: offset for key, offset in committed.items() if offset is not None and offset >= 0}
    out = []
    for topic in sorted({t for t, _ in tps}):
        mine = [tp for tp in wanted if tp.topic == topic]
        lag = lag_of(
            {tp.partition: end[tp] for tp in mine},
            {p: o for (t, p), o in done.items() if t == topic},
            {tp.partition: first[tp] for tp in mine},
        )
        for tp in mine:
            key = (topic, tp.partition)
            out.append(
                PartitionLag(
                    topic, tp.partition, done.get(key), end[tp], lag.partitions[tp.partition],
                    owned.get(key),
                )
            )  # fmt: skip
    return out
