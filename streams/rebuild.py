"""Rebuild a partition's feature memory from the topics themselves, after a restart or a
rebalance gave this worker the partition.

The memory of the label join lives in the worker (no changelog written per event:
that would double the records written for every event scored). What it held for a
partition can be read back: the events of the last TTL (by record time) up to the
group's committed offset are scored again with the current model (the events after
it are being scored anew by this worker), and the labels of the last TTL up to
their committed offset mark their ids as joined (a later label for one of them is a
duplicate, not a second lesson). Until the rebuild is done, the partition's labels
wait. Cost: reading and scoring the TTL's events once per hand-over, on a thread.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from streamscore.ground.config import Settings
from streamscore.ground.kafka.reading import group_offsets, read_range
from streamscore.ground.times import now_ms
from streamscore.models.artifact import LoadedModel
from streamscore.streams.scorer import RawEvent, Scored, Scorer

log = logging.getLogger(__name__)
CHUNK = 2000


@dataclass
class Rebuilt:
    """What a partition's memory held: scored chunks (oldest first) and joined ids."""

    partition: int
    committed: int | None = None  # the events offset the group resumes from
    chunks: list[Scored] = field(default_factory=list)
    joined: set[str] = field(default_factory=set)
    events: int = 0


def read_back(settings: Settings, model: LoadedModel, partition: int) -> Rebuilt:
    """Read and score a partition's last TTL of events and labels (blocking: run on a thread)."""
    since = now_ms() - int(settings.label_ttl * 1000)
    timeout = max(60.0, 10 * settings.broker_timeout)
    out = Rebuilt(partition)
    end, start = group_offsets(settings, settings.app_id, settings.events_topic, partition, since)
    out.committed = end
    if end is not None and start is not None:
        scorer = Scorer(model, settings.max_event_bytes)
        chunk: list[RawEvent] = []
        for record in read_range(settings, settings.events_topic, partition, start, end,
                                 timeout=timeout):  # fmt: skip
            key = record.key.encode() if record.key is not None else None
            chunk.append(RawEvent(key, record.raw, settings.events_topic, partition,
                                  record.offset, record.timestamp_ms))  # fmt: skip
            if len(chunk) >= CHUNK:
                out.chunks += _scored(scorer, chunk)
                out.events += len(chunk)
                chunk = []
        out.chunks += _scored(scorer, chunk)
        out.events += len(chunk)
    end, start = group_offsets(settings, settings.app_id, settings.labels_topic, partition, since)
    if end is not None and start is not None:
        for record in read_range(settings, settings.labels_topic, partition, start, end,
                                 timeout=timeout):  # fmt: skip
            if record.key is not None:
                out.joined.add(record.key)
    return out


def _scored(scorer: Scorer, events: list[RawEvent]) -> list[Scored]:
    if not events:
        return []
    scored = scorer.score(events).scored
    return [scored] if scored is not None else []
