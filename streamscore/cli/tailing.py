"""``streamscore tail``: a topic's last records, all of them, or new ones as they come.

Reading goes through the one topic reader (:mod:`streamscore.ground.kafka.reading`),
outside any consumer group, so tailing never moves a worker's offsets. The last
``n`` records are the ``n`` newest by record timestamp over all partitions (each
partition is read from ``n`` records before its end); with ``--key`` the whole
topic is scanned, since any partition may hold the key. ``--follow`` prints the
backlog first, then every new record as it arrives, each line flushed.

``--json`` prints each record's value as it was written, one a line: a JSON value
written on one line is copied byte for byte; one written over several lines is
re-encoded compactly; a value that is not JSON (a malformed event) becomes a JSON
string of its text, and a tombstone (no value) ``null``. Every line is valid JSON.

>>> json_line(b'{"id": "a", "p": 0.5}'), json_line(b"not json"), json_line(None)
('{"id": "a", "p": 0.5}', '"not json"', 'null')
>>> json_line(b'{\\n  "id": "a"\\n}')
'{"id":"a"}'
"""

from __future__ import annotations

import heapq
import signal
import sys
import threading
from collections import defaultdict, deque
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

import orjson

from streamscore.cli.output import print_line
from streamscore.ground.config import Settings
from streamscore.ground.kafka.admin import worker_status_spec
from streamscore.ground.kafka.reading import POLL_MS, Record, last_offsets, open_topic

KINDS = ("predictions", "drift", "dlq", "events", "labels", "model-updates", "workers")


def resolve_topic(settings: Settings, name: str) -> tuple[str, str | None]:
    """``(topic, kind)``: an alias becomes the configured topic; a topic name that is
    one of the configured ones gets its kind (for the table's columns), any other None."""
    configured = {
        "predictions": settings.predictions_topic,
        "drift": settings.drift_topic,
        "dlq": settings.dlq_topic,
        "events": settings.events_topic,
        "labels": settings.labels_topic,
        "model-updates": settings.model_updates_topic,
        "workers": worker_status_spec(settings).name,
    }
    if name in configured:
        return configured[name], name
    kind = next((k for k, topic in configured.items() if topic == name), None)
    return name, kind


def json_line(raw: bytes | None) -> str:
    """A record's value as one line of JSON (see the module docstring)."""
    if raw is None:
        return "null"
    try:
        parsed = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return orjson.dumps(raw.decode("utf-8", errors="replace")).decode()
    text = raw.decode().strip()
    return text if "\n" not in text and "\r" not in text else orjson.dumps(parsed).decode()


def when(ms: int) -> str:
    """A record timestamp as UTC ISO-8601 with milliseconds.

    >>> when(1767225600123)
    '2026-01-01T00:00:00.123Z'
    """
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds")[:-6] + "Z"


def _compact(value: Any, limit: int | None = None) -> str:
    text = value if isinstance(value, str) else orjson.dumps(value).decode()
    return text if limit is None or len(text) <= limit else text[: limit - 1] + "…"


def _proba(body: dict) -> str:
    proba = body.get("proba") or {}
    best = proba.get(str(body.get("prediction")))
    return "" if best is None else f"{best:.3f}"


def _online(body: dict) -> str:
    online = body.get("online")
    return "" if not isinstance(online, dict) else str(online.get("prediction", ""))


