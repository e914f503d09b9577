"""Count one scored micro-batch into :class:`~streamscore.models.drift.counts.WindowCounts`.

Numeric features and the score: each batch is sorted once and every cut point found
in it; categorical features: one dict lookup per value; boolean features: a table
lookup. No per-event Python loop for numeric features; nothing depends on how a stream
is cut into batches (counts add up exactly).

Cost (measured on the dev machine, numpy 2.4, best of 5 x 200 runs): a batch of 1,000
rows x 10 numeric features and the score costs 0.14 ms (0.14 us per row, budget 3 us);
with 2 categorical features of 20 categories besides, 0.37 ms (0.37 us per row). A
batch of 50 rows: 75 us and 140 us (1.5 and 2.8 us per row): the fixed cost of ~5
numpy calls per feature. Merging two windows: 32 us; ``to_json`` then orjson: 20 us,
3.8 KB. Categorical values are coded with a dict lookup per value: 65 ns a value, five
times faster than ``pandas.Index.get_indexer`` (350 us per 1,000, 230 us per 50).

>>> import numpy as np
>>> from streamscore.models.drift.bins import DriftReference
>>> ref = DriftReference.from_manifest({"name": "m", "version": "1", "reference": {
...     "numeric": {"x": {"edges": [0.0, 1.0, 2.0], "proportions": [0.5, 0.5],
...                       "missing": 0.0, "count": 4}},
...     "boolean": {"b": {"frequencies": {"false": 0.5, "true": 0.5}, "other": 0.0,
...                       "missing": 0.0, "count": 4}},
...     "score": {"edges": [0.0, 0.5, 1.0], "proportions": [0.5, 0.5], "count": 4}}})
>>> window = count(ref, {"x": np.array([0.5, 1.0, np.nan]), "b": np.array([1.0, np.nan, 1.0])},
...                np.array([0.2, 0.9, 0.6]), event_ts=np.array([5, 3, 9]), partitions=0,
...                offsets=np.array([10, 11, 12]))
>>> window.features["x"].to_json(), window.features["b"].to_json()
({'bins': [1, 1], 'missing': 1, 'fine': [1, 1]}, {'bins': [0, 2, 0], 'missing': 1})
>>> window.n, window.start, window.end, window.offsets, window.score.bins.tolist()
(3, 3, 9, {0: (10, 12)}, [1, 2])
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from streamscore.ground.errors import ModelError
from streamscore.models.drift.bins import CategoryBins, DriftReference, NumericBins
from streamscore.models.drift.counts import Histogram, WindowCounts


def count(
    reference: DriftReference,
    columns: Mapping[str, np.ndarray],
    scores: np.ndarray,
    *,
    event_ts: np.ndarray | None = None,
    partitions: np.ndarray | int | None = None,
    offsets: np.ndarray | None = None,
) -> WindowCounts:
    """Count one micro-batch of scored rows.

    Parameters
    ----------
    reference
        The model version's compiled reference.
    columns
        Per feature, one value per row: numeric and boolean features as float64 arrays
        (NaN missing), categorical features as object arrays of ``str`` or ``None``.
    scores
        The model's score of each row (:func:`streamscore.models.reference.score_of`).
    event_ts, partitions, offsets
        Per row (``partitions`` may be one int for the whole batch): event time in
        epoch ms, and the events topic partition and offset the row came from.
    """
    scores = np.asarray(scores, dtype=np.float64)
    rows = scores.size
    features = {}
    for name, numeric in reference.numeric.items():
        features[name] = _numeric(numeric, _column(columns, name, rows, np.float64))
    for name, category in reference.categorical.items():
        if category.kind == "boolean":
            features[name] = _boolean(category, _column(columns, name, rows, np.float64))
        else:
            features[name] = _categorical(category, _column(columns, name, rows, object))
    times = np.asarray(event_ts if event_ts is not None and rows else [], dtype=np.int64)
    return WindowCounts(
        reference.model,
        reference.version,
        rows,
        int(times.min()) if times.size else None,
        int(times.max()) if times.size else None,
        _offsets(partitions, offsets, rows),
        features,
        _numeric(reference.score, scores),
    )


def _column(columns: Mapping[str, np.ndarray], name: str, rows: int, dtype) -> np.ndarray:
    if rows == 0:
        return np.empty(0, dtype=dtype)
    try:
        column = np.asarray(columns[name], dtype=dtype)
    except KeyError:
        raise ModelError(f"drift counts need feature {name!r}: pass every feature") from None
    if column.shape != (rows,):
        raise ModelError(f"feature {name!r} has shape {column.shape}, expected ({rows},)")
    return column


def _numeric(bins: NumericBins, values: np.ndarray) -> Histogram:
    # Sorting once and finding the ~110 cuts in the sorted batch costs 14 us per 1,000
    # values; finding each value among the cuts (searchsorted + bincount) cost 70 us, its
    # unpredictable branches missing the pipeline. Values below a cut are those before it;
    # NaN sorts last, after +inf.
    ordered = np.sort(values)
    below = ordered.searchsorted(bins.cuts)
    fine_below = ordered.searchsorted(bins.fine_cuts)
    return Histogram(
        below[1:] - below[:-1], int(values.size - below[-1]), fine_below[1:] - fine_below[:-1]
    )


def _categorical(bins: CategoryBins, values: np.ndarray) -> Histogram:
    other = len(bins.codes)
    get = bins.codes.get
    codes = np.array([get(v, other) for v in values], dtype=np.intp)
    # None (and NaN, should a caller pass one) is missing: only unknown values are checked.
    unknown = np.flatnonzero(codes == other)
    if unknown.size:
        codes[unknown[[v is None or v != v for v in values[unknown]]]] = other + 1
    counts = np.bincount(codes, minlength=other + 2)
    return Histogram(counts[: other + 1], int(counts[other + 1]))


def _boolean(bins: CategoryBins, values: np.ndarray) -> Histogram:
    other = len(bins.codes)
    table = np.array([bins.codes.get("false", other), bins.codes.get("true", other)])
    present = ~np.isnan(values)
    flags = values[present]
    known = (flags == 0.0) | (flags == 1.0)
    codes = np.where(known, table[np.where(known, flags, 0.0).astype(np.intp)], other)
    counts = np.bincount(codes, minlength=other + 1)
    return Histogram(counts, int(values.size - flags.size))


def _offsets(partitions, offsets, rows: int) -> dict[int, tuple[int, int]]:
    if offsets is None or rows == 0:
        return {}
    offsets = np.asarray(offsets, dtype=np.int64)
    partitions = np.broadcast_to(np.asarray(partitions, dtype=np.int64), offsets.shape)
    out = {}
    for partition in np.unique(partitions).tolist():
        mine = offsets[partitions == partition]
        out[partition] = (int(mine.min()), int(mine.max()))
    return out
