"""Shared fixtures: one real Kafka broker per test session, and factories for
unique settings, workers and clients.

The broker is, in order of preference:
1. the cluster named by ``STREAMSCORE_BOOTSTRAP_SERVERS`` (must answer, or the run fails);
2. testcontainers' ``apache/kafka`` container when a Docker engine answers;
3. a throw-away local broker (``streamscore.ground.kafka.local``) on free ports in a
   temporary directory, stopped when the session ends.
It never skips: when no broker starts, every integration test fails with the reason.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from streamscore.ground.config import KAFKA_VERSION, Settings
from streamscore.ground.kafka.admin import wait_for_broker
from streamscore.ground.kafka.local import LocalKafka, free_port
from tests.kafka_helpers import Worker, settings_env

pytest_plugins: list[str] = []


def _docker_answers() -> bool:
    try:
        import docker

        return bool(docker.from_env(timeout=3).ping())
    except Exception:
        return False


def _container_broker() -> Iterator[str]:
    from testcontainers.core.container import DockerContainer

    port = free_port()
    container = (
        DockerContainer(f"apache/kafka:{KAFKA_VERSION}")
        .with_bind_ports(9092, port)
        .with_env("KAFKA_NODE_ID", "1")
        .with_env("KAFKA_PROCESS_ROLES", "broker,controller")
        .with_env("KAFKA_LISTENERS", "PLAINTEXT://:9092,CONTROLLER://:9093")
        .with_env("KAFKA_ADVERTISED_LISTENERS", f"PLAINTEXT://127.0.0.1:{port}")
        .with_env("KAFKA_CONTROLLER_LISTENER_NAMES", "CONTROLLER")
        .with_env("KAFKA_CONTROLLER_QUORUM_VOTERS", "1@localhost:9093")
        .with_env("KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR", "1")
        .with_env("KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR", "1")
        .with_env("KAFKA_TRANSACTION_STATE_LOG_MIN_ISR", "1")
        .with_env("KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS", "0")
    )
    with container:
        bootstrap = f"127.0.0.1:{port}"
        wait_for_broker(Settings(bootstrap_servers=bootstrap), timeout=120)
        yield bootstrap


@pytest.fixture(scope="session")
def kafka_bootstrap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Bootstrap address of a real, running Kafka broker."""
    configured = Settings().bootstrap_servers
    if configured:
        wait_for_broker(Settings(), timeout=60)
        yield configured
        return
    if _docker_answers():
        yield from _container_broker()
        return
    defaults = Settings()
    broker = LocalKafka(
        state_dir=tmp_path_factory.mktemp("kafka"),
        kafka_home=defaults.kafka_home,
        version=defaults.kafka_version,
        port=free_port(),
        controller_port=free_port(),
        heap="768m",
    )
    try:
        yield broker.start(timeout=180, log=lambda m: None)
    finally:
        broker.stop()


@pytest.fixture
def unique() -> Callable[[str], str]:
    """``unique("events")`` -> a name no other test uses."""
    token = uuid.uuid4().hex[:10]
    return lambda base: f"{base}-{token}"


@pytest.fixture
def settings_factory(
    kafka_bootstrap: str, unique: Callable[[str], str], tmp_path: Path
) -> Callable[..., Settings]:
    """Settings on the session broker with topic names, group and ports unique to the test."""

    def make(**overrides: object) -> Settings:
        values: dict[str, object] = {
            "bootstrap_servers": kafka_bootstrap,
            "events_topic": unique("events"),
            "labels_topic": unique("labels"),
            "predictions_topic": unique("predictions"),
            "drift_topic": unique("drift"),
            "dlq_topic": unique("events-dlq"),
            "model_updates_topic": unique("model-updates"),
            "app_id": unique("app"),
            "partitions": 2,
            "web_port": free_port(),
            "data_dir": tmp_path / "worker-data",
            "registry_path": tmp_path / "registry",
            "cache_dir": Settings().cache_dir,
        }
        values.update(overrides)
        return Settings(**values)

    return make


@pytest.fixture
def worker_factory(tmp_path: Path) -> Iterator[Callable[..., Worker]]:
    """Start ``streamscore worker`` processes; every one is stopped after the test."""
    started: list[Worker] = []

    def start(settings: Settings, *args: str, name: str = "worker") -> Worker:
        log = tmp_path / f"{name}-{len(started)}.log"
        env = {**os.environ, **settings_env(settings)}
        worker = Worker.start(["worker", *args], env=env, log=log)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()
