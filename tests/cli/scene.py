"""A stream for the monitor and the report to watch, on the test's own topics: a drift
history, a consumer group behind on ``events`` by a known lag, and predictions that
keep coming at a steady rate while the test looks."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import orjson

from streamscore.ground.config import Settings
from streamscore.ground.kafka import clients
from streamscore.ground.kafka.admin import create_topics
from tests.cli.drift_history import history, keyed, predictions
from tests.kafka_helpers import produce

WINDOW_MS = 5_000


def drift_history(settings: Settings, windows: int = 24, **kwargs) -> list[dict]:
    """Produce a history whose last window ended just now; return its records."""
    now = int(time.time() * 1000)
    records = history(now - windows * WINDOW_MS, windows=windows, ms_per_window=WINDOW_MS, **kwargs)
    create_topics(settings)
    produce(settings, settings.drift_topic, keyed(records))
    return records


def lagging_group(settings: Settings, events: int, lag_per_partition: int) -> int:
    """``events`` events, and the workers' group committed ``lag_per_partition`` short of
    the end of each partition; returns the total lag."""
    from kafka import OffsetAndMetadata, TopicPartition

    create_topics(settings)
    produce(settings, settings.events_topic, [(str(i), {"x": i}) for i in range(events)])
    consumer = clients.consumer(settings, group_id=settings.app_id)
    try:
        tps = [TopicPartition(settings.events_topic, p) for p in range(settings.partitions)]
        ends = consumer.end_offsets(tps)
        assert all(end >= lag_per_partition for end in ends.values()), ends
        consumer.commit({tp: OffsetAndMetadata(ends[tp] - lag_per_partition, "", -1) for tp in tps})
    finally:
        consumer.close()
    return lag_per_partition * len(tps)


@contextmanager
def predictions_flowing(
    settings: Settings, per_second: int = 200, dead_letters_per_second: int = 0
) -> Iterator[None]:
    """Predictions of ``synthetic`` v3 (and dead letters) at about these rates until the
    block ends."""
    stop = threading.Event()
    producer = clients.producer(settings, linger_ms=5)
    batch = predictions(per_second // 10)
    letter = orjson.dumps({"error": "not JSON", "stage": "decode", "value": "{oops"})

    def flow() -> None:
        tick = 0
        while not stop.wait(0.1):
            for key, value in batch:
                producer.send(
                    settings.predictions_topic, key=key.encode(), value=orjson.dumps(value)
                )
            tick += 1
            if dead_letters_per_second and tick % max(1, 10 // dead_letters_per_second) == 0:
                for _ in range(max(1, dead_letters_per_second // 10)):
                    producer.send(settings.dlq_topic, key=b"bad", value=letter)
        producer.flush(30)

    thread = threading.Thread(target=flow, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(30)
        producer.close(10)
