"""faust-streaming, aiokafka, kafka-python and librdkafka (kcat) agree on the pinned broker."""

from __future__ import annotations

import shutil
import subprocess

import orjson
import pytest

from streamscore.ground.kafka.admin import create_topics, describe_topics
from tests.kafka_helpers import consume, produce
from tests.model_data import events, train_model

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


def test_any_kafka_client_reads_what_the_worker_wrote(settings_factory, worker_factory):
    """kafka-python produces, the Faust worker (aiokafka) scores, kcat (librdkafka) reads."""
    kcat = shutil.which("kcat") or shutil.which("kafkacat")
    if kcat is None:
        pytest.fail("kcat is not installed: `make system-deps` installs it")
    settings = settings_factory()
    create_topics(settings)
    train_model(settings.registry_path)
    n = 50
    sent = events(n)
    produce(settings, settings.events_topic, ((e["id"], e) for e in sent))
    worker = worker_factory(settings, "--model", "m")
    assert len(consume(settings, settings.predictions_topic, n, timeout=90)) == n, worker.output()

    listing = subprocess.run([kcat, "-b", settings.bootstrap, "-L"], capture_output=True,
                             text=True, timeout=30)  # fmt: skip
    assert f'topic "{settings.predictions_topic}" with 2 partitions' in listing.stdout
    read = subprocess.run(
        [kcat, "-b", settings.bootstrap, "-C", "-t", settings.predictions_topic, "-e",
         "-f", "%k\t%s\n"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    lines = [line.split("\t", 1) for line in read.stdout.splitlines() if line]
    assert sorted(k for k, _ in lines) == sorted(e["id"] for e in sent)
    assert all(orjson.loads(v)["id"] == k for k, v in lines)
