"""Reading a topic back, outside any consumer group (reading never moves anybody's offsets).

One loop serves every reader: the demo and the bench reading what the pipeline
wrote, ``dlq show``, the worker reading ``model-updates`` at start, ``tail`` and the
tests. It reads from a start (``"beginning"``, ``"end"`` or offsets per
partition) until the topic's end as it was when reading began, or until a
predicate holds, and never past its deadline (honoured to within half a second).
:func:`last_offsets` makes the start "the last N records of each partition";
:func:`follow` follows several topics at once with one consumer (``monitor``);
:func:`open_topic` reads one topic's backlog and then follows it, and its
:class:`TopicReader` says when the backlog is read (``tail --follow``).

>>> Record("k", {"a": 1}, 0, 0, 3, b'{"a":1}').ref
'0:3'
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal

import orjson

from streamscore.ground.config import Settings
from streamscore.ground.errors import BrokerError
from streamscore.ground.kafka import clients
from streamscore.ground.times import Deadline

POLL_MS = 500


Start = Literal["beginning", "end"] | dict[int, int]


@dataclass(frozen=True, slots=True)
class Record:
    """One record as read: the key as text, the value parsed as JSON (None if it is not)."""

    key: str | None
    value: Any
    timestamp_ms: int
    partition: int
    offset: int
    raw: bytes | None

    @property
    def ref(self) -> str:
        """Where the record sits: ``PARTITION:OFFSET``."""
        return f"{self.partition}:{self.offset}"


def _record(msg: Any, parse: bool = True) -> Record:
    try:
        value = orjson.loads(msg.value) if parse and msg.value is not None else None
    except orjson.JSONDecodeError:
        value = None
    key = msg.key.decode(errors="replace") if msg.key is not None else None
    return Record(key, value, msg.timestamp, msg.partition, msg.offset, msg.value)


def _partitions(consumer: Any, topic: str, deadline: Deadline) -> list[int]:
    # A topic created a moment ago may not be in this client's metadata yet.
    while True:
        found = consumer.partitions_for_topic(topic)
        if found:
            return sorted(found)
        if deadline.expired:
            return []
        deadline.sleep(0.2)


def end_offsets(settings: Settings, topic: str) -> dict[int, int]:
    """Current end offset of each partition of ``topic`` (empty if it does not exist)."""
    from kafka import TopicPartition

    consumer = clients.consumer(settings)
    try:
        partitions = _partitions(consumer, topic, Deadline(settings.broker_timeout))
        tps = [TopicPartition(topic, p) for p in partitions]
        return {tp.partition: off for tp, off in consumer.end_offsets(tps).items()} if tps else {}
    finally:
        consumer.close()


def iter_topic(
    settings: Settings,
    topic: str,
    start: Start = "beginning",
    *,
    timeout: float,
    to_end: bool = True,
    must_exist: bool = False,
    parse: bool = True,
    **config: Any,
) -> Iterator[Record]:
    """Records of ``topic`` from ``start``, in each partition's order (``parse``: JSON values).

    With ``to_end`` the iteration stops at the end offsets read when it began;
    without, it follows the topic until ``timeout`` (``float("inf")``: for ever;
    stop by leaving the loop). A missing topic yields nothing, or raises
    :class:`BrokerError` with ``must_exist``.
    """
    for batch in polls(settings, topic, start, timeout=timeout, to_end=to_end,
                       must_exist=must_exist, parse=parse, **config):  # fmt: skip
        yield from batch


class TopicReader:
    """A consumer outside any group, assigned every partition of a topic, at a start.

    ``end`` holds the end offsets when reading began; :meth:`caught_up` says whether
    every partition has been read up to them (the backlog), whatever comes after.
    """

    def __init__(self, consumer: Any, tps: list[Any], end: dict[int, int], parse: bool) -> None:
        self.consumer, self.tps, self.end, self.parse = consumer, tps, end, parse

    def caught_up(self) -> bool:
        return all(self.consumer.position(tp) >= self.end[tp.partition] for tp in self.tps)

    def poll(self, wait_ms: int) -> list[Record]:
        """What one poll returned (possibly nothing), waiting at most ``wait_ms``."""
        return [
            _record(msg, self.parse)
            for messages in self.consumer.poll(timeout_ms=wait_ms).values()
            for msg in messages
        ]


@contextmanager
def open_topic(
    settings: Settings,
    topic: str,
    start: Start = "beginning",
    *,
    must_exist: bool = False,
    parse: bool = True,
    metadata_timeout: float | None = None,
    **config: Any,
) -> Iterator[TopicReader | None]:
    """A :class:`TopicReader` at ``start``; None for a missing topic (BrokerError with
    ``must_exist``). The consumer is closed when the block ends."""
    from kafka import TopicPartition

    wait = settings.broker_timeout if metadata_timeout is None else metadata_timeout
    consumer = clients.consumer(settings, **config)
    try:
        partitions = _partitions(consumer, topic, Deadline(min(wait, settings.broker_timeout)))
        if not partitions:
            if must_exist:
                raise BrokerError(
                    f"topic {topic!r} does not exist on {settings.bootstrap} "
                    "(`streamscore topics list` lists them)"
                )
            yield None
            return
        tps = [TopicPartition(topic, p) for p in partitions]
        consumer.assign(tps)
        end = {tp.partition: off for tp, off in consumer.end_offsets(tps).items()}
        if start == "beginning":
            consumer.seek_to_beginning(*tps)
        elif start == "end":
            consumer.seek_to_end(*tps)
        else:
            for tp in tps:
                consumer.seek(tp, start.get(tp.partition, 0))
        yield TopicReader(consumer, tps, end, parse)
    finally:
        consumer.close()


def polls(
    settings: Settings,
    topic: str,
    start: Start = "beginning",
    *,
    timeout: float,
    to_end: bool = True,
    must_exist: bool = False,
    parse: bool = True,
    **config: Any,
) -> Iterator[list[Record]]:
    """What each poll returned (possibly nothing), at least every half second."""
    deadline = Deadline(timeout)
    with open_topic(settings, topic, start, must_exist=must_exist, parse=parse,
                    metadata_timeout=timeout, **config) as reader:  # fmt: skip
        if reader is None:
            return
        end = reader.end
        while not deadline.expired:
            if to_end and reader.caught_up():
                return
            wait = max(1, int(min(POLL_MS, deadline.remaining() * 1000)))
            batch = reader.poll(wait)
            yield [r for r in batch if r.offset < end[r.partition]] if to_end else batch


def read_topic(
    settings: Settings,
    topic: str,
    start: Start = "beginning",
    *,
    timeout: float,
    until: Callable[[list[Record]], bool] | None = None,
    on_progress: Callable[[int], None] | None = None,
    **config: Any,
) -> list[Record]:
    """Records of ``topic`` from ``start`` to its current end, or (with ``until``) following
    the topic until ``until(records)`` holds (asked after every poll, also an empty one);
    never past ``timeout`` seconds."""
    records: list[Record] = []
    for batch in polls(settings, topic, start, timeout=timeout, to_end=until is None, **config):
        records.extend(batch)
        if on_progress is not None:
            on_progress(len(records))
        if until is not None and until(records):
            break
    return records


def read_range(
    settings: Settings, topic: str, partition: int, start: int, end: int, *, timeout: float
) -> Iterator[Record]:
    """The records of one partition with ``start <= offset < end`` (for rebuilding state)."""
    from kafka import TopicPartition

    if start >= end:
        return
    deadline = Deadline(timeout)
    consumer = clients.consumer(settings)
    try:
        tp = TopicPartition(topic, partition)
        consumer.assign([tp])
        consumer.seek(tp, start)
        while not deadline.expired and consumer.position(tp) < end:
            wait = max(1, int(min(POLL_MS, deadline.remaining() * 1000)))
            for messages in consumer.poll(timeout_ms=wait).values():
                for msg in messages:
                    if msg.offset < end:
                        yield _record(msg, parse=False)
    finally:
        consumer.close()


def group_offsets(
    settings: Settings, group: str, topic: str, partition: int, since_ms: int
) -> tuple[int | None, int | None]:
    """``(committed, first_since)``: the group's committed offset of a partition (None if
    none) and the first offset whose record time is at or after ``since_ms``."""
    from kafka import TopicPartition

    tp = TopicPartition(topic, partition)
    consumer = clients.consumer(settings, group_id=group)
    try:
        committed = consumer.committed(tp)
        found = consumer.offsets_for_times({tp: max(0, since_ms)}).get(tp)
        first = found.offset if found is not None else consumer.end_offsets([tp])[tp]
        return committed, first
    finally:
        consumer.close()


def last_offsets(
    settings: Settings, topic: str, n: int, timeout: float | None = None
) -> dict[int, int]:
    """A start at the last ``n`` records of each partition of ``topic`` (or its first record).

    Empty when the topic does not exist (looked for during ``timeout`` seconds, by
    default the broker timeout). The offsets are counted, not records: on a
    compacted or transactional topic fewer than ``n`` may be read.
    """
    from kafka import TopicPartition

    consumer = clients.consumer(settings)
    try:
        wait = settings.broker_timeout if timeout is None else timeout
        partitions = _partitions(consumer, topic, Deadline(wait))
        tps = [TopicPartition(topic, p) for p in partitions]
        if not tps:
            return {}
        first, end = consumer.beginning_offsets(tps), consumer.end_offsets(tps)
        return {tp.partition: max(first[tp], end[tp] - n) for tp in tps}
    finally:
        consumer.close()


def follow(
    settings: Settings,
    starts: dict[str, Start],
    *,
    poll_ms: int = POLL_MS,
    find_every: float = 5.0,
    **config: Any,
) -> Iterator[dict[str, list[Record]]]:
    """Follow several topics with one consumer: what each poll returned, per topic.

    Yields at least every ``poll_ms`` milliseconds (an empty dict when nothing
    came), for ever: stop by leaving the loop. Each topic starts at its start; a
    topic that does not exist yet is looked for again every ``find_every`` seconds
    and read from its beginning once it appears, so a monitor started before the
    topics were created sees them when they are.
    """
    from kafka import TopicPartition

    consumer = clients.consumer(settings, **config)
    assigned: dict[str, list[int]] = {}
    looked: Deadline | None = None
    try:
        while True:
            missing = [topic for topic in starts if topic not in assigned]
            if missing and (looked is None or looked.expired):
                found = _find_partitions(consumer, missing, assigned)
                if found:
                    consumer.assign(
                        [TopicPartition(t, p) for t, parts in assigned.items() for p in parts]
                    )
                    for topic in found:
                        # a topic that appeared after the first look is new: all of it
                        start = starts[topic] if looked is None else "beginning"
                        _seek(consumer, topic, assigned[topic], start)
                looked = Deadline(find_every)
            if not assigned:
                time.sleep(poll_ms / 1000)
                yield {}
                continue
            batch: dict[str, list[Record]] = {}
            for tp, messages in consumer.poll(timeout_ms=poll_ms).items():
                batch.setdefault(tp.topic, []).extend(_record(msg) for msg in messages)
            yield batch
    finally:
        consumer.close()


def _find_partitions(consumer: Any, topics: list[str], assigned: dict[str, list[int]]) -> list:
    found = []
    for topic in topics:
        partitions = consumer.partitions_for_topic(topic)
        if partitions:
            assigned[topic] = sorted(partitions)
            found.append(topic)
    return found


def _seek(consumer: Any, topic: str, partitions: list[int], start: Start) -> None:
    from kafka import TopicPartition

    tps = [TopicPartition(topic, p) for p in partitions]
    if start == "beginning":
        consumer.seek_to_beginning(*tps)
    elif start == "end":
        consumer.seek_to_end(*tps)
    else:
        first = consumer.beginning_offsets(tps)
        for tp in tps:
            consumer.seek(tp, max(first[tp], start.get(tp.partition, 0)))
