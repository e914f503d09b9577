"""The score agent: every event on ``events`` becomes one prediction or one dead letter.

Micro-batches come from ``Stream.take_events`` (size ``STREAMSCORE_BATCH_SIZE``,
time bound ``STREAMSCORE_BATCH_TIMEOUT``); a batch is scored with one
``predict_proba`` call (:class:`streams.scorer.Scorer`). Outputs are sent with the
app's producer and their delivery awaited before the batch is acknowledged, so
an acknowledged (and later committed) offset always has its output on Kafka:
at-least-once, nothing lost on a crash.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import faust
from mode.utils.times import Seconds

from streamscore.ground.config import Settings
from streamscore.streams.metrics import WorkerMetrics
from streamscore.streams.scorer import RawEvent, Scorer

LAG_INTERVAL: Seconds = 1.0


def install(app: faust.App, settings: Settings, scorer: Scorer, metrics: WorkerMetrics) -> None:
    """Declare the topics, the ``score_events`` agent and its lag timer on ``app``."""
    events_topic = app.topic(settings.events_topic, partitions=settings.partitions)
    positions: dict[int, int] = {}  # partition -> last offset processed

    @app.agent(events_topic, name="score_events")
    async def score_events(stream: Any) -> None:
        async for batch in stream.take_events(settings.batch_size, within=settings.batch_timeout):
            started = time.perf_counter()
            raw = [_raw(event.message) for event in batch]
            outcome = scorer.score(raw)
            await _deliver(app, settings, outcome)
            done = time.time()
            metrics.events_in.inc(len(raw))
            metrics.batch_size.observe(len(raw))
            metrics.batch_seconds.observe(time.perf_counter() - started)
            model = outcome.model
            metrics.predictions_out.labels(model.name, model.version).inc(len(outcome.predictions))
            for stage, n in outcome.dead_by_stage.items():
                metrics.dead_letters.labels(stage).inc(n)
            for r in raw:
                metrics.latency.observe(max(0.0, done - r.timestamp_ms / 1000))
                positions[r.partition] = r.offset

    @app.timer(LAG_INTERVAL)
    async def measure_lag() -> None:
        consumer = app.consumer
        mine = [tp for tp in consumer.assignment() if tp.topic == settings.events_topic]
        metrics.assigned.set(len(mine))
        for tp in mine:
            highwater = consumer.highwater(tp)
            if highwater is None:
                continue
            done = positions.get(tp.partition, -1) + 1
            metrics.lag.labels(str(tp.partition)).set(max(0, highwater - max(done, 0)))

    @app.page("/metrics")
    async def prometheus_metrics(web: Any, request: Any) -> Any:
        return web.bytes(metrics.exposition(), content_type="text/plain; version=0.0.4")


def _raw(message: Any) -> RawEvent:
    return RawEvent(
        key=message.key,
        value=message.value,
        topic=message.topic,
        partition=message.partition,
        offset=message.offset,
        timestamp_ms=int(message.timestamp * 1000),
    )


async def _deliver(app: faust.App, settings: Settings, outcome: Any) -> None:
    producer = app.producer
    futures = [
        await producer.send(settings.predictions_topic, key, value, None, None, None)
        for key, value in outcome.predictions
    ]
    futures += [
        await producer.send(settings.dlq_topic, key, value, None, None, None)
        for key, value in outcome.dead_letters
    ]
    if futures:
        await asyncio.gather(*futures)
