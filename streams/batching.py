"""Whole fetches as batches: a small extension of Faust's aiokafka transport.

Faust hands an agent one event at a time: for every record its consumer awaits
``wait_first(callback(message), ...)`` (tasks per message), the conductor builds an
``Event``, the stream queues it and acknowledges it afterwards. At tens of
thousands of records a second that bookkeeping, not the model, is the cost
(py-spy: ~56 % of a worker's time before this module). Here, for the topics
routed with :func:`batch_channel`, the consumer puts *what one fetch returned*
as one :class:`RecordBatch` on a Faust channel; an ordinary Faust agent iterates
that channel (a channel may carry plain values, which a stream yields as they are),
scores the batch, produces its outputs and calls :func:`ack`.

Faust still owns everything else: group membership and co-partitioned assignment
(its ``PartitionAssignor``), rebalances (a batch fetched before a rebalance is
dropped, never acknowledged, and fetched again from the committed offset),
offset commits (its commit timer and ``broker_commit_every``; :func:`ack` records
the highest processed offset per partition, which ``_new_offset`` reports), and a
clean stop (``wait_empty`` also waits for the batches an agent is working on;
before a rebalance revokes partitions, what was finished in them is committed).
Other topics keep Faust's per-message path unchanged.

The transport is registered as ``streamscore://`` through the ``faust.transports``
entry point (``pyproject.toml``); the tested faust-streaming range is pinned and
``tests/streams/test_batching.py`` fails loudly if an upgrade moves the internals
used here (``Consumer._wait_next_records``, ``_new_offset``, ``_acked``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from faust.transport.consumer import CONSUMER_FETCHING
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types import TP, AppT, ChannelT

ROUTES = "_streamscore_batch_routes"  # app attribute: topic name -> channel
FLUSH_HOOKS = "_streamscore_flush_hooks"  # app attribute: coroutines run before a commit
WAIT_EMPTY_TIMEOUT = 30.0


@dataclass(slots=True)
class RecordBatch:
    """The records of one fetch for the routed topics: per partition, in offset order.

    ``records`` hold aiokafka ``ConsumerRecord`` objects (``key``, ``value``,
    ``offset``, ``timestamp`` in ms, ``partition``, ``topic``).
    """

    records: dict[TP, list[Any]]
    generation: int
    parts: int = 1  # fetches merged into it (:func:`take_waiting`)
    size: int = field(init=False)

    def __post_init__(self) -> None:
        self.size = sum(len(r) for r in self.records.values())

    def last_offsets(self) -> dict[TP, int]:
        return {tp: recs[-1].offset for tp, recs in self.records.items() if recs}


class BatchConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    """Faust's consumer thread, with a short ``fetch.max.wait.ms``.

    Faust fixes it at 1,500 ms. A consumer fetches from a broker with one request at
    a time, for the partitions whose fetched records were all handed out; when the
    busy partitions still hold records, that request asks only for idle ones (such
    as Faust's ``__assignor-__leader`` topic, assigned to every worker) and the
    broker holds it the whole wait, so the busy partitions are fetched again 1.5 s
    later. That is the "standing lag" of 1.3–1.7 s seen at 1,000 events/s with a
    worker using half a core (measured with aiokafka's fetcher debug log).
    """

    fetch_max_wait_ms = 10
    logger = faust_aiokafka.logger

    def _create_worker_consumer(self, transport: Any) -> Any:
        consumer = super()._create_worker_consumer(transport)
        consumer._fetch_max_wait_ms = self.fetch_max_wait_ms  # read when the fetcher starts
        return consumer


class BatchConsumer(faust_aiokafka.Consumer):
    """Faust's aiokafka consumer, delivering routed topics a fetch at a time."""

    logger = faust_aiokafka.logger  # Faust's own messages stay on Faust's logger

    def _new_consumer_thread(self) -> BatchConsumerThread:
        return BatchConsumerThread(self, loop=self.loop, beacon=self.beacon)

    def __post_init__(self) -> None:
        super().__post_init__()
        self._done: dict[TP, int] = {}  # routed partitions: highest offset processed
        self._inflight = 0  # batches an agent took and has not acknowledged
        self._flushed = False  # a rebalance's revocation finished the batches in flight

    # --- delivery -------------------------------------------------------------
    async def _drain_messages(self, fetcher: Any) -> None:  # pragma: no cover - a loop
        routes: dict[str, ChannelT] = getattr(self.app, ROUTES, {})
        stopped, fetcher_stopped = self._stopped.is_set, fetcher._stopped.is_set
        try:
            while not (stopped() or fetcher_stopped()):
                self.diag.set_flag(CONSUMER_FETCHING)
                records, active = await self._wait_next_records(timeout=1.0)
                await self.sleep(0)
                if records and not self.should_stop and self.flow_active:
                    await self._deliver(records, active, routes)
                self.diag.unset_flag(CONSUMER_FETCHING)
                if self._commit_every is not None and self._n_acked >= self._commit_every:
                    self._n_acked = 0
                    await self.commit()
        except self.consumer_stopped_errors:
            if self.transport.app.should_stop:
                return
            raise
        except asyncio.CancelledError:
            if self.transport.app.should_stop:
                return
            raise
        finally:
            self.diag.unset_flag(CONSUMER_FETCHING)

    async def _deliver(
        self, records: Mapping[TP, list[Any]], active: set[TP] | None, routes: dict[str, ChannelT]
    ) -> None:
        generation = self.app.consumer_generation_id
        batched: dict[int, tuple[ChannelT, dict[TP, list[Any]]]] = {}
        rest: dict[TP, list[Any]] = {}
        for tp, recs in records.items():
            if active is not None and tp not in active and tp not in self._buffered_partitions:
                continue
            channel = routes.get(tp.topic)
            if channel is None:
                rest[tp] = recs
            else:
                batched.setdefault(id(channel), (channel, {}))[1][tp] = recs
        for channel, part in batched.values():
            batch = RecordBatch(part, generation)
            # a channel may carry plain values; a stream yields them as they are
            put = channel.put(batch)  # type: ignore[arg-type]
            await self.wait_first(put, self.suspend_flow.wait())
            if self.suspend_flow.is_set():
                return  # a rebalance began: the new owner re-fetches from the commit
            for tp, recs in part.items():
                self._read_offset[tp] = recs[-1].offset
        if rest:
            await self._deliver_one_by_one(rest, generation)

    async def _deliver_one_by_one(self, records: dict[TP, list[Any]], generation: int) -> None:
        # Faust's own per-message path (as in Consumer._drain_messages) for other topics.
        acks_enabled_for = self.app.topics.acks_enabled_for
        for tp, record in self.scheduler.iterate(records):
            if self.app.consumer_generation_id != generation or not self.flow_active:
                return
            message = self._to_message(tp, record)
            r_offset = self._read_offset[tp]
            if r_offset is not None and message.offset < r_offset:
                continue
            if r_offset and message.offset - r_offset > 1 and acks_enabled_for(message.topic):
                await self._add_gap(tp, r_offset + 1, message.offset)
            await self.wait_first(self.callback(message), self.suspend_flow.wait())
            self._read_offset[tp] = message.offset

    # --- acknowledgement and commits -----------------------------------------
    def batch_taken(self) -> None:
        self._inflight += 1

    def batch_done(self) -> None:
        self._inflight = max(0, self._inflight - 1)

    def mark_processed(self, offsets: Mapping[TP, int], events: int = 0) -> None:
        """These offsets (the last processed per partition) may be committed."""
        self._n_acked += events
        if not offsets:
            return
        assignment = self.assignment()
        for tp, offset in offsets.items():
            if tp in assignment and offset > self._done.get(tp, -1):
                self._done[tp] = offset
                self._acked[tp]  # noqa: B018 - a key here makes Faust consider the tp

    def _new_offset(self, tp: TP) -> int | None:
        done = self._done.pop(tp, None)
        if done is None:
            return super()._new_offset(tp)
        self._acked.pop(tp, None)
        return done + 1

    async def on_partitions_revoked(self, revoked: set[TP]) -> None:
        """Commit what was finished before the partitions go.

        Faust forgets the acknowledged offsets of revoked partitions *before* its own
        commit of a rebalance (``Consumer.on_partitions_revoked`` pops ``_acked``, then
        the app's handler waits for the streams and commits). With Kafka's eager
        rebalancing every partition is revoked, also the ones this worker keeps: what it
        had finished since the last timed commit was read again from the older commit and
        scored twice (a whole worker's share of a test's events, by the timing of the
        commit timer). So here the batches in flight finish, the flush hooks run and the
        finished offsets are committed while the generation is still the old one."""
        if not self.app.should_stop and self.assignment():
            self.stop_flow()  # no new batch is taken; the app's handler stops it as well
            await self._finish_inflight()
            self._flushed = True  # the app's handler calls wait_empty next
            for _ in range(3):  # a timed commit under way is waited for, not repeated
                if not revoked & self._done.keys():
                    break
                await self.commit(revoked)
        for tp in revoked:
            self._done.pop(tp, None)
        try:
            await super().on_partitions_revoked(revoked)
        finally:
            self._flushed = False

    async def _finish_inflight(self) -> None:
        """Wait (bounded) for batches an agent is still working on, then run the flush
        hooks (open drift windows, a learner's last snapshot)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + WAIT_EMPTY_TIMEOUT
        while self._inflight and loop.time() < deadline and not self.should_stop:
            await asyncio.sleep(0.01)
        for hook in getattr(self.app, FLUSH_HOOKS, []):
            try:
                await asyncio.wait_for(hook(), timeout=WAIT_EMPTY_TIMEOUT)
            except Exception:  # noqa: BLE001 - a failed flush must not block the hand-over
                self.log.exception("flush before commit failed")

    async def wait_empty(self) -> None:
        """Also wait (bounded) for batches an agent is still working on, and run the
        flush hooks, so a clean stop or a rebalance commits what was finished and
        nothing is processed twice."""
        if not self._flushed:  # else on_partitions_revoked did it a moment ago
            await self._finish_inflight()
        await super().wait_empty()


class Transport(faust_aiokafka.Transport):
    """``streamscore://host:port``: Faust's aiokafka transport with :class:`BatchConsumer`."""

    Consumer = BatchConsumer


def batch_channel(app: AppT, topics: Iterable[Any], maxsize: int = 4) -> ChannelT:
    """A channel carrying every fetch of ``topics`` as one :class:`RecordBatch`.

    The topics are added to the app's conductor, so Faust subscribes to them and
    its assignor co-partitions them; their records never take the per-message path.
    """
    channel = app.channel(maxsize=maxsize)
    routes: dict[str, ChannelT] = getattr(app, ROUTES, {})
    for topic in topics:
        app.topics.add(topic)
        for name in topic.topics:
            routes[name] = channel
    setattr(app, ROUTES, routes)
    return channel


def _consumer(app: AppT) -> BatchConsumer:
    consumer = app.consumer
    if not isinstance(consumer, BatchConsumer):
        raise RuntimeError(
            f"the app's consumer is {type(consumer).__name__}: create the app with a "
            "streamscore:// broker URL to batch (streams.app.create_app does)"
        )
    return consumer


def take(app: AppT, batch: RecordBatch) -> bool:
    """Start work on ``batch``; False (and forget it) if a rebalance made it stale."""
    consumer = _consumer(app)
    consumer.batch_taken()
    if batch.generation != app.consumer_generation_id or not consumer.flow_active:
        consumer.batch_done()
        return False
    return True


def take_waiting(app: AppT, stream: Any, first: RecordBatch, limit: int) -> RecordBatch | None:
    """Start work on ``first`` and on the batches already waiting behind it on the agent's
    ``stream``, merged into one of at most ``limit`` records (more wait for the next
    call); None if a rebalance made them all stale.

    Why: every batch pays a fixed cost (a model call, a round trip to the broker for its
    outputs: ~4-5 ms on the 2-core test machine). At 1,000 events/s a fetch returns ~5
    events, and the consumer queues the next fetches while one is processed; handled
    one by one, the agent was busy 95 % of the time with 5-event batches and an event
    waited ~30 ms (p50) in that queue. Merged, a batch holds what arrived while the
    previous one was processed, so the fixed cost is paid once per round, not per fetch.
    """
    taken = [first] if take(app, first) else []
    size = first.size if taken else 0
    queue = stream.channel.queue  # the agent's own subscription to the batch channel
    while size < limit and not queue.empty():
        waiting = queue.get_nowait()
        if take(app, waiting):
            taken.append(waiting)
            size += waiting.size
    if len(taken) <= 1:
        return taken[0] if taken else None
    merged: dict[TP, list[Any]] = {}
    for batch in taken:  # in fetch order, so each partition's records stay in offset order
        for tp, records in batch.records.items():
            merged.setdefault(tp, []).extend(records)
    return RecordBatch(merged, taken[-1].generation, parts=len(taken))


def ack(app: AppT, batch: RecordBatch, offsets: Mapping[TP, int] | None = None) -> None:
    """Done with ``batch``: its outputs are delivered. ``offsets`` (default: all of the
    batch) may be committed; pass ``{}`` to commit nothing now (see :func:`commit`)."""
    consumer = _consumer(app)
    for _ in range(batch.parts):
        consumer.batch_done()
    if batch.generation != app.consumer_generation_id:
        # A rebalance came while it was processed: its outputs are out, but its offsets
        # must not move past what the new assignment started from (the label memory is
        # rebuilt up to the commit); its records are fetched and scored again.
        offsets = {}
    consumer.mark_processed(batch.last_offsets() if offsets is None else offsets, batch.size)


def release(app: AppT, batch: RecordBatch) -> None:
    """Give up on ``batch`` without committing it: it is fetched again after a restart."""
    consumer = _consumer(app)
    for _ in range(batch.parts):
        consumer.batch_done()


def commit(app: AppT, offsets: Mapping[TP, int]) -> None:
    """Offsets processed outside a batch's life (a learner's snapshot covers them now)."""
    _consumer(app).mark_processed(offsets)


def on_flush(app: AppT, hook: Callable[[], Awaitable[None]]) -> None:
    """Run ``hook`` before the commit of a clean stop or a rebalance."""
    hooks = getattr(app, FLUSH_HOOKS, [])
    hooks.append(hook)
    setattr(app, FLUSH_HOOKS, hooks)
