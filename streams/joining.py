"""The label join: each label becomes exactly one record on the examples topic.

Labels are keyed by the event id, so a label and its event sit in the same
partition number of ``labels`` and ``events`` and the same worker holds both.
Per partition, labels are handled strictly in offset order (the learner learns
each labels offset once, so it must see them in order). A label whose event is
remembered is joined at once. One whose event is not waits, because Kafka keeps
no order across topics: a producer retrying after a broker restart can deliver a
label before its event (measured: ~1,600 of 20,000 labels counted unknown after a
broker kill -9 while the events partition was read to its end). It is counted
unknown only once its event cannot still come: when the partition's events have
reached ``grace`` past the label's record time (stream time, as Kafka Streams
closes a join window), or when the events partition is read to its end and the
label has waited ``grace`` of wall-clock time since this worker read it (a quiet
stream). A waiting label is not acknowledged, so a crash re-reads it.

Each label becomes one of (plain JSON on the examples topic, key = id)::

    {"id", "x", "y", "proba", "version", "event_ts", "label_ts", "delay_ms", "source": [p, offset]}
    {"id", "dropped": "unknown" | "expired" | "duplicate", "label_ts", "source": [p, offset]}

and events forgotten without a label are reported as ``{"unlabelled": n, "partition": p}``.
``delay_ms`` is the label's record time minus its event's record time: when each reached
Kafka (event times of a replayed file may be years old).
A label record that cannot be read goes to the dead-letter topic (stage ``label``).
Pure: no Kafka, no event loop.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

import numpy as np
import orjson

from streamscore.ground.times import parse_ms
from streamscore.streams.memory import FeatureMemory
from streamscore.streams.records import dead_letter
from streamscore.streams.scorer import Record, Scored


class Joiner:
    """Feature memories and waiting labels of the partitions this worker holds."""

    def __init__(self, ttl_ms: float, capacity: int, grace_ms: float = 10_000) -> None:
        self.ttl_ms = ttl_ms
        self.capacity = capacity
        self.grace_ms = grace_ms
        self.memories: dict[int, FeatureMemory] = {}
        # per partition: (label, when it was read, what it says or why it cannot be read)
        self.waiting: dict[int, deque[tuple[Record, int, Read | str]]] = {}
        self.events_time: dict[int, int] = {}  # newest events record time scored, per partition
        self.paused: set[int] = set()  # partitions whose memory is being rebuilt
        # labels handled by outcome (joined, unknown, expired, duplicate, dead_letter),
        # for the worker's metrics: taken (and reset) by :meth:`take_outcomes`
        self.outcomes: dict[str, int] = {}

    def take_outcomes(self) -> dict[str, int]:
        taken, self.outcomes = self.outcomes, {}
        return taken

    def memory(self, partition: int) -> FeatureMemory:
        if partition not in self.memories:
            share = max(1000, self.capacity // max(1, len(self.memories) + 1))
            self.memories[partition] = FeatureMemory(self.ttl_ms, share)
        return self.memories[partition]

    def forget(self, partitions: Iterable[int]) -> None:
        """Drop the state of partitions this worker no longer holds (their new owner rebuilds)."""
        for p in partitions:
            self.memories.pop(p, None)
            self.waiting.pop(p, None)
            self.events_time.pop(p, None)
            self.paused.discard(p)

    def note_times(self, record_times: dict[int, int]) -> None:
        """The newest events record time read per partition (scored or dead-lettered)."""
        for p, newest in record_times.items():
            self.events_time[p] = max(self.events_time.get(p, newest), newest)

    def remember(self, scored: Scored, now_ms: int) -> None:
        """Keep a scored batch's features, per partition."""
        if not len(scored.features):
            return
        partitions = scored.partitions
        for p in np.unique(partitions).tolist():
            rows = np.flatnonzero(partitions == p)
            whole = len(rows) == len(partitions)
            self.memory(p).remember(
                scored.ids if whole else [scored.ids[i] for i in rows.tolist()],
                scored.features if whole else scored.features.take(rows),
                scored.proba if whole else scored.proba[rows],
                scored.version,
                event_ts=scored.event_ts if whole else scored.event_ts[rows],
                record_ts=scored.record_ts if whole else scored.record_ts[rows],
                now_ms=now_ms,
            )

    def join(
        self,
        labels: Iterable[Record],
        caught_up: Callable[[int], bool],
        classes: list,
        now_ms: int,
    ) -> tuple[list[tuple[bytes, bytes]], list[tuple[int, bytes | None, bytes]], dict[int, int]]:
        """Handle new labels (and those waiting); return ``(examples, dead letters, done)``:
        examples as ``(key, value)``, dead letters as ``(partition, key, value)``, and per
        labels partition the highest offset now fully handled."""
        for label in labels:
            self.waiting.setdefault(label.partition, deque()).append((label, now_ms, _read(label)))
        examples: list[tuple[bytes, bytes]] = []
        letters: list[tuple[int, bytes | None, bytes]] = []
        done: dict[int, int] = {}
        keys = [str(c) for c in classes]
        for p, queue in self.waiting.items():
            if p in self.paused:
                continue
            memory = self.memory(p)
            while queue:
                label, read_at, read = queue[0]
                if not isinstance(read, str) and read.event_id not in memory:
                    newest = self.events_time.get(p, -1)
                    if newest < label.timestamp + self.grace_ms and not (
                        now_ms - read_at >= self.grace_ms and caught_up(p)
                    ):
                        break  # its event may still come
                queue.popleft()
                done[p] = label.offset
                if isinstance(read, str):  # unreadable: no event to wait for, a dead letter
                    letters.append((p, label.key, _letter(label, read)))
                    outcome = "dead_letter"
                else:
                    example = _example(label, read, memory, keys, now_ms)
                    examples.append((label.key or b"", orjson.dumps(example)))
                    outcome = example.get("dropped", "joined")
                self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1
            memory.forget_old(now_ms)
            unlabelled = memory.read_unlabelled()
            if unlabelled:
                examples.append((b"", orjson.dumps({"unlabelled": unlabelled, "partition": p})))
        return examples, letters, done

    def restore(self, partition: int, chunks: list[Scored], joined: set[str]) -> None:
        """Put back what a partition's memory held before this worker got it (see
        :mod:`streamscore.streams.rebuild`): older than anything remembered since."""
        memory = self.memory(partition)
        for scored in reversed(chunks):  # each goes in front of the ones before it
            memory.remember(
                scored.ids, scored.features, scored.proba, scored.version,
                event_ts=scored.event_ts, record_ts=scored.record_ts,
                now_ms=int(scored.record_ts.max()), older=True,
            )  # fmt: skip
        for event_id in joined:
            memory.mark_taken(event_id)
        self.paused.discard(partition)

    def waiting_count(self) -> int:
        return sum(len(q) for q in self.waiting.values())


