"""Drift and prediction records as ``monitor`` and ``report`` read them: checked, or skipped.

The ``drift`` topic is a public interface that other programs may write to, and
a newer worker may add kinds and fields; a reader must outlive both. :func:`check`
returns a record with its core fields normalised (``ts`` in epoch ms, ``value`` and
``threshold`` floats or None, ``alert`` a bool, ``model`` and ``version`` text) and
every other field kept as it came, or None with the reason in :class:`Skipped`,
which logs each reason once. Nothing here raises on a record.

>>> skipped = Skipped()
>>> r = check({"ts": "2026-01-01T00:00:00Z", "model": "m", "version": 3, "kind": "feature",
...            "name": "age", "metric": "psi", "value": 0.3, "threshold": 0.1,
...            "alert": True, "level": "major"}, skipped)
>>> r["ts"], r["version"], r["alert"], r["level"]
(1767225600000, '3', True, 'major')
>>> check({"kind": "gossip", "name": "x", "metric": "y", "ts": 0}, skipped) is None
True
>>> check([1, 2], skipped), check({"kind": "feature"}, skipped)
(None, None)
>>> skipped.summary()
"3 records skipped: unknown kind 'gossip' (1), not a JSON object (1), no 'name' (1)"
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from typing import Any

from streamscore.ground.times import parse_ms

log = logging.getLogger("streamscore.watch")

KINDS = ("feature", "prediction", "performance", "detector", "alert", "challenger")
STATISTICS = ("feature", "prediction")  # one statistic per (name, metric) per window


class Skipped:
    """Records that could not be read, counted by reason; each reason logged once."""

    def __init__(self) -> None:
        self.reasons: Counter[str] = Counter()

    def add(self, reason: str) -> None:
        if reason not in self.reasons:
            log.warning("skipping drift records: %s", reason)
        self.reasons[reason] += 1

    @property
    def total(self) -> int:
        return sum(self.reasons.values())

    def summary(self) -> str:
        """One line: how many were skipped and why ("" when none)."""
        if not self.total:
            return ""
        why = ", ".join(f"{reason} ({n})" for reason, n in self.reasons.most_common())
        return f"{self.total} records skipped: {why}"


def number(value: Any) -> float | None:
    """A finite float, or None (null, text, NaN, booleans).

    >>> number(1), number("1"), number(float("nan")), number(True)
    (1.0, None, None, None)
    """
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = float(value)
        return value if math.isfinite(value) else None
    return None


def check(value: Any, skipped: Skipped, fallback_ts: int | None = None) -> dict | None:
    """The drift record ``value`` normalised, or None (the reason counted in ``skipped``).

    ``fallback_ts`` (the Kafka record's timestamp) stands in for a missing ``ts``.
    """
    if not isinstance(value, dict):
        skipped.add("not a JSON object")
        return None
    for field in ("kind", "name", "metric"):
        if not isinstance(value.get(field), str):
            skipped.add(f"no {field!r}")
            return None
    if value["kind"] not in KINDS:
        skipped.add(f"unknown kind {value['kind']!r}")
        return None
    try:
        ts = parse_ms(value["ts"]) if value.get("ts") is not None else parse_ms(fallback_ts)
    except ValueError:
        skipped.add("no readable 'ts'")
        return None
    window = value.get("window")
    return {
        **value,
        "ts": ts,
        "model": str(value.get("model") or "?"),
        "version": str(value.get("version") if value.get("version") is not None else "?"),
        "value": number(value.get("value")),
        "threshold": number(value.get("threshold")),
        "alert": value.get("alert") is True,
        "window": window if isinstance(window, dict) else {},
    }


def prediction_view(value: Any) -> tuple[str, str, dict | None] | None:
    """``(model, version, online)`` of a prediction record, or None if it has no model.

    >>> prediction_view({"model": "m", "version": 2, "online": {"n_learned": 5}})
    ('m', '2', {'n_learned': 5})
    >>> prediction_view({"id": "x"}) is None
    True
    """
    if not isinstance(value, dict) or value.get("model") is None:
        return None
    online = value.get("online")
    return (
        str(value["model"]),
        str(value.get("version")),
        online if isinstance(online, dict) else None,
    )
