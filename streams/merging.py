"""The drift merger: partial window counts from every worker become one window's statistics.

Window ``k`` of a model version is complete when every partition of the events
topic has moved past it (a partition's *frontier* is the newest window it sent
counts for). Complete windows are turned into records by the version's
:class:`~streamscore.models.drift.DriftMonitor` in window order; a window still
incomplete ``grace`` seconds after its first counts arrived (an idle partition, the
end of a stream) is closed with what arrived. Counts for a window already closed
are counted as ``late`` and left out. When a new model version's first window
closes, alerts still raised for the previous version are cleared.

The whole state is plain JSON (:meth:`DriftMerger.state`), snapshotted with the
offset of the partial counts it covers, so a merger that restarts resumes exactly
where the last snapshot was taken. Pure: no Kafka.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from streamscore.models.drift import AlertBook, DriftMonitor, DriftReference, WindowCounts

GRACE_SECONDS = 5.0
Key = tuple[str, str, int]  # model, version, window


@dataclass
class _Pending:
    counts: WindowCounts
    since: float


class DriftMerger:
    """Merges partials of the windows of every model version it is told about."""

    def __init__(
        self,
        partitions: int,
        reference_of: Callable[[str, str], DriftReference],
        budget: float,
        clear_after: int,
        grace: float = GRACE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.partitions = partitions
        self.reference_of = reference_of
        self.budget, self.clear_after, self.grace = budget, clear_after, grace
        self.clock = clock
        self.pending: dict[Key, _Pending] = {}
        self.frontier: dict[tuple[str, str], dict[int, int]] = {}
        self.closed: dict[tuple[str, str], int] = {}  # newest window closed per version
        self.monitors: dict[tuple[str, str], DriftMonitor] = {}
        self.latest: dict[str, str] = {}  # model -> the version whose windows closed last
        self.late = 0

    def add(self, partial: dict[str, Any], now_ms: int) -> list[dict]:
        """Take one partial (see :mod:`streamscore.streams.windows`); return records due."""
        model, version = partial["model"], str(partial["version"])
        key, p = int(partial["key"]), int(partial["partition"])
        counts = WindowCounts.from_json(partial["counts"])
        frontier = self.frontier.setdefault((model, version), {})
        frontier[p] = max(frontier.get(p, key), key + (1 if partial.get("done") else 0))
        if key <= self.closed.get((model, version), -1):
            self.late += counts.n
            return []
        pending = self.pending.get((model, version, key))
        if pending is None:
            self.pending[(model, version, key)] = _Pending(counts, self.clock())
        else:
            pending.counts = pending.counts.merge(counts)
        return self.close_due(now_ms)

    def close_due(self, now_ms: int) -> list[dict]:
        """Records of every window complete, or past its grace (also called on a timer)."""
        records: list[dict] = []
        now = self.clock()
        for key in sorted(self.pending):
            model, version, window = key
            frontier = self.frontier.get((model, version), {})
            complete = len(frontier) >= self.partitions and min(frontier.values()) > window
            overdue = any(
                now - self.pending[k].since >= self.grace
                for k in self.pending
                if k[:2] == key[:2] and k[2] >= window
            )
            if not (complete or overdue):
                continue
            records += self._close(key, self.pending.pop(key).counts, now_ms)
        return records

    def _close(self, key: Key, counts: WindowCounts, now_ms: int) -> list[dict]:
        model, version, window = key
        records = []
        previous = self.latest.get(model)
        if previous is not None and previous != version:
            records += self._clear_all(model, previous, now_ms)
        self.latest[model] = version
        monitor = self._monitor(model, version)
        self.closed[(model, version)] = max(self.closed.get((model, version), -1), window)
        return records + monitor.update(counts, ts=now_ms)

    def _clear_all(self, model: str, version: str, now_ms: int) -> list[dict]:
        monitor = self.monitors.get((model, version))
        if monitor is None:
            return []
        records = []
        for name, metric in monitor.alerts.active():
            records.append({
                "ts": now_ms, "model": model, "version": version, "kind": "alert",
                "name": name, "metric": metric, "value": None, "threshold": None,
                "alert": False, "state": "clear", "reason": "model version replaced",
                "window": {"start": None, "end": None, "n": 0, "offsets": {}},
            })  # fmt: skip
        monitor.alerts = AlertBook(self.clear_after)
        return records

    def _monitor(self, model: str, version: str) -> DriftMonitor:
        monitor = self.monitors.get((model, version))
        if monitor is None:
            reference = self.reference_of(model, version)
            monitor = DriftMonitor(reference, self.budget, self.clear_after)
            self.monitors[(model, version)] = monitor
        return monitor

    # --- state ------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        """Everything needed to resume, as plain JSON."""
        now = self.clock()
        return {
            "pending": [
                {"key": list(k), "counts": v.counts.to_json(), "age": now - v.since}
                for k, v in self.pending.items()
            ],
            "frontier": [
                [m, v, {str(p): k for p, k in f.items()}] for (m, v), f in self.frontier.items()
            ],  # fmt: skip
            "closed": [[m, v, k] for (m, v), k in self.closed.items()],
            "alerts": [[m, v, mon.alerts.to_json()] for (m, v), mon in self.monitors.items()],
            "latest": self.latest,
            "late": self.late,
        }

    def restore(self, state: dict[str, Any]) -> None:
        now = self.clock()
        for item in state.get("pending", []):
            model, version, window = item["key"]
            counts = WindowCounts.from_json(item["counts"])
            self.pending[(model, version, int(window))] = _Pending(counts, now - item["age"])
        for model, version, frontier in state.get("frontier", []):
            self.frontier[(model, version)] = {int(p): int(k) for p, k in frontier.items()}
        for model, version, window in state.get("closed", []):
            self.closed[(model, version)] = int(window)
        for model, version, book in state.get("alerts", []):
            monitor = self._monitor(model, version)
            monitor.alerts = AlertBook.from_json(book)
        self.latest = dict(state.get("latest", {}))
        self.late = int(state.get("late", 0))
