"""Mergeable counts of one drift window: what workers count and one merger adds up.

Each worker counts its scored micro-batches
(:func:`~streamscore.models.drift.counting.count`) and adds them up
(:meth:`WindowCounts.merge`); the partial counts travel as plain JSON
(:meth:`WindowCounts.to_json`: lists of ints) to one merger, which merges the partials
of a window and computes its statistics. Everything is an integer count, a min/max
or a per-partition first/last offset, so merging is exact and order-independent: a
stream split any way gives the same merged JSON. Batch sizes cannot change a window.

Per window: ``n`` events; event-time ``start``/``end`` (epoch ms, min/max); ``offsets``
``{partition: (first, last)}`` of the events topic; per feature a :class:`Histogram`
(numeric: decile ``bins`` and ``fine`` bins; categorical/boolean: one bin per
reference category then ``other``; ``missing`` apart); the score's histogram.

>>> import numpy as np
>>> from streamscore.models.drift.bins import DriftReference
>>> from streamscore.models.drift.counting import count
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

from dataclasses import dataclass

import numpy as np

from streamscore.ground.errors import ModelError
from streamscore.models.drift.bins import DriftReference


@dataclass(frozen=True, eq=False)
class Histogram:
    """Counts of one feature (or of the score) in one window."""

    bins: np.ndarray  # int64 counts per decile bin, or per reference category then other
    missing: int = 0
    fine: np.ndarray | None = None  # int64 counts per fine bin (numeric and score only)

    def merge(self, other: Histogram) -> Histogram:
        if self.bins.shape != other.bins.shape or _shape(self.fine) != _shape(other.fine):
            raise ModelError("cannot merge histograms of different bins: same model version?")
        fine = None
        if self.fine is not None and other.fine is not None:
            fine = self.fine + other.fine
        return Histogram(self.bins + other.bins, self.missing + other.missing, fine)

    def to_json(self) -> dict:
        out = {"bins": self.bins.tolist(), "missing": self.missing}
        if self.fine is not None:
            out["fine"] = self.fine.tolist()
        return out

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Histogram) and self.to_json() == other.to_json()

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
    offsets: dict[int, tuple[int, int]]  # partition -> first and last offset
    features: dict[str, Histogram]
    score: Histogram

    @classmethod
    def empty(cls, reference: DriftReference) -> WindowCounts:
        """The counts of no event: the identity of :meth:`merge`."""
        features = {name: _zeros(b.cuts, b.fine_cuts) for name, b in reference.numeric.items()}
        for name, category in reference.categorical.items():
            features[name] = Histogram(np.zeros(len(category.codes) + 1, dtype=np.int64))
        score = reference.score
        return cls(
            reference.model,
            reference.version,
            0,
            None,
            None,
            {},
            features,
            _zeros(score.cuts, score.fine_cuts),
        )

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


def _extreme(pick, a: int | None, b: int | None) -> int | None:
    return b if a is None else a if b is None else pick(a, b)


def _zeros(cuts: np.ndarray, fine_cuts: np.ndarray) -> Histogram:
    return Histogram(
        np.zeros(cuts.size - 1, dtype=np.int64), 0, np.zeros(fine_cuts.size - 1, dtype=np.int64)
    )


def _shape(array: np.ndarray | None) -> tuple | None:
    return None if array is None else array.shape
