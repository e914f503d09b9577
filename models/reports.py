"""Records for the ``drift`` topic, as plain JSON dicts; the wiring adds ``ts``,
``model`` and ``version``. Every record has ``kind``, ``name``, ``metric``, ``value``
(null when undefined), ``threshold``, ``alert`` and ``window``: ``start`` and ``end``
are the smallest and largest event times (epoch ms) of the examples it covers, ``n``
their number, ``offsets`` the ``first`` and ``last`` of their examples-topic offsets.

The learner writes:

- ``performance`` of ``batch`` and ``online``: one record per metric (see
  :mod:`.performance`), with ``scope`` ``cumulative`` or ``rolling``;
- ``performance`` of ``labels``: ``delay_mean_ms``, ``delay_p50_ms``, ``delay_p90_ms``,
  ``delay_p99_ms``, ``delay_max_ms`` (``label_ts - event_ts``, see :mod:`.delay`) and the
  counts ``learned``, ``duplicates`` (skipped: already learned) and ``invalid``;
- ``detector``: ``name`` the model, ``metric`` the detector (``adwin``,
  ``page_hinkley``), ``value`` the model's rolling error rate, ``threshold`` the
  detector's (ADWIN's delta, PageHinkley's threshold), ``alert`` true, ``index`` the
  example's position among the learned ones; its window starts at that example's
  event time and ends at the newest event time learned when it fired;
- ``challenger``: ``metric`` ``mcnemar_p``, ``value`` the p-value, ``threshold`` alpha,
  ``alert`` when the online model wins, ``winner`` (``batch``, ``online`` or null) and
  ``counts`` (``n``, ``batch_only``, ``online_only``, ``both``, ``neither``).

>>> window = window_of(2, 1000, 1500, 7, 8)
>>> label_records({"count": 2, "mean_ms": 250.0, "max_ms": 300}, {"learned": 2}, window)[0]
... # doctest: +NORMALIZE_WHITESPACE
{'kind': 'performance', 'name': 'labels', 'metric': 'delay_mean_ms', 'value': 250.0,
 'threshold': None, 'alert': False,
 'window': {'start': 1000, 'end': 1500, 'n': 2, 'offsets': {'first': 7, 'last': 8}},
 'scope': 'cumulative'}
"""

from __future__ import annotations

import math

COUNTS = ("n", "batch_only", "online_only", "both", "neither")


def drift_record(kind: str, name: str, metric: str, value, window: dict, **extra) -> dict:
    """One record; ``extra`` adds fields or overrides ``threshold`` and ``alert``."""
    if isinstance(value, float) and not math.isfinite(value):
        value = None
    record = {"kind": kind, "name": name, "metric": metric, "value": value}
    return {**record, "threshold": None, "alert": False, "window": window, **extra}


def window_of(n: int, start, end, first, last) -> dict:
    return {"start": start, "end": end, "n": n, "offsets": {"first": first, "last": last}}


def label_records(delay: dict, counts: dict, window: dict) -> list[dict]:
    """The label-delay summary (:meth:`.DelayHistogram.summary`) and the learner's counts."""
    metrics = {f"delay_{k}": v for k, v in delay.items() if k != "count"}
    metrics.update(counts)
    return [
        drift_record("performance", "labels", metric, value, window, scope="cumulative")
        for metric, value in metrics.items()
    ]


def challenger_record(test: dict, window: dict) -> dict:
    """The online model challenging the batch model (:meth:`.PairedWindow.test`)."""
    return drift_record(
        "challenger", "online", "mcnemar_p", test["p_value"], window,
        threshold=test["alpha"], alert=test["winner"] == "online", winner=test["winner"],
        counts={k: test[k] for k in COUNTS}, scope="rolling",
    )  # fmt: skip


def detection_record(model: str, detector: str, error: float, threshold: float, index: int,
                     offset, event_ts, newest_ts=None) -> dict:  # fmt: skip
    """A drift detector fired on ``model``'s errors at the example ``index``.

    The window starts at that example's event time and ends at the newest event time
    learned so far: labels come in any order, so that is how far the stream had gone
    when the detector fired."""
    end = event_ts if newest_ts is None else max(newest_ts, event_ts or newest_ts)
    window = window_of(1, event_ts, end, offset, offset)
    return drift_record(
        "detector", model, detector, error, window, threshold=threshold, alert=True, index=index
    )
