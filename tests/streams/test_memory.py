"""The label join's feature memory: exact joins across merged chunks, and few objects
for the garbage collector however many events it holds."""

from __future__ import annotations

import gc

import numpy as np

from streamscore.models.batch import FeatureBatch
from streamscore.models.schema import Feature, FeatureSchema
from streamscore.streams.memory import MERGE_AT, FeatureMemory, Remembered

SCHEMA = FeatureSchema((Feature("x", "numeric"), Feature("c", "categorical")))


def _batch(start: int, n: int) -> tuple[list[str], FeatureBatch, np.ndarray]:
    values = np.arange(start, start + n, dtype=float)
    columns = {"x": values, "c": np.array([f"c{int(v) % 3}" for v in values], dtype=object)}
    proba = np.column_stack([values / 1e6, 1 - values / 1e6])
    ids = [f"e{i}" for i in range(start, start + n)]
    return ids, FeatureBatch(SCHEMA, columns, list(range(n))), proba


def _remember(memory: FeatureMemory, start: int, n: int, version: str = "1", now: int = 0) -> None:
    ids, features, proba = _batch(start, n)
    memory.remember(ids, features, proba, version, event_ts=np.arange(start, start + n),
                    record_ts=np.arange(start, start + n) + 7, now_ms=now)  # fmt: skip


def test_every_event_joins_with_its_own_features_across_merges_and_versions():
    memory = FeatureMemory(ttl_ms=60_000, capacity=1_000_000)
    start = 0
    for i in range(5 * MERGE_AT + 3):  # batches of 1-9 events, a version change midway
        n = 1 + i % 9
        _remember(memory, start, n, version="1" if i < 2 * MERGE_AT + 5 else "2")
        start += n
    assert len(memory) == start
    for i in reversed(range(start)):  # in any order
        status, got = memory.take(f"e{i}", now_ms=1000)
        assert status == "joined", (i, status)
        assert got.x == {"x": float(i), "c": f"c{i % 3}"}
        assert got.proba == [i / 1e6, 1 - i / 1e6]
        assert (got.event_ts, got.record_ts) == (i, i + 7)
        assert got.version == ("1" if i < _first_of_batch(2 * MERGE_AT + 5) else "2")
    assert memory.take("e5", now_ms=1000)[0] == "duplicate"
    assert memory.take("nope", now_ms=1000)[0] == "unknown"


def _first_of_batch(k: int) -> int:
    return sum(1 + i % 9 for i in range(k))


def test_a_rescored_id_joins_with_its_newest_scoring_and_old_ones_expire_by_their_own_time():
    memory = FeatureMemory(ttl_ms=1000, capacity=1_000_000)
    _remember(memory, 0, 5, now=0)  # e0..e4 scored at 0
    for k in range(MERGE_AT):  # merged together with the first batch
        _remember(memory, 100 + 5 * k, 5, now=900)
    ids, features, proba = _batch(0, 1)
    features.columns["x"][0] = 42.0
    memory.remember(ids, features, proba, "3", event_ts=np.array([0]), record_ts=np.array([0]),
                    now_ms=900)  # e0 scored again  # fmt: skip
    assert memory.take("e0", now_ms=1500) == ("joined", memory_row(42.0, "3"))
    assert memory.take("e1", now_ms=1500)[0] == "expired"  # scored at 0, TTL 1 s
    assert memory.take("e100", now_ms=1500)[0] == "joined"  # scored at 900


def memory_row(x: float, version: str) -> Remembered:
    return Remembered({"x": x, "c": "c0"}, [0.0, 1.0], version, 0, 0)


def test_memory_past_its_capacity_forgets_the_oldest_and_counts_them_unlabelled():
    memory = FeatureMemory(ttl_ms=60_000, capacity=1000)
    for k in range(400):
        _remember(memory, 10 * k, 10)
    assert 1000 - MERGE_AT * 10 < len(memory) <= 1000  # forgotten a merged chunk at a time
    assert memory.take("e0", now_ms=1)[0] == "unknown"
    assert memory.take("e3995", now_ms=1)[0] == "joined"
    assert memory.read_unlabelled() == 4000 - len(memory)


def test_holding_many_events_adds_few_objects_for_the_garbage_collector():
    # a full collection walks every tracked object: one per event made pauses of ~0.8 s
    # at a million events remembered
    memory = FeatureMemory(ttl_ms=3_600_000, capacity=10_000_000)
    gc.collect()
    before = len(gc.get_objects())
    for k in range(20_000):  # 120,000 events in batches of 6, as at 1,000 events/s
        _remember(memory, 6 * k, 6)
    gc.collect()
    added = len(gc.get_objects()) - before
    assert len(memory) == 120_000
    assert added < 120_000 / 50, added
