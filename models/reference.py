"""Reference statistics: what the training data looked like, for drift to compare against.

Binning convention (use :func:`bin_index` / :func:`proportions` on live data):
``edges`` ``[e0, e1, ..., ek]`` are the training minimum, the cut points
``e1 < ... < e(k-1)`` and the training maximum; they define ``k`` bins split at
the cut points, ``(-inf, e1), [e1, e2), ..., [e(k-1), +inf)``, so every finite value
falls in exactly one bin, also one outside the training range. Missing values are counted apart
(``missing`` is their share of all rows); proportions are over present values.

- numeric features: cut points at the deciles of the training values (repeats
  merged, so a feature with few distinct values has fewer bins), and the share in
  each bin;
- categorical features: the share of each category (the :data:`TOP_CATEGORIES` most
  frequent; the rest summed in ``other``); boolean features the same with
  ``"false"``/``"true"``;
- score: the model's score on the held-out rows in ten equal bins over [0, 1]; the
  score is the positive class's probability for two classes, otherwise the largest
  probability (:func:`score_of`).

Numeric features and the score also get a fine histogram, ``fine_edges`` and
``fine_proportions``: :data:`N_FINE_BINS` quantile bins of the same values (same
convention), so drift statistics can evaluate a KS distance at 99 cut points instead
of 9. ``count`` is the reference sample size (rows, missing included), which the
drift thresholds need. Manifests written before the fine fields existed lack them;
:mod:`streamscore.models.drift` then falls back to the deciles (a coarser, still
conservative, KS).

>>> edges = quantile_edges(np.arange(100.0), n_bins=4)
>>> edges
[0.0, 24.0, 49.0, 74.0, 99.0]
>>> proportions(edges, np.array([-5.0, 10.0, 30.0, 99.0, 500.0]))
[0.4, 0.2, 0.0, 0.4]
>>> len(quantile_edges(np.arange(1000.0), n_bins=N_FINE_BINS))
101
>>> score_of(np.array([[0.2, 0.8], [0.9, 0.1]])).tolist()
[0.8, 0.1]
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from streamscore.models.schema import BOOLEAN, CATEGORICAL, NUMERIC, FeatureSchema

N_BINS = 10
# 100 bins: KS at 99 cut points, whose grid error (at most the mass of one bin, 1%) is
# well under the KS thresholds of windows up to ~10,000 events (0.05 there).
N_FINE_BINS = 100
TOP_CATEGORIES = 50
SCORE_EDGES = [i / N_BINS for i in range(N_BINS + 1)]


def quantile_edges(values: np.ndarray, n_bins: int = N_BINS) -> list[float]:
    """``[min, cut points..., max]`` of the finite values.

    The cut points are the inner quantiles (observed values, ``inverted_cdf``), with
    repeats and the minimum dropped, so each bin holds at least one training value:
    a 0/1 feature with 70% zeros gets ``[0.0, 1.0, 1.0]``, i.e. bins ``{0}`` and ``{1}``.
    """
    finite = np.sort(values[np.isfinite(values)])
    if finite.size == 0:
        return [0.0, 0.0]
    levels = np.linspace(0.0, 1.0, n_bins + 1)[1:-1]
    cuts = np.unique(np.quantile(finite, levels, method="inverted_cdf"))
    cuts = cuts[cuts > finite[0]]
    return [float(finite[0]), *map(float, cuts), float(finite[-1])]


def bin_index(edges: list[float], values: np.ndarray) -> np.ndarray:
    """The bin of each value under the convention above (values must be finite)."""
    return np.searchsorted(np.asarray(edges[1:-1]), values, side="right")


def proportions(edges: list[float], values: np.ndarray) -> list[float]:
    """Share of the finite ``values`` in each bin of ``edges`` (zeros when none)."""
    finite = values[np.isfinite(values)]
    counts = np.bincount(bin_index(edges, finite), minlength=len(edges) - 1)
    total = counts.sum()
    return [float(c / total) if total else 0.0 for c in counts]


def score_of(proba: np.ndarray) -> np.ndarray:
    """The one-number score of each row: P(positive class) for 2 classes, else max P."""
    return proba[:, 1] if proba.shape[1] == 2 else proba.max(axis=1)


def fine_reference(values: np.ndarray) -> dict:
    """``fine_edges`` and ``fine_proportions``: :data:`N_FINE_BINS` quantile bins."""
    edges = quantile_edges(values, N_FINE_BINS)
    return {"fine_edges": edges, "fine_proportions": proportions(edges, values)}


def numeric_reference(values: np.ndarray) -> dict:
    edges = quantile_edges(values)
    return {
        "edges": edges,
        "proportions": proportions(edges, values),
        **fine_reference(values),
        "missing": float(np.isnan(values).mean()),
        "count": int(values.size),
    }


def categorical_reference(values: pd.Series) -> dict:
    present = values.dropna()
    shares = present.value_counts(normalize=True, sort=False)
    ordered = sorted(shares.items(), key=lambda item: (-item[1], str(item[0])))
    top = {str(k): float(v) for k, v in ordered[:TOP_CATEGORIES]}
    return {
        "frequencies": top,
        "other": float(max(0.0, 1.0 - sum(top.values()))) if present.size else 0.0,
        "missing": float(values.isna().mean()),
        "count": int(values.size),
    }


def boolean_reference(values: np.ndarray) -> dict:
    named = pd.Series(values).map({0.0: "false", 1.0: "true"})
    return categorical_reference(named)


def score_reference(proba: np.ndarray, classes: list) -> dict:
    scores = score_of(proba)
    binary = proba.shape[1] == 2
    return {
        "kind": "positive_class" if binary else "max_probability",
        "class": classes[1] if binary else None,
        "edges": SCORE_EDGES,
        "proportions": proportions(SCORE_EDGES, scores),
        **fine_reference(scores),
        "count": int(scores.size),
    }


def compute_reference(
    frame: pd.DataFrame, schema: FeatureSchema, proba: np.ndarray, classes: list
) -> dict:
    """Reference statistics of a model frame, and of the scores ``proba`` of held-out rows."""
    reference: dict = {"bins": N_BINS, "numeric": {}, "categorical": {}, "boolean": {}}
    for feature in schema.features:
        column = frame[feature.name]
        if feature.kind == NUMERIC:
            reference["numeric"][feature.name] = numeric_reference(column.to_numpy(float))
        elif feature.kind == BOOLEAN:
            reference["boolean"][feature.name] = boolean_reference(column.to_numpy(float))
        elif feature.kind == CATEGORICAL:
            reference["categorical"][feature.name] = categorical_reference(column)
    reference["score"] = score_reference(proba, classes)
    return reference
