"""Prequential (test-then-train) metrics of the batch and the online model.

Each labelled example updates River's metrics for both models: ``accuracy``,
``log_loss`` (``metrics.LogLoss``; ``metrics.CrossEntropy`` for more than two classes)
and ``roc_auc`` for two classes, ``macro_f1`` and ``balanced_accuracy`` (macro recall)
for more. Every metric is kept twice: ``cumulative`` since the start, and ``rolling``
over the last ``window`` examples. The rolling window is one deque shared by both
models (River's ``utils.Rolling`` would keep one per metric, six times the snapshot
size): an example leaving it is ``revert``-ed from each rolling metric. The rolling
ROC AUC is ``metrics.RollingROCAUC`` (exact over its own window of the same length);
the cumulative one is ``metrics.ROCAUC`` (River's default 10 thresholds: approximate).

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
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

from streamscore.models.reports import drift_record, window_of

MODELS = ("batch", "online")
BINARY = ("accuracy", "log_loss", "roc_auc")
MULTICLASS = ("accuracy", "log_loss", "macro_f1", "balanced_accuracy")
_LABEL_METRICS = {"accuracy", "macro_f1", "balanced_accuracy"}


def _metric(name: str, n_classes: int, rolling: int | None) -> Any:
    from river import metrics

    if name == "log_loss":
        return metrics.LogLoss() if n_classes == 2 else metrics.CrossEntropy()
    if name == "roc_auc":
        return metrics.RollingROCAUC(window_size=rolling) if rolling else metrics.ROCAUC()
    labels: dict[str, Callable[[], Any]] = {
        "accuracy": metrics.Accuracy,
        "macro_f1": metrics.MacroF1,
        "balanced_accuracy": metrics.BalancedAccuracy,
    }
    return labels[name]()


class ModelMetrics:
    """One model's metrics, cumulative and rolling; ``k`` is the true class's index."""

    def __init__(self, n_classes: int, window: int) -> None:
        self.n_classes = n_classes
        names = BINARY if n_classes == 2 else MULTICLASS
        self.cumulative = {m: _metric(m, n_classes, None) for m in names}
        self.rolling = {m: _metric(m, n_classes, window) for m in names}
        # RollingROCAUC keeps its own window: never reverted by hand
        self.reverted = [m for m in names if m != "roc_auc"]

    def _args(self, name: str, k: int, proba: tuple) -> tuple:
        if name in _LABEL_METRICS:
            return k, max(range(self.n_classes), key=proba.__getitem__)
        if self.n_classes == 2:
            return k == 1, {False: proba[0], True: proba[1]}
        return k, dict(enumerate(proba))

    def update(self, k: int, proba: tuple) -> None:
        for name, metric in self.cumulative.items():
            args = self._args(name, k, proba)
            metric.update(*args)
            self.rolling[name].update(*args)

    def revert(self, k: int, proba: tuple) -> None:
        for name in self.reverted:
            self.rolling[name].revert(*self._args(name, k, proba))

    def values(self, scope: str) -> dict:
        return {name: float(m.get()) for name, m in getattr(self, scope).items()}


class Prequential:
    """Both models' metrics over the same examples, with the examples' extent."""

    def __init__(self, n_classes: int, window: int = 1000) -> None:
        self.window = window
        self.models = {name: ModelMetrics(n_classes, window) for name in MODELS}
        self.recent: deque = deque()  # (k, batch proba, online proba, offset, event_ts)
        self.n = 0
        self.first_offset = self.last_offset = self.start = self.end = None

    def update(self, k: int, batch: tuple, online: tuple, offset, event_ts) -> None:
        if len(self.recent) == self.window:
            old = self.recent.popleft()
            self.models["batch"].revert(old[0], old[1])
            self.models["online"].revert(old[0], old[2])
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
        return [
            drift_record("performance", name, metric, value, windows[scope], scope=scope)
            for name, metrics in self.models.items()
            for scope in ("cumulative", "rolling")
            for metric, value in metrics.values(scope).items()
        ]

    def state(self) -> dict:
        """Picklable with the snapshot's trusted types only (no streamscore class)."""
        return {**vars(self), "models": {n: dict(vars(m)) for n, m in self.models.items()}}

    @classmethod
    def from_state(cls, state: dict) -> Prequential:
        out = cls.__new__(cls)
        vars(out).update(state)
        out.models = {}
        for name, data in state["models"].items():
            out.models[name] = ModelMetrics.__new__(ModelMetrics)
            vars(out.models[name]).update(data)
        return out
