"""Consumer groups as Kafka describes them: members, their partitions, committed offsets, lag.

Everything comes from the brokers (DescribeGroups, OffsetFetch, ListOffsets), so
``streamscore status`` sees workers on every machine. Lag of a partition is its
end offset minus the group's committed offset; a partition the group has never
committed counts from its first offset (workers start at the earliest record).

>>> lag_of(committed=7, beginning=0, end=10), lag_of(committed=None, beginning=4, end=10)
(3, 6)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from streamscore.ground.config import Settings
from streamscore.ground.errors import BrokerError
from streamscore.ground.kafka import clients
from streamscore.ground.kafka.admin import wait_for_broker


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


def lag_of(committed: int | None, beginning: int, end: int) -> int:
    return max(0, end - (beginning if committed is None or committed < 0 else committed))


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
    out = []
    for tp in wanted:
        key = (tp.topic, tp.partition)
        done = committed.get(key)
        done = done if done is not None and done >= 0 else None
        lag = lag_of(done, first[tp], end[tp])
        out.append(PartitionLag(tp.topic, tp.partition, done, end[tp], lag, owned.get(key)))
    return out
