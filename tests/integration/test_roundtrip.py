"""faust-streaming, aiokafka and kafka-python all work against the pinned broker."""

from __future__ import annotations

import pytest

from streamscore.kafka.admin import create_topics, describe_topics
from tests.kafka_helpers import consume, produce

pytestmark = pytest.mark.integration


def test_topics_are_created_with_configured_partitions(settings_factory):
    settings = settings_factory(partitions=3)
    result = create_topics(settings)
    assert result[settings.events_topic] == "created"
    assert create_topics(settings)[settings.events_topic] == "exists"
    sizes = {t["name"]: t["partitions"] for t in describe_topics(settings)}
    assert sizes[settings.events_topic] == 3
    assert sizes[settings.labels_topic] == 3
    assert sizes[settings.model_updates_topic] == 1


def test_worker_answers_every_event_once(settings_factory, worker_factory):
    settings = settings_factory()
    create_topics(settings)
    n = 500
    produce(settings, settings.events_topic, ((str(i), {"id": str(i), "x": i}) for i in range(n)))
    worker = worker_factory(settings)
    out = consume(settings, settings.predictions_topic, n, timeout=120)
    assert worker.alive(), worker.output()
    assert len(out) == n, worker.output()[-3000:]
    assert sorted(int(r.key) for r in out) == list(range(n))
    assert all(r.value["id"] == r.key for r in out)
