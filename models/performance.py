"""Prequential (test-then-train) metrics of the batch and the online model.

Each labelled example updates both models' metrics: ``accuracy`` and ``log_loss`` always,
``roc_auc`` for two classes, ``macro_f1`` and ``balanced_accuracy`` (macro recall) for
more. Every metric is kept twice: ``cumulative`` since the start, and ``rolling`` over
the last ``window`` examples.

Cost, measured: River's metrics (cumulative and rolling, both models: twelve objects
updated and reverted per example) took about half of the learner's ~100 µs per
example. Here an example costs a few counter additions: the cumulative metrics are
running sums (log loss), counts (accuracy; a confusion matrix for more classes) and,
for the ROC AUC, a histogram of the positive class's probability over 1,000 equal bins
(exact but for ties within a bin: scores closer than 0.001); the rolling metrics are
computed from the window's examples with numpy when they are reported (once per
snapshot, about 1 ms). The state is plain lists and numbers (it goes into snapshots).

>>> perf = Prequential(n_classes=2, window=2)
>>> for k, batch, online, offset in [(1, (.2, .8), (.5, .5), 0), (0, (.9, .1), (.6, .4), 1),
...                                  (1, (.7, .3), (.3, .7), 2)]:
...     perf.update(k, batch, online, offset, event_ts=1000 + offset)
>>> for r in perf.records():
...     if r["metric"] == "accuracy":
...         print(r["name"], r["scope"], round(r["value"], 3))
batch cumulative 0.667
batch rolling 0.5
online cumulative 0.667
online rolling 1.0
>>> next(r["window"] for r in perf.records() if r["scope"] == "rolling")
{'start': 1001, 'end': 1002, 'n': 2, 'offsets': {'first': 1, 'last': 2}}
>>> round(perf.rolling_accuracy("batch"), 3)
0.5
"""

from __future__ import annotations

import math
from collections import deque

import numpy as np

from streamscore.models.reports import drift_record, window_of

MODELS = ("batch", "online")
BINS = 1000
EPS = 1e-15  # probabilities are clipped to [EPS, 1] in the log loss, as scikit-learn does


class _Cumulative:
    """One model's running counts since the start."""

    def __init__(self, n_classes: int) -> None:
        self.n_classes = n_classes
        self.n = 0
        self.right = 0
        self.log_loss = 0.0
        self.confusion = [[0] * n_classes for _ in range(n_classes)]  # [truth][predicted]
        self.scores = [[0] * BINS, [0] * BINS]  # binary: P(positive) by truth, binned

    def update(self, k: int, proba: tuple) -> None:
        guess = max(range(self.n_classes), key=proba.__getitem__)
        self.n += 1
        self.right += guess == k
        self.log_loss -= math.log(min(1.0, max(EPS, proba[k])))
        self.confusion[k][guess] += 1
        if self.n_classes == 2:
            self.scores[k][min(BINS - 1, int(proba[1] * BINS))] += 1

    def values(self) -> dict[str, float | None]:
        out: dict[str, float | None] = {
            "accuracy": self.right / self.n,
            "log_loss": self.log_loss / self.n,
        }
        if self.n_classes == 2:
            out["roc_auc"] = _binned_auc(np.array(self.scores[0]), np.array(self.scores[1]))
        else:
            out.update(_macro(np.array(self.confusion)))
        return out


def _binned_auc(negatives: np.ndarray, positives: np.ndarray) -> float | None:
    """P(score of a positive > score of a negative), ties (same bin) counting one half."""
    n_pos, n_neg = positives.sum(), negatives.sum()
    if not n_pos or not n_neg:
        return None
    below = np.cumsum(negatives) - negatives  # negatives in lower bins
    return float((positives * (below + 0.5 * negatives)).sum() / (n_pos * n_neg))


def _macro(confusion: np.ndarray) -> dict[str, float | None]:
    """Macro F1 and balanced accuracy (macro recall) of a confusion matrix [truth, predicted]."""
    right = np.diag(confusion).astype(float)
    truth, predicted = confusion.sum(axis=1), confusion.sum(axis=0)
    present = truth > 0
    if not present.any():
        return {"macro_f1": None, "balanced_accuracy": None}
    recall = np.divide(right, truth, out=np.zeros_like(right), where=truth > 0)
    precision = np.divide(right, predicted, out=np.zeros_like(right), where=predicted > 0)
    total = precision + recall
    f1 = np.divide(2 * precision * recall, total, out=np.zeros_like(right), where=total > 0)
    return {"macro_f1": float(f1[present].mean()),
            "balanced_accuracy": float(recall[present].mean())}  # fmt: skip


