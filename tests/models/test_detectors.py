"""Where each detector fires on known error streams (as river/drift/test_drift_detectors.py)."""

from __future__ import annotations

import pickle
import random

import pytest

from streamscore.models.detectors import DETECTORS, ErrorDetectors
from streamscore.models.snapshot import restricted_loads


def error_stream(n: int, change_at: int | None, before: float, after: float, seed: int):
    rng = random.Random(seed)
    rate = lambda i: before if change_at is None or i < change_at else after  # noqa: E731
    return [float(rng.random() < rate(i)) for i in range(n)]


def detections(stream, detectors=None) -> dict[str, list[int]]:
    detectors = detectors or ErrorDetectors(models=("online",))
    fired = {name: [] for name in DETECTORS}
    for i, error in enumerate(stream):
        for name in detectors.update("online", error):
            fired[name].append(i)
    return fired


def test_abrupt_change_is_detected_where_pinned():
    # error rate 0.1 -> 0.4 at example 2,000
    fired = detections(error_stream(4000, 2000, 0.1, 0.4, seed=42))
    assert fired == {"adwin": [2079], "page_hinkley": [2180]}


@pytest.mark.parametrize("seed", range(5))
def test_abrupt_change_is_detected_soon_whatever_the_seed(seed):
    fired = detections(error_stream(4000, 2000, 0.1, 0.4, seed=seed))
    for name in DETECTORS:
        assert fired[name] and 2000 <= fired[name][0] < 2300, (name, fired)


@pytest.mark.parametrize("seed", range(5))
def test_stationary_errors_raise_at_most_two_false_alarms(seed):
    fired = detections(error_stream(5000, None, 0.1, 0.1, seed=100 + seed))
    assert all(len(at) <= 2 for at in fired.values()), fired


def test_state_round_trip_continues_identically():
    stream = error_stream(4000, 2000, 0.1, 0.4, seed=42)
    first = ErrorDetectors(models=("online",))
    detections(stream[:1990], first)
    state = restricted_loads(pickle.dumps(first.state()))
    restored = ErrorDetectors.from_state(state)
    assert detections(stream[1990:], restored) == detections(stream[1990:], first)


def test_an_error_rate_that_falls_is_no_concept_drift():
    # a model that learns: its error falls from 0.5 to 0.05 at example 1,000
    import numpy as np

    rng = np.random.default_rng(3)
    errors = np.r_[rng.random(1000) < 0.5, rng.random(4000) < 0.05].astype(float)
    detectors = ErrorDetectors(models=("online",))
    fired = [i for i, e in enumerate(errors) if detectors.update("online", e)]
    assert fired == []
