"""Hysteresis: one raise and one clear per episode, pinned at the window where each happens."""

from __future__ import annotations

import numpy as np
import pytest

from streamscore.models.drift.alerts import AlertBook, Hysteresis
from streamscore.models.drift.records import DriftMonitor
from streamscore.models.drift.statistics import Statistic
from tests.models.drift import streams
from tests.models.drift.test_counts import counted


def transitions(values, threshold=1.0, clear_after=2):
    state, out = Hysteresis(clear_after), []
    for i, value in enumerate(values):
        state.update(value, threshold)
        out += [(i, "raise")] * state.alerted + [(i, "clear")] * state.cleared
    return out


def test_one_raise_and_one_clear_per_episode():
    values = [0, 2, 2, 0, 2, 0, 0, 0, 2, 0, 0]
    assert transitions(values) == [(1, "raise"), (6, "clear"), (8, "raise"), (10, "clear")]
    assert transitions(values, clear_after=1) == [
        (1, "raise"),
        (3, "clear"),
        (4, "raise"),
        (5, "clear"),
        (8, "raise"),
        (9, "clear"),
    ]
    assert transitions(values, clear_after=3) == [(1, "raise"), (7, "clear"), (8, "raise")]


def test_at_the_threshold_is_not_over_it():
    assert transitions([1.0, 1.0]) == []


def test_clear_after_must_be_positive():
    with pytest.raises(ValueError, match="at least 1"):
        Hysteresis(0)


def test_a_shift_that_comes_and_goes_raises_once_and_clears_once():
    rng = np.random.default_rng(21)
    ref = streams.reference(rng)
    parts = [
        streams.rows(rng, 5_000),
        streams.rows(rng, 5_000, {"x0": 1.0}),
        streams.rows(rng, 8_000),
    ]
    columns = {k: np.concatenate([p[0][k] for p in parts]) for k in parts[0][0]}
    scores = np.concatenate([p[1] for p in parts])
    monitor, alerts = DriftMonitor(ref), []
    for index, start in enumerate(range(0, 18_000, 1_000)):
        records = monitor.update(
            counted(ref, columns, scores, slice(start, start + 1_000)), ts=index
        )
        alerts += [
            (r["ts"], r["name"], r["metric"], r["state"]) for r in records if r["kind"] == "alert"
        ]
    # shifted windows are 5..9; the alert clears after two quiet windows, 10 and 11
    assert [a for a in alerts if a[1] == "x0"] == [
        (5, "x0", "psi", "raise"),
        (5, "x0", "ks", "raise"),
        (11, "x0", "psi", "clear"),
        (11, "x0", "ks", "clear"),
    ]
    assert {a[1] for a in alerts} == {"x0", "score"}  # x0 moves the score too
    assert not monitor.alerts.active()


def test_alert_state_resumes_from_json():
    over = Statistic("x", "feature", "psi", 0.5, 0.1)
    under = Statistic("x", "feature", "psi", 0.0, 0.1)
    book = AlertBook()
    assert book.update([over]) == [(over, "raise")]
    book.update([under])  # one quiet window of two
    resumed = AlertBook.from_json(book.to_json())
    assert resumed.active() == [("x", "psi")]
    assert resumed.update([over]) == []  # still standing: no second raise
    assert resumed.update([under]) == [] and resumed.update([under]) == [(under, "clear")]
