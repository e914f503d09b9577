"""Replay a recorded stream (a file or a DataFrame) into Kafka at the pace asked for.

Each row becomes one event on the events topic, keyed by its id; with a label
column the label is withheld and sent later on the labels topic. See the README
section "Replay and synthetic streams" for the contract of both topics.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import orjson
from kafka.errors import KafkaError

from streamscore.ground import tables
from streamscore.ground.config import Settings
from streamscore.ground.errors import BrokerError, ConfigError, DataError
from streamscore.ground.kafka.admin import create_topics
from streamscore.ground.times import now_ms

from .events import EncodedChunk, Layout, encode
from .labels import Delay, LabelQueue, parse_delay
from .pacing import Clock, Pace, check_realtime, realtime_seconds
from .progress import Bar
from .sender import ProducerOptions, Sender

LABEL = "label"  # a column of this name is never sent inside events unless asked


@dataclass
class ReplayStats:
    """What a run sent. ``next_row`` is the ``--skip`` that resumes after it."""

    events: int = 0
    labels: int = 0
    event_seconds: float = 0.0
    labels_unsent: int = 0
    seconds: float = 0.0
    first_row: int = 0
    next_row: int = 0
    interrupted: bool = False
    topic: str = ""
    labels_topic: str | None = None

    @property
    def events_per_second(self) -> float:
        """Events over the time spent sending them (waiting for late labels excluded)."""
        return self.events / self.event_seconds if self.event_seconds > 0 else 0.0

    def summary(self) -> str:
        """One line for the end of a run.

        >>> ReplayStats(10, event_seconds=2.0, seconds=3.0, next_row=10, topic="ev").summary()
        'sent 10 events to ev in 3.00 s (5 events/s); next row 10'
        """
        text = f"sent {self.events:,} events to {self.topic}"
        if self.labels_topic:
            text += f" and {self.labels:,} labels to {self.labels_topic}"
        text += f" in {self.seconds:.2f} s ({self.events_per_second:,.0f} events/s)"
        if self.interrupted:
            text = "interrupted: " + text
            if self.labels_unsent:
                text += f"; {self.labels_unsent:,} labels not sent"
            return text + f"; resume with --skip {self.next_row}"
        return text + f"; next row {self.next_row}"


def choose_pace(
    ts_col: str | None, rate: float | None, speed: float | None, max_speed: bool
) -> Pace:
    """``--max`` / ``--rate`` / ``--speed``; by default speed 1 with timestamps, else max.

    >>> choose_pace("ts", None, None, False).speed, choose_pace(None, None, None, False).paced
    (1.0, False)
    """
    if sum(x is not None for x in (rate, speed)) + bool(max_speed) > 1:
        raise ConfigError("give one of --speed, --rate and --max")
    if max_speed:
        return Pace()
    if speed is not None and ts_col is None:
        raise ConfigError("--speed needs a timestamp column (--ts-col); use --rate instead")
    if rate is None and speed is None and ts_col is not None:
        speed = 1.0
    return Pace(speed=speed, rate=rate)


def resolve_layout(
    source: tables.Source,
    id_col: str | None,
    ts_col: str | None,
    label_col: str | None,
    keep_label: bool = False,
) -> Layout:
    """The columns' roles; ``id`` and ``ts`` columns are used when no other is named.

    A column named ``label`` is never sent inside events by default: it is the
    label column with ``--label-col label`` (sent later on the labels topic), and
    withheld otherwise; ``keep_label`` keeps the label column in the events too.
    """
    columns = tables.columns(source)
    id_col = id_col if id_col is not None else ("id" if "id" in columns else None)
    ts_col = ts_col if ts_col is not None else ("ts" if "ts" in columns else None)
    withheld: tuple[str, ...] = ()
    if label_col is None and not keep_label and LABEL in columns and LABEL not in (id_col, ts_col):
        withheld = (LABEL,)
    return Layout(
        columns, id_col=id_col, ts_col=ts_col, label_col=label_col,
        label_in_event=keep_label, withheld=withheld,
    )  # fmt: skip


def replay(
    settings: Settings,
    source: tables.Source,
    *,
    id_col: str | None = None,
    ts_col: str | None = None,
    label_col: str | None = None,
    rate: float | None = None,
    speed: float | None = None,
    max_speed: bool = False,
    limit: int | None = None,
    skip: int = 0,
    label_delay: str | float | Delay = 0.0,
    seed: int = 0,
    wait_labels: bool = True,
    topic: str | None = None,
    labels_topic: str | None = None,
    progress: bool = True,
    producer: ProducerOptions | None = None,
    chunk_rows: int = 10_000,
    id_prefix: str | None = None,
    realtime: bool = False,
    keep_label: bool = False,
    log: Callable[[str], None] = lambda message: None,
) -> ReplayStats:
    """Send the rows of ``source`` as events (and their labels, delayed); return the counts.

    Paced by the timestamps with no pace asked for, a replay that would take more
    than :data:`MAX_REALTIME_SECONDS` is refused unless ``realtime`` (``--realtime``).
    ``log`` receives the lines meant for the user (how long a real-time run takes,
    a label column left out).

    Ctrl-C (SIGINT) stops the run cleanly: what was handed to the producer is
    flushed, and the stats say how far it got (``interrupted``, ``next_row``).
    """
    if skip < 0 or (limit is not None and limit < 0):
        raise ConfigError("--skip and --limit must be >= 0")
    layout = resolve_layout(source, id_col, ts_col, label_col, keep_label)
    if realtime and (rate is not None or speed is not None or max_speed):
        raise ConfigError("give one of --realtime, --speed, --rate and --max")
    if realtime and layout.ts_col is None:
        raise ConfigError("--realtime needs a timestamp column (--ts-col)")
    pace = choose_pace(layout.ts_col, rate, speed, max_speed)
    notes = []  # said once the broker answers: a mistake stays one line
    if layout.ts_col is not None and rate is None and speed is None and not max_speed:
        notes.append(check_realtime(realtime_seconds(source, layout.ts_col, skip, limit), realtime))
    if layout.withheld:
        notes.append(
            f"column {LABEL!r} is not sent: --label-col {LABEL} sends it on the labels topic "
            "after a delay, --keep-label keeps it in the events"
        )
    delay = parse_delay(label_delay)
    producer = producer or ProducerOptions()
    stats = ReplayStats(
        first_row=skip,
        next_row=skip,
        topic=topic or settings.events_topic,
        labels_topic=(labels_topic or settings.labels_topic) if label_col else None,
    )
    topics = [stats.topic] + ([stats.labels_topic] if stats.labels_topic else [])
    create_topics(settings, topics)
    for note in notes:
        log(note)
    run = _Run(settings, producer, stats, delay, np.random.default_rng(seed))
    total = _total(source, skip, limit)
    bar = Bar(total, f"replay → {stats.topic}", enabled=progress)
    chunks = tables.read_chunks(source, chunk_rows=chunk_rows, skip=skip, limit=limit)
    prefix = id_prefix or tables.stem(source)
    try:
        with _stop_on_sigint() as stop:
            run.stop = stop
            for chunk in chunks:
                if not run.send_chunk_or_fail(_encode(chunk, layout, prefix, stats), pace, bar):
                    break
            if stats.labels_topic:  # labels still due: the event rate stops here
                stats.event_seconds = run.clock.now()
            run.finish_labels(wait_labels)
    finally:
        run.close(bar)
    return stats


def _encode(chunk, layout: Layout, prefix: str, stats: ReplayStats) -> EncodedChunk:
    try:
        return encode(chunk, layout, prefix)
    except DataError as exc:
        if stats.next_row == stats.first_row:
            raise
        raise DataError(
            f"{exc}; the rows before row {stats.next_row} were sent: fix the file and "
            f"resume with --skip {stats.next_row}"
        ) from exc


def _total(source: tables.Source, skip: int, limit: int | None) -> int | None:
    rows = tables.count_rows(source)
    left = None if rows is None else max(rows - skip, 0)
    if limit is None:
        return left
    return limit if left is None else min(left, limit)


class _Run:
    """The state of one replay: the producer, the clock, the waiting labels, the counts."""

    def __init__(
        self,
        settings: Settings,
        producer: ProducerOptions,
        stats: ReplayStats,
        delay: Delay,
        rng: np.random.Generator,
    ) -> None:
        self.sender = Sender(settings, producer)
        self.sender.prepare([t for t in (stats.topic, stats.labels_topic) if t])
        self.stats, self.delay, self.rng = stats, delay, rng
        self.flush_timeout = 2 * settings.broker_timeout
        self.queue = LabelQueue()
        self.clock = Clock()
        self.stop = threading.Event()

    def send_chunk_or_fail(self, chunk: EncodedChunk, pace: Pace, bar: Bar) -> bool:
        """``send_chunk``; a record the producer refuses (e.g. too large) is a BrokerError."""
        try:
            return self.send_chunk(chunk, pace, bar)
        except KafkaError as exc:
            raise BrokerError(
                f"Kafka refused the record of row {self.stats.next_row}: {exc}; the rows "
                f"before it were sent, resume with --skip {self.stats.next_row + 1}"
            ) from exc

    def send_chunk(self, chunk: EncodedChunk, pace: Pace, bar: Bar) -> bool:
        """Send one chunk's events (and due labels); False when stopped by Ctrl-C."""
        due = pace.due_seconds(chunk.rows, chunk.ts_ms)
        labels = chunk.labels
        if due is None and labels is None:
            return self._send_unpaced(chunk, bar)
        delays = self.delay.draw(self.rng, len(chunk.keys)).tolist() if labels else None
        send, topic, stats, queue, clock = (
            self.sender.send, self.stats.topic, self.stats, self.queue, self.clock
        )  # fmt: skip
        rows = chunk.rows
        for j, (key, value) in enumerate(zip(chunk.keys, chunk.values, strict=True)):
            if due is not None and not self.wait_until(due[j]):
                return False
            if self.stop.is_set():
                return False
            if queue and queue.next_due() <= clock.now():
                self.send_due_labels()
            send(topic, key, value)
            stats.events += 1
            stats.next_row = int(rows[j]) + 1
            if labels is not None and labels[j] is not None and labels[j] == labels[j]:
                assert delays is not None  # drawn whenever the chunk has labels
                queue.push(clock.now() + delays[j], key, labels[j])
            if not j & 511:
                bar.update(stats.events)
        bar.update(stats.events)
        return True

    def _send_unpaced(self, chunk: EncodedChunk, bar: Bar, slice_rows: int = 1024) -> bool:
        """``--max`` without labels: slices handed to the producer in a tight loop."""
        keys, values, stats = chunk.keys, chunk.values, self.stats
        for start in range(0, len(keys), slice_rows):
            if self.stop.is_set():
                return False
            end = min(start + slice_rows, len(keys))
            try:
                self.sender.send_many(stats.topic, keys[start:end], values[start:end])
            finally:
                handed = self.sender.handed
                stats.events += handed
                stats.next_row = (
                    int(chunk.rows[start + handed - 1]) + 1 if handed else stats.next_row
                )
            bar.update(stats.events)
        return True

    def wait_until(self, t: float) -> bool:
        """Sleep until ``t`` on the run's clock, sending labels that fall due meanwhile."""
        while True:
            now = self.clock.now()
            if self.stop.is_set():
                return False
            if self.queue and self.queue.next_due() <= now:
                self.send_due_labels()
            if now >= t:
                return True
            # short naps keep Ctrl-C and label deadlines prompt
            time.sleep(min(t, self.queue.next_due(), now + 0.2) - now)

    def send_due_labels(self) -> None:
        for key, label in self.queue.pop_due(self.clock.now()):
            self._send_label(key, label)

    def _send_label(self, key: bytes, label: object) -> None:
        assert self.stats.labels_topic is not None  # labels are only queued with a topic
        value = {"id": key.decode(), "label": label, "ts": now_ms()}
        self.sender.send(self.stats.labels_topic, key, orjson.dumps(value))
        self.stats.labels += 1

    def finish_labels(self, wait: bool) -> None:
        """Send the labels still waiting: at their due times, or at once (``wait=False``)."""
        if wait and not self.stop.is_set():
            while self.queue and self.wait_until(self.queue.next_due()):
                pass
        if not self.stop.is_set():
            for _, key, label in self.queue.pop_all():
                self._send_label(key, label)

    def close(self, bar: Bar) -> None:
        stats = self.stats
        stats.interrupted = self.stop.is_set()
        stats.labels_unsent = len(self.queue)
        try:
            self.sender.flush(timeout=self.flush_timeout)
        finally:
            self.sender.close(timeout=5)
            stats.seconds = self.clock.now()
            stats.event_seconds = stats.event_seconds or stats.seconds
            bar.close()
        if self.sender.failed:
            failed = self.sender.failed
            stats.events = max(stats.events - failed, 0)
            raise BrokerError(
                f"{failed} records were not delivered to {self.sender.settings.bootstrap}: "
                f"{self.sender.first_error}; resume with --skip {stats.first_row} "
                "(records before the failure may be duplicated)"
            )


@contextmanager
def _stop_on_sigint() -> Iterator[threading.Event]:
    """An event set by Ctrl-C instead of a KeyboardInterrupt mid-send (main thread only)."""
    stop = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return
    previous = signal.signal(signal.SIGINT, lambda *_: stop.set())
    try:
        yield stop
    finally:
        signal.signal(signal.SIGINT, previous)
