"""Window counts: exact against a plain reading of the bins, exactly mergeable, JSON-safe."""

from __future__ import annotations

import numpy as np
import orjson
import pytest

from streamscore.ground.errors import ModelError
from streamscore.models.drift.bins import DriftReference
from streamscore.models.drift.counting import count
from streamscore.models.drift.counts import WindowCounts
from streamscore.models.drift.records import DriftMonitor
from streamscore.models.reference import bin_index
from tests.models.drift import streams


@pytest.fixture(scope="module")
def manifest() -> dict:
    return streams.manifest(np.random.default_rng(0))


@pytest.fixture(scope="module")
def ref(manifest) -> DriftReference:
    return DriftReference.from_manifest(manifest)


def counted(ref, columns, scores, rows=slice(None), first=0):
    """Count rows of a stream, with event times, partitions and offsets made from its index."""
    index = np.arange(len(scores))[rows]
    return count(
        ref,
        streams.take(columns, rows),
        scores[rows],
        event_ts=1_700_000_000_000 + 10 * index,
        partitions=index % 3,
        offsets=first + index // 3,
    )


def test_counts_match_the_reference_binning(ref, manifest):
    columns, scores = streams.rows(np.random.default_rng(1), 2_000)
    window = counted(ref, columns, scores)
    spec = manifest["reference"]["numeric"]["x9"]
    x9 = columns["x9"]
    present = x9[~np.isnan(x9)]
    histogram = window.features["x9"]
    assert histogram.missing == int(np.isnan(x9).sum()) > 0
    for edges, got in ((spec["edges"], histogram.bins), (spec["fine_edges"], histogram.fine)):
        expected = np.bincount(bin_index(edges, present), minlength=len(edges) - 1)
        assert got.tolist() == expected.tolist()
    c1 = window.features["c1"]
    known = list(manifest["reference"]["categorical"]["c1"]["frequencies"])
    assert c1.bins[: len(known)].tolist() == [int((columns["c1"] == k).sum()) for k in known]
    assert c1.missing == sum(v is None for v in columns["c1"])
    assert window.n == 2_000 and window.start == 1_700_000_000_000
    assert window.end == 1_700_000_000_000 + 19_990
    assert window.offsets == {0: (0, 666), 1: (0, 666), 2: (0, 665)}


def test_unseen_categories_and_booleans():
    ref = DriftReference.from_manifest(
        {
            "name": "m",
            "version": "1",
            "reference": {
                "numeric": {},
                "categorical": {
                    "c": {
                        "frequencies": {"a": 0.5, "b": 0.5},
                        "other": 0.0,
                        "missing": 0.0,
                        "count": 2,
                    }
                },
                "boolean": {
                    "b": {"frequencies": {"false": 1.0}, "other": 0.0, "missing": 0.0, "count": 2}
                },
                "score": {"edges": [0.0, 0.5, 1.0], "proportions": [0.5, 0.5], "count": 2},
            },
        }
    )
    window = count(
        ref,
        {
            "c": np.array(["b", "new", None, float("nan"), "a", "b"], dtype=object),
            "b": np.array([0.0, 1.0, np.nan, 0.0, 1.0, 1.0]),
        },
        np.full(6, 0.5),
    )
    assert window.features["c"].to_json() == {"bins": [1, 2, 1], "missing": 2}
    # "true" never appeared in training: it is "other" for this reference
    assert window.features["b"].to_json() == {"bins": [2, 3], "missing": 1}


@pytest.mark.parametrize("seed", range(5))
def test_merge_is_exact_for_any_split(ref, seed):
    rng = np.random.default_rng(seed)
    columns, scores = streams.rows(rng, 3_000)
    whole = counted(ref, columns, scores)
    cuts = np.sort(rng.choice(np.arange(1, 3_000), size=int(rng.integers(1, 6)), replace=False))
    parts = [
        counted(ref, columns, scores, slice(a, b))
        for a, b in zip([0, *cuts], [*cuts, 3_000], strict=True)
    ]
    rng.shuffle(parts)
    merged = WindowCounts.empty(ref)
    for part in parts:
        merged = merged.merge(part)
    assert orjson.dumps(merged.to_json()) == orjson.dumps(whole.to_json())
    # two counters split the stream between them, row by row, in any interleaving
    mine = rng.uniform(size=3_000) < 0.5
    a, b = counted(ref, columns, scores, mine), counted(ref, columns, scores, ~mine)
    assert a.merge(b) == b.merge(a) == whole


def test_json_round_trip_is_plain_and_compact(ref):
    window = counted(ref, *streams.rows(np.random.default_rng(2), 1_000))
    data = orjson.loads(orjson.dumps(window.to_json()))
    assert WindowCounts.from_json(data) == window
    assert set(data["offsets"]) == {"0", "1", "2"}
    assert all(isinstance(v, int) for v in data["features"]["x0"]["fine"])
    # 10 numeric features x 110 bins, 2 categorical, the score: a few kilobytes
    assert len(orjson.dumps(data)) < 5_000


def test_empty_counts_are_the_identity(ref):
    window = counted(ref, *streams.rows(np.random.default_rng(3), 10))
    empty = WindowCounts.empty(ref)
    assert empty.n == 0 and empty.start is None and empty.offsets == {}
    assert empty.merge(window) == window.merge(empty) == window
    assert empty == count(ref, {}, np.empty(0))


def test_batch_sizes_do_not_change_a_windows_records(ref):
    columns, scores = streams.shifted_stream(np.random.default_rng(4), 4_000, 2_500, {"x0": 1.0})
    records = {}
    for batch in (7, 1_000):
        monitor, out = DriftMonitor(ref), []
        for start in range(0, 4_000, 1_000):  # windows of 1,000 events
            window = WindowCounts.empty(ref)
            for first in range(start, start + 1_000, batch):
                rows = slice(first, min(first + batch, start + 1_000))
                window = window.merge(counted(ref, columns, scores, rows))
            out += monitor.update(window, ts=0)
        records[batch] = orjson.dumps(out)
    assert records[7] == records[1_000]
    assert b'"kind":"alert"' in records[7]


def test_counts_of_other_versions_or_features_do_not_merge(ref, manifest):
    window = counted(ref, *streams.rows(np.random.default_rng(5), 10))
    other = DriftReference.from_manifest({**manifest, "version": "2"})
    with pytest.raises(ModelError, match="count each model version apart"):
        window.merge(WindowCounts.empty(other))


def test_a_missing_or_misshaped_column_is_refused(ref):
    columns, scores = streams.rows(np.random.default_rng(6), 10)
    with pytest.raises(ModelError, match="need feature 'x3'"):
        count(ref, {k: v for k, v in columns.items() if k != "x3"}, scores)
    with pytest.raises(ModelError, match="'x3' has shape"):
        count(ref, {**columns, "x3": columns["x3"][:5]}, scores)


def test_a_value_at_a_cut_opens_the_bin_above_it(ref, manifest):
    edges = manifest["reference"]["numeric"]["x0"]["edges"]
    values = np.array([*edges, -1e300, 1e300, np.nan, np.nan])
    columns, scores = streams.rows(np.random.default_rng(8), values.size)
    histogram = count(ref, {**columns, "x0": values}, scores).features["x0"]
    expected = np.bincount(bin_index(edges, values[:-2]), minlength=len(edges) - 1)
    assert histogram.bins.tolist() == expected.tolist() and histogram.missing == 2
    assert histogram.bins[0] == 2 and histogram.bins[-1] == 3  # min and below; max, last cut, above
