"""Pipelined delivery: a batch is acknowledged only after its outputs and those of every
batch before it are delivered, in batch order, whatever order the broker answers in."""

from __future__ import annotations

import asyncio
from collections import deque

import pytest

from streamscore.streams import batching, scoring
from streamscore.streams.scoring import ScoreStage


class _App:
    def __init__(self) -> None:
        self.crashed: list[BaseException] = []

    async def crash(self, exc: BaseException) -> None:
        self.crashed.append(exc)


def _stage(app: _App) -> ScoreStage:
    # only the delivery bookkeeping is under test: no settings, model or Kafka needed
    stage = ScoreStage.__new__(ScoreStage)
    stage.app = app  # type: ignore[assignment]
    stage.in_flight = deque()
    return stage


@pytest.fixture
def released(monkeypatch) -> list[str]:
    out: list[str] = []
    monkeypatch.setattr(batching, "release", lambda app, batch: out.append(batch))
    return out


async def test_acknowledged_in_batch_order_when_deliveries_end_out_of_order(released):
    stage, acked = _stage(_App()), []
    loop = asyncio.get_running_loop()
    deliveries = [loop.create_future() for _ in range(3)]
    for i, sending in enumerate(deliveries):
        await stage.finish(f"b{i}", sending, lambda i=i: acked.append(i))  # type: ignore[arg-type]
    deliveries[2].set_result(None)
    deliveries[0].set_result(None)
    await asyncio.sleep(0.01)
    assert acked == [0]  # batch 2 is delivered but waits for batch 1
    deliveries[1].set_result(None)
    assert await stage.settled()
    assert acked == [0, 1, 2] and released == []


async def test_a_failed_delivery_stops_the_worker_and_nothing_after_it_is_acknowledged(released):
    app = _App()
    stage, acked = _stage(app), []
    loop = asyncio.get_running_loop()
    deliveries = [loop.create_future() for _ in range(3)]
    for i, sending in enumerate(deliveries):
        await stage.finish(f"b{i}", sending, lambda i=i: acked.append(i))  # type: ignore[arg-type]
    deliveries[0].set_result(None)
    deliveries[1].set_exception(RuntimeError("broken"))
    deliveries[2].set_result(None)
    assert not await stage.settled()  # the drain of waiting labels then commits nothing
    assert acked == [0]
    assert released == ["b1", "b2"]  # fetched again after the restart
    assert [str(e) for e in app.crashed] == ["broken"]


async def test_at_most_in_flight_batches_wait_for_the_broker(released):
    stage = _stage(_App())
    loop = asyncio.get_running_loop()
    deliveries = [loop.create_future() for _ in range(scoring.IN_FLIGHT + 1)]
    for i, sending in enumerate(deliveries[:-1]):
        await stage.finish(f"b{i}", sending, lambda: None)  # type: ignore[arg-type]
    last = asyncio.ensure_future(stage.finish("last", deliveries[-1], lambda: None))  # type: ignore[arg-type]
    await asyncio.sleep(0.01)
    assert not last.done()  # one batch more than IN_FLIGHT: the agent waits for the oldest
    deliveries[0].set_result(None)
    await asyncio.wait_for(last, 1)
