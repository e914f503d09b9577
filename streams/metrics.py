"""Prometheus metrics of a worker, served at ``/metrics`` on its web endpoint.

Everything is observed once per batch. The per-event latency histogram is a
:class:`BatchHistogram`: prometheus-client's ``Histogram.observe`` takes a lock
and walks the buckets for every value (about 1 µs an event, measured), where one
``np.searchsorted`` + ``np.bincount`` adds a whole batch; it is exposed exactly
like a client-library histogram (``_bucket``, ``_sum``, ``_count``).

>>> h = BatchHistogram("lat", "latency", buckets=(0.1, 1.0))
>>> h.observe_many(np.array([0.05, 0.5, 0.5, 3.0]))
>>> [(s.name, s.labels.get("le"), s.value) for s in next(iter(h.collect())).samples]
[('lat_bucket', '0.1', 1.0), ('lat_bucket', '1.0', 3.0), ('lat_bucket', '+Inf', 4.0), \
('lat_count', None, 4.0), ('lat_sum', None, 4.05)]
"""

from __future__ import annotations

import gc
import threading
import time
from bisect import bisect_left
from collections.abc import Iterator, Sequence

import numpy as np
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.core import HistogramMetricFamily
from prometheus_client.registry import Collector

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
BATCH_BUCKETS = (1, 10, 50, 100, 250, 500, 1000, 2000, 5000, 10000)


class BatchHistogram(Collector):
    """A histogram fed a numpy array at a time."""

    def __init__(self, name: str, documentation: str, buckets: Sequence[float]) -> None:
        self.name, self.documentation = name, documentation
        self.bounds = np.asarray(buckets, dtype=np.float64)
        self.counts = np.zeros(len(buckets) + 1, dtype=np.int64)
        self.total = 0.0
        self._lock = threading.Lock()  # /metrics may be read from another thread

    def observe_many(self, values: np.ndarray) -> None:
        if not len(values):
            return
        slots = np.searchsorted(self.bounds, values, side="left")  # le: value <= bound
        add = np.bincount(slots, minlength=len(self.counts))
        with self._lock:
            self.counts += add
            self.total += float(values.sum())

    def collect(self) -> Iterator[HistogramMetricFamily]:
        with self._lock:
            cumulative = np.cumsum(self.counts).tolist()
            total = self.total
        buckets = [
            (_le(b), float(c)) for b, c in zip(self.bounds.tolist(), cumulative, strict=False)
        ]
        buckets.append(("+Inf", float(cumulative[-1])))
        family = HistogramMetricFamily(self.name, self.documentation)
        family.add_metric([], buckets, round(total, 9))
        yield family


class GcPauses(Collector):
    """How long each cyclic garbage collection held the process, by generation.

    Fed from ``gc.callbacks`` (:meth:`watch`), which run inside the collector on any
    thread: the callback only adds to plain lists (no lock, which an allocation inside
    a client-library ``observe`` could ask for while the same thread holds it).
    """

    name = "streamscore_gc_pause_seconds"

    def __init__(self, buckets: Sequence[float] = LATENCY_BUCKETS) -> None:
        self.bounds = list(buckets)
        self.counts = [[0] * (len(self.bounds) + 1) for _ in range(3)]
        self.sums = [0.0, 0.0, 0.0]
        self._started = 0.0

    def watch(self) -> None:
        if self._on_gc not in gc.callbacks:
            gc.callbacks.append(self._on_gc)

    def unwatch(self) -> None:
        if self._on_gc in gc.callbacks:
            gc.callbacks.remove(self._on_gc)

    def _on_gc(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._started = time.perf_counter()
            return
        seconds = time.perf_counter() - self._started
        generation = min(int(info.get("generation", 0)), 2)
        self.counts[generation][bisect_left(self.bounds, seconds)] += 1
        self.sums[generation] += seconds

    def describe(self) -> Iterator[HistogramMetricFamily]:
        yield HistogramMetricFamily(self.name, self._help(), labels=["generation"])

    def collect(self) -> Iterator[HistogramMetricFamily]:
        family = HistogramMetricFamily(self.name, self._help(), labels=["generation"])
        for generation in range(3):
            cumulative = np.cumsum(self.counts[generation]).tolist()
            buckets = [(_le(b), float(c)) for b, c in zip(self.bounds, cumulative, strict=False)]
            buckets.append(("+Inf", float(cumulative[-1])))
            family.add_metric([str(generation)], buckets, round(self.sums[generation], 9))
        yield family

    @staticmethod
    def _help() -> str:
        return "Time the process was held by each cyclic garbage collection, by generation."


def _le(bound: float) -> str:
    return repr(float(bound))


class WorkerMetrics:
    """One registry per worker (not the global one), so tests can build several.

    It also holds the collectors the global registry would have: ``process_*``
    (CPU seconds, resident memory, open file descriptors, start time), ``python_gc_*``
    and ``python_info``.
    """

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        ProcessCollector(registry=r)
        PlatformCollector(registry=r)
        GCCollector(registry=r)
        self.gc_pauses = GcPauses()  # counts once watch() is called (the worker does)
        r.register(self.gc_pauses)
        self.events_in = Counter(
            "streamscore_events_in", "Events read from the events topic.", registry=r
        )
        self.predictions_out = Counter(
            "streamscore_predictions_out",
            "Predictions written.",
            ["model", "version"],
            registry=r,
        )
        self.dead_letters = Counter(
            "streamscore_dead_letters",
            "Events sent to the dead-letter topic.",
            ["stage"],
            registry=r,
        )
        self.batch_size = Histogram(
            "streamscore_batch_size",
            "Events per scored micro-batch (what one fetch returned).",
            buckets=BATCH_BUCKETS,
            registry=r,
        )
        self.batch_seconds = Histogram(
            "streamscore_batch_seconds",
            "Time to decode, validate, score and deliver one micro-batch.",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.latency = BatchHistogram(
            "streamscore_scoring_latency_seconds",
            "Event produce time (Kafka record timestamp) to prediction delivered.",
            LATENCY_BUCKETS,
        )
        r.register(self.latency)
        self.lag = Gauge(
            "streamscore_consumer_lag",
            "Events on the events topic not yet processed, per partition.",
            ["partition"],
            registry=r,
        )
        self.assigned = Gauge(
            "streamscore_assigned_partitions",
            "Partitions of the events topic assigned to this worker.",
            registry=r,
        )
        self.labels_in = Counter(
            "streamscore_labels",
            "Labels read, by what became of them: joined (an example for the learner), "
            "unknown, expired, duplicate (counted, not learned) or dead_letter.",
            ["outcome"],
            registry=r,
        )
        self.online_snapshot = Gauge(
            "streamscore_online_snapshot_labels",
            "Labels learned by the online-model snapshot this worker predicts with "
            "(0 until the first snapshot).",
            registry=r,
        )
        self.model_version = Gauge(
            "streamscore_model_info",
            "The model version in use (value 1).",
            ["model", "version"],
            registry=r,
        )

    def set_model(self, name: str, version: str) -> None:
        self.model_version.clear()
        self.model_version.labels(name, version).set(1)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
