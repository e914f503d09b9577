"""Topic administration and broker readiness, with kafka-python's admin client."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from kafka import KafkaAdminClient
from kafka.admin import NewTopic
from kafka.errors import KafkaConfigurationError, KafkaError, TopicAlreadyExistsError

from streamscore.ground.config import Settings
from streamscore.ground.errors import BrokerError
from streamscore.ground.kafka.clients import kafka_python_options

MODEL_UPDATE_MAX_BYTES = 52_428_800  # a model artifact travels in one record


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int
    config: dict[str, str] = field(default_factory=dict)
    purpose: str = ""


def topic_specs(settings: Settings) -> list[TopicSpec]:
    """The topics streamscore uses, as the settings name and size them."""
    p = settings.partitions
    return [
        TopicSpec(settings.events_topic, p, purpose="input events, key = event id"),
        TopicSpec(settings.labels_topic, p, purpose="delayed labels, key = event id"),
        TopicSpec(settings.predictions_topic, p, purpose="one prediction per event"),
        TopicSpec(settings.drift_topic, p, purpose="drift and performance metrics"),
        TopicSpec(settings.dlq_topic, p, purpose="dead letters with their reason"),
        TopicSpec(
            settings.model_updates_topic,
            1,  # one partition: every worker sees versions in the order they were promoted
            {"cleanup.policy": "compact", "max.message.bytes": str(MODEL_UPDATE_MAX_BYTES)},
            purpose="new model versions (compacted)",
        ),
    ]


def _admin(options: dict[str, Any], timeout_ms: int = 10_000) -> KafkaAdminClient:
    return KafkaAdminClient(
        **options,
        request_timeout_ms=timeout_ms,
        client_id="streamscore-admin",
    )


def wait_for_broker(
    bootstrap: str | dict[str, Any],
    timeout: float = 120.0,
    alive: Callable[[], bool] | None = None,
) -> None:
    """Block until a metadata request is answered; BrokerError after ``timeout`` seconds.

    ``alive`` reports whether the process we started is still running, so a
    broker that dies at start fails at once instead of after the timeout.
    """
    options = {"bootstrap_servers": bootstrap} if isinstance(bootstrap, str) else bootstrap
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        if alive is not None and not alive():
            raise BrokerError("the Kafka process exited during start-up")
        try:
            admin = _admin(options, timeout_ms=3_000)
            try:
                admin.describe_cluster()
                return
            finally:
                admin.close()
        except KafkaConfigurationError as exc:
            raise BrokerError(f"invalid Kafka client settings: {exc}") from exc
        except (KafkaError, OSError) as exc:
            last = exc
            time.sleep(0.5)
    servers = options["bootstrap_servers"]
    raise BrokerError(
        f"no Kafka broker answered at {servers} within {timeout:.0f} s ({last!r}); "
        "start one with `streamscore kafka up` or check STREAMSCORE_BOOTSTRAP_SERVERS"
    )


def create_topics(settings: Settings, timeout: float = 30.0) -> dict[str, str]:
    """Create the missing topics. Returns ``{name: "created" | "exists"}``."""
    options = kafka_python_options(settings)
    wait_for_broker(options, timeout=timeout)
    admin = _admin(options)
    result: dict[str, str] = {}
    try:
        existing = set(admin.list_topics())
        for spec in topic_specs(settings):
            if spec.name in existing:
                result[spec.name] = "exists"
                continue
            try:
                admin.create_topics(
                    [
                        NewTopic(
                            spec.name,
                            spec.partitions,
                            settings.replication_factor,
                            topic_configs=spec.config,
                        )
                    ],
                    timeout_ms=int(timeout * 1000),
                )
                result[spec.name] = "created"
            except TopicAlreadyExistsError:
                result[spec.name] = "exists"
        _wait_until_listed(admin, set(result), timeout)
    finally:
        admin.close()
    return result


def _wait_until_listed(admin: KafkaAdminClient, names: set[str], timeout: float) -> None:
    # CreateTopics returns before every broker's metadata has the topic; a client that
    # looks right after (a worker, `topics list`) must find it.
    deadline = time.monotonic() + timeout
    while True:
        described = admin.describe_topics(sorted(names))
        ready = {t["name"] for t in described if t.get("error_code", 0) == 0 and t["partitions"]}
        if names <= ready:
            return
        if time.monotonic() > deadline:
            raise BrokerError(f"topics {sorted(names - ready)} were created but are not visible")
        time.sleep(0.2)


def describe_topics(settings: Settings, timeout: float = 30.0) -> list[dict[str, Any]]:
    """Name, partition count and internal flag of every topic on the cluster."""
    options = kafka_python_options(settings)
    wait_for_broker(options, timeout=timeout)
    admin = _admin(options)
    try:
        described = admin.describe_topics()
    finally:
        admin.close()
    return sorted(
        (
            {
                "name": t.get("name") or t.get("topic"),
                "partitions": len(t["partitions"]),
                "internal": t.get("is_internal", False),
            }
            for t in described
        ),
        key=lambda t: t["name"],
    )
