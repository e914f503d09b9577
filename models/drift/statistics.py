"""Statistics of one merged window against the reference, each with its threshold.

Per numeric feature: ``psi`` over the decile bins, ``ks`` at the fine cut points and
``missing`` (share of missing values); per categorical or boolean feature: ``psi``
and ``chi2`` over the reference categories plus ``other``, and ``missing``; for the
score (kind ``prediction``): ``psi`` over its ten bins and ``ks``. Thresholds come from
the false-alarm budget (:mod:`~streamscore.models.drift.thresholds`); a statistic
alerts when its value is over its threshold.

Categorical features get Pearson's chi-square test of homogeneity (window vs
reference counts, ``scipy.stats.chi2_contingency``) rather than a Jensen-Shannon
distance: its null law is known at any window size (JS has none of its own: 2(n + m)
times the size-weighted JS is the G-test of the same table, a twin of this one), it
takes unseen categories
(``other`` empty in the reference) as they come, and its threshold follows from
the same alpha as every other test.

Cells are pooled before PSI and chi-square, as both chi-square laws need: adjacent
decile bins merge, rare categories merge with ``other`` (and that cell, if still small,
with the smallest remaining one). Chi-square pools cells whose expected count in the
smaller sample is under 5 (Cochran's rule); PSI under 20, because its log term blows
up on nearly empty cells: with 30 Zipf-like categories in windows of 500 (alpha
2.6e-5, 4 million simulated windows), PSI crossed its chi-square threshold 9x more
often than alpha when pooled at 5, 2x at 20 (deciles: 1.1x-1.8x; see
:mod:`~streamscore.models.drift.thresholds` for how alpha absorbs that).
PSI smooths empty cells to half a count.

Cost: ~1.8 ms per window of 10 numeric and 2 categorical features once thresholds are
cached (``chi2_contingency`` ~0.4 ms of it per categorical feature); a window size not
seen before adds ~1 ms per KS threshold (``kstwo.isf``).

>>> import numpy as np, pandas as pd
>>> from streamscore.models.drift.bins import DriftReference
>>> from streamscore.models.drift.counting import count
>>> from streamscore.models.reference import compute_reference
>>> from streamscore.models.schema import Feature, FeatureSchema
>>> rng = np.random.default_rng(0)
>>> train = pd.DataFrame({"x": rng.normal(size=5_000)})
>>> ref = DriftReference.from_manifest({"name": "m", "version": "1", "reference":
...     compute_reference(train, FeatureSchema((Feature("x", "numeric"),)),
...                       np.column_stack([1 - (p := rng.uniform(size=1_000)), p]), [0, 1])})
>>> window = count(ref, {"x": rng.normal(0.5, 1.0, 1_000)}, rng.uniform(size=1_000))
>>> [(s.name, s.metric, round(s.value, 3), round(s.threshold, 3), s.alert)
...  for s in window_statistics(ref, window)]  # doctest: +NORMALIZE_WHITESPACE
[('x', 'psi', 0.262, 0.042, True), ('x', 'ks', 0.222, 0.074, True),
 ('x', 'missing', 0.0, 0.0, False), ('score', 'psi', 0.046, 0.069, False),
 ('score', 'ks', 0.025, 0.096, False)]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from streamscore.ground.errors import ModelError
from streamscore.models.drift import thresholds as th
from streamscore.models.drift.bins import CategoryBins, DriftReference, NumericBins
from streamscore.models.drift.counts import Histogram, WindowCounts

MIN_EXPECTED = 5  # chi-square: Cochran's rule
PSI_MIN_EXPECTED = 20  # PSI: measured (module docstring)


@dataclass(frozen=True)
class Statistic:
    """One statistic of one feature (or of the score) in one window."""

    name: str
    kind: str  # "feature" or "prediction" (the score)
    metric: str  # "psi", "ks", "chi2" or "missing"
    value: float
    threshold: float  # inf when the window cannot test (e.g. a single bin)

    @property
    def alert(self) -> bool:
        return self.value > self.threshold


def window_statistics(
    reference: DriftReference, counts: WindowCounts, budget: float = th.DEFAULT_BUDGET
) -> list[Statistic]:
    """Every statistic of a merged window, in reference order; none for an empty window."""
    if (counts.model, counts.version) != (reference.model, reference.version):
        raise ModelError(
            f"counts of {counts.model} v{counts.version} cannot be tested against the "
            f"reference of {reference.model} v{reference.version}"
        )
    if counts.n == 0:
        return []
    alpha = th.significance(counts.n, budget, reference.n_tests)
    out = []
    for name, numeric in reference.numeric.items():
        histogram = counts.features[name]
        out += [
            _psi(name, "feature", numeric.reference, histogram.bins, alpha, ordered=True),
            _ks(name, "feature", numeric, histogram, alpha),
            _missing(name, numeric, histogram, counts.n, alpha),
        ]
    for name, category in reference.categorical.items():
        histogram = counts.features[name]
        out += [
            _psi(name, "feature", category.reference, histogram.bins, alpha, ordered=False),
            _chi2(name, category, histogram, alpha),
            _missing(name, category, histogram, counts.n, alpha),
        ]
    score = reference.score
    out += [
        _psi("score", "prediction", score.reference, counts.score.bins, alpha, ordered=True),
        _ks("score", "prediction", score, counts.score, alpha),
    ]
    return out


def psi(reference: np.ndarray, window: np.ndarray) -> float:
    """Population stability index of two count vectors (empty cells count half an event).

    >>> round(psi(np.array([50, 50]), np.array([60, 40])), 4)
    0.0405
    """
    p = np.maximum(window, 0.5) / max(window.sum(), 1)
    q = np.maximum(reference, 0.5) / max(reference.sum(), 1)
    return float(np.sum((p - q) * np.log(p / q)))


def ks_distance(reference: np.ndarray, window: np.ndarray) -> float:
    """Largest CDF difference at the cut points between bins (a lower bound of KS).

    >>> ks_distance(np.array([5, 5, 0]), np.array([2, 4, 4]))
    0.4
    """
    if window.sum() == 0 or reference.sum() == 0:
        return 0.0
    f = np.cumsum(window)[:-1] / window.sum()
    g = np.cumsum(reference)[:-1] / reference.sum()
    return float(np.max(np.abs(f - g), initial=0.0))


def pool(reference: np.ndarray, window: np.ndarray, smallest: int, ordered: bool, least: float):
    """Pool cells whose expected count (reference share x ``smallest``) is under ``least``.

    >>> pool(np.array([1, 30, 1, 1, 30]), np.array([0, 3, 0, 1, 2]), 100, True, 5)
    (array([31, 32]), array([3, 3]))
    >>> pool(np.array([40, 1, 9, 0]), np.array([4, 0, 2, 1]), 100, False, 5)
    (array([40, 10]), array([4, 3]))
    """
    need = least * reference.sum() / max(smallest, 1)
    if ordered:
        starts, total = [], need
        for i, cell in enumerate(reference.tolist()):
            if total >= need:
                starts.append(i)
                total = 0
            total += cell
        if total < need and len(starts) > 1:
            starts.pop()  # the small tail joins the cell before it
        return np.add.reduceat(reference, starts), np.add.reduceat(window, starts)
    rare = reference < need
    if not rare.any():
        return reference, window
    ref = np.append(reference[~rare], reference[rare].sum())
    win = np.append(window[~rare], window[rare].sum())
    if ref[-1] < need and ref.size > 1:
        into = int(np.argmin(ref[:-1]))
        ref[into], win[into] = ref[into] + ref[-1], win[into] + win[-1]
        ref, win = ref[:-1], win[:-1]
    return ref, win


def _psi(name, kind, reference, window, alpha, ordered) -> Statistic:
    n, m = int(window.sum()), int(reference.sum())
    ref, win = pool(reference, window, min(n, m), ordered, PSI_MIN_EXPECTED)
    n_eff = th.effective_n(n, m)
    threshold = (
        th.psi_threshold(alpha * th.PSI_ALPHA_SHARE, ref.size, n_eff) if n_eff else float("inf")
    )
    return Statistic(name, kind, "psi", psi(ref, win), threshold)


def _ks(name: str, kind: str, bins: NumericBins, histogram: Histogram, alpha) -> Statistic:
    fine = histogram.fine
    if fine is None:
        raise ModelError(f"counts of {name!r} have no fine bins: were they made by count()?")
    n_eff = th.effective_n(int(fine.sum()), int(bins.fine_reference.sum()))
    threshold = th.ks_threshold(alpha, n_eff) if n_eff else float("inf")
    return Statistic(name, kind, "ks", ks_distance(bins.fine_reference, fine), threshold)


def _chi2(name: str, bins: CategoryBins, histogram: Histogram, alpha: float) -> Statistic:
    n, m = int(histogram.bins.sum()), int(bins.reference.sum())
    ref, win = pool(bins.reference, histogram.bins, min(n, m), False, MIN_EXPECTED)
    table = np.vstack([win, ref])
    table = table[:, table.sum(axis=0) > 0]
    if n == 0 or m == 0 or table.shape[1] < 2:
        return Statistic(name, "feature", "chi2", 0.0, float("inf"))
    result = stats.chi2_contingency(table, correction=False)
    return Statistic(
        name, "feature", "chi2", float(result.statistic), th.chi2_threshold(alpha, result.dof)
    )


def _missing(
    name: str, bins: NumericBins | CategoryBins, histogram: Histogram, n: int, alpha: float
) -> Statistic:
    total = histogram.missing + bins.reference_missing
    most = th.missing_threshold(alpha, n, bins.reference_count, total)
    return Statistic(name, "feature", "missing", histogram.missing / n, most / n)
