"""The worker's web endpoint: ``/metrics``, ``/health`` and ``/ready``.

* ``/health`` answers 200 while the process runs and its event loop answers (the
  handler runs on that loop: a blocked loop cannot answer, and the probe times out).
* ``/ready`` answers 200 when the worker holds partitions of the events topic and
  its consumer is not stalled, else 503 with the reason. Stalled means events are
  waiting (lag > 0) and none has been processed for :data:`STALL_SECONDS`: a
  consumer stuck after a broker restart (aiokafka #1154) or a batch that never ends.
  A standby worker (more workers than partitions) is alive but not ready.
* ``/metrics`` is the Prometheus exposition of :class:`~streamscore.streams.metrics.WorkerMetrics`.

Readiness is read from the worker's own metrics (assigned partitions, lag, events
in), sampled once a second, so the probe needs nothing from the scoring code.

>>> r = Readiness(stall_seconds=60)
>>> r.update(assigned=0, lag=0, events_in=0, now=0.0).ready
False
>>> r.update(assigned=2, lag=500, events_in=0, now=1.0).ready
True
>>> r.update(assigned=2, lag=500, events_in=0, now=62.0).reason
'stalled: 500 events waiting and none processed for 62 s'
>>> r.update(assigned=2, lag=400, events_in=100, now=63.0).ready
True
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Any

import faust

from streamscore.ground.config import Settings
from streamscore.streams.metrics import WorkerMetrics

STALL_SECONDS = 60.0
SAMPLE_INTERVAL = 1.0


@dataclass
class Readiness:
    """Ready = partitions assigned and progress within ``stall_seconds`` whenever events wait."""

    stall_seconds: float = STALL_SECONDS
    assigned: int = 0
    lag: int = 0
    events_in: float = 0.0
    progress_at: float | None = None  # last time events were processed or none waited
    now: float = 0.0

    def update(self, *, assigned: int, lag: int, events_in: float, now: float) -> Readiness:
        if self.progress_at is None or events_in != self.events_in or lag == 0:
            self.progress_at = now
        self.assigned, self.lag, self.events_in, self.now = assigned, lag, events_in, now
        return self

    @property
    def idle_seconds(self) -> float:
        return self.now - (self.progress_at if self.progress_at is not None else self.now)

    @property
    def reason(self) -> str | None:
        if self.assigned == 0:
            return "no partitions of the events topic assigned"
        if self.lag > 0 and self.idle_seconds >= self.stall_seconds:
            return (
                f"stalled: {self.lag} events waiting and none processed for "
                f"{self.idle_seconds:.0f} s"
            )
        return None

    @property
    def ready(self) -> bool:
        return self.reason is None


def install(app: faust.App, settings: Settings, metrics: WorkerMetrics) -> None:
    """Add ``/metrics``, ``/health`` and ``/ready`` to the worker's web server."""
    readiness = Readiness()
    started = time.time()

    def sample() -> Readiness:
        registry = metrics.registry
        lag = sum(
            s.value for m in metrics.lag.collect() for s in m.samples if s.name.endswith("_lag")
        )
        return readiness.update(
            assigned=int(registry.get_sample_value("streamscore_assigned_partitions") or 0),
            lag=int(lag),
            events_in=registry.get_sample_value("streamscore_events_in_total") or 0.0,
            now=time.monotonic(),
        )

    @app.timer(SAMPLE_INTERVAL)
    async def watch_progress() -> None:
        sample()

    @app.page("/metrics")
    async def prometheus_metrics(web: Any, request: Any) -> Any:
        return web.bytes(metrics.exposition(), content_type="text/plain; version=0.0.4")

    @app.page("/health")
    async def health(web: Any, request: Any) -> Any:
        return web.json({"status": "ok", "pid": os.getpid(), "uptime_s": _up(started)})

    @app.page("/ready")
    async def ready(web: Any, request: Any) -> Any:
        state = sample()
        body = {
            "ready": state.ready,
            "reason": state.reason,
            "assigned_partitions": state.assigned,
            "lag": state.lag,
            "events_in": int(state.events_in),
            "seconds_since_progress": round(state.idle_seconds, 1),
        }
        return web.json(body, status=200 if state.ready else 503)


def _up(started: float) -> float:
    return round(time.time() - started, 1)
