"""Reference statistics on data whose quantiles and frequencies are known."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from streamscore.models.reference import (
    N_FINE_BINS,
    bin_index,
    categorical_reference,
    compute_reference,
    numeric_reference,
    proportions,
    quantile_edges,
    score_of,
)
from streamscore.models.schema import Feature, FeatureSchema


def test_uniform_edges_are_the_deciles():
    values = np.random.default_rng(0).uniform(0, 1, 200_000)
    ref = numeric_reference(values)
    np.testing.assert_allclose(ref["edges"], np.linspace(0, 1, 11), atol=0.005)
    np.testing.assert_allclose(ref["proportions"], 0.1, atol=1e-3)
    assert ref["missing"] == 0.0 and ref["count"] == 200_000


def test_exact_quantiles_of_a_range():
    # 0..1000: the deciles are exactly 0, 100, ..., 1000
    ref = numeric_reference(np.arange(1001, dtype=float))
    assert ref["edges"] == [float(x) for x in range(0, 1001, 100)]
    assert sum(ref["proportions"]) == pytest.approx(1.0)


def test_normal_edges_match_the_normal_quantiles():
    values = np.random.default_rng(1).normal(10, 2, 200_000)
    edges = quantile_edges(values)
    # the 10% and 90% quantiles of N(10, 2) are 10 -/+ 2 * 1.28155
    assert edges[1] == pytest.approx(10 - 2 * 1.28155, abs=0.03)
    assert edges[9] == pytest.approx(10 + 2 * 1.28155, abs=0.03)


def test_missing_values_are_counted_apart():
    values = np.array([1.0, 2.0, np.nan, np.nan])
    ref = numeric_reference(values)
    assert ref["missing"] == 0.5
    assert sum(ref["proportions"]) == pytest.approx(1.0)


def test_ties_merge_edges():
    ref = numeric_reference(np.array([0.0] * 70 + [1.0] * 30))
    assert ref["edges"] == [0.0, 1.0, 1.0] and ref["proportions"] == [0.7, 0.3]
    constant = numeric_reference(np.full(5, 3.0))
    assert constant["edges"] == [3.0, 3.0] and constant["proportions"] == [1.0]


def test_bin_convention_outer_bins_are_open():
    edges = [0.0, 1.0, 2.0, 3.0]
    assert bin_index(edges, np.array([-9.0, 0.0, 0.99, 1.0, 2.5, 3.0, 99.0])).tolist() == [
        0,
        0,
        0,
        1,
        2,
        2,
        2,
    ]
    assert proportions(edges, np.array([np.nan, 0.5])) == [1.0, 0.0, 0.0]


def test_categorical_frequencies():
    values = pd.Series(["a"] * 50 + ["b"] * 30 + ["c"] * 20 + [np.nan] * 25, dtype=object)
    ref = categorical_reference(values)
    assert ref["frequencies"] == {"a": 0.5, "b": 0.3, "c": 0.2}
    assert ref["missing"] == 0.2 and ref["other"] == 0.0


def test_score_is_positive_class_or_max():
    assert score_of(np.array([[0.3, 0.7]])).tolist() == [0.7]
    assert score_of(np.array([[0.2, 0.5, 0.3]])).tolist() == [0.5]


def test_compute_reference_covers_every_feature_and_the_scores():
    schema = FeatureSchema(
        (Feature("x", "numeric"), Feature("b", "boolean"), Feature("c", "categorical"))
    )
    frame = pd.DataFrame(
        {
            "x": np.linspace(0, 1, 100),
            "b": [1.0] * 25 + [0.0] * 75,
            "c": pd.Series(["u"] * 60 + ["v"] * 40, dtype=object),
        }
    )
    proba = np.column_stack([np.linspace(1, 0, 100), np.linspace(0, 1, 100)])
    ref = compute_reference(frame, schema, proba, ["no", "yes"])
    assert set(ref["numeric"]) == {"x"} and set(ref["categorical"]) == {"c"}
    assert ref["boolean"]["b"]["frequencies"] == {"false": 0.75, "true": 0.25}
    assert ref["score"]["kind"] == "positive_class" and ref["score"]["class"] == "yes"
    assert ref["score"]["edges"][0] == 0.0 and ref["score"]["edges"][-1] == 1.0
    np.testing.assert_allclose(ref["score"]["proportions"], 0.1)


def test_fine_bins_are_the_percentiles():
    values = np.random.default_rng(2).uniform(0, 1, 200_000)
    ref = numeric_reference(values)
    assert len(ref["fine_edges"]) == N_FINE_BINS + 1 and len(ref["fine_proportions"]) == 100
    np.testing.assert_allclose(ref["fine_edges"], np.linspace(0, 1, 101), atol=0.005)
    np.testing.assert_allclose(ref["fine_proportions"], 0.01, atol=1e-4)
    # the deciles are unchanged by the fine bins beside them
    np.testing.assert_allclose(ref["edges"], np.linspace(0, 1, 11), atol=0.005)


def test_the_score_has_fine_bins_of_its_held_out_quantiles():
    scores = np.random.default_rng(3).beta(2, 5, 1_000)
    frame = pd.DataFrame({"x": np.arange(10.0)})
    schema = FeatureSchema((Feature("x", "numeric"),))
    ref = compute_reference(frame, schema, np.column_stack([1 - scores, scores]), [0, 1])
    score = ref["score"]
    assert score["edges"] == [i / 10 for i in range(11)] and score["count"] == 1_000
    assert score["fine_edges"][0] == scores.min() and score["fine_edges"][-1] == scores.max()
    # 10 scores a bin, give or take the cut value itself, which opens the bin above it
    np.testing.assert_allclose(score["fine_proportions"], 0.01, atol=0.0011)
    assert sum(score["fine_proportions"]) == pytest.approx(1.0)
