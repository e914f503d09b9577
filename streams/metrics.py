"""Prometheus metrics of a worker, served at ``/metrics`` on its web endpoint."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
BATCH_BUCKETS = (1, 10, 50, 100, 250, 500, 1000, 2000, 5000)


class WorkerMetrics:
    """One registry per worker (not the global one), so tests can build several."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
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
            "Events per scored micro-batch.",
            buckets=BATCH_BUCKETS,
            registry=r,
        )
        self.batch_seconds = Histogram(
            "streamscore_batch_seconds",
            "Time to decode, validate and score one micro-batch.",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.latency = Histogram(
            "streamscore_scoring_latency_seconds",
            "Event produce time (Kafka record timestamp) to prediction written.",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
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
