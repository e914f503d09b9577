"""The batch transport (streams/batching.py): the Faust internals it extends are still
where it expects them, and the batches waiting behind one are merged in order."""

from __future__ import annotations

import asyncio
import inspect
from types import SimpleNamespace

import faust
import pytest
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types import TP

from streamscore.ground.config import Settings
from streamscore.streams import batching
from streamscore.streams.app import create_app


def test_the_faust_internals_the_transport_extends_are_there():
    """An upgrade of faust-streaming that moves one of these breaks the worker: this
    test names which (pyproject pins the tested range)."""
    consumer = faust_aiokafka.Consumer
    for name in ("_wait_next_records", "_new_offset", "_drain_messages", "wait_empty",
                 "on_partitions_revoked", "_new_consumer_thread"):  # fmt: skip
        assert callable(getattr(consumer, name, None)), f"faust's Consumer has no {name}"
    assert "_acked" in inspect.getsource(consumer._new_offset)
    thread = faust_aiokafka.AIOKafkaConsumerThread
    assert callable(getattr(thread, "_create_worker_consumer", None))
    source = inspect.getsource(thread._create_worker_consumer)
    assert "fetch_max_wait_ms" in source  # the field BatchConsumerThread shortens
    assert faust.__version__.startswith("0.15."), faust.__version__


def _record(tp: TP, offset: int) -> SimpleNamespace:
    return SimpleNamespace(topic=tp.topic, partition=tp.partition, offset=offset)


def _batch(generation: int, **parts: list[int]) -> batching.RecordBatch:
    records = {}
    for name, offsets in parts.items():
        tp = TP("events", int(name[1:]))
        records[tp] = [_record(tp, o) for o in offsets]
    return batching.RecordBatch(records, generation)


@pytest.fixture
def app(tmp_path):
    app = create_app(Settings(bootstrap_servers="127.0.0.1:1", data_dir=tmp_path))
    assert isinstance(app.consumer, batching.BatchConsumer)  # built, never started
    return app


def _stream_with(*waiting: batching.RecordBatch) -> SimpleNamespace:
    """What take_waiting reads of an agent's stream: its channel's queue."""
    queue: asyncio.Queue = asyncio.Queue()
    for batch in waiting:
        queue.put_nowait(batch)
    return SimpleNamespace(channel=SimpleNamespace(queue=queue))


def test_the_batches_waiting_are_merged_in_fetch_order_and_acked_as_many(app):
    generation = app.consumer_generation_id
    first = _batch(generation, p0=[0, 1], p1=[0])
    stream = _stream_with(_batch(generation, p0=[2, 3]), _batch(generation, p1=[1], p2=[0]))
    merged = batching.take_waiting(app, stream, first, limit=100)
    assert merged is not None and merged.parts == 3 and merged.size == 7
    assert {tp.partition: [r.offset for r in recs] for tp, recs in merged.records.items()} == {
        0: [0, 1, 2, 3], 1: [0, 1], 2: [0]
    }  # fmt: skip
    assert stream.channel.queue.empty()
    assert app.consumer._inflight == 3  # one per fetch taken ...
    batching.ack(app, merged, offsets={})  # (no partitions assigned: nothing to commit)
    assert app.consumer._inflight == 0  # ... and all given back by one ack


def test_merging_stops_at_the_limit_and_leaves_the_rest_waiting(app):
    generation = app.consumer_generation_id
    first = _batch(generation, p0=list(range(5)))
    stream = _stream_with(_batch(generation, p0=[5, 6, 7]), _batch(generation, p0=[8]))
    merged = batching.take_waiting(app, stream, first, limit=6)
    assert merged is not None and merged.size == 8 and merged.parts == 2
    assert stream.channel.queue.qsize() == 1  # the next round takes it
    batching.release(app, merged)
    assert app.consumer._inflight == 0


def test_stale_batches_from_before_a_rebalance_are_dropped(app):
    generation = app.consumer_generation_id
    stale = _batch(generation - 1, p0=[0, 1])
    stream = _stream_with(_batch(generation - 1, p0=[2]), _batch(generation, p1=[7]))
    merged = batching.take_waiting(app, stream, stale, limit=100)
    assert merged is not None and merged.parts == 1
    assert [r.offset for recs in merged.records.values() for r in recs] == [7]
    assert batching.take_waiting(app, _stream_with(), _batch(generation - 1, p0=[3]), 10) is None
    batching.ack(app, merged, offsets={})  # (no partitions assigned: nothing to commit)
    assert app.consumer._inflight == 0


def test_a_batch_finished_after_a_rebalance_commits_nothing(app):
    """Its outputs are out, but committing its offsets would move past the point the
    new assignment rebuilt its label memory from (labels then came as 'unknown': the
    broker-restart fault lost ~1,600 labels from learning before this)."""
    batch = _batch(app.consumer_generation_id, p0=[0, 1, 2])
    assert batching.take(app, batch)
    app.consumer_generation_id += 1  # a rebalance while it was processed
    batching.ack(app, batch)
    assert app.consumer._done == {} and app.consumer._inflight == 0
