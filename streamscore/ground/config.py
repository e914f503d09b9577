"""All configuration, in one frozen settings object.

Every setting can be given as an environment variable ``STREAMSCORE_<NAME>``
(for example ``STREAMSCORE_BOOTSTRAP_SERVERS``) or in a ``.env`` file in the
working directory. No other module reads the environment: code receives a
:class:`Settings` instance and asks it.

>>> s = Settings(bootstrap_servers="broker:9092", partitions=8)
>>> s.bootstrap_servers, s.partitions, s.events_topic
('broker:9092', 8, 'events')
>>> s.env_name("partitions")
'STREAMSCORE_PARTITIONS'
>>> allowed("partitions"), allowed("log_level")
('a whole number >= 1', 'one of debug, info, warn, error')
"""

from __future__ import annotations

import os
import types
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin

from pydantic import Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from streamscore.ground.errors import ConfigError

ENV_PREFIX = "STREAMSCORE_"
KAFKA_VERSION = "4.3.1"


def _default_cache_dir() -> Path:
    # The one place that looks at XDG_CACHE_HOME: it is a default, not a setting.
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "streamscore"


class Settings(BaseSettings):
    """streamscore settings. Field descriptions are printed by ``streamscore config``."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_file=".env", extra="ignore", frozen=True
    )

    # --- Kafka connection -------------------------------------------------
    bootstrap_servers: str | None = Field(
        None,
        description="Kafka bootstrap servers (host:port,...). Unset: use the embedded "
        "local broker that `streamscore kafka up` starts on 127.0.0.1.",
    )
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = Field(
        "PLAINTEXT", description="Kafka security protocol."
    )
    sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = Field(
        None, description="SASL mechanism when the protocol is SASL_*."
    )
    sasl_username: str | None = Field(None, description="SASL user name.")
    sasl_password: SecretStr | None = Field(None, description="SASL password (never logged).")
    ssl_cafile: Path | None = Field(None, description="CA bundle to verify the brokers.")
    ssl_certfile: Path | None = Field(None, description="Client certificate (mutual TLS).")
    ssl_keyfile: Path | None = Field(None, description="Client private key (mutual TLS).")
    broker_timeout: float = Field(
        15.0,
        gt=0,
        description="Seconds any command waits for an unreachable broker before it gives up "
        "with a one-line error (connecting, fetching metadata, reading a topic's end).",
    )

    # --- Embedded local broker ----------------------------------------------
    kafka_version: str = Field(
        KAFKA_VERSION, description="Apache Kafka version of the embedded local broker."
    )
    local_kafka_port: int = Field(9092, description="Client port of the local broker.")
    local_kafka_controller_port: int = Field(
        9093, description="KRaft controller port of the local broker."
    )
    local_kafka_heap: str = Field("1g", description="Java heap (-Xmx) of the local broker.")
    local_kafka_start_timeout: float = Field(
        120.0, description="Seconds to wait for the local broker to answer metadata requests."
    )
    cache_dir: Path = Field(
        default_factory=_default_cache_dir,
        description="Where Kafka jars (fetched once with Maven) and the local broker's "
        "data live. Default: $XDG_CACHE_HOME/streamscore or ~/.cache/streamscore.",
    )

    # --- Topics ---------------------------------------------------------------
    events_topic: str = Field("events", description="Input events (key = event id).")
    labels_topic: str = Field("labels", description="Delayed labels (key = event id).")
    predictions_topic: str = Field("predictions", description="One prediction per event.")
    drift_topic: str = Field("drift", description="Drift and performance metrics.")
    dlq_topic: str = Field("events-dlq", description="Dead letters: bad input and its reason.")
    model_updates_topic: str = Field(
        "model-updates", description="Compacted topic carrying new model versions."
    )
    partitions: int = Field(
        4, ge=1, description="Partitions of every topic (events and labels must match)."
    )
    replication_factor: int = Field(1, ge=1, description="Replication factor of new topics.")

    # --- Worker -------------------------------------------------------------
    app_id: str = Field(
        "streamscore", description="Faust application id = Kafka consumer group of the workers."
    )
    model_name: str | None = Field(None, description="Model the worker scores with.")
    session_timeout: float = Field(
        20.0,
        ge=6.0,
        description="Seconds without heartbeats before Kafka declares a worker dead and "
        "gives its partitions to the others (how long a crashed worker's events wait).",
    )
    commit_interval: float = Field(
        1.0,
        gt=0,
        description="Seconds between a worker's offset commits (also every 1,000 events, or "
        "batch size if larger). A crash repeats at most what came since the last commit; a "
        "clean stop or a rebalance commits first and repeats nothing.",
    )
    batch_size: int = Field(
        2000,
        ge=1,
        description="Largest micro-batch: the most records one fetch returns (max.poll.records). "
        "A fetch returns what has arrived, so a quiet stream is scored at once in small "
        "batches and a backlog in large ones.",
    )
    model_threads: int = Field(
        1,
        ge=1,
        description="Native threads (OpenMP/BLAS) a worker's model may use. 1 is fastest for "
        "micro-batches: extra threads contend with the event loop; scale with workers instead.",
    )
    max_event_bytes: int = Field(
        1_000_000, ge=1, description="Events larger than this go to the dead-letter topic."
    )
    web_host: str = Field("127.0.0.1", description="Bind address of the worker's web/metrics.")
    web_port: int = Field(6066, description="Port of the worker's web and /metrics endpoint.")
    data_dir: Path = Field(
        Path("./streamscore-data"), description="Worker state directory (Faust tables)."
    )
    registry_path: Path = Field(
        Path("./registry"), description="Model registry: one directory per model and version."
    )
    log_level: Literal["debug", "info", "warn", "error"] = Field(
        "warn", description="Log level of long-running commands."
    )

    # --- Online learning (labels) -------------------------------------------
    online_model: Literal["logreg", "hat", "off"] = Field(
        "logreg",
        description="Online River model: logreg (scaling, one-hot, logistic regression), hat "
        "(Hoeffding Adaptive Tree) or off (no label join, no learner, online: null).",
    )
    label_ttl: float = Field(
        3600.0,
        gt=0,
        description="Seconds (event time) a scored event's features wait for its label; "
        "a later label is counted as expired, not learned.",
    )
    label_grace: float = Field(
        10.0,
        ge=0,
        description="Seconds a label whose event has not been scored waits for it before it "
        "counts as unknown: until the events partition is this far past the label's record "
        "time, or, when that partition is read to its end, this long since the label was read "
        "(Kafka keeps no order across topics: a retrying producer can deliver a label first).",
    )
    label_memory: int = Field(
        2_000_000,
        ge=1000,
        description="Most scored events a worker remembers for the label join; beyond it the "
        "oldest are dropped and counted as unlabelled.",
    )
    snapshot_every: int = Field(
        1000,
        ge=1,
        description="The learner publishes its online model after this many labels "
        "(or STREAMSCORE_SNAPSHOT_INTERVAL): how stale a worker's online predictions may be.",
    )
    snapshot_interval: float = Field(
        5.0, gt=0, description="Seconds between snapshots of the online model while labels come."
    )
    challenger: Literal["off", "report", "retrain"] = Field(
        "off",
        description="Champion/challenger: off; report (a challenger record when the online "
        "model beats the batch model significantly); retrain (then train, check and "
        "promote a new batch version).",
    )

    # --- Drift ----------------------------------------------------------------
    drift_window: int = Field(
        1000,
        ge=10,
        description="Events per drift window (split evenly over the partitions: window k of "
        "partition p is its offsets [k*w/P, (k+1)*w/P)).",
    )
    drift_window_seconds: float = Field(
        0.0,
        ge=0,
        description="If > 0, drift windows are event-time windows of this many seconds "
        "instead of event counts.",
    )
    drift_false_alarms: float = Field(
        1_000_000.0,
        gt=0,
        description="False-alarm budget: expected events between two false alarms on a "
        "stationary stream, over all features and statistics together.",
    )
    drift_clear_after: int = Field(
        2, ge=1, description="Windows a statistic must stay under its threshold to clear an alert."
    )

    # --- helpers --------------------------------------------------------------
    @property
    def kafka_home(self) -> Path:
        """Jars of the pinned Kafka version."""
        return self.cache_dir / f"kafka-{self.kafka_version}"

    @property
    def local_kafka_dir(self) -> Path:
        """State (data, logs, pid) of the default local broker."""
        return self.cache_dir / "local-kafka"

    @property
    def examples_topic(self) -> str:
        """Internal: joined examples (1 partition: one learner)."""
        return f"{self.app_id}-examples"

    @property
    def snapshots_topic(self) -> str:
        """Internal, compacted: online-model and drift-merger snapshots."""
        return f"{self.app_id}-snapshots"

    @property
    def drift_counts_topic(self) -> str:
        """Internal: partial drift counts from every worker (1 partition: one merger)."""
        return f"{self.app_id}-drift-counts"

    @property
    def bootstrap(self) -> str:
        """The bootstrap servers clients use: the configured cluster or the local broker."""
        return self.bootstrap_servers or f"127.0.0.1:{self.local_kafka_port}"

    @classmethod
    def env_name(cls, field: str) -> str:
        return ENV_PREFIX + field.upper()

    def to_env(self) -> dict[str, str]:
        """Environment variables that reproduce these settings in a child process.

        >>> Settings(partitions=3).to_env()["STREAMSCORE_PARTITIONS"]
        '3'
        """
        env: dict[str, str] = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if value is None:
                continue
            if isinstance(value, SecretStr):
                value = value.get_secret_value()
            env[self.env_name(name)] = str(value)
        return env


_KINDS: dict[Any, str] = {
    int: "a whole number",
    float: "a number",
    bool: "true or false",
    str: "text",
    Path: "a path",
    SecretStr: "text",
}
_BOUNDS = {"ge": ">=", "gt": ">", "le": "<=", "lt": "<"}  # pydantic's Field(ge=...) metadata


def allowed(name: str) -> str:
    """What a setting accepts, in words: its type, choices and bounds."""
    info = Settings.model_fields[name]
    kind = info.annotation
    if get_origin(kind) in (Union, types.UnionType):
        kind = next(a for a in get_args(kind) if a is not type(None))
    if get_origin(kind) is Literal:
        return "one of " + ", ".join(str(v) for v in get_args(kind))
    words = [_KINDS.get(kind, getattr(kind, "__name__", str(kind)))]
    for bound in info.metadata:
        for attr, sign in _BOUNDS.items():
            if getattr(bound, attr, None) is not None:
                words.append(f"{sign} {getattr(bound, attr):g}")
    return " ".join(words)


def settings_error(exc: ValidationError) -> str:
    """One line naming each setting that failed, its value and what it accepts."""
    problems = []
    for error in exc.errors():
        name = str(error["loc"][0]) if error["loc"] else ""
        if name not in Settings.model_fields:
            problems.append(error["msg"])
            continue
        value = "***" if name == "sasl_password" else repr(error.get("input"))
        problems.append(f"{Settings.env_name(name)}={value} is not valid: use {allowed(name)}")
    return "; ".join(problems) + " (set in the environment or in .env)"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment and ``.env``.

    A value that fails validation is a one-line :class:`ConfigError`.
    """
    try:
        return Settings()
    except ValidationError as exc:
        raise ConfigError(settings_error(exc)) from None
