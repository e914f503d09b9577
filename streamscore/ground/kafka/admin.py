"""Topics and broker readiness: wait for a broker, create topics, describe them.

Every wait is bounded by one deadline (``STREAMSCORE_BROKER_TIMEOUT`` unless a
caller gives its own) that each attempt respects, so "within 15 s" means 15 s.
Topics are created here and nowhere else, with the configured partition count:
the broker's auto-creation would give them its own default and break the
co-partitioning of ``events`` and ``labels``.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from streamscore.ground.config import Settings
from streamscore.ground.errors import BrokerError
from streamscore.ground.kafka import clients
from streamscore.ground.times import Deadline

MODEL_UPDATE_MAX_BYTES = 52_428_800  # a model artifact travels in one record
# An output can outgrow the input it comes from: a dead letter holds its event in base64
# (4/3 of it), a prediction its id twice. On topics at Kafka's default limit (1 MiB) the
# broker refused such a record and the worker retried it for ever (measured: a 1 MB binary
# event stalled its partitions). Outputs therefore allow what an events topic of up to
# ~37 MiB can produce.
OUTPUT_MAX_BYTES = {"max.message.bytes": str(MODEL_UPDATE_MAX_BYTES)}


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
        TopicSpec(
            settings.predictions_topic, p, OUTPUT_MAX_BYTES, purpose="one prediction per event"
        ),
        TopicSpec(settings.drift_topic, p, purpose="drift and performance metrics"),
        TopicSpec(
            settings.dlq_topic, p, OUTPUT_MAX_BYTES, purpose="dead letters with their reason"
        ),
        TopicSpec(
            settings.model_updates_topic,
            1,  # one partition: every worker sees versions in the order they were promoted
            {"cleanup.policy": "compact", "max.message.bytes": str(MODEL_UPDATE_MAX_BYTES)},
            purpose="new model versions (compacted)",
        ),
        # Internal: one partition each, so exactly one worker of the group learns and
        # merges drift windows at a time (Kafka assigns the partition to one member).
        TopicSpec(
            settings.examples_topic,
            1,
            OUTPUT_MAX_BYTES,
            purpose="internal: labels joined to features",
        ),
        TopicSpec(
            settings.snapshots_topic,
            1,
            {"cleanup.policy": "compact", "max.message.bytes": str(MODEL_UPDATE_MAX_BYTES)},
            purpose="internal: online model and drift merger state (compacted)",
        ),
        TopicSpec(settings.drift_counts_topic, 1, purpose="internal: partial drift counts"),
        worker_status_spec(settings),
    ]


def worker_status_spec(settings: Settings) -> TopicSpec:
    """The workers' status records: ``<app id>-workers``, compacted, one partition.

    Each worker keeps one record there (key = its worker id): host, pid, model
    version, web address; ``streamscore status`` joins them with the group's
    members. A clean stop deletes the record (a tombstone); ``delete`` retention
    removes the records of crashed workers after a day.
    """
    return TopicSpec(
        f"{settings.app_id}-workers",
        1,
        {"cleanup.policy": "compact,delete", "retention.ms": str(24 * 3600 * 1000)},
        purpose="internal: worker status records (compacted)",
    )


def wait_for_broker(
    settings: Settings,
    timeout: float | None = None,
    alive: Callable[[], bool] | None = None,
    hint: str | None = None,
) -> None:
    """Block until a metadata request is answered; BrokerError when ``timeout`` has passed.

    ``alive`` reports whether a broker process we started still runs, so one that
    dies at start fails at once instead of after the timeout. ``hint`` replaces the
    advice at the end of the error (default: :func:`clients.advice`).
    """
    from kafka.errors import KafkaConfigurationError, KafkaError

    deadline = Deadline(settings.broker_timeout if timeout is None else timeout)
    last: BaseException | None = None
    while True:
        if alive is not None and not alive():
            raise BrokerError("the Kafka process exited during start-up")
        attempt = max(0.5, min(3.0, deadline.remaining()))
        try:
            client = clients.admin(settings.model_copy(update={"broker_timeout": attempt}))
            try:
                client.describe_cluster()
                return
            finally:
                client.close()
        except KafkaConfigurationError as exc:
            raise BrokerError(f"invalid Kafka client settings: {exc}") from exc
        except (KafkaError, BrokerError, OSError) as exc:
            last = exc
        if deadline.expired:
            break
        deadline.sleep(0.3)
    raise BrokerError(
        f"no Kafka broker answered at {settings.bootstrap} within {deadline.seconds:g} s "
        f"({_reason(last)}); {hint or clients.advice(settings)}{clients.security_hint(settings)}"
    )


def _reason(exc: BaseException | None) -> str:
    """The cause of the last failed attempt (an unreachable-broker error gives its own).

    >>> _reason(BrokerError("no Kafka broker answered at a:1 within 2 s (KafkaTimeoutError: x); y"))
    'KafkaTimeoutError: x'
    """
    if exc is None:
        return "no answer"
    text = str(exc)
    if isinstance(exc, BrokerError):
        inner = re.search(r"\((.*)\); ", text)
        return inner.group(1) if inner else text.split(" (")[0]
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def create_topics(
    settings: Settings,
    names: Iterable[str] | None = None,
    timeout: float | None = None,
    config: dict[str, str] | None = None,
) -> dict[str, str]:
    """Create the missing topics among ``names`` (default: all of streamscore's topics).

    A name of :func:`topic_specs` gets its spec; any other the configured partition
    count and ``config``. Waits until clients see them. Returns ``{name: "created" |
    "exists"}``.
    """
    from kafka.admin import NewTopic
    from kafka.errors import KafkaError, TopicAlreadyExistsError

    wait_for_broker(settings, timeout)
    known = {spec.name: spec for spec in topic_specs(settings)}
    wanted = list(known) if names is None else list(dict.fromkeys(names))
    default = TopicSpec("", settings.partitions)
    specs = [
        TopicSpec(name, spec.partitions, {**spec.config, **(config or {})}, spec.purpose)
        for name in wanted
        for spec in [known.get(name, default)]
    ]
    client = clients.admin(settings)
    result: dict[str, str] = {}
    try:
        existing = set(client.list_topics())
        for spec in specs:
            if spec.name in existing:
                result[spec.name] = "exists"
                continue
            new = NewTopic(
                spec.name, spec.partitions, settings.replication_factor, topic_configs=spec.config
            )
            try:
                client.create_topics([new], timeout_ms=int(settings.broker_timeout * 1000))
                result[spec.name] = "created"
            except TopicAlreadyExistsError:
                result[spec.name] = "exists"
        _wait_until_visible(client, set(result), Deadline(settings.broker_timeout))
    except KafkaError as exc:
        raise BrokerError(f"cannot create topics on {settings.bootstrap}: {exc}") from None
    finally:
        client.close()
    return result


def _wait_until_visible(client: Any, names: set[str], deadline: Deadline) -> None:
    # CreateTopics returns before every broker's metadata has the topic; a client that
    # looks right after (a worker, `topics list`) must find it.
    while True:
        described = client.describe_topics(sorted(names))
        ready = {t["name"] for t in described if t.get("error_code", 0) == 0 and t["partitions"]}
        if names <= ready:
            return
        if deadline.expired:
            raise BrokerError(f"topics {sorted(names - ready)} were created but are not visible")
        deadline.sleep(0.2)


def describe_topics(settings: Settings) -> list[dict[str, Any]]:
    """Name, partition count and internal flag of every topic on the cluster."""
    wait_for_broker(settings)
    client = clients.admin(settings)
    try:
        described = client.describe_topics()
    finally:
        client.close()
    return sorted(
        (
            {
                "name": t["name"],
                "partitions": len(t["partitions"]),
                "internal": t.get("is_internal", False),
            }
            for t in described
        ),
        key=lambda t: t["name"],
    )


def describe_cluster(settings: Settings) -> dict[str, Any]:
    """What the cluster says about itself: id, controller, brokers and their Kafka version.

    ``version`` is the newest Kafka release whose API versions the first broker
    matches (from ApiVersions; ``None`` if it cannot be told).
    """
    from kafka.errors import KafkaError

    wait_for_broker(settings)
    client = clients.admin(settings)
    try:
        cluster = client.describe_cluster()
        brokers = cluster.get("brokers", [])
        version = None
        if brokers:
            with contextlib.suppress(KafkaError, AttributeError):
                version = client.get_broker_version_data(brokers[0]["broker_id"]).broker_version_str
    except KafkaError as exc:
        raise BrokerError(f"cannot describe the cluster at {settings.bootstrap}: {exc}") from None
    finally:
        client.close()
    return {
        "cluster_id": cluster.get("cluster_id"),
        "controller_id": cluster.get("controller_id"),
        "brokers": [
            {"id": b["broker_id"], "host": b["host"], "port": b["port"], "rack": b.get("rack")}
            for b in brokers
        ],
        "version": version,
    }


def delete_topics_with_prefix(settings: Settings, prefix: str) -> list[str]:
    """Delete every topic whose name starts with ``prefix`` (a run's own topics); their names."""
    client = clients.admin(settings)
    try:
        names = sorted(t for t in client.list_topics() if t.startswith(prefix))
        if names:
            client.delete_topics(names, timeout_ms=int(settings.broker_timeout * 1000))
        return names
    finally:
        client.close()
