"""Drift statistics, pure (no Kafka, no asyncio): count, merge, test, alert, report.

The flow, one module per step:

- :mod:`~streamscore.models.drift.bins`: :class:`DriftReference`, a model version's
  manifest ``reference`` compiled once (cut points, category codes, reference counts);
- :mod:`~streamscore.models.drift.counts`: :class:`WindowCounts`, the counts of one
  window; ``merge`` partial counts exactly; plain JSON both ways;
- :mod:`~streamscore.models.drift.counting`: :func:`count` a scored micro-batch (the
  columns of a :class:`~streamscore.models.batch.FeatureBatch` and the scores);
- :mod:`~streamscore.models.drift.thresholds`: per-test significance and thresholds
  from one false-alarm budget (expected events between false alarms);
- :mod:`~streamscore.models.drift.statistics`: :func:`window_statistics` of a merged
  window (PSI, KS, chi-square, missing share), each with its threshold;
- :mod:`~streamscore.models.drift.alerts`: :class:`AlertBook`, hysteresis per
  (feature, metric): one raise, one clear;
- :mod:`~streamscore.models.drift.records`: :class:`DriftMonitor` turns merged windows
  into the ``drift`` topic's records.

Wiring: a worker holds ``DriftReference.from_manifest(model.manifest)`` per model
version and, per scored batch, ``window = window.merge(count(ref, columns, scores,
event_ts=..., partitions=..., offsets=...))``; it sends ``window.to_json()`` when the
window closes. The merger does ``WindowCounts.from_json`` and ``merge`` over workers,
then ``DriftMonitor(ref).update(merged, ts=now_ms)`` gives the records to produce.
"""

from streamscore.models.drift.alerts import AlertBook, Hysteresis
from streamscore.models.drift.bins import DriftReference
from streamscore.models.drift.counting import count
from streamscore.models.drift.counts import Histogram, WindowCounts
from streamscore.models.drift.records import DriftMonitor, drift_records, record_key
from streamscore.models.drift.statistics import Statistic, window_statistics
from streamscore.models.drift.thresholds import DEFAULT_BUDGET

__all__ = [
    "DEFAULT_BUDGET",
    "AlertBook",
    "DriftMonitor",
    "DriftReference",
    "Histogram",
    "Hysteresis",
    "Statistic",
    "WindowCounts",
    "count",
    "drift_records",
    "record_key",
    "window_statistics",
]