# For each kind: column names and how to get them from a parsed value.
Columns = list[tuple[str, Callable[[dict], Any]]]
COLUMNS: dict[str, Columns] = {
    "predictions": [
        ("model", lambda v: f"{v.get('model')}/{v.get('version')}"),
        ("prediction", lambda v: v.get("prediction")),
        ("p", _proba),
        ("online", _online),
    ],
    "drift": [
        ("model", lambda v: f"{v.get('model')}/{v.get('version')}"),
        ("kind", lambda v: v.get("kind")),
        ("name", lambda v: v.get("name")),
        ("metric", lambda v: v.get("metric")),
        ("value", lambda v: _number(v.get("value"))),
        ("threshold", lambda v: _number(v.get("threshold"))),
        ("alert", lambda v: "ALERT" if v.get("alert") else ""),
    ],
    "dlq": [
        ("stage", lambda v: v.get("stage")),
        ("source", lambda v: f"{v.get('topic')}[{v.get('partition')}]@{v.get('offset')}"),
        ("error", lambda v: v.get("error")),
    ],
    "labels": [("label", lambda v: v.get("label"))],
    "model-updates": [
        ("model", lambda v: f"{v.get('model')}/{v.get('version')}"),
        ("sha256", lambda v: str(v.get("sha256", ""))[:12]),
        ("artifact bytes", lambda v: len(str(v.get("artifact", ""))) * 3 // 4),
    ],
    "workers": [
        ("model", lambda v: f"{v.get('model')}/{v.get('version')}"),
        ("host", lambda v: v.get("host")),
        ("pid", lambda v: v.get("pid")),
        ("web", lambda v: v.get("web")),
    ],
}
VALUE_LIMIT = 300  # a long event on a terminal; never cut in a pipe


def _number(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, int | float) else "" if value is None else str(value)


class Aligner:
    """Pads cells to columns that grow with the widest value seen (the last cell is free).

    >>> a = Aligner(["a", "bb", "c"])
    >>> a.line(["xxx", "y", "z z"]), a.line(["q", "r", "s"])
    ('xxx  y   z z', 'q    r   s')
    """

    def __init__(self, header: list[str]) -> None:
        self.widths = [len(h) for h in header]

    def fit(self, cells: list[str]) -> None:
        self.widths = [max(w, len(c)) for w, c in zip(self.widths, cells, strict=False)]

    def line(self, cells: list[str]) -> str:
        self.fit(cells)
        padded = [c.ljust(w) for c, w in zip(cells[:-1], self.widths, strict=False)]
        return "  ".join([*padded, cells[-1]]).rstrip()


class Tail:
    """One ``tail`` run: what to read, how to print it."""

    def __init__(
        self,
        settings: Settings,
        topic: str,
        kind: str | None,
        *,
        n: int | None,
        key: str | None = None,
        as_json: bool = False,
    ) -> None:
        self.settings, self.topic, self.kind = settings, topic, kind
        self.n, self.key, self.as_json = n, key, as_json
        self.columns = COLUMNS.get(kind or "", [])
        self.printed = 0
        self.limit = VALUE_LIMIT if sys.stdout.isatty() else None
        self.aligner = Aligner(self.header())
        self.header_due = not as_json

    def run(self, follow: bool) -> None:
        """Print the backlog (all, or the last ``n``), then with ``follow`` new records.

        Ctrl-C stops it between two polls: a KeyboardInterrupt raised inside kafka-python
        could leave one of its locks held, and closing the consumer then hung (seen once
        in 150 runs of ``tail -f``; the test's Ctrl-C waited 30 s for nothing). So SIGINT
        only sets a flag here; the consumer is closed, then the interrupt is raised (exit
        130)."""
        interrupted = threading.Event()
        on_main_thread = threading.current_thread() is threading.main_thread()
        previous = (signal.signal(signal.SIGINT, lambda *_: interrupted.set())
                    if on_main_thread else None)  # fmt: skip
        try:
            self._run(follow, interrupted)
        finally:
            if on_main_thread:
                signal.signal(signal.SIGINT, previous)
        if interrupted.is_set():
            raise KeyboardInterrupt

    def _run(self, follow: bool, interrupted: threading.Event) -> None:
        metadata_wait = min(3.0, self.settings.broker_timeout)
        start: Any = "beginning"
        if self.n is not None and self.key is None:  # {} for a missing topic: said below
            start = last_offsets(self.settings, self.topic, self.n, timeout=metadata_wait)
        with open_topic(self.settings, self.topic, start, must_exist=True, parse=not self.as_json,
                        metadata_timeout=metadata_wait) as reader:  # fmt: skip
            assert reader is not None  # must_exist
            later = self._backlog(reader, interrupted)
            if follow and not interrupted.is_set():
                self.show(later)
                while not interrupted.is_set():
                    self.show(r for r in reader.poll(POLL_MS) if self._wanted(r))
        if interrupted.is_set():
            return
        if not self.printed and not self.as_json:
            which = f" with key {self.key!r}" if self.key is not None else ""
            print(f"no records{which} on {self.topic}", file=sys.stderr)

    def _backlog(self, reader: Any, interrupted: threading.Event) -> list[Record]:
        """Print what the topic held when reading began; return records that came after."""
        newest: dict[int, deque[Record]] = defaultdict(lambda: deque(maxlen=self.n))
        later: list[Record] = []
        while not reader.caught_up() and not interrupted.is_set():
            for record in reader.poll(POLL_MS):
                if not self._wanted(record):
                    continue
                if record.offset >= reader.end[record.partition]:
                    later.append(record)
                elif self.n is None:
                    self.show([record])
                elif self.n:
                    newest[record.partition].append(record)
        if self.n:
            merged = heapq.merge(*newest.values(), key=lambda r: (r.timestamp_ms, r.partition))
            last = list(merged)[-self.n :]
            if not self.as_json:
                for record in last:
                    self.aligner.fit(self.row(record))
            self.show(last)
        return later

    def _wanted(self, record: Record) -> bool:
        return self.key is None or record.key == self.key

    def show(self, records: Iterable[Record]) -> None:
        for record in records:
            if self.as_json:
                print_line(json_line(record.raw))
            else:
                if self.header_due:
                    print_line(self.aligner.line(self.header()))
                    self.header_due = False
                print_line(self.aligner.line(self.row(record)))
            self.printed += 1

    def header(self) -> list[str]:
        names = ["time", "partition:offset", "key", *(c for c, _ in self.columns)]
        return names if self.columns else [*names, "value"]

    def row(self, record: Record) -> list[str]:
        cells = [when(record.timestamp_ms), record.ref, record.key or ""]
        body = record.value
        if self.columns and isinstance(body, dict):
            cells += ["" if get(body) is None else str(get(body)) for _, get in self.columns]
        elif self.columns:  # a value that is not an object: show it as it is
            cells += [_raw_text(record, self.limit)] + [""] * (len(self.columns) - 1)
        else:
            cells.append(_raw_text(record, self.limit))
        return [cell.replace("\t", " ").replace("\n", " ") for cell in cells]


def _raw_text(record: Record, limit: int | None) -> str:
    if record.raw is None:
        return "(tombstone)"
    if record.value is not None:
        return _compact(record.value, limit)
    return _compact(record.raw.decode("utf-8", errors="replace"), limit)
