"""Where each statistic fires: shifts are caught within 2,000 events, the rest stays quiet."""

from __future__ import annotations

import numpy as np
import pytest

from streamscore.models.drift.bins import DriftReference
from streamscore.models.drift.counting import count
from streamscore.models.drift.statistics import window_statistics
from tests.models.drift import streams
from tests.models.drift.test_bins import old

SHIFT_AT = 5_300  # mid-window, as a real shift would be


def alerts_by_window(ref, columns, scores, window: int) -> list[set[tuple[str, str]]]:
    out = []
    for start in range(0, len(scores), window):
        rows = slice(start, start + window)
        stats = window_statistics(ref, count(ref, streams.take(columns, rows), scores[rows]))
        out.append({(s.name, s.metric) for s in stats if s.alert})
    return out


CASES = {
    # name: (numeric shift, c0 shares, the feature that drifts, first alerting window
    #        with windows of 1,000 and of 500)
    "x0 N(0,1) -> N(0.5,1)": ({"x0": 0.5}, streams.C0_SHARES, "x0", 5, 11),
    "x0 N(0,1) -> N(2,1)": ({"x0": 2.0}, streams.C0_SHARES, "x0", 5, 10),
    "c0 shares -> uniform": (None, np.full(5, 0.2), "c0", 5, 10),
}


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("window", [1_000, 500])
def test_a_shift_alerts_within_2000_events_and_nothing_else_does(case, window):
    shift, c0_shares, drifting, first_1000, first_500 = CASES[case]
    rng = np.random.default_rng(11)
    ref = streams.reference(rng)  # 5,000 training rows
    columns, scores = streams.shifted_stream(rng, 10_000, SHIFT_AT, shift, c0_shares)
    alerts = alerts_by_window(ref, columns, scores, window)
    first = next(i for i, found in enumerate(alerts) if found)
    assert first == (first_1000 if window == 1_000 else first_500)
    assert (first + 1) * window - SHIFT_AT <= 2_000  # the window closes in time
    assert all(found for found in alerts[first:])  # and the shift stays seen
    for found in alerts:
        # the drifting feature and the score it moves; never an unshifted feature
        assert {name for name, _ in found} <= {drifting, "score"}


def test_an_old_manifest_still_detects_with_a_coarser_ks():
    rng = np.random.default_rng(11)
    manifest = streams.manifest(rng)
    new, coarse = (
        DriftReference.from_manifest(manifest),
        DriftReference.from_manifest(old(manifest)),
    )
    columns, scores = streams.shifted_stream(rng, 4_000, 0, {"x0": 0.5})
    for found in alerts_by_window(coarse, columns, scores, 1_000):
        assert {("x0", "psi"), ("x0", "ks")} <= found
        assert {name for name, _ in found} <= {"x0", "score"}
    for start in range(0, 4_000, 1_000):
        rows = slice(start, start + 1_000)
        fine, deciles = (
            {
                s.metric: s
                for s in window_statistics(r, count(r, streams.take(columns, rows), scores[rows]))
                if s.name == "x0"
            }
            for r in (new, coarse)
        )
        # the same threshold; the decile KS is a lower bound of the fine one
        assert deciles["ks"].threshold == fine["ks"].threshold
        assert deciles["ks"].value <= fine["ks"].value


def test_missing_values_alert_when_they_rise_not_when_rare():
    rng = np.random.default_rng(12)
    ref = streams.reference(rng)  # x0 has no missing value in training, x9 5%
    columns, scores = streams.rows(rng, 1_000)
    columns["x0"][:3] = np.nan  # a rare missing value is no drift
    columns["x9"][rng.uniform(size=1_000) < 0.10] = np.nan  # 5% -> ~15%
    stats = {(s.name, s.metric): s for s in window_statistics(ref, count(ref, columns, scores))}
    assert not stats[("x0", "missing")].alert and stats[("x0", "missing")].value == 0.003
    assert stats[("x9", "missing")].alert
    assert 0.05 < stats[("x9", "missing")].threshold < stats[("x9", "missing")].value


def test_unseen_categories_alert():
    rng = np.random.default_rng(13)
    ref = streams.reference(rng)
    columns, scores = streams.rows(rng, 1_000)
    columns["c1"][:60] = "never seen"
    found = {
        (s.name, s.metric) for s in window_statistics(ref, count(ref, columns, scores)) if s.alert
    }
    # chi-square pools at 5 expected, PSI at 20 (where "other" joins the rare categories)
    assert found == {("c1", "chi2")}


def test_an_empty_window_has_no_statistics():
    ref = streams.reference(np.random.default_rng(14))
    assert window_statistics(ref, count(ref, {}, np.empty(0))) == []
