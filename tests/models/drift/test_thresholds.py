"""Thresholds: the budget scales with the window, and each law agrees with scipy's tests."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from streamscore.ground.errors import ConfigError
from streamscore.models.drift import thresholds as th


def test_the_budget_is_per_event_whatever_the_window():
    # expected tests over threshold per window = m * alpha = n / budget
    for n in (50, 500, 5_000):
        assert th.significance(n, 1_000_000, 38) * 38 == pytest.approx(n / 1_000_000)
    assert th.significance(10**9, 10, 1) == 0.5
    with pytest.raises(ConfigError):
        th.significance(100, 0, 38)


def test_ks_threshold_matches_scipys_two_sample_test():
    rng = np.random.default_rng(41)
    a, b = rng.normal(size=1_000), rng.normal(0.2, 1.0, 5_000)
    result = stats.ks_2samp(a, b, method="asymp")
    threshold = th.ks_threshold(result.pvalue, th.effective_n(1_000, 5_000))
    assert threshold == pytest.approx(result.statistic, rel=1e-4)


def test_missing_threshold_is_fishers_exact_test():
    alpha, n, m, total = 1e-3, 1_000, 5_000, 40
    most = th.missing_threshold(alpha, n, m, total)

    # the largest window count whose one-sided Fisher p-value is still over alpha
    def p_value(k):
        table = [[k, n - k], [total - k, m - total + k]]
        return stats.fisher_exact(table, alternative="greater").pvalue

    assert p_value(most) > alpha >= p_value(most + 1)


def test_psi_bands():
    assert [th.psi_level(v) for v in (0.05, 0.1, 0.2, 0.25)] == [
        "stable",
        "moderate",
        "moderate",
        "major",
    ]
