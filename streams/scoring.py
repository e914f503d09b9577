"""The score agent: every event on ``events`` becomes one prediction or one dead letter.

A batch is what one fetch returned (:mod:`streamscore.streams.batching`): scored
with one ``predict_proba`` call (:class:`~streamscore.streams.scorer.Scorer`), its
outputs sent as one producer batch per partition and awaited
(:class:`~streamscore.streams.delivery.Delivery`), and only then acknowledged, so a
committed offset always has its output on Kafka: at-least-once, nothing lost on a
crash. A batch that cannot be processed stops the worker (it restarts from the
last commit) rather than being skipped, which would lose it.
"""

from __future__ import annotations

import itertools
import logging
import time
from typing import Any

import faust
import numpy as np
from mode.utils.times import Seconds

from streamscore.ground.config import Settings
from streamscore.streams import batching
from streamscore.streams.delivery import Delivery
from streamscore.streams.metrics import WorkerMetrics
from streamscore.streams.scorer import Outcome, Scorer

LAG_INTERVAL: Seconds = 1.0
log = logging.getLogger(__name__)


def install(app: faust.App, settings: Settings, scorer: Scorer, metrics: WorkerMetrics) -> None:
    """Declare the events topic, the ``score_events`` agent and its lag timer on ``app``."""
    events_topic = app.topic(settings.events_topic, partitions=settings.partitions, acks=False)
    channel = batching.batch_channel(app, [events_topic])
    positions: dict[int, int] = {}  # partition -> last offset processed
    delivery: list[Delivery] = []  # created once the app's producer runs

    @app.agent(channel, name="score_events")
    async def score_events(batches: Any) -> None:
        async for batch in batches:
            if not batching.take(app, batch):
                continue
            started = time.perf_counter()
            try:
                records = list(itertools.chain.from_iterable(batch.records.values()))
                outcome = scorer.score(records)
                if not delivery:
                    producer = app.producer._ensure_producer()  # type: ignore[attr-defined]
                    delivery.append(Delivery(producer, settings.partitions))
                await delivery[0].send(_outputs(settings, outcome))
            except BaseException as exc:
                batching.release(app, batch)
                if not isinstance(exc, Exception):
                    raise  # cancelled: the worker is stopping, the batch is fetched again
                log.exception("a batch could not be processed; stopping the worker")
                await app.crash(exc)  # restart from the last commit, never skip the batch
                return
            batching.ack(app, batch)
            _observe(metrics, outcome, records, started)
            for tp, offset in batch.last_offsets().items():
                positions[tp.partition] = offset

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


def _outputs(settings: Settings, outcome: Outcome) -> dict[str, Any]:
    outputs: dict[str, Any] = {}
    if outcome.predictions:
        outputs[settings.predictions_topic] = outcome.predictions
    if outcome.dead_letters:
        outputs[settings.dlq_topic] = outcome.dead_letters
    return outputs


def _observe(metrics: WorkerMetrics, outcome: Outcome, records: list[Any], started: float) -> None:
    done = time.time() * 1000
    metrics.events_in.inc(outcome.events)
    metrics.batch_size.observe(outcome.events)
    metrics.batch_seconds.observe(time.perf_counter() - started)
    model = outcome.model
    metrics.predictions_out.labels(model.name, model.version).inc(outcome.n_predictions)
    for stage, n in outcome.dead_by_stage.items():
        metrics.dead_letters.labels(stage).inc(n)
    stamps = np.fromiter((r.timestamp for r in records), np.float64, len(records))
    metrics.latency.observe_many(np.maximum(0.0, done - stamps) / 1000)
