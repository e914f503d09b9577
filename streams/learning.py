"""The learn agent: the one place the online model learns (test then train), each label once.

The examples topic has one partition, so one worker of the group holds it. That
worker restores the learner from the newest snapshot (or starts one), learns every
example (:class:`~streamscore.models.learner.Learner`), sends detector and challenger
records to ``drift`` as they happen, and publishes a snapshot every
``STREAMSCORE_SNAPSHOT_EVERY`` labels or ``STREAMSCORE_SNAPSHOT_INTERVAL`` seconds, and
before it hands the partition over or stops, each time followed by the performance
and label records. **The examples offsets are committed only up to the newest
published snapshot**, so a learner that dies resumes from that snapshot and re-reads
exactly the examples after it: no label is learned twice (the learner skips labels
offsets it has already learned) and none is skipped. Workers score with the newest
snapshot (:func:`follow_snapshots`).

Champion/challenger (``STREAMSCORE_CHALLENGER``): with ``off`` no challenger record
is written; with ``report`` each snapshot is followed by one (McNemar's test of the
two models on the same labelled window: p-value, winner); with ``retrain``, when the
online model wins, a new batch version is trained on the newest labelled window,
checked on its newest quarter (:mod:`streamscore.models.retraining`) and, if it wins,
published on ``model-updates`` and promoted; each step is a ``challenger`` record of
name ``retrain`` (``state`` started, promoted or rejected).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import faust
import orjson
from faust.types import TP

from streamscore.ground.config import Settings
from streamscore.ground.errors import StreamscoreError
from streamscore.ground.times import now_ms
from streamscore.models.artifact import LoadedModel
from streamscore.models.learner import Learner, load_model
from streamscore.models.registry import Registry
from streamscore.streams import batching, compacted, delivery, model_updates
from streamscore.streams.scorer import OnlineView

log = logging.getLogger(__name__)
NEVER = 2**62
RETRAIN_WINDOW = 2000  # labelled examples a retraining learns from (and waits for)
# Examples learned between two yields to the event loop: ~100 µs each, so a slice holds
# the loop ~10 ms (a whole fetch of 2,000 held scoring for ~200 ms, measured as p99).
LEARN_SLICE = 100


def online_key(model: str) -> str:
    """The snapshots topic's key of a model's online learner."""
    return f"online/{model}"


class LearnStage:
    """The learner of this worker, while it holds the examples partition."""

    def __init__(
        self,
        app: faust.App,
        settings: Settings,
        current: Callable[[], LoadedModel],
        registry: Registry | None = None,
    ) -> None:
        self.app, self.settings, self.current = app, settings, current
        self.registry = registry or Registry(settings.registry_path)
        self.learner: Learner | None = None
        self.restoring: asyncio.Future[Learner] | None = None  # begun when assigned
        self.tp: TP | None = None
        self.since_snapshot = 0
        self.snapshot_at = time.monotonic()
        self.lock = asyncio.Lock()
        self.recent: deque[tuple[dict, Any, int]] = deque(maxlen=RETRAIN_WINDOW)
        self.since_retrain = RETRAIN_WINDOW  # examples seen since the last retraining
        self.retraining: asyncio.Task | None = None
        # the online model won while a retraining ran: when it ends, the next one starts
        # (on a fast stream every later win can come during the first retraining, and a
        # win skipped then was lost: the test saw one retraining, on data from before
        # the change, and none after it)
        self.won_meanwhile = False

    def _fresh(self, model: LoadedModel) -> Learner:
        # performance records go out with each snapshot (see _snapshot), never between:
        # what users read on drift is always covered by a snapshot, so after a crash
        # n_learned never falls back
        return Learner(model.schema, model.classes, kind=self.settings.online_model,
                       report_every=NEVER)  # fmt: skip

    def _restore(self, model: LoadedModel) -> Learner:
        blob, _ = compacted.latest(self.settings, self.settings.snapshots_topic,
                                   online_key(model.name))  # fmt: skip
        if blob is None:
            return self._fresh(model)
        try:
            learner = Learner.restore(blob)
        except StreamscoreError as exc:
            log.error("the online model's snapshot cannot be used (%s): learning anew", exc)
            return self._fresh(model)
        if learner.model.schema != model.schema:
            log.warning("model %s has new features: the online model learns anew", model.name)
            return self._fresh(model)
        log.info("online model restored: %d labels learned", learner.n_learned)
        return learner

    def begin_restore(self) -> None:
        """Read the newest snapshot now, in a thread: called when the examples partition
        is assigned, so the first examples need not wait for it. They did: reading the
        snapshots topic took 0.3-1 s (most of it kafka-python's metadata round trips);
        while the learn agent waited, its channel filled and Faust's consumer, which
        feeds every agent from one fetch loop, delivered no events either (py-spy: the
        event loop idle in ``select`` for a second, at 1,000 events/s)."""
        if self.learner is None and self.restoring is None:
            loop = asyncio.get_running_loop()
            self.restoring = loop.run_in_executor(None, self._restore, self.current())

    async def learn(self, batch: batching.RecordBatch) -> None:
        async with self.lock:
            model = self.current()
            if self.learner is None:
                self.begin_restore()
                restoring = self.restoring
                assert restoring is not None
                learner = await restoring
                if self.restoring is not restoring:
                    return  # revoked meanwhile: uncommitted, the next owner learns them
                self.learner, self.restoring = learner, None
                self.learner.settings["report_every"] = NEVER
            examples = []
            for tp, records in batch.records.items():
                self.tp = tp
                for record in records:
                    try:
                        example = orjson.loads(record.value)
                    except (orjson.JSONDecodeError, TypeError):
                        example = {}
                    example["offset"] = record.offset
                    examples.append(example)
            records = []
            for start in range(0, len(examples), LEARN_SLICE):
                records += self.learner.learn(examples[start : start + LEARN_SLICE])
                await asyncio.sleep(0)  # let the score agent in between (same event loop)
            self.since_snapshot += len(examples)
            for example in examples:
                if "x" in example and "y" in example:
                    self.recent.append((example["x"], example["y"], example.get("event_ts", 0)))
                    self.since_retrain += 1
            await self._send(records, model)
            if self.since_snapshot >= self.settings.snapshot_every:
                await self._snapshot(model)

    async def tick(self) -> None:
        """On a timer: a snapshot when due, and the performance records (if any labels)."""
        async with self.lock:
            if self.learner is None:
                return
            model = self.current()
            due = time.monotonic() - self.snapshot_at >= self.settings.snapshot_interval
            if self.since_snapshot and due:
                await self._snapshot(model)

    async def flush(self) -> None:
        """Before the partition is handed over or the worker stops: the last snapshot."""
        async with self.lock:
            if self.learner is not None and self.since_snapshot:
                await self._snapshot(self.current())

    def forget(self) -> None:
        self.learner, self.tp, self.since_snapshot = None, None, 0
        self.restoring = None  # a restore under way is read again by the next owner

    async def _send(self, records: list[dict], model: LoadedModel) -> None:
        mode = self.settings.challenger
        if mode == "off":
            records = [r for r in records if r["kind"] != "challenger"]
        elif mode == "retrain" and any(
            r["kind"] == "challenger" and r.get("winner") == "online" for r in records
        ):
            self._maybe_retrain(model)
        if not records:
            return
        ts = now_ms()
        out: list[tuple[bytes | None, bytes]] = [
            (f"{model.name}/{r['name']}".encode(),
             orjson.dumps({"ts": ts, "model": model.name, "version": model.version, **r}))
            for r in records
        ]  # fmt: skip
        await delivery.for_app(self.app, self.settings.partitions).send(
            {self.settings.drift_topic: {None: out}}
        )

    async def _snapshot(self, model: LoadedModel) -> None:
        """Publish the learner's state, then its performance records, then commit."""
        learner = self.learner
        assert learner is not None
        reports = learner.report()
        blob = learner.snapshot()
        record: list[tuple[bytes | None, bytes]] = [(online_key(model.name).encode(), blob)]
        await delivery.for_app(self.app, self.settings.partitions).send(
            {self.settings.snapshots_topic: {None: record}}
        )
        await self._send(reports, model)
        if self.tp is not None and learner.examples_offset is not None:
            batching.commit(self.app, {self.tp: learner.examples_offset})
        self.since_snapshot, self.snapshot_at = 0, time.monotonic()

    def _maybe_retrain(self, model: LoadedModel) -> None:
        running = self.retraining
        busy = running is not None and not running.done() and running is not asyncio.current_task()
        if busy:
            self.won_meanwhile = True
            return
        if self.since_retrain < RETRAIN_WINDOW or len(self.recent) < RETRAIN_WINDOW:
            return
        self.won_meanwhile = False
        self.since_retrain = 0
        window = list(self.recent)
        self.retraining = asyncio.ensure_future(self._retrain(model, window))

    async def _retrain(self, model: LoadedModel, window: list[tuple[dict, Any, int]]) -> None:
        from streamscore.models.retraining import retrain

        rows, labels, times = (list(column) for column in zip(*window, strict=True))
        span = (min(times), max(times), len(window))
        await self._send([_retrain_record("started", None, model.version, span)], model)
        loop = asyncio.get_running_loop()
        try:
            decision = await loop.run_in_executor(
                None, retrain, model, rows, labels, times, self.registry
            )
            if decision.promote and decision.candidate is not None:
                version = decision.candidate.version
                await loop.run_in_executor(
                    None, model_updates.publish, self.settings, self.registry, model.name, version
                )
                self.registry.promote(model.name, version)
        except StreamscoreError as exc:
            log.error("retraining failed: %s", exc)
            await self._send([_retrain_record("failed", None, model.version, span,
                                              reason=str(exc))], model)  # fmt: skip
            return
        state = "promoted" if decision.promote else "rejected"
        candidate = decision.candidate.version if decision.candidate else None
        log.info("retraining %s: %s", state, decision.reason)
        await self._send([_retrain_record(
            state, decision, model.version, span, candidate=candidate, reason=decision.reason,
        )], model)  # fmt: skip
        if not decision.promote and self.won_meanwhile:
            self._maybe_retrain(model)  # on the newest window, if enough came since


def _retrain_record(
    state: str, decision: Any, version: str, span: tuple[int, int, int], **extra: Any
) -> dict[str, Any]:
    """A step of a retraining: ``value`` the candidate's held-out accuracy, ``threshold``
    the current version's; the window is the labelled examples it learned from."""
    value = decision.candidate_accuracy if decision is not None else None
    threshold = decision.current_accuracy if decision is not None else None
    start, end, n = span
    return {
        "kind": "challenger", "name": "retrain", "metric": "accuracy", "value": value,
        "threshold": threshold, "alert": state == "promoted", "state": state,
        "champion": version, "window": {"start": start, "end": end, "n": n, "offsets": {}},
        **extra,
    }  # fmt: skip


def install(
    app: faust.App,
    settings: Settings,
    current: Callable[[], LoadedModel],
    registry: Registry | None = None,
) -> LearnStage:
    """Declare the examples topic, the ``learn_from_labels`` agent and its timer."""
    # Build a learner once now: River is imported lazily (the CLI starts fast), and the
    # import (~1 s of CPU, holding the GIL) on the first label stalled scoring mid-stream
    # (py-spy: p50 latency 347 ms in the first 10 s at 1,000 events/s).
    model = current()
    Learner(model.schema, model.classes, kind=settings.online_model)
    topic = app.topic(settings.examples_topic, partitions=1, acks=False)
    channel = batching.batch_channel(app, [topic])
    stage = LearnStage(app, settings, current, registry)

    @app.agent(channel, name="learn_from_labels")
    async def learn_from_labels(batches: Any) -> None:
        async for batch in batches:
            if not batching.take(app, batch):
                continue
            try:
                await stage.learn(batch)
            except Exception as exc:
                batching.release(app, batch)
                log.exception("the learner failed on a batch; stopping the worker")
                await app.crash(exc)
                return
            batching.ack(app, batch, offsets={})  # committed when a snapshot covers them

    @app.timer(1.0)
    async def snapshot_when_due() -> None:
        await stage.tick()

    batching.on_flush(app, stage.flush)

    @app.on_partitions_revoked.connect
    async def on_revoked(sender: Any, /, *args: Any, signal: Any, **kwargs: Any) -> None:
        revoked = args[0] if args else kwargs.get("revoked", set())
        if any(tp.topic == settings.examples_topic for tp in revoked):
            stage.forget()

    @app.on_partitions_assigned.connect
    async def on_assigned(sender: Any, /, *args: Any, signal: Any, **kwargs: Any) -> None:
        assigned = args[0] if args else kwargs.get("assigned", set())
        if any(tp.topic == settings.examples_topic for tp in assigned):
            stage.begin_restore()

    return stage


def follow_snapshots(settings: Settings, model_name: str, on_view: Callable[[OnlineView], None]):
    """The newest snapshot now (if any) and a coroutine following the later ones."""
    key = online_key(model_name)
    blob, offsets = compacted.latest(settings, settings.snapshots_topic, key)

    def view(value: bytes) -> None:
        try:
            model, header = load_model(value)
        except StreamscoreError as exc:
            log.error("online snapshot refused, keeping the previous one: %s", exc)
            return
        on_view(OnlineView(model, int(header["n_learned"]), header["sha256"][:16]))

    if blob is not None:
        view(blob)
    return compacted.follow(settings, settings.snapshots_topic, key, view, offsets)