def _letter(label: Record, reason: str) -> bytes:
    return dead_letter(
        label.value, key=label.key, error=reason, stage="label",
        topic=label.topic, partition=label.partition, offset=label.offset,
    )  # fmt: skip


class Read(NamedTuple):
    """What a readable label says."""

    event_id: str
    y: Any
    label_ts: int


def _read(label: Record) -> Read | str:
    """What ``label`` says, or the reason it cannot be read (its dead letter's)."""
    try:
        body = orjson.loads(label.value) if label.value is not None else None
    except orjson.JSONDecodeError as exc:
        return f"label is not UTF-8 JSON: {exc}"
    if not isinstance(body, dict) or "label" not in body:
        return 'a label must be a JSON object with a "label" field'
    if body["label"] is None or isinstance(body["label"], dict | list | float):
        return f"label {body['label']!r} is not a class (a string, integer or boolean)"
    try:
        event_id = label.key.decode() if label.key is not None else str(body["id"])
        label_ts = label.timestamp if body.get("ts") is None else parse_ms(body["ts"])
    except (KeyError, UnicodeDecodeError):
        return "a label needs its event id as the key (or an id field)"
    except ValueError as exc:
        return str(exc)
    return Read(event_id, body["label"], label_ts)


def _example(
    label: Record, read: Read, memory: FeatureMemory, keys: list[str], now_ms: int
) -> dict[str, Any]:
    """The examples record of one readable label."""
    status, remembered = memory.take(read.event_id, now_ms)
    source = [label.partition, label.offset]
    if remembered is None:
        return {"id": read.event_id, "dropped": status, "label_ts": read.label_ts,
                "source": source}  # fmt: skip
    return {
        "id": read.event_id,
        "x": remembered.x,
        "y": read.y,
        "proba": dict(zip(keys, remembered.proba, strict=True)),
        "version": remembered.version,
        "event_ts": remembered.event_ts,
        "label_ts": read.label_ts,
        "delay_ms": label.timestamp - remembered.record_ts,
        "source": source,
    }
