"""The reference a window is compared with, compiled once per model version.

:class:`DriftReference` turns a manifest's ``reference`` (see
:mod:`streamscore.models.reference`) into what counting and statistics need: cut
points as numpy arrays, category codes, and the reference *counts* (shares times the
reference sample size, so the thresholds know how noisy the reference itself is).

Old manifests: a numeric feature or score without ``fine_edges`` reuses its decile
bins as its fine bins (``fine`` is then False). Its KS statistic is taken at 9 cut
points instead of 99: a coarser lower bound of the continuous KS, still compared with
the continuous threshold, so it can only alert less often, never falsely more often.
We chose this over refusing the model: a worker keeps measuring drift; retraining
restores the full power.

>>> ref = {"numeric": {"x": {"edges": [0.0, 1.0, 2.0], "proportions": [0.5, 0.5],
...                          "missing": 0.0, "count": 10}},
...        "categorical": {"c": {"frequencies": {"a": 0.6, "b": 0.4}, "other": 0.0,
...                              "missing": 0.5, "count": 10}},
...        "boolean": {}, "score": {"edges": [0.0, 0.5, 1.0], "proportions": [0.3, 0.7],
...                                 "count": 10}}
>>> drift_ref = DriftReference.from_manifest({"name": "m", "version": "1", "reference": ref})
>>> x = drift_ref.numeric["x"]
>>> x.cuts.tolist(), x.reference.tolist(), x.fine, x.reference_missing
([-inf, 1.0, inf], [5, 5], False, 0)
>>> c = drift_ref.categorical["c"]
>>> c.codes, c.reference.tolist(), c.reference_missing, c.reference_count
({'a': 0, 'b': 1}, [3, 2, 0], 5, 10)
>>> drift_ref.n_tests  # x: psi, ks, missing; c: psi, chi2, missing; score: psi, ks
8
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from streamscore.ground.errors import ModelError

# Statistics per feature kind, in record order; their number is the m of the budget.
NUMERIC_METRICS = ("psi", "ks", "missing")
CATEGORY_METRICS = ("psi", "chi2", "missing")
SCORE_METRICS = ("psi", "ks")


@dataclass(frozen=True)
class NumericBins:
    """Decile and fine bins of one numeric feature (or of the score).

    ``cuts`` / ``fine_cuts`` are the inner edges between ``-inf`` and ``+inf``: bin
    ``j`` is ``[cuts[j], cuts[j + 1])``. Counting sorts a batch once and finds each cut
    in it (:mod:`~streamscore.models.drift.counts`); NaN sorts after ``+inf``.
    """

    name: str
    cuts: np.ndarray
    fine_cuts: np.ndarray
    reference: np.ndarray  # reference counts per decile bin (present values)
    fine_reference: np.ndarray  # reference counts per fine bin
    reference_missing: int
    reference_count: int  # rows, missing included
    fine: bool  # False: an old manifest, fine bins are the deciles

    @classmethod
    def from_reference(cls, name: str, ref: dict) -> NumericBins:
        count = int(ref["count"])
        missing = round(ref.get("missing", 0.0) * count)
        present = count - missing
        edges = ref["edges"]
        fine = "fine_edges" in ref
        fine_edges = ref["fine_edges"] if fine else edges
        fine_shares = ref["fine_proportions"] if fine else ref["proportions"]
        return cls(
            name,
            _cuts(edges),
            _cuts(fine_edges),
            _counts(ref["proportions"], present),
            _counts(fine_shares, present),
            missing,
            count,
            fine,
        )


@dataclass(frozen=True)
class CategoryBins:
    """Reference categories of a categorical or boolean feature, plus ``other`` last.

    ``codes`` maps a category to its bin; ``len(codes)`` is the ``other`` bin (unseen
    or rare), ``len(codes) + 1`` the missing values when counting.
    """

    name: str
    kind: str  # "categorical" or "boolean"
    codes: dict[str, int]
    reference: np.ndarray  # reference counts per category, then other (present values)
    reference_missing: int
    reference_count: int

    @classmethod
    def from_reference(cls, name: str, kind: str, ref: dict) -> CategoryBins:
        count = int(ref["count"])
        missing = round(ref.get("missing", 0.0) * count)
        present = count - missing
        shares = [*ref["frequencies"].values(), ref.get("other", 0.0)]
        codes = {category: i for i, category in enumerate(ref["frequencies"])}
        return cls(name, kind, codes, _counts(shares, present), missing, count)


@dataclass(frozen=True)
class DriftReference:
    """Everything drift needs from one model version's manifest."""

    model: str
    version: str
    numeric: dict[str, NumericBins]
    categorical: dict[str, CategoryBins]  # categorical and boolean features
    score: NumericBins

    @classmethod
    def from_manifest(cls, manifest: dict) -> DriftReference:
        """Compile ``manifest["reference"]``; :class:`ModelError` when it has none."""
        ref = manifest.get("reference")
        label = f"model {manifest.get('name')!r} version {manifest.get('version')!r}"
        if not isinstance(ref, dict) or "score" not in ref:
            raise ModelError(f"{label} has no reference statistics: retrain it to measure drift")
        numeric = {k: NumericBins.from_reference(k, v) for k, v in ref["numeric"].items()}
        categorical = {
            name: CategoryBins.from_reference(name, kind, spec)
            for kind in ("categorical", "boolean")
            for name, spec in ref.get(kind, {}).items()
        }
        score = NumericBins.from_reference("score", ref["score"])
        return cls(str(manifest["name"]), str(manifest["version"]), numeric, categorical, score)

    @property
    def n_tests(self) -> int:
        """How many statistics each window gets: the m that shares the false-alarm budget."""
        return (
            len(self.numeric) * len(NUMERIC_METRICS)
            + len(self.categorical) * len(CATEGORY_METRICS)
            + len(SCORE_METRICS)
        )


def _cuts(edges: list[float]) -> np.ndarray:
    return np.array([-np.inf, *edges[1:-1], np.inf], dtype=np.float64)


def _counts(shares: list[float], present: int) -> np.ndarray:
    # The shares were counts / present: rounding recovers the counts exactly.
    return np.rint(np.asarray(shares, dtype=np.float64) * present).astype(np.int64)
