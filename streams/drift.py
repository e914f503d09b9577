"""The drift agent: merge the partial window counts of every worker, publish statistics.

Workers count drift as they score (:mod:`streamscore.streams.windows`) and send each
partition's window counts to the drift-counts topic. That topic has one partition,
so one worker of the group merges (:class:`~streamscore.streams.merging.DriftMerger`):
a window's statistics describe the whole stream, whatever the number of workers.
The merger's state is snapshotted (plain JSON, on the snapshots topic) after each
batch of partials, and the drift-counts offsets are committed only up to it, so a
merger that dies resumes from its snapshot without counting a partial twice.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import faust
import orjson
from faust.types import TP

from streamscore.ground.config import Settings
from streamscore.ground.errors import StreamscoreError
from streamscore.ground.times import now_ms
from streamscore.models.drift import DriftReference, record_key
from streamscore.models.registry import Registry
from streamscore.streams import batching, compacted, delivery
from streamscore.streams.merging import DriftMerger

log = logging.getLogger(__name__)
SNAPSHOT_KEY = "drift-merger"


class MergeStage:
    """The merger of this worker, while it holds the drift-counts partition."""

    def __init__(self, app: faust.App, settings: Settings, registry: Registry) -> None:
        self.app, self.settings, self.registry = app, settings, registry
        self.merger: DriftMerger | None = None
        self.tp: TP | None = None
        self.offset: int | None = None  # the last partial the merger holds
        self.dirty = False
        self.lock = asyncio.Lock()
        self._references: dict[tuple[str, str], DriftReference] = {}

    def reference(self, model: str, version: str) -> DriftReference:
        if (model, version) not in self._references:
            manifest = self.registry.manifest(model, version)
            self._references[(model, version)] = DriftReference.from_manifest(manifest)
        return self._references[(model, version)]

    def _new(self) -> DriftMerger:
        s = self.settings
        return DriftMerger(s.partitions, self.reference, s.drift_false_alarms, s.drift_clear_after)

    def _restore(self) -> DriftMerger:
        merger = self._new()
        blob, _ = compacted.latest(self.settings, self.settings.snapshots_topic, SNAPSHOT_KEY)
        if blob is not None:
            try:
                merger.restore(orjson.loads(blob)["state"])
            except (orjson.JSONDecodeError, KeyError, TypeError, StreamscoreError) as exc:
                log.error("the drift merger's snapshot cannot be used (%r): starting anew", exc)
                merger = self._new()
        return merger

    async def add(self, batch: batching.RecordBatch) -> None:
        async with self.lock:
            if self.merger is None:
                self.merger = await asyncio.get_running_loop().run_in_executor(None, self._restore)
            records: list[dict] = []
            for tp, partials in batch.records.items():
                self.tp = tp
                for partial in partials:
                    self.offset = partial.offset
                    try:
                        records += self.merger.add(orjson.loads(partial.value), now_ms())
                    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError,
                            StreamscoreError) as exc:  # fmt: skip
                        log.error("partial drift counts left out (%r)", exc)
            self.dirty = True
            await self._send(records)

    async def tick(self) -> None:
        """On a timer: windows past their grace, then a snapshot if anything changed."""
        async with self.lock:
            if self.merger is None:
                return
            await self._send(self.merger.close_due(now_ms()))

    async def flush(self) -> None:
        async with self.lock:
            if self.merger is not None and self.dirty:
                await self._snapshot()

    def forget(self) -> None:
        self.merger, self.tp, self.offset, self.dirty = None, None, None, False

    async def _send(self, records: list[dict]) -> None:
        if records:
            out: list[tuple[bytes | None, bytes]] = [
                (record_key(r).encode(), orjson.dumps(r)) for r in records
            ]
            await delivery.for_app(self.app, self.settings.partitions).send(
                {self.settings.drift_topic: {None: out}}
            )
        if self.dirty:
            await self._snapshot()

    async def _snapshot(self) -> None:
        assert self.merger is not None
        state = {"offset": self.offset, "state": self.merger.state()}
        record: list[tuple[bytes | None, bytes]] = [(SNAPSHOT_KEY.encode(), orjson.dumps(state))]
        await delivery.for_app(self.app, self.settings.partitions).send(
            {self.settings.snapshots_topic: {None: record}}
        )
        if self.tp is not None and self.offset is not None:
            batching.commit(self.app, {self.tp: self.offset})
        self.dirty = False


def install(app: faust.App, settings: Settings, registry: Registry) -> MergeStage:
    """Declare the drift-counts topic, the ``merge_drift`` agent and its timer."""
    topic = app.topic(settings.drift_counts_topic, partitions=1, acks=False)
    channel = batching.batch_channel(app, [topic])
    stage = MergeStage(app, settings, registry)

    @app.agent(channel, name="merge_drift")
    async def merge_drift(batches: Any) -> None:
        async for batch in batches:
            if not batching.take(app, batch):
                continue
            try:
                await stage.add(batch)
            except Exception as exc:
                batching.release(app, batch)
                log.exception("the drift merger failed on a batch; stopping the worker")
                await app.crash(exc)
                return
            batching.ack(app, batch, offsets={})  # committed with the merger's snapshot

    @app.timer(1.0)
    async def close_overdue_windows() -> None:
        await stage.tick()

    batching.on_flush(app, stage.flush)

    @app.on_partitions_revoked.connect
    async def on_revoked(sender: Any, /, *args: Any, signal: Any, **kwargs: Any) -> None:
        revoked = args[0] if args else kwargs.get("revoked", set())
        if any(tp.topic == settings.drift_counts_topic for tp in revoked):
            stage.forget()

    return stage
