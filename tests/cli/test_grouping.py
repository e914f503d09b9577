"""How `streamscore status` joins Kafka's group description with the workers' status records."""

from __future__ import annotations

from streamscore.cli.grouping import FRESH_MS, join
from streamscore.ground.kafka.groups import Group, Member, PartitionLag

NOW = 1_800_000_000_000


def _group() -> Group:
    members = [
        Member("w1-m", "w1", "10.0.0.1", {"events": [0, 1], "app-__assignor-__leader": [0]}),
        Member("w2-m", "w2", "10.0.0.2", {"events": [2]}),
    ]
    partitions = [
        PartitionLag("app-__assignor-__leader", 0, None, 0, 0, "w1-m"),
        PartitionLag("events", 0, 90, 100, 10, "w1-m"),
        PartitionLag("events", 1, None, 5, 5, "w1-m"),
        PartitionLag("events", 2, 7, 7, 0, "w2-m"),
        PartitionLag("events", 3, 3, 4, 1, None),
    ]
    return Group("app", "Stable", members, partitions)


def test_members_get_their_model_version_partitions_and_lag():
    records = {
        "w1": {"host": "a", "pid": 11, "model": "m", "version": "3", "web": "http://a:6066",
               "updated_ts": NOW - 5_000},
        "w9": {"host": "c", "model": "m", "version": "2", "updated_ts": NOW - 10_000},  # leaving
        "w8": {"host": "d", "model": "m", "version": "1", "updated_ts": NOW - FRESH_MS - 1},
    }  # fmt: skip
    status = join(_group(), records, "k:9092", "app-workers", NOW)
    rows = {w.worker: w for w in status.workers}
    assert list(rows) == ["w1", "w2", "w9"]  # w8 is long gone (crashed): not shown
    w1, w2, w9 = rows["w1"], rows["w2"], rows["w9"]
    assert (w1.model, w1.version, w1.host, w1.pid, w1.lag) == ("m", "3", "a", 11, 15)
    assert w1.partitions == {"events": [0, 1]}  # Faust's leader topic left out
    assert (w2.model, w2.host, w2.in_group) == (None, "10.0.0.2", True)  # no record yet
    assert (w9.in_group, w9.version) == (False, "2")
    assert [(p["partition"], p["worker"], p["lag"]) for p in status.partitions] == [
        (0, "w1", 10), (1, "w1", 5), (2, "w2", 0), (3, None, 1),
    ]  # fmt: skip
    assert status.lag == 16 and status.as_dict()["lag"] == 16
