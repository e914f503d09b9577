"""Prequential metrics equal the same metrics recomputed from scratch; the delay summary
and the paired test say what they claim."""

from __future__ import annotations

import random

import numpy as np
import pytest
from scipy.stats import binomtest
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    f1_score,
    log_loss,
    roc_auc_score,
)

from streamscore.models.challenger import PairedWindow, mcnemar
from streamscore.models.delay import DelayHistogram
from streamscore.models.performance import Prequential, drift_record

MULTICLASS = ("accuracy", "log_loss", "macro_f1", "balanced_accuracy")


def stream(n: int, n_classes: int, seed: int = 0):
    rng = random.Random(seed)
    for i in range(n):
        k = rng.randrange(n_classes)
        raw = [rng.random() + (1.5 if j == k else 0) for j in range(n_classes)]
        online = tuple(p / sum(raw) for p in raw)
        batch = tuple(np.roll(online, 1))
        yield k, batch, online, i, 1000 + i


def values(perf: Prequential, name: str, scope: str) -> dict:
    return {r["metric"]: r["value"] for r in perf.records()
            if (r["name"], r["scope"]) == (name, scope)}  # fmt: skip


@pytest.mark.parametrize("n_classes", [2, 3])
def test_rolling_metrics_equal_a_fresh_computation_over_the_window(n_classes):
    data = list(stream(2500, n_classes))
    perf = Prequential(n_classes, window=500)
    for item in data:
        perf.update(*item)
    last = data[-500:]
    fresh = Prequential(n_classes, window=500)
    for item in last:
        fresh.update(*item)
    for name in ("batch", "online"):
        rolling, whole = values(perf, name, "rolling"), values(fresh, name, "cumulative")
        for metric, value in rolling.items():
            # the cumulative AUC bins the scores (0.001 wide): equal to a bin's worth
            tolerance = 2e-3 if metric == "roc_auc" else 1e-9
            assert value == pytest.approx(whole[metric], abs=tolerance), metric
    # and the cumulative ones equal scikit-learn's over everything
    y = [k for k, *_ in data]
    proba = np.array([online for _, _, online, *_ in data])
    cumulative = values(perf, "online", "cumulative")
    assert cumulative["accuracy"] == pytest.approx(accuracy_score(y, proba.argmax(axis=1)))
    assert cumulative["log_loss"] == pytest.approx(log_loss(y, proba), rel=1e-9)
    rolling = values(perf, "online", "rolling")
    y_last, p_last = y[-500:], proba[-500:]
    if n_classes == 2:
        assert rolling["roc_auc"] == pytest.approx(roc_auc_score(y_last, p_last[:, 1]), abs=1e-12)
        assert cumulative["roc_auc"] == pytest.approx(roc_auc_score(y, proba[:, 1]), abs=2e-3)
    else:
        guess = p_last.argmax(axis=1)
        assert rolling["macro_f1"] == pytest.approx(f1_score(y_last, guess, average="macro"))
        assert rolling["balanced_accuracy"] == pytest.approx(balanced_accuracy_score(y_last, guess))


def test_records_name_both_models_both_scopes_and_their_windows():
    perf = Prequential(3, window=10)
    assert perf.records() == []
    for item in stream(25, 3):
        perf.update(*item)
    records = perf.records()
    assert {(r["name"], r["scope"], r["metric"]) for r in records} == {
        (name, scope, metric)
        for name in ("batch", "online")
        for scope in ("cumulative", "rolling")
        for metric in MULTICLASS
    }
    rolling = next(r for r in records if r["scope"] == "rolling")
    assert rolling["window"] == {
        "start": 1015,
        "end": 1024,
        "n": 10,
        "offsets": {"first": 15, "last": 24},
    }
    assert records[0]["window"]["n"] == 25 and records[0]["window"]["offsets"]["first"] == 0


def test_a_nan_value_becomes_null():
    assert drift_record("performance", "batch", "roc_auc", float("nan"), {})["value"] is None


def test_delay_quantiles_are_within_the_bucket_error_and_merge_exactly():
    rng = np.random.default_rng(0)
    delays = rng.lognormal(mean=7, sigma=1.5, size=20_000).round()  # ms, long tail
    whole, halves = DelayHistogram(), [DelayHistogram(), DelayHistogram()]
    for i, d in enumerate(delays):
        whole.update(d)
        halves[i % 2].update(d)
    for q in (0.5, 0.9, 0.99):
        assert whole.quantile(q) == pytest.approx(np.quantile(delays, q), rel=0.05)
    merged = halves[0].merge(halves[1])
    assert merged.summary() == whole.summary()
    assert DelayHistogram.from_dict(whole.to_dict()).summary() == whole.summary()
    assert whole.summary()["max_ms"] == delays.max()


def test_negative_and_huge_delays_are_kept():
    h = DelayHistogram()
    for d in (-20, 0, 10**15):
        h.update(d)
    assert h.summary()["count"] == 3 and h.min == -20 and h.max == 10**15
    assert DelayHistogram().summary()["p50_ms"] is None


def test_mcnemar_is_the_exact_binomial_test_on_discordant_pairs():
    result = mcnemar(batch_only=30, online_only=55)
    assert result["p_value"] == pytest.approx(binomtest(30, 85, 0.5).pvalue)
    assert result["winner"] == "online"
    assert mcnemar(55, 30)["winner"] == "batch"
    assert mcnemar(0, 0) == {
        "p_value": 1.0,
        "winner": None,
        "alpha": 0.05,
        "batch_only": 0,
        "online_only": 0,
    }


def test_paired_window_counts_only_the_last_pairs():
    window = PairedWindow(window=100)
    rng = random.Random(1)
    pairs = [(rng.random() < 0.8, rng.random() < 0.6) for _ in range(350)]
    for pair in pairs:
        window.update(*pair)
    last = pairs[-100:]
    test = window.test()
    assert test["n"] == 100
    assert test["batch_only"] == sum(b and not o for b, o in last)
    assert test["online_only"] == sum(o and not b for b, o in last)
    assert test["both"] + test["neither"] == sum(b == o for b, o in last)
