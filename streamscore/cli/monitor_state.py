"""What the monitor knows: pure state fed by records and offset samples, read by the views.

Nothing here touches Kafka or the terminal, so the state can be fed by hand in a
test. Records may arrive out of order across partitions: the newest ``ts`` of each
statistic wins. Rates come from offset samples (records appended per second to
``predictions`` and ``events-dlq``, whoever reads them), over the last
:data:`RATE_SPAN` seconds, so they fall to 0 within that span when nothing comes
and are unknown (None) when no sample is that recent (the broker stopped answering).

>>> state = MonitorState()
>>> state.sample(predictions=0, dead_letters=0, lag=None, now=100.0)
>>> state.sample(predictions=500, dead_letters=1, lag=None, now=101.0)
>>> state.rates(now=101.5)
(500.0, 1.0)
>>> state.sample(predictions=500, dead_letters=1, lag=None, now=104.5)
>>> state.rates(now=104.5)
(0.0, 0.0)
>>> state.rates(now=120.0)
(None, None)
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from streamscore.cli.drift_feed import STATISTICS, Skipped, check, prediction_view
from streamscore.ground.kafka.offsets import GroupLag

RATE_SPAN = 3.0  # seconds of offset samples a rate is measured over
EVENTS_KEPT = 200


@dataclass
class Happening:
    """One line of the events log: an alert raised or cleared, a detector, a challenger."""

    ts: int
    model: str
    kind: str
    text: str
    alert: bool


@dataclass
class ModelDrift:
    """The latest drift records of one model."""

    statistics: dict[tuple[str, str], dict] = field(default_factory=dict)
    raised: dict[tuple[str, str], bool] = field(default_factory=dict)
    performance: dict[tuple[str, str, str], dict] = field(default_factory=dict)
    labels: dict[str, dict] = field(default_factory=dict)
    challenger: dict | None = None
    retrain: dict | None = None
    versions: set[str] = field(default_factory=set)
    last_ts: int | None = None


@dataclass
class ModelScoring:
    """What the predictions say about one model: the version in use, the online model."""

    version: str
    online: dict | None
    seen: float
    count: int = 0


def _newer(old: dict | None, new: dict) -> bool:
    return old is None or new["ts"] >= old["ts"]


class MonitorState:
    """Everything the monitor shows; see the module docstring."""

    def __init__(self, model: str | None = None) -> None:
        self.chosen = model
        self.started = time.time()
        self.drift: dict[str, ModelDrift] = {}
        self.scoring: dict[str, ModelScoring] = {}
        self.happenings: deque[Happening] = deque(maxlen=EVENTS_KEPT)
        self.skipped = Skipped()
        self.samples: deque[tuple[float, int, int]] = deque()
        self.lag: GroupLag | None = None
        self.broker_error: str | None = None
        self.latest_model: str | None = None
        self.drift_read = 0
        self.predictions_read = 0

    # --- feeding ---------------------------------------------------------------
    def add_drift(self, value: Any, fallback_ts: int | None = None) -> None:
        record = check(value, self.skipped, fallback_ts)
        if record is None:
            return
        self.drift_read += 1
        model = record["model"]
        if self.chosen is not None and model != self.chosen:
            return
        self.latest_model = model
        view = self.drift.setdefault(model, ModelDrift())
        view.versions.add(record["version"])
        view.last_ts = max(view.last_ts or record["ts"], record["ts"])
        getattr(self, f"_add_{record['kind']}", self._add_statistic)(view, record)

    def _add_statistic(self, view: ModelDrift, record: dict) -> None:
        key = (record["name"], record["metric"])
        if _newer(view.statistics.get(key), record):
            view.statistics[key] = record

    def _add_alert(self, view: ModelDrift, record: dict) -> None:
        key = (record["name"], record["metric"])
        raised = record.get("state", "raise" if record["alert"] else "clear") == "raise"
        view.raised[key] = raised
        verb = "ALERT" if raised else "cleared"
        value, threshold = _fmt(record["value"]), _fmt(record["threshold"])
        sign = ">" if raised else "<="
        self._happen(record, "alert", f"{verb} {key[0]} {key[1]} {value} {sign} {threshold}")

    def _add_performance(self, view: ModelDrift, record: dict) -> None:
        if record["name"] == "labels":
            if _newer(view.labels.get(record["metric"]), record):
                view.labels[record["metric"]] = record
            return
        key = (record["name"], record["metric"], str(record.get("scope", "rolling")))
        if _newer(view.performance.get(key), record):
            view.performance[key] = record

    def _add_detector(self, view: ModelDrift, record: dict) -> None:
        where = f" #{record['index']}" if "index" in record else ""
        self._happen(
            record,
            "detector",
            f"{record['metric']} on {record['name']}{where}, error {_fmt(record['value'])}",
        )

    def _add_challenger(self, view: ModelDrift, record: dict) -> None:
        if record["metric"] != "mcnemar_p":  # a retraining step (name "retrain")
            self._add_retrain(view, record)
            return
        before = view.challenger
        if not _newer(before, record):
            return
        view.challenger = record
        winner = record.get("winner")
        if before is None or before.get("winner") != winner:
            who = f"{winner} model wins" if winner else "no winner"
            self._happen(record, "challenger", f"{who} (p={_fmt(record['value'])})")

    def _add_retrain(self, view: ModelDrift, record: dict) -> None:
        if _newer(view.retrain, record):
            view.retrain = record
        self._happen(record, "retrain", retrain_text(record))

    def _happen(self, record: dict, kind: str, text: str) -> None:
        happening = Happening(record["ts"], record["model"], kind, text, record["alert"])
        if happening not in self.happenings:  # a feed that restarts reads some records again
            self.happenings.append(happening)

    def add_prediction(self, value: Any, now: float | None = None) -> None:
        view = prediction_view(value)
        if view is None:
            return
        model, version, online = view
        self.predictions_read += 1
        if self.chosen is not None and model != self.chosen:
            return
        self.latest_model = self.latest_model or model
        seen = time.time() if now is None else now
        scoring = self.scoring.get(model)
        if scoring is None:
            scoring = self.scoring[model] = ModelScoring(version, online, seen)
        scoring.version, scoring.seen, scoring.count = version, seen, scoring.count + 1
        if online is not None:
            scoring.online = online

    def sample(
        self, predictions: int, dead_letters: int, lag: GroupLag | None, now: float | None = None
    ) -> None:
        """Totals appended to predictions and dead letters, and the group's lag, now."""
        now = time.time() if now is None else now
        self.samples.append((now, predictions, dead_letters))
        while len(self.samples) > 2 and self.samples[1][0] <= now - RATE_SPAN:
            self.samples.popleft()
        self.lag, self.broker_error = lag, None

    def failed(self, reason: str) -> None:
        self.broker_error = reason

    # --- reading ---------------------------------------------------------------
    def rates(self, now: float | None = None) -> tuple[float | None, float | None]:
        """Predictions/s and dead letters/s over the last samples, None when stale."""
        now = time.time() if now is None else now
        if len(self.samples) < 2 or self.samples[-1][0] < now - RATE_SPAN:
            return None, None
        (t0, p0, d0), (t1, p1, d1) = self.samples[0], self.samples[-1]
        span = max(t1 - t0, 1e-9)
        return max(0, p1 - p0) / span, max(0, d1 - d0) / span

    def totals(self) -> tuple[int, int] | None:
        return (self.samples[-1][1], self.samples[-1][2]) if self.samples else None

    @property
    def model(self) -> str | None:
        """The model shown: the one asked for, else the latest one seen."""
        return self.chosen or self.latest_model

    def model_drift(self) -> ModelDrift | None:
        return self.drift.get(self.model) if self.model else None

    def model_scoring(self) -> ModelScoring | None:
        return self.scoring.get(self.model) if self.model else None

    def features(self) -> dict[str, dict[str, dict]]:
        """Per feature (the score last), its latest record per metric."""
        view = self.model_drift()
        out: dict[str, dict[str, dict]] = {}
        if view is None:
            return out
        for (name, metric), record in sorted(
            view.statistics.items(), key=lambda kv: (kv[1]["kind"] != "feature", kv[0])
        ):
            if record["kind"] in STATISTICS:
                out.setdefault(name, {})[metric] = record
        return out

    def alerting(self, record: dict) -> bool:
        """Whether a statistic is in alert: its alert state if one was seen, else its flag."""
        view = self.model_drift()
        key = (record["name"], record["metric"])
        return view.raised.get(key, record["alert"]) if view else record["alert"]

    def active_alerts(self) -> list[tuple[str, str]]:
        return [
            (name, metric)
            for name, metrics in self.features().items()
            for metric, record in metrics.items()
            if self.alerting(record)
        ]

    def recent(self, n: int) -> list[Happening]:
        """The ``n`` latest happenings of the model shown, oldest first."""
        mine = [h for h in self.happenings if h.model == self.model]
        return sorted(mine, key=lambda h: h.ts)[-n:]


def retrain_text(record: dict) -> str:
    """One retraining step in words.

    >>> retrain_text({"name": "retrain", "metric": "accuracy", "state": "promoted",
    ...               "candidate": "4", "champion": "3", "value": 0.91, "threshold": 0.62})
    'retrain promoted v4 (accuracy 0.91 vs v3 0.62)'
    """
    candidate = record.get("candidate")
    text = f"{record['name']} {record.get('state', '?')}" + (f" v{candidate}" if candidate else "")
    if record.get("value") is not None or record.get("threshold") is not None:
        champion = f"v{record['champion']} " if record.get("champion") else ""
        text += (
            f" ({record['metric']} {_fmt(record.get('value'))} vs "
            f"{champion}{_fmt(record.get('threshold'))})"
        )
    return text


def _fmt(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"
