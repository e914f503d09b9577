"""Retraining on the newest labelled window: promoted only when the candidate wins."""

from __future__ import annotations

import numpy as np
import pandas as pd

from streamscore.models.registry import Registry
from streamscore.models.retraining import MIN_EXAMPLES, retrain
from streamscore.models.training import train


def _data(n: int, seed: int, concept: int):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 2))
    y = (x[:, concept] > 0).astype(int)
    return [{"a": float(a), "b": float(b)} for a, b in x], y.tolist()


def _current(tmp_path):
    rows, y = _data(800, 0, concept=0)
    frame = pd.DataFrame(rows).assign(y=y)
    registry = Registry(tmp_path)
    return train(frame, "y", name="m", registry=registry, estimator="logreg"), registry


def test_a_candidate_no_better_than_the_champion_is_not_promoted(tmp_path):
    current, registry = _current(tmp_path)
    rows, y = _data(1000, 1, concept=0)  # the concept has not changed
    decision = retrain(current, rows, y, list(range(1000)), registry)
    assert not decision.promote and "held-out" in decision.reason
    assert registry.current("m") == "1"  # nothing promoted here, ever


def test_too_few_examples_train_nothing(tmp_path):
    current, registry = _current(tmp_path)
    rows, y = _data(MIN_EXAMPLES - 1, 2, concept=1)
    decision = retrain(current, rows, y, list(range(len(rows))), registry)
    assert not decision.promote and decision.candidate is None
    assert registry.versions("m") == ["1"]


def test_the_newest_examples_are_the_hold_out(tmp_path):
    current, registry = _current(tmp_path)
    rows, y = _data(800, 3, concept=1)
    times = list(range(800))[::-1]  # given newest first: the order is by event time
    decision = retrain(current, rows, y, times, registry)
    assert (decision.n_train, decision.n_holdout) == (600, 200)
    assert decision.promote and decision.candidate_accuracy > decision.current_accuracy
