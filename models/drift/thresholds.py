"""Thresholds from one number: the false-alarm budget.

The budget ``B`` is the expected number of events between false alarms on a
stationary stream, over all features and statistics together (default one million).
A window of ``n`` events runs ``m`` tests (:attr:`DriftReference.n_tests`). Giving each
test the significance

    alpha = n / (B * m)        (Bonferroni)

makes the expected number of tests over threshold per window at most ``n / B``
whatever the dependence between tests (as long as each test holds its level), i.e.
at most one false alarm per ``B`` events for any window size: windows of different
sizes (time windows) keep the same budget.
An alert is raised only on a crossing (:mod:`~streamscore.models.drift.alerts`), so
raised alerts are fewer still. Bonferroni is conservative here because PSI and KS of
one feature are strongly correlated. Holm would not lower the false-alarm rate: its
first step is Bonferroni's, so on a stationary stream it raises the same first alarm
(it only gains power once something already alerts).

Measured on stationary synthetic streams (``tests/models/drift/test_false_alarms.py``,
10 numeric + 2 categorical features, a new 5,000-row reference every 10,000 events):
3, 11 and 78 statistics over threshold where the budget allows 5, 20 and 200 (budgets
10^6, 10^5, 10^4; windows 1,000, 500, 1,000). Per test, against its alpha, from
millions of simulated windows: KS ~0.6x (a lower bound, tested against the continuous
law); chi-square 1.0x-1.3x (30 Zipf-like categories, the worst); missing share far
below (exact and discrete); PSI see below. The total stays within the budget because
KS and the missing share leave more room than chi-square takes.

The reference is a finite sample too (``m_ref`` values): two-sample tests use the
effective size ``n_eff = n * m_ref / (n + m_ref)``, the variance of a difference of
two sample shares being ``p(1 - p) / n_eff``. Per statistic, with scipy's distributions:

- PSI over ``k`` bins: ``n_eff * PSI`` is asymptotically ``chi2(k - 1)`` (PSI is the
  symmetrised KL divergence, whose second-order term is Pearson's chi-square / n_eff),
  so the threshold is ``chi2.isf(alpha / 3, k - 1) / n_eff``. A third of alpha, because
  PSI's tail is heavier than that law's, even after pooling small cells. Measured over 4-10 million
  simulated windows at alpha 1e-5 to 4.4e-5 (references of 5,000 rows, windows of
  500 and 1,000): PSI crossed ``chi2.isf(alpha)`` 1.1x-1.8x more often than alpha for
  deciles, 5 categories and the score, 2.0x-2.4x for 30 Zipf-like categories. Running PSI at
  :data:`PSI_ALPHA_SHARE` of its Bonferroni share keeps it under alpha (a weighted
  Bonferroni, still a valid union bound) for ~7% on its threshold;
- KS: ``kstwo.isf(alpha, round(n_eff))``, the one-sample KS law at the effective size,
  as ``scipy.stats.ks_2samp`` does for large samples. Our KS is measured at the
  reference's fine cut points, a lower bound of the continuous KS: conservative;
- chi-square of category counts: ``chi2.isf(alpha, dof)`` of the 2 x k table;
- missing share: Fisher's exact test, one-sided (more missing values than in
  training): given ``K`` missing values in window and reference together, the window's
  count is hypergeometric, and the threshold is the largest count not significant.
  The two-proportion normal approximation fails here (computed): with no missing
  value in 5,000 reference rows and rare ones in the stream, its ``z`` crosses 4.2 at 4
  missing of 1,000, while P(all 4 in the window | 4 in all) is 1/1,296, not 2.6e-5.

>>> alpha = significance(n=1_000, budget=1_000_000, tests=38)
>>> round(alpha, 8)
2.632e-05
>>> round(effective_n(1_000, 5_000), 1)
833.3
>>> round(psi_threshold(alpha * PSI_ALPHA_SHARE, cells=10, n_eff=833.3), 4)
0.0476
>>> round(ks_threshold(alpha, n_eff=833.3), 4)
0.0819
>>> missing_threshold(alpha, n=1_000, m=5_000, total_missing=4)
4
"""

from __future__ import annotations

from functools import lru_cache

from scipy import stats

from streamscore.ground.errors import ConfigError

DEFAULT_BUDGET = 1_000_000
# The usual fixed PSI bands, reported beside the calibrated threshold; they ignore the
# window size, so on small windows they flag noise and on large ones they miss drift.
PSI_MODERATE = 0.1
PSI_MAJOR = 0.25
# PSI tests run at this share of alpha: its chi-square law understates its tail 2.4x at
# worst in our measurements (module docstring).
PSI_ALPHA_SHARE = 1 / 3


def significance(n: int, budget: float, tests: int) -> float:
    """Per-test significance for a window of ``n`` events (Bonferroni, capped at 0.5)."""
    if budget <= 0 or tests <= 0:
        raise ConfigError(f"the false-alarm budget ({budget}) and tests ({tests}) must be > 0")
    return min(0.5, n / (budget * tests))


def effective_n(n: float, m: float) -> float:
    """The two-sample effective size ``n * m / (n + m)`` (0 when either is empty)."""
    return n * m / (n + m) if n > 0 and m > 0 else 0.0


# Thresholds repeat from window to window (same n, same reference): kstwo.isf costs
# ~0.9 ms a call and chi2.isf ~80 us, a cache lookup well under 1 us.
@lru_cache(maxsize=4096)
def psi_threshold(alpha: float, cells: int, n_eff: float) -> float:
    return float(stats.chi2.isf(alpha, cells - 1) / n_eff) if cells > 1 else float("inf")


@lru_cache(maxsize=4096)
def ks_threshold(alpha: float, n_eff: float) -> float:
    return float(stats.kstwo.isf(alpha, max(1, round(n_eff))))


@lru_cache(maxsize=4096)
def chi2_threshold(alpha: float, dof: int) -> float:
    return float(stats.chi2.isf(alpha, dof)) if dof > 0 else float("inf")


@lru_cache(maxsize=4096)
def missing_threshold(alpha: float, n: int, m: int, total_missing: int) -> int:
    """The largest window count of missing values that is not significant, given the
    ``total_missing`` of window (``n`` rows) and reference (``m`` rows) together."""
    return int(stats.hypergeom.isf(alpha, n + m, total_missing, n))


def psi_level(value: float) -> str:
    """The conventional band of a PSI value: ``"stable"``, ``"moderate"`` or ``"major"``."""
    return "major" if value >= PSI_MAJOR else "moderate" if value >= PSI_MODERATE else "stable"
