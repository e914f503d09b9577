"""Assemble a worker: pick the model version, build the app, wire the stages."""

from __future__ import annotations

import gc
import logging
import sys
import time
from typing import Any

import faust

from streamscore.ground.config import Settings
from streamscore.ground.errors import BrokerError, ConfigError, ModelError, StreamscoreError
from streamscore.ground.kafka.admin import create_topics, wait_for_broker
from streamscore.models.artifact import LoadedModel
from streamscore.models.registry import Registry
from streamscore.models.threads import limit_native_threads
from streamscore.streams import drift, heartbeat, learning, model_updates, scoring, web
from streamscore.streams.app import create_app
from streamscore.streams.metrics import WorkerMetrics
from streamscore.streams.scorer import OnlineView, Scorer

log = logging.getLogger(__name__)
SWITCH_INTERVAL = 0.001  # seconds a thread may hold the GIL while another waits for it


def initial_model(
    settings: Settings, registry: Registry, name: str
) -> tuple[LoadedModel, dict[int, int]]:
    """The version to start with: the newest promotion on the topic, else the registry's current.

    Returns the loaded model and the model-updates offsets to follow from.
    """
    value, offsets = model_updates.latest_update(settings, name)
    if value is not None:
        name_, version = model_updates.install_update(registry, value)
        return registry.load(name_, version), offsets
    if name not in registry.models():
        raise ModelError(
            f"model {name!r} is neither in the registry at {registry.path} nor on "
            f"{settings.model_updates_topic}; train it with `streamscore train ... --model {name}`"
        )
    return registry.load(name), offsets


def wait_for_kafka(settings: Settings) -> None:
    """Wait for the brokers as long as it takes (a worker may start before them), saying
    once what it waits for, then every ten minutes."""
    said: float | None = None
    while True:
        try:
            wait_for_broker(settings)
            if said is not None:
                log.info("the Kafka broker at %s answers", settings.bootstrap)
            return
        except BrokerError as exc:
            if said is None or time.monotonic() - said > 600:
                log.warning("waiting for the Kafka broker at %s: %s", settings.bootstrap, exc)
                said = time.monotonic()


def build_worker(settings: Settings, model_name: str | None = None) -> faust.App:
    """A Faust app that scores events with ``model_name`` and follows its promotions."""
    name = model_name or settings.model_name
    if not name:
        raise ConfigError("no model to score with: pass --model NAME or set STREAMSCORE_MODEL_NAME")
    # Measured: HistGradientBoosting on 1000-row batches scores ~25x faster with one
    # OpenMP thread than with two on a 2-core host, where threads spin against the loop.
    limit_native_threads(settings.model_threads)
    # The worker's event loop, Faust's consumer thread (aiokafka in its own loop) and the
    # kafka-python threads that follow snapshots and model updates pass the GIL to each
    # other on every fetch and every wake-up; a thread that asks for it waits up to the
    # switch interval (5 ms by default) while another computes. At 1,000 events/s,
    # six 10 s trials each way, side by side: p99 33-53 ms (median 38) at 1 ms against
    # 32-54 ms (median 50) at 5 ms (`scripts/latency_variants.py scoring`).
    sys.setswitchinterval(SWITCH_INTERVAL)
    wait_for_kafka(settings)
    create_topics(settings)
    registry = Registry(settings.registry_path)
    model, offsets = initial_model(settings, registry, name)
    model.prepare()
    metrics = WorkerMetrics()
    metrics.gc_pauses.watch()
    metrics.set_model(model.name, model.version)
    scorer = Scorer(model, max_event_bytes=settings.max_event_bytes)
    app = create_app(settings)
    scoring.install(app, settings, scorer, metrics)
    web.install(app, settings, metrics)  # /metrics, /health, /ready
    heartbeat.install(app, settings, lambda: (scorer.model.name, scorer.model.version))
    drift.install(app, settings, registry)
    if settings.online_model != "off":
        learning.install(app, settings, lambda: scorer.model, registry)
        follow_online = learning.follow_snapshots(settings, name, _set_online(scorer, metrics))

        @app.task
        async def follow_online_snapshots() -> None:
            await follow_online

    def swap_in(value: bytes) -> None:
        try:
            name_, version = model_updates.install_update(registry, value)
            new_model = registry.load(name_, version).prepare()
        except StreamscoreError as exc:
            # A bad update must not stop scoring: keep the running version, say why.
            log.error(
                "model update refused, still scoring with %s/%s: %s",
                scorer.model.name,
                scorer.model.version,
                exc,
            )
            return
        scorer.swap(new_model)
        metrics.set_model(new_model.name, new_model.version)
        log.info("now scoring with %s/%s", new_model.name, new_model.version)

    @app.task
    async def follow_model_updates() -> None:
        await model_updates.follow_updates(settings, name, swap_in, offsets)

    announce_readiness(app, settings, scorer)
    settle_heap()  # the modules, the model and the app are built
    settled: list[bool] = []

    @app.on_partitions_assigned.connect
    async def settle_once_started(sender: Any, /, *args: Any, signal: Any, **kwargs: Any) -> None:
        if not settled:  # and now the clients, the web server and the agents' state
            settled.append(True)
            settle_heap()

    return app


def settle_heap() -> None:
    """Collect once, then freeze what is alive: the cyclic collector no longer walks it.

    A worker holds ~240,000 objects once started (the libraries' modules, the model, the
    app). Each full collection walked them all while the event loop waited: measured
    with ``gc.callbacks`` at 1,000 events/s, full collections held the worker 180-420 ms
    after start-up, against 3-80 ms with the start-up heap frozen (``gc.freeze``, as
    CPython's documentation advises for long-lived processes). Frozen objects are still
    freed when nothing refers to them (a replaced model): only a reference cycle among
    them would stay.
    """
    gc.collect()
    gc.freeze()


def _set_online(scorer: Scorer, metrics: WorkerMetrics) -> Any:
    def set_online(view: OnlineView) -> None:
        if scorer.online is None:
            log.info("online predictions from a snapshot of %d labels", view.n_learned)
        scorer.online = view
        metrics.online_snapshot.set(view.n_learned)

    return set_online


def announce_readiness(app: faust.App, settings: Settings, scorer: Scorer) -> None:
    """One line when the worker first holds partitions (it is scoring), one per later change."""
    said: list[bool] = []

    @app.on_partitions_assigned.connect
    async def on_assigned(sender: Any, /, *args: Any, signal: Any, **kwargs: Any) -> None:
        assigned: set[Any] = args[0] if args else kwargs.get("assigned", set())
        mine = sorted(tp.partition for tp in assigned if tp.topic == settings.events_topic)
        if said:
            log.info("now scoring partitions %s of %s", mine, settings.events_topic)
            return
        said.append(True)
        model = scorer.model
        log.info(
            "ready: scoring %s partitions %s with %s/%s%s in group %s; predictions -> %s, "
            "dead letters -> %s; metrics http://%s:%s/metrics",
            settings.events_topic,
            mine,
            model.name,
            model.version,
            "" if model.compiled else " (pandas path)",
            settings.app_id,
            settings.predictions_topic,
            settings.dlq_topic,
            settings.web_host,
            settings.web_port,
        )
