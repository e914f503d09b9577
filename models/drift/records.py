"""Records for the ``drift`` topic, and the monitor that makes them from merged windows.

One record per (feature, metric) per window, kind ``feature`` (the score's: kind
``prediction``, name ``score``), plus one kind ``alert`` record per transition, with
the statistic's value and threshold, ``alert`` true and ``state`` ``"raise"`` when an
alert rises, false and ``"clear"`` when it clears. Every record carries the window:
``start``/``end`` (event time, epoch ms), ``n`` events, ``offsets`` ``{partition:
[first, last]}`` of the events topic. PSI records add the fixed conventional bands
(``conventional``: 0.1 moderate, 0.25 major) and the ``level`` they put the value in,
beside the calibrated ``threshold``. A threshold that cannot be computed (a single
bin, no present value) is ``null``. The topic key is ``model/name`` (:func:`record_key`).

:class:`DriftMonitor` is all a merger needs per model version: ``update(counts, ts)``
returns the window's records, alerts included.

>>> import numpy as np
>>> from streamscore.models.drift.bins import DriftReference
>>> from streamscore.models.drift.counting import count
>>> ref = DriftReference.from_manifest({"name": "m", "version": "1", "reference": {
...     "numeric": {}, "score": {"edges": [0.0, 0.5, 1.0], "proportions": [0.5, 0.5],
...                              "count": 1000}}})
>>> monitor = DriftMonitor(ref)
>>> window = count(ref, {}, np.full(200, 0.9), event_ts=np.arange(200), partitions=0,
...                offsets=np.arange(200))
>>> for record in monitor.update(window, ts=5000):
...     print(record["kind"], record["metric"], record["alert"], record.get("state"))
prediction psi True None
prediction ks True None
alert psi True raise
alert ks True raise
>>> record["window"]
{'start': 0, 'end': 199, 'n': 200, 'offsets': {'0': [0, 199]}}
>>> record_key(record)
'm/score'
"""

from __future__ import annotations

import math

from streamscore.models.drift.alerts import CLEAR_AFTER, AlertBook
from streamscore.models.drift.bins import DriftReference
from streamscore.models.drift.counts import WindowCounts
from streamscore.models.drift.statistics import Statistic, window_statistics
from streamscore.models.drift.thresholds import (
    DEFAULT_BUDGET,
    PSI_MAJOR,
    PSI_MODERATE,
    psi_level,
)


def window_of(counts: WindowCounts) -> dict:
    """The ``window`` field of every record of a window."""
    return {
        "start": counts.start,
        "end": counts.end,
        "n": counts.n,
        "offsets": {str(p): [first, last] for p, (first, last) in counts.offsets.items()},
    }


def drift_records(
    counts: WindowCounts,
    statistics: list[Statistic],
    transitions: list[tuple[Statistic, str]],
    ts: int,
) -> list[dict]:
    """The records of one window: its statistics, then its alert transitions."""
    window = window_of(counts)
    head = {"ts": ts, "model": counts.model, "version": counts.version}
    records = []
    for stat in statistics:
        record = {**head, "kind": stat.kind, **_body(stat), "alert": stat.alert}
        if stat.metric == "psi":
            record["conventional"] = {"moderate": PSI_MODERATE, "major": PSI_MAJOR}
            record["level"] = psi_level(stat.value)
        records.append({**record, "window": window})
    for stat, state in transitions:
        alert = state == "raise"
        records.append(
            {
                **head,
                "kind": "alert",
                **_body(stat),
                "alert": alert,
                "state": state,
                "window": window,
            }
        )
    return records


def record_key(record: dict) -> str:
    """The drift topic's key of a record: ``model/name``."""
    return f"{record['model']}/{record['name']}"


class DriftMonitor:
    """Statistics, alerts and records of the merged windows of one model version.

    Parameters
    ----------
    reference
        The model version's compiled reference.
    budget
        Expected events between false alarms on a stationary stream, all tests together.
    clear_after
        Consecutive quiet windows that clear an alert.
    alerts
        Alert state to resume from (:meth:`AlertBook.from_json`); new when None.
    """

    def __init__(
        self,
        reference: DriftReference,
        budget: float = DEFAULT_BUDGET,
        clear_after: int = CLEAR_AFTER,
        alerts: AlertBook | None = None,
    ) -> None:
        self.reference = reference
        self.budget = budget
        self.alerts = alerts if alerts is not None else AlertBook(clear_after)

    def update(self, counts: WindowCounts, ts: int) -> list[dict]:
        """Take one merged window; return its records (``ts``: when they are made, ms)."""
        statistics = window_statistics(self.reference, counts, self.budget)
        transitions = self.alerts.update(statistics)
        return drift_records(counts, statistics, transitions, ts)


def _body(stat: Statistic) -> dict:
    threshold = stat.threshold if math.isfinite(stat.threshold) else None
    return {"name": stat.name, "metric": stat.metric, "value": stat.value, "threshold": threshold}
