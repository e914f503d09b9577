"""The trees' fast path gives HistGradientBoosting's own probabilities, bit for bit."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression

from streamscore.models.trees import compile_forest


def _data(classes: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(3000, 6))
    X[rng.random(X.shape) < 0.05] = np.nan  # trees that learned where missing values go
    score = np.nan_to_num(X[:, 0] + X[:, 1] * X[:, 2])
    y = np.digitize(score, np.quantile(score, np.linspace(0, 1, classes + 1)[1:-1]))
    return X, y


@pytest.mark.parametrize("classes", [2, 3])
def test_probabilities_are_the_models_own_bit_for_bit(classes):
    X, y = _data(classes)
    model = HistGradientBoostingClassifier(max_iter=60, random_state=0).fit(X, y)
    forest = compile_forest(model)
    assert forest is not None
    rng = np.random.default_rng(1)
    rows = rng.normal(scale=3, size=(1000, 6))
    rows[::7, 2] = np.nan
    rows[::11, 0] = np.inf
    rows[::13, 1] = -1.79e308
    for n in (1, 8, 1000):
        assert np.array_equal(forest.predict_proba(rows[:n]), model.predict_proba(rows[:n]))


def test_a_row_is_scored_the_same_in_any_batch():
    X, y = _data(2)
    model = HistGradientBoostingClassifier(max_iter=30, random_state=0).fit(X, y)
    forest = compile_forest(model)
    assert forest is not None
    whole = forest.predict_proba(X[:500])
    assert np.array_equal(np.vstack([forest.predict_proba(X[i : i + 1]) for i in range(500)]),
                          whole)  # fmt: skip


def test_other_models_keep_their_own_predict_proba():
    X, y = _data(2)
    X = np.nan_to_num(X)
    assert compile_forest(LogisticRegression().fit(X, y)) is None
    categorical = np.column_stack([X[:, :3], (X[:, 3] > 0).astype(float)])
    native = HistGradientBoostingClassifier(
        max_iter=10, categorical_features=[3], random_state=0
    ).fit(categorical, y)
    assert compile_forest(native) is None  # categorical splits: scikit-learn's own path


def test_a_wrong_width_is_refused_with_the_shapes():
    X, y = _data(2)
    forest = compile_forest(HistGradientBoostingClassifier(max_iter=5).fit(X, y))
    assert forest is not None
    with pytest.raises(ValueError, match="6 features"):
        forest.predict_proba(X[:, :5])
