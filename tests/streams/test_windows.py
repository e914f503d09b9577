"""Drift windows on the worker: what they send adds up to the counts of each window's rows,
however the rows were batched (many tiny fetches or one large one)."""

from __future__ import annotations

import numpy as np
import orjson
import pytest

from streamscore.models.batch import FeatureBatch
from streamscore.models.drift.bins import DriftReference
from streamscore.models.drift.counting import count
from streamscore.models.drift.counts import WindowCounts
from streamscore.streams.scorer import Scored
from streamscore.streams.windows import PENDING_ROWS, DriftWindows
from tests.models.drift import streams

PARTITIONS = 2
WINDOW = 1_000  # events over both partitions: 500 offsets of each


@pytest.fixture(scope="module")
def manifest() -> dict:
    return streams.manifest(np.random.default_rng(0))


def stream(n: int, seed: int):
    """``n`` rows of each partition, interleaved: partition, offset, columns, scores."""
    columns, scores = streams.rows(np.random.default_rng(seed), PARTITIONS * n)
    partitions = np.arange(PARTITIONS * n) % PARTITIONS
    offsets = np.arange(PARTITIONS * n) // PARTITIONS
    return partitions, offsets, columns, scores


def scored(partitions, offsets, columns, scores, rows: slice, version: str = "1") -> Scored:
    index = np.arange(len(scores))[rows]
    s = scores[rows]
    return Scored(
        FeatureBatch(streams.SCHEMA, streams.take(columns, rows), list(range(len(index)))),
        [str(i) for i in index],
        1_700_000_000_000 + index,
        1_700_000_000_000 + index,
        partitions[rows],
        offsets[rows],
        np.column_stack([1.0 - s, s]),
        version,
    )


def summed(partials: list[tuple[bytes, bytes]]) -> dict[tuple[str, int, int], WindowCounts]:
    """The partials of each (version, partition, window) added up, as the merger adds them."""
    total: dict[tuple[str, int, int], WindowCounts] = {}
    for _, value in partials:
        body = orjson.loads(value)
        key = (body["version"], body["partition"], body["key"])
        counts = WindowCounts.from_json(body["counts"])
        total[key] = total[key].merge(counts) if key in total else counts
    return total


def expected(ref: DriftReference, partitions, offsets, columns, scores, mask) -> WindowCounts:
    rows = np.flatnonzero(mask)
    return count(
        ref,
        {name: values[rows] for name, values in columns.items()},
        scores[rows],
        event_ts=1_700_000_000_000 + rows,
        partitions=int(partitions[rows[0]]),
        offsets=offsets[rows],
    )


@pytest.mark.parametrize("batch", [7, 5_000])
def test_partials_add_up_to_each_windows_counts_whatever_the_batch_size(manifest, batch):
    ref = DriftReference.from_manifest(manifest)
    n = 1_700  # per partition: windows 0-2 closed by later rows, window 3 open at the end
    data = stream(n, seed=1)
    windows = DriftWindows(WINDOW, PARTITIONS)
    partials = []
    for start in range(0, PARTITIONS * n, batch):
        partials += windows.add(ref, scored(*data, slice(start, start + batch)))
    partials += windows.flush(force=True)
    got = summed(partials)
    partitions, offsets = data[0], data[1]
    size = WINDOW // PARTITIONS
    assert sorted(got) == [("1", p, k) for p in range(PARTITIONS) for k in range(4)]
    for (_, p, k), counts in got.items():
        mask = (partitions == p) & (offsets // size == k)
        assert counts.n == mask.sum()
        assert counts == expected(ref, *data, mask)
    done = [orjson.loads(v) for _, v in partials if orjson.loads(v)["done"]]
    assert sorted((d["partition"], d["key"]) for d in done) == [
        (p, k) for p in range(PARTITIONS) for k in range(3)
    ]  # a window is done once its partition moved past it; the open one was flushed


def test_a_new_model_version_closes_the_window_with_the_old_versions_counts(manifest):
    ref1 = DriftReference.from_manifest(manifest)
    ref2 = DriftReference.from_manifest({**manifest, "version": "2"})
    data = stream(300, seed=2)
    windows = DriftWindows(WINDOW, PARTITIONS)
    partials = windows.add(ref1, scored(*data, slice(0, 400)))  # offsets 0-199: window 0
    assert partials == []  # counted, nothing due yet
    partials += windows.add(ref2, scored(*data, slice(400, 600), version="2"))
    partials += windows.flush(force=True)
    got = summed(partials)
    first, second = np.arange(600) < 400, (np.arange(600) >= 400) & (np.arange(600) < 600)
    partitions = data[0]
    for p in range(PARTITIONS):
        old = np.zeros(len(partitions), bool)
        old[:600] = first & (partitions[:600] == p)
        new = np.zeros(len(partitions), bool)
        new[:600] = second & (partitions[:600] == p)
        assert got[("1", p, 0)] == expected(ref1, *data, old)
        assert got[("2", p, 0)] == expected(ref2, *data, new)


def test_rows_wait_uncounted_no_longer_than_the_pending_limit(manifest):
    ref = DriftReference.from_manifest(manifest)
    data = stream(PENDING_ROWS * 3, seed=3)
    windows = DriftWindows(100 * PENDING_ROWS, 1)  # one window for everything
    partitions = np.zeros(len(data[0]), dtype=np.int64)
    offsets = np.arange(len(data[0]))
    data = (partitions, offsets, data[2], data[3])
    for start in range(0, 2 * PENDING_ROWS + 10, 10):
        windows.add(ref, scored(*data, slice(start, start + 10)))
    window = windows.open[0]
    assert window.counts.n == 2 * PENDING_ROWS  # counted in bulk twice
    assert window.pending_rows == 10
