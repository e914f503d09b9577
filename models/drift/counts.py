"""Mergeable counts of one drift window: what workers count and one merger adds up.

Each worker counts its scored micro-batches (:func:`count`) and adds them up
(:meth:`WindowCounts.merge`); the partial counts travel as plain JSON
(:meth:`WindowCounts.to_json`: lists of ints) to one merger, which merges the partials
of a window and computes its statistics. Everything is an integer count, a min/max
or a per-partition first/last offset, so merging is exact and order-independent: a
stream split any way gives the same merged JSON. Batch sizes cannot change a window.

Per window: ``n`` events; event-time ``start``/``end`` (epoch ms, min/max); ``offsets``
``{partition: (first, last)}`` of the events topic; per feature a :class:`Histogram`
(numeric: decile ``bins`` and ``fine`` bins; categorical/boolean: one bin per
reference category then ``other``; ``missing`` apart); the score's histogram.

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
...     "categorical": {"c": {"frequencies": {"a": 1.0}, "other": 0.0, "missing": 0.0,
...                           "count": 4}},
...     "score": {"edges": [0.0, 0.5, 1.0], "proportions": [0.5, 0.5], "count": 4}}})
>>> a = count(ref, {"x": np.array([0.5, np.nan]), "c": np.array(["a", None], dtype=object)},
...           np.array([0.2, 0.9]), event_ts=np.array([1000, 1005]), partitions=0,
...           offsets=np.array([7, 8]))
>>> b = count(ref, {"x": np.array([1.5]), "c": np.array(["z"], dtype=object)},
...           np.array([0.7]), event_ts=np.array([990]), partitions=1, offsets=np.array([3]))
>>> merged = a.merge(b)
>>> merged.n, merged.start, merged.end, merged.offsets
(3, 990, 1005, {0: (7, 8), 1: (3, 3)})
>>> merged.to_json()["features"]
{'x': {'bins': [1, 1], 'missing': 1, 'fine': [1, 1]}, 'c': {'bins': [1, 1], 'missing': 1}}
>>> WindowCounts.from_json(merged.to_json()) == merged == b.merge(a)
True
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from streamscore.ground.errors import ModelError
from streamscore.models.drift.bins import CategoryBins, DriftReference, NumericBins


@dataclass(frozen=True)
class Histogram:
    """Counts of one feature (or of the score) in one window."""

    bins: np.ndarray  # int64 counts per decile bin, or per reference category then other
    missing: int = 0
    fine: np.ndarray | None = None  # int64 counts per fine bin (numeric and score only)

    def merge(self, other: Histogram) -> Histogram:
        if self.bins.shape != other.bins.shape or _shape(self.fine) != _shape(other.fine):
            raise ModelError("cannot merge histograms of different bins: same model version?")
        fine = None if self.fine is None else self.fine + other.fine
        return Histogram(self.bins + other.bins, self.missing + other.missing, fine)

    def to_json(self) -> dict:
        out = {"bins": self.bins.tolist(), "missing": self.missing}
        if self.fine is not None:
            out["fine"] = self.fine.tolist()
        return out

    @classmethod
    def from_json(cls, data: dict) -> Histogram:
        fine = data.get("fine")
        return cls(
            np.array(data["bins"], dtype=np.int64),
            int(data["missing"]),
            None if fine is None else np.array(fine, dtype=np.int64),
        )


@dataclass(frozen=True, eq=False)
class WindowCounts:
    """Counts of the events of one window against one model version's reference."""

    model: str
    version: str
    n: int
    start: int | None  # event time (epoch ms) of the earliest event; None when empty
    end: int | None
    offsets: dict[int, tuple[int, int]] = field(default_factory=dict)
    features: dict[str, Histogram] = field(default_factory=dict)
    score: Histogram | None = None

    @classmethod
    def empty(cls, reference: DriftReference) -> WindowCounts:
        """The counts of no event: the identity of :meth:`merge`."""
        return count(reference, {}, np.empty(0))

    def merge(self, other: WindowCounts) -> WindowCounts:
        """The counts of both windows' events together (exact, order-independent)."""
        if (self.model, self.version) != (other.model, other.version):
            raise ModelError(
                f"cannot merge drift counts of {self.model} v{self.version} with "
                f"{other.model} v{other.version}: count each model version apart"
            )
        if self.features.keys() != other.features.keys():
            raise ModelError("cannot merge drift counts of different features")
        offsets = dict(self.offsets)
        for partition, (first, last) in other.offsets.items():
            mine = offsets.get(partition, (first, last))
            offsets[partition] = (min(mine[0], first), max(mine[1], last))
        return WindowCounts(
            self.model,
            self.version,
            self.n + other.n,
            _extreme(min, self.start, other.start),
            _extreme(max, self.end, other.end),
            dict(sorted(offsets.items())),
            {k: h.merge(other.features[k]) for k, h in self.features.items()},
            self.score.merge(other.score),
        )

    def to_json(self) -> dict:
        """Plain JSON (JSON object keys are strings: partitions become ``"0"``)."""
        return {
            "model": self.model,
            "version": self.version,
            "n": self.n,
            "start": self.start,
            "end": self.end,
            "offsets": {str(p): list(fl) for p, fl in self.offsets.items()},
            "features": {k: h.to_json() for k, h in self.features.items()},
            "score": self.score.to_json(),
        }

    @classmethod
    def from_json(cls, data: dict) -> WindowCounts:
        return cls(
            data["model"],
            data["version"],
            int(data["n"]),
            data["start"],
            data["end"],
            {int(p): (int(f), int(la)) for p, (f, la) in data["offsets"].items()},
            {k: Histogram.from_json(h) for k, h in data["features"].items()},
            Histogram.from_json(data["score"]),
        )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, WindowCounts) and self.to_json() == other.to_json()


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
    for name, bins in reference.numeric.items():
        features[name] = _numeric(bins, _column(columns, name, rows, np.float64))
    for name, bins in reference.categorical.items():
        kind = np.float64 if bins.kind == "boolean" else object
        counter = _boolean if bins.kind == "boolean" else _categorical
        features[name] = counter(bins, _column(columns, name, rows, kind))
    has_ts = event_ts is not None and rows > 0
    return WindowCounts(
        reference.model,
        reference.version,
        rows,
        int(np.min(event_ts)) if has_ts else None,
        int(np.max(event_ts)) if has_ts else None,
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


def _extreme(pick, a: int | None, b: int | None) -> int | None:
    return b if a is None else a if b is None else pick(a, b)


def _shape(array: np.ndarray | None) -> tuple | None:
    return None if array is None else array.shape
