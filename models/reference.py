"""Reference statistics: what the training data looked like, for drift to compare against.

Binning convention (use :func:`bin_index` / :func:`proportions` on live data):
``edges`` ``e0 < e1 < ... < ek`` define ``k`` bins ``[e_i, e_{i+1})``; the first bin
also takes everything below ``e0`` and the last everything from ``e_{k-1}`` up, so
every finite value falls in exactly one bin. Missing values are counted apart
(``missing`` is their share of all rows); proportions are over present values.

- numeric features: edges at the deciles of the training values (duplicates merged,
  so a feature with few distinct values has fewer bins), and the share in each bin;
- categorical features: the share of each category (the :data:`TOP_CATEGORIES` most
  frequent; the rest summed in ``other``); boolean features the same with
  ``"false"``/``"true"``;
- score: the model's score on the held-out rows in ten equal bins over [0, 1]; the
  score is the positive class's probability for two classes, otherwise the largest
  probability (:func:`score_of`).

>>> edges = quantile_edges(np.arange(100.0), n_bins=4)
>>> edges
[0.0, 24.75, 49.5, 74.25, 99.0]
>>> proportions(edges, np.array([-5.0, 10.0, 30.0, 99.0, 500.0]))
[0.4, 0.2, 0.0, 0.4]
>>> score_of(np.array([[0.2, 0.8], [0.9, 0.1]])).tolist()
[0.8, 0.1]
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from models.schema import BOOLEAN, CATEGORICAL, NUMERIC, FeatureSchema

N_BINS = 10
TOP_CATEGORIES = 50
SCORE_EDGES = [i / N_BINS for i in range(N_BINS + 1)]


def quantile_edges(values: np.ndarray, n_bins: int = N_BINS) -> list[float]:
    """Bin edges at the quantiles of the finite values (at least two edges)."""
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return [0.0, 0.0]
    edges = np.unique(np.quantile(finite, np.linspace(0.0, 1.0, n_bins + 1)))
    if edges.size == 1:
        edges = np.repeat(edges, 2)
    return [float(e) for e in edges]


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


def numeric_reference(values: np.ndarray) -> dict:
    edges = quantile_edges(values)
    return {
        "edges": edges,
        "proportions": proportions(edges, values),
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
