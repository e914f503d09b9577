"""The Kafka side: one kafka-python producer tuned for throughput (built by the ground layer).

Batching (``batch_size``) and ``linger_ms`` let kafka-python fill large batches;
``acks="all"`` with idempotence (kafka-python 3's default) means a record counts as
sent only when every in-sync replica has it, with no duplicates from retries.
Compression: kafka-python's lz4 and zstd codecs need the ``lz4`` / ``zstandard``
packages; streamscore depends on ``lz4``, so ``auto`` means lz4 (falling back to
none if the package is missing). Its built-in gzip runs at level 9 and cost about
15 % throughput in our measurements.
Throughput: kafka-python computes each batch's crc32c in pure Python unless the
``crc32c`` package is installed (a streamscore dependency); without it the
producer reached about a third of the rate.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

from kafka.codec import has_gzip, has_lz4, has_snappy, has_zstd
from kafka.errors import KafkaError

from streamscore.ground.config import Settings
from streamscore.ground.errors import BrokerError, ConfigError
from streamscore.ground.kafka import clients

CODECS = {"gzip": has_gzip, "lz4": has_lz4, "zstd": has_zstd, "snappy": has_snappy}
# What provides each optional codec: the package extras of pyproject.toml (lz4 is a
# dependency, so it is only missing from a broken install).
INSTALL = {
    "zstd": "the zstandard package: pip install 'streamscore[zstd]'",
    "snappy": "the python-snappy package: pip install 'streamscore[snappy]'",
    "lz4": "the lz4 package, a streamscore dependency: pip install lz4",
}


def compression_type(name: str) -> str | None:
    """kafka-python's ``compression_type`` for ``auto``, ``none`` or a codec name.

    >>> compression_type("none") is None, compression_type("gzip")
    (True, 'gzip')
    """
    if name == "auto":
        return "lz4" if has_lz4() else None
    if name == "none":
        return None
    if name not in CODECS:
        raise ConfigError(f"unknown --compression {name!r}: use auto, none, {', '.join(CODECS)}")
    if not CODECS[name]():
        raise ConfigError(f"--compression {name} needs {INSTALL[name]}")
    return name


@dataclass(frozen=True)
class ProducerOptions:
    """How the producer trades latency for throughput."""

    acks: str = "all"
    compression: str = "auto"
    linger_ms: int = 20
    batch_size: int = 256 * 1024

    def kafka_config(self, broker_timeout: float) -> dict[str, Any]:
        acks: Any = self.acks if self.acks == "all" else int(self.acks)
        timeout_ms = int(broker_timeout * 1000)
        return {
            "acks": acks,
            "enable_idempotence": acks == "all",
            "compression_type": compression_type(self.compression),
            "linger_ms": self.linger_ms,
            "batch_size": self.batch_size,
            "max_block_ms": timeout_ms,
            "delivery_timeout_ms": 2 * timeout_ms + self.linger_ms,
            "allow_auto_create_topics": False,
            "client_id": "streamscore-producer",
        }


@dataclass
class Sender:
    """Send keyed JSON records; count what the broker acknowledged and what failed."""

    settings: Settings
    options: ProducerOptions = field(default_factory=ProducerOptions)
    failed: int = 0
    first_error: BaseException | None = None
    _pending: deque = field(default_factory=deque, repr=False)
    _open: list = field(default_factory=list, repr=False)
    handed: int = 0

    def __post_init__(self) -> None:
        config = self.options.kafka_config(self.settings.broker_timeout)
        self.producer = clients.producer(self.settings, **config)
        self._send = self.producer.send

    def prepare(self, topics: list[str]) -> None:
        """Fetch the topics' metadata now, so the first send is not late by a round trip."""
        try:
            for topic in topics:
                self.producer.partitions_for(topic)
        except KafkaError as exc:
            raise BrokerError(
                f"no metadata for {topics} from {self.settings.bootstrap}: {exc}"
            ) from exc

    def send(self, topic: str, key: bytes, value: bytes) -> None:
        """Hand one record to the producer (asynchronous; failures are counted later)."""
        self._open.append(self._send(topic, value=value, key=key))
        if len(self._open) >= 1024:
            self._track()

    def send_many(self, topic: str, keys: list[bytes], values: list[bytes]) -> None:
        """Hand many records to the producer in a tight loop; ``handed`` says how many
        were, also when one is refused (e.g. too large) and the loop stops there."""
        opened = self._open
        send, add, before = self._send, opened.append, len(opened)
        try:
            for key, value in zip(keys, values, strict=True):
                add(send(topic, value=value, key=key))
        finally:
            self.handed = len(opened) - before
            self._track()

    def _track(self) -> None:
        # Failures are read from the futures, oldest first, without a callback per
        # record (add_errback costs more than this scan); done ones are dropped.
        if self._open:
            self._pending.append(self._open)
            self._open = []
        pending = self._pending
        while pending and all(f.is_done for f in pending[0]):
            for future in pending.popleft():
                if future.exception is not None:
                    self.failed += 1
                    self.first_error = self.first_error or future.exception

    def flush(self, timeout: float | None = None) -> None:
        """Wait until every record sent so far is acknowledged or failed."""
        try:
            self.producer.flush(timeout=timeout)
            self._track()
        except KafkaError as exc:
            raise BrokerError(
                f"Kafka at {self.settings.bootstrap} did not acknowledge the records "
                f"within {timeout} s: {exc}"
            ) from exc

    def close(self, timeout: float = 10.0) -> None:
        self.producer.close(timeout=timeout)
