"""The score agent: every event becomes one prediction or one dead letter; every label,
one record on the examples topic; every scored event is counted into its drift window.

Events and labels are co-partitioned (keyed by the event id): one agent reads both
topics, so a label meets the features its worker remembered when it scored the
event. A batch is what one fetch returned (:mod:`streamscore.streams.batching`):
scored with one ``predict_proba`` call (:class:`~streamscore.streams.scorer.Scorer`),
remembered (:class:`~streamscore.streams.joining.Joiner`), counted for drift
(:class:`~streamscore.streams.windows.DriftWindows`); all its outputs are sent as one
producer batch per partition and awaited (:mod:`streamscore.streams.delivery`), and
only then are its offsets acknowledged: a committed offset always has its outputs
on Kafka (at-least-once). A batch that cannot be processed stops the worker (it
restarts from the last commit) rather than being skipped, which would lose it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict, deque
from collections.abc import Awaitable
from typing import Any

import faust
import numpy as np
from faust.types import TP

from streamscore.ground.config import Settings
from streamscore.ground.times import now_ms
from streamscore.models.drift import DriftReference
from streamscore.streams import batching, delivery
from streamscore.streams.joining import Joiner
from streamscore.streams.metrics import WorkerMetrics
from streamscore.streams.rebuild import read_back
from streamscore.streams.scorer import Outcome, Scorer
from streamscore.streams.windows import DriftWindows

LAG_INTERVAL = 1.0
# Batches whose outputs may be on their way to the broker while the next is scored.
# Waiting for the broker's acknowledgement before scoring the next batch put a produce
# round trip into every batch: at 1,000 events/s on the 2-core test machine a batch of
# ~8 events took 7.7-8.2 ms, most of it that wait, and the agent was busy ~95 % of the
# time. Offsets are still acknowledged only after a batch's outputs are, in batch order.
IN_FLIGHT = 4
log = logging.getLogger(__name__)
Outputs = dict[str, dict[int | None, list[tuple[bytes | None, bytes]]]]


class ScoreStage:
    """Scoring, the label join and drift counting of the partitions this worker holds."""

    def __init__(
        self, app: faust.App, settings: Settings, scorer: Scorer, metrics: WorkerMetrics
    ) -> None:
        self.app, self.settings, self.scorer, self.metrics = app, settings, scorer, metrics
        learning = settings.online_model != "off"
        self.joiner = (
            Joiner(settings.label_ttl * 1000, settings.label_memory, settings.label_grace * 1000)
            if learning
            else None
        )
        self.windows = DriftWindows(
            settings.drift_window, settings.partitions, settings.drift_window_seconds
        )
        self.positions: dict[int, int] = {}  # events partition -> last offset processed
        self.held: set[int] = set()  # events partitions whose label memory is (being) rebuilt
        self._references: dict[tuple[str, str], DriftReference] = {}
        self.lock = asyncio.Lock()  # one batch, or one drain of waiting labels, at a time
        self.in_flight: deque[asyncio.Task[bool]] = deque()  # deliveries, oldest first

    def reference(self) -> DriftReference:
        model = self.scorer.model
        key = (model.name, model.version)
        if key not in self._references:
            self._references[key] = DriftReference.from_manifest(model.manifest)
        return self._references[key]

    async def process(
        self, batch: batching.RecordBatch
    ) -> tuple[Outcome, list[Any], dict, Awaitable[None]]:
        """Score, remember, count and join one batch; start delivering its outputs.
        Returns what to acknowledge per partition once the delivery (last) is done."""
        async with self.lock:
            return self._process(batch)

    async def settled(self) -> bool:
        """Wait until the batches handed to :meth:`finish` so far are done; False if one
        of them was not delivered (the worker is stopping)."""
        if not self.in_flight:
            return True
        last = self.in_flight[-1]  # done only after every batch before it
        await asyncio.wait([last])
        return not last.cancelled() and last.exception() is None and bool(last.result())

    async def finish(
        self,
        batch: batching.RecordBatch,
        sending: Awaitable[None],
        acknowledge: Any,
    ) -> None:
        """Acknowledge ``batch`` (``acknowledge()``) once its outputs and those of every
        batch before it are delivered; with :data:`IN_FLIGHT` batches on their way, wait
        for the oldest first. A delivery that fails stops the worker (it restarts from the
        last commit), and no later batch is acknowledged."""
        in_flight = self.in_flight
        previous = in_flight[-1] if in_flight else None
        in_flight.append(asyncio.ensure_future(self._finish(batch, sending, previous, acknowledge)))
        while in_flight and in_flight[0].done():
            in_flight.popleft()
        if len(in_flight) > IN_FLIGHT:
            await asyncio.wait([in_flight[0]])

    async def _finish(
        self,
        batch: batching.RecordBatch,
        sending: Awaitable[None],
        previous: asyncio.Task[bool] | None,
        acknowledge: Any,
    ) -> bool:
        try:
            await sending
            if previous is not None and not await previous:
                batching.release(self.app, batch)  # the worker stops: fetched again
                return False
        except BaseException as exc:
            batching.release(self.app, batch)
            if isinstance(exc, Exception):
                log.exception("the outputs of a batch could not be delivered; stopping")
                await self.app.crash(exc)  # restart from the last commit, never skip it
            return False
        acknowledge()
        return True

    async def drain_waiting(self) -> None:
        """Join the labels still waiting (their events have come since, or their partition's
        memory was rebuilt) when no new batch would: the end of a stream."""
        if self.joiner is None or not self.joiner.waiting_count():
            return
        async with self.lock:
            s = self.settings
            examples, bad_labels, joined = self.joiner.join(
                [], self._caught_up, self.scorer.model.classes, now_ms()
            )
            if not joined:
                return
            outputs: Outputs = defaultdict(lambda: defaultdict(list))
            outputs[s.examples_topic][None] += examples
            for p, key, letter in bad_labels:
                outputs[s.dlq_topic][p].append((key, letter))
            self._count_labels()
            await delivery.for_app(self.app, s.partitions).send(_plain(outputs))
            # the labels of batches still on their way may come before these offsets
            if await self.settled():
                batching.commit(self.app, {TP(s.labels_topic, p): o for p, o in joined.items()})

    def _process(
        self, batch: batching.RecordBatch
    ) -> tuple[Outcome, list[Any], dict, Awaitable[None]]:
        s = self.settings
        events: list[Any] = []
        labels: list[Any] = []
        for tp, records in batch.records.items():
            (events if tp.topic == s.events_topic else labels).extend(records)
        outcome = self.scorer.score(events)
        outputs: Outputs = defaultdict(lambda: defaultdict(list))
        for p, predictions in outcome.predictions.items():
            outputs[s.predictions_topic][p] += predictions
        for p, letters in outcome.dead_letters.items():
            outputs[s.dlq_topic][p] += letters
        newest: dict[int, int] = {}
        for event in events:
            newest[event.partition] = max(newest.get(event.partition, 0), event.timestamp)
            self.positions[event.partition] = event.offset
        if outcome.scored is not None:
            outputs[s.drift_counts_topic][None] += self.windows.add(
                self.reference(), outcome.scored
            )
        done: dict[TP, int] = {
            tp: records[-1].offset for tp, records in batch.records.items()
            if tp.topic == s.events_topic
        }  # fmt: skip
        if self.joiner is not None:
            now = now_ms()
            self.joiner.note_times(newest)
            if outcome.scored is not None:
                self.joiner.remember(outcome.scored, now)
            examples, bad_labels, joined = self.joiner.join(
                labels, self._caught_up, self.scorer.model.classes, now
            )
            outputs[s.examples_topic][None] += examples
            for p, key, letter in bad_labels:
                outputs[s.dlq_topic][p].append((key, letter))
            self._count_labels()
            done.update({TP(s.labels_topic, p): offset for p, offset in joined.items()})
        # started now, so outputs reach the producer in batch order
        sending = asyncio.ensure_future(
            delivery.for_app(self.app, s.partitions).send(_plain(outputs))
        )
        return outcome, events, done, sending

    def _count_labels(self) -> None:
        assert self.joiner is not None
        for outcome, n in self.joiner.take_outcomes().items():
            self.metrics.labels_in.labels(outcome).inc(n)
            if outcome == "dead_letter":
                self.metrics.dead_letters.labels("label").inc(n)

    def _caught_up(self, partition: int) -> bool:
        highwater = self.app.consumer.highwater(TP(self.settings.events_topic, partition))
        return highwater is not None and self.positions.get(partition, -1) + 1 >= highwater

    async def flush(self) -> None:
        """Open drift windows to the merger (a timer, and before a hand-over or a stop)."""
        partials = self.windows.flush(force=True)
        if partials:
            await delivery.for_app(self.app, self.settings.partitions).send(
                {self.settings.drift_counts_topic: {None: list(partials)}}
            )

    async def flush_idle(self) -> None:
        partials = self.windows.flush()
        if partials:
            await delivery.for_app(self.app, self.settings.partitions).send(
                {self.settings.drift_counts_topic: {None: list(partials)}}
            )

    def rebuild(self, assigned: set[TP]) -> None:
        """Read back the feature memory of newly assigned partitions (labels wait meanwhile)."""
        if self.joiner is None:
            return
        for tp in assigned:
            if tp.topic == self.settings.events_topic and tp.partition not in self.held:
                # a batch from before the rebalance, finished after the partition was
                # revoked, may have left state for it: the rebuild replaces it (kept, that
                # state stopped the rebuild, and labels of earlier events came as unknown)
                self.joiner.forget([tp.partition])
                self.joiner.paused.add(tp.partition)
                self.held.add(tp.partition)
                asyncio.ensure_future(self._rebuild(tp.partition))

    async def _rebuild(self, partition: int) -> None:
        assert self.joiner is not None
        loop = asyncio.get_running_loop()
        started = time.monotonic()
        try:
            rebuilt = await loop.run_in_executor(
                None, read_back, self.settings, self.scorer.model, partition
            )
        except Exception:  # the labels of this partition keep waiting; a restart retries
            log.exception("rebuilding the label memory of partition %s failed", partition)
            return
        mine = TP(self.settings.events_topic, partition) in self.app.consumer.assignment()
        if mine and rebuilt.committed is not None:
            # where this worker's reading of the partition starts: with no new event,
            # its labels must still find the partition read to its end
            done = self.positions.get(partition, -1)
            self.positions[partition] = max(done, rebuilt.committed - 1)
        if mine and partition in self.joiner.paused:
            self.joiner.restore(partition, rebuilt.chunks, rebuilt.joined)
            log.info(
                "label memory of partition %s rebuilt: %d events, %d labels, %.1f s",
                partition, rebuilt.events, len(rebuilt.joined), time.monotonic() - started,
            )  # fmt: skip

    def forget(self, revoked: set[TP]) -> None:
        partitions = [tp.partition for tp in revoked if tp.topic == self.settings.events_topic]
        self.held.difference_update(partitions)
        self.windows.forget(partitions)  # flushed before the hand-over
        for p in partitions:
            self.positions.pop(p, None)
        if self.joiner is not None:
            self.joiner.forget(partitions)


def install(
    app: faust.App, settings: Settings, scorer: Scorer, metrics: WorkerMetrics
) -> ScoreStage:
    """Declare the events and labels topics, the ``score_events`` agent and its timers."""
    stage = ScoreStage(app, settings, scorer, metrics)
    topics = [app.topic(settings.events_topic, partitions=settings.partitions, acks=False)]
    if stage.joiner is not None:
        topics.append(app.topic(settings.labels_topic, partitions=settings.partitions, acks=False))
    channel = batching.batch_channel(app, topics)

    @app.agent(channel, name="score_events")
    async def score_events(batches: Any) -> None:
        async for first in batches:
            batch = batching.take_waiting(app, batches, first, settings.batch_size)
            if batch is None:
                continue
            started = time.perf_counter()
            try:
                outcome, events, done, sending = await stage.process(batch)
            except BaseException as exc:
                batching.release(app, batch)
                if not isinstance(exc, Exception):
                    raise  # cancelled: the worker is stopping, the batch is fetched again
                log.exception("a batch could not be processed; stopping the worker")
                await app.crash(exc)  # restart from the last commit, never skip the batch
                return
            metrics.batch_seconds.observe(time.perf_counter() - started)

            def acknowledge(batch=batch, outcome=outcome, events=events, done=done) -> None:
                batching.ack(app, batch, offsets=done)
                _observe(metrics, outcome, events)

            await stage.finish(batch, sending, acknowledge)

    @app.timer(1.0)
    async def flush_idle_windows() -> None:
        await stage.flush_idle()

    @app.timer(0.5)
    async def join_waiting_labels() -> None:
        await stage.drain_waiting()

    batching.on_flush(app, stage.flush)

    @app.on_partitions_revoked.connect
    async def on_revoked(sender: Any, /, *args: Any, signal: Any, **kwargs: Any) -> None:
        stage.forget(args[0] if args else kwargs.get("revoked", set()))

    @app.on_partitions_assigned.connect
    async def on_assigned(sender: Any, /, *args: Any, signal: Any, **kwargs: Any) -> None:
        stage.rebuild(args[0] if args else kwargs.get("assigned", set()))

    @app.timer(LAG_INTERVAL)
    async def measure_lag() -> None:
        consumer = app.consumer
        mine = [tp for tp in consumer.assignment() if tp.topic == settings.events_topic]
        metrics.assigned.set(len(mine))
        for tp in mine:
            highwater = consumer.highwater(tp)
            if highwater is None:
                continue
            done = stage.positions.get(tp.partition, -1) + 1
            metrics.lag.labels(str(tp.partition)).set(max(0, highwater - max(done, 0)))

    return stage


def _plain(outputs: Outputs) -> dict[str, Any]:
    return {topic: dict(parts) for topic, parts in outputs.items() if any(parts.values())}


def _observe(metrics: WorkerMetrics, outcome: Outcome, events: list[Any]) -> None:
    done = time.time() * 1000
    metrics.events_in.inc(outcome.events)
    if outcome.events:
        metrics.batch_size.observe(outcome.events)
    model = outcome.model
    metrics.predictions_out.labels(model.name, model.version).inc(outcome.n_predictions)
    for stage, n in outcome.dead_by_stage.items():
        metrics.dead_letters.labels(stage).inc(n)
    stamps = np.fromiter((r.timestamp for r in events), np.float64, len(events))
    metrics.latency.observe_many(np.maximum(0.0, done - stamps) / 1000)
