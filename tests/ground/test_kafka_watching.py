"""The ground layer's watching chores on a real broker: the last N records of each
partition, following several topics at once, end offsets and a group's lag."""

from __future__ import annotations

import time

import pytest

from streamscore.ground.kafka.admin import create_topics
from streamscore.ground.kafka.offsets import OffsetWatch
from streamscore.ground.kafka.reading import follow, last_offsets, read_topic
from tests.cli.scene import lagging_group
from tests.kafka_helpers import produce

pytestmark = pytest.mark.integration


def test_last_offsets_start_at_the_last_n_records_of_each_partition(settings_factory):
    settings = settings_factory()
    create_topics(settings, [settings.drift_topic])
    produce(settings, settings.drift_topic, [(f"k{i}", {"i": i}) for i in range(40)])
    start = last_offsets(settings, settings.drift_topic, 3)
    got = read_topic(settings, settings.drift_topic, start, timeout=30)
    assert len(got) == 3 * settings.partitions
    ends = read_topic(settings, settings.drift_topic, timeout=30)
    for partition in range(settings.partitions):
        mine = sorted(r.offset for r in ends if r.partition == partition)
        assert sorted(r.offset for r in got if r.partition == partition) == mine[-3:]
    assert last_offsets(settings, "no-such-topic-here", 3, timeout=0.5) == {}


def test_follow_reads_new_records_of_every_topic_and_a_topic_created_later(settings_factory):
    settings = settings_factory()
    create_topics(settings, [settings.drift_topic])
    produce(settings, settings.drift_topic, [("old", {"old": True})])
    starts = {settings.drift_topic: "end", settings.predictions_topic: "end"}
    seen: dict[str, list] = {}
    began = time.monotonic()
    for polls, batch in enumerate(follow(settings, starts, poll_ms=200, find_every=0.5), 1):
        for topic, records in batch.items():
            seen.setdefault(topic, []).extend(r.value for r in records)
        if polls == 3:  # following: now the new records and the new topic
            produce(settings, settings.drift_topic, [("new", {"new": 1})])
            create_topics(settings, [settings.predictions_topic])
            produce(settings, settings.predictions_topic, [("p", {"p": 1})])
        if seen.get(settings.predictions_topic) and seen.get(settings.drift_topic):
            break
        assert time.monotonic() - began < 60, seen
    assert seen[settings.drift_topic] == [{"new": 1}]  # from the end: not the old record
    assert seen[settings.predictions_topic] == [{"p": 1}]  # created later: from its start


def test_offset_watch_counts_records_and_the_groups_lag(settings_factory):
    settings = settings_factory()
    lag = lagging_group(settings, events=300, lag_per_partition=40)
    watch = OffsetWatch(settings)
    try:
        assert watch.total(settings.events_topic) == 300
        behind = watch.lag(settings.app_id, settings.events_topic)
        assert behind.total == lag == 80 and behind.committed == settings.partitions
        assert set(behind.partitions.values()) == {40}
        new = watch.lag("a-group-that-never-committed", settings.events_topic)
        assert new.total == 300 and new.committed == 0
        assert watch.end_offsets("no-such-topic-here") == {}
    finally:
        watch.close()
