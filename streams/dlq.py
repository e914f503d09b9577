"""Read and re-send dead letters (``streamscore dlq show|replay``)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from streamscore.ground.config import Settings
from streamscore.ground.errors import ConfigError
from streamscore.ground.kafka import clients
from streamscore.ground.kafka.reading import iter_topic
from streamscore.streams.records import original_bytes


@dataclass(frozen=True)
class Letter:
    partition: int  # where the letter sits on the dead-letter topic
    offset: int
    body: dict[str, Any]

    @property
    def ref(self) -> str:
        return f"{self.partition}:{self.offset}"


def read_letters(settings: Settings) -> Iterator[Letter]:
    """Every dead letter currently on the topic, oldest first per partition."""
    # Reading may take a while on a long topic; only an unreachable broker is bounded
    # by the broker timeout (the reader's metadata wait).
    for record in iter_topic(settings, settings.dlq_topic, timeout=float("inf")):
        body = record.value if isinstance(record.value, dict) else None
        yield Letter(
            record.partition,
            record.offset,
            body or {"error": "unreadable dead letter", "value": None},
        )


def parse_refs(refs: list[str]) -> set[tuple[int, int]]:
    """``["0:12", "1:3"]`` -> {(0, 12), (1, 3)}; ConfigError on anything else."""
    out = set()
    for ref in refs:
        try:
            partition, offset = ref.split(":")
            out.add((int(partition), int(offset)))
        except ValueError:
            raise ConfigError(
                f"dead letter {ref!r} is not PARTITION:OFFSET (see `streamscore dlq show`)"
            ) from None
    return out


def replay_letters(
    settings: Settings, letters: list[Letter], topic: str | None = None
) -> dict[str, int]:
    """Send the original key and bytes of ``letters`` to ``topic``, or by default back to
    the topic each came from (events or labels; events for a letter that names none).
    The number re-sent per topic."""
    sent: dict[str, int] = {}
    producer = clients.producer(settings, acks="all")
    try:
        for letter in letters:
            target = topic or letter.body.get("topic") or settings.events_topic
            sent[target] = sent.get(target, 0) + 1
            producer.send(
                target,
                key=original_bytes(letter.body, "key"),
                value=original_bytes(letter.body, "value"),
            )
        producer.flush(timeout=60)
    finally:
        producer.close(timeout=10)
    return sent