def _window_values(n_classes: int, k: np.ndarray, proba: np.ndarray) -> dict[str, float | None]:
    """The metrics of the examples in the rolling window."""
    guess = proba.argmax(axis=1)
    true_p = np.clip(proba[np.arange(len(k)), k], EPS, 1.0)
    out: dict[str, float | None] = {
        "accuracy": float((guess == k).mean()),
        "log_loss": float(-np.log(true_p).mean()),
    }
    if n_classes == 2:
        out["roc_auc"] = _exact_auc(proba[:, 1], k == 1)
    else:
        confusion = np.zeros((n_classes, n_classes), dtype=np.int64)
        np.add.at(confusion, (k, guess), 1)
        out.update(_macro(confusion))
    return out


def _exact_auc(score: np.ndarray, positive: np.ndarray) -> float | None:
    """The Mann-Whitney form of the ROC AUC, ties counting one half."""
    n_pos = int(positive.sum())
    n_neg = len(positive) - n_pos
    if not n_pos or not n_neg:
        return None
    order = np.argsort(score, kind="mergesort")
    ranks = np.empty(len(score))
    sorted_scores = score[order]
    # average ranks of ties
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_scores)) + 1]
    ends = np.r_[starts[1:], len(score)]
    average = (starts + ends + 1) / 2.0
    ranks[order] = np.repeat(average, ends - starts)
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


class Prequential:
    """Both models' metrics over the same examples, with the examples' extent."""

    def __init__(self, n_classes: int, window: int = 1000) -> None:
        self.window = window
        self.n_classes = n_classes
        self.models = {name: _Cumulative(n_classes) for name in MODELS}
        self.recent: deque = deque(maxlen=window)  # (k, batch, online, offset, event_ts)
        self.n = 0
        self.first_offset = self.last_offset = self.start = self.end = None

    def update(self, k: int, batch: tuple, online: tuple, offset, event_ts) -> None:
        self.recent.append((k, batch, online, offset, event_ts))
        self.models["batch"].update(k, batch)
        self.models["online"].update(k, online)
        self.n += 1
        if self.first_offset is None:
            self.first_offset = offset
        self.last_offset = offset
        if event_ts is not None:
            self.start = event_ts if self.start is None else min(self.start, event_ts)
            self.end = event_ts if self.end is None else max(self.end, event_ts)

    def rolling_accuracy(self, name: str) -> float:
        """Share of the window's examples the model got right (1.0 before any)."""
        column = 1 if name == "batch" else 2
        if not self.recent:
            return 1.0
        right = sum(max(range(self.n_classes), key=e[column].__getitem__) == e[0]
                    for e in self.recent)  # fmt: skip
        return right / len(self.recent)

    def _rolling(self) -> dict[str, dict[str, float | None]]:
        k = np.fromiter((e[0] for e in self.recent), np.int64, len(self.recent))
        out = {}
        for name, column in (("batch", 1), ("online", 2)):
            proba = np.array([e[column] for e in self.recent], dtype=np.float64)
            out[name] = _window_values(self.n_classes, k, proba)
        return out

    def windows(self) -> dict:
        times = [e[4] for e in self.recent if e[4] is not None]
        first, last = (self.recent[0][3], self.recent[-1][3]) if self.recent else (None, None)
        return {
            "cumulative": window_of(
                self.n, self.start, self.end, self.first_offset, self.last_offset
            ),
            "rolling": window_of(
                len(self.recent), min(times, default=None), max(times, default=None), first, last
            ),
        }

    def records(self) -> list[dict]:
        """One ``performance`` record per model, scope and metric (none before an example)."""
        if not self.n:
            return []
        windows = self.windows()
        values = {"cumulative": {n: m.values() for n, m in self.models.items()},
                  "rolling": self._rolling()}  # fmt: skip
        return [
            drift_record("performance", name, metric, value, windows[scope], scope=scope)
            for name in MODELS
            for scope in ("cumulative", "rolling")
            for metric, value in values[scope][name].items()
        ]

    def state(self) -> dict:
        """Plain data only (lists, numbers, a deque): snapshots unpickle nothing else."""
        return {
            **{k: v for k, v in vars(self).items() if k != "models"},
            "models": {name: dict(vars(m)) for name, m in self.models.items()},
        }

    @classmethod
    def from_state(cls, state: dict) -> Prequential:
        out = cls.__new__(cls)
        vars(out).update({k: v for k, v in state.items() if k != "models"})
        out.models = {}
        for name, data in state["models"].items():
            metrics = _Cumulative.__new__(_Cumulative)
            vars(metrics).update(data)
            out.models[name] = metrics
        return out
