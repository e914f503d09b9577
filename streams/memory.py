"""What was scored, by id, until its label comes: the feature memory of the label join.

One :class:`FeatureMemory` per events partition. A scored micro-batch is kept as one
*chunk* (its validated feature columns, the batch model's probabilities and version,
the event times, the events' record times) and an index ``id -> (chunk, row)`` packed
in one int: remembering costs one dict insert per event (about 0.1 µs), no copy of the
features. Every ``MERGE_AT`` batches the newest chunks are merged into one.
A label takes its entry (``joined``); a second label for the same id finds it taken
(``duplicate``); an id never scored is ``unknown``; a label that comes more than the
TTL after its event was scored is ``expired``. The TTL runs on the wall clock from
the moment the event was scored, not on event times, which a replay of old data
sets years back. Chunks are forgotten once the TTL of their newest event has passed
(with a quarter more), or, oldest first, when the memory
holds more than its capacity; entries forgotten without their label are counted as
``unlabelled`` (a label coming after that is ``unknown``). Pure: no Kafka.

>>> import numpy as np
>>> from streamscore.models.batch import FeatureBatch
>>> from streamscore.models.schema import Feature, FeatureSchema
>>> schema = FeatureSchema((Feature("x", "numeric"),))
>>> batch = FeatureBatch(schema, {"x": np.array([1.0, 2.0])}, [0, 1])
>>> memory = FeatureMemory(ttl_ms=1000, capacity=10)
>>> memory.remember(["a", "b"], batch, np.array([[0.2, 0.8], [0.6, 0.4]]), "1",
...                 event_ts=np.array([0, 5]), record_ts=np.array([100, 105]), now_ms=100)
>>> memory.take("a", now_ms=500)
('joined', Remembered(x={'x': 1.0}, proba=[0.2, 0.8], version='1', event_ts=0, record_ts=100))
>>> memory.take("a", now_ms=600)[0], memory.take("zz", now_ms=600)[0]
('duplicate', 'unknown')
>>> memory.take("b", now_ms=9000)[0]
'expired'
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from streamscore.models.batch import FeatureBatch


@dataclass(frozen=True)
class Remembered:
    """What a label is joined with."""

    x: dict[str, Any]
    proba: list[float]
    version: str
    event_ts: int
    record_ts: int  # when the event was written to Kafka (its record timestamp)


_ROW_BITS = 32  # an index entry is one int: chunk number << _ROW_BITS | row
_ROW_MASK = (1 << _ROW_BITS) - 1
# Scored batches merged into one chunk. Why: the memory holds up to an hour of events,
# and CPython's full garbage collections walk every container object it holds. With one
# (chunk, row) tuple per event and a chunk per 5-8 event batch, a worker remembering
# 1,000,000 events held ~1.7 million tracked objects and each full collection stopped it
# for ~0.8 s (one of 0.11 s came 40 s after a start at 1,000 events/s, from the metric
# streamscore_gc_pause_seconds).
# Ints as index entries and merged chunks cut that to a few objects per MERGE_AT batches.
MERGE_AT = 64
MERGE_ROWS = 8192  # a merged chunk stays small beside the capacity (forgotten whole)


@dataclass(eq=False, slots=True)
class _Chunk:
    number: int
    ids: list[str]
    features: FeatureBatch
    proba: np.ndarray
    version: str
    event_ts: np.ndarray
    record_ts: np.ndarray
    at_ms: np.ndarray  # per row: wall clock when scored
    taken: np.ndarray
    newest_ms: int = field(init=False)

    def __post_init__(self) -> None:
        self.newest_ms = int(self.at_ms.max())


def _merged(number: int, chunks: list[_Chunk]) -> _Chunk:
    """One chunk holding the rows of ``chunks`` (same version), in their order."""
    first = chunks[0].features
    columns = {
        name: np.concatenate([c.features.columns[name] for c in chunks]) for name in first.columns
    }
    n = sum(len(c.ids) for c in chunks)
    return _Chunk(
        number,
        [event_id for c in chunks for event_id in c.ids],
        FeatureBatch(first.schema, columns, list(range(n))),
        np.concatenate([c.proba for c in chunks]),
        chunks[0].version,
        np.concatenate([c.event_ts for c in chunks]),
        np.concatenate([c.record_ts for c in chunks]),
        np.concatenate([c.at_ms for c in chunks]),
        np.concatenate([c.taken for c in chunks]),
    )


class FeatureMemory:
    """The scored events of one partition, by id, for at most ``ttl_ms`` of event time."""

    def __init__(self, ttl_ms: float, capacity: int) -> None:
        self.ttl_ms = ttl_ms
        self.capacity = capacity
        self.unlabelled = 0  # forgotten without a label (since the last read)
        self._index: dict[str, int] = {}  # id -> chunk number << _ROW_BITS | row
        self._chunks: deque[_Chunk] = deque()  # oldest first
        self._numbered: dict[int, _Chunk] = {}
        self._next = 0
        self._unmerged = 0  # chunks at the newest end not merged yet

    def __len__(self) -> int:
        return len(self._index)

    def __contains__(self, event_id: object) -> bool:
        return event_id in self._index

    def _new_chunk(self, ids, features, proba, version, event_ts, record_ts, at_ms) -> _Chunk:
        chunk = _Chunk(self._next, ids, features, proba, version, event_ts, record_ts, at_ms,
                       np.zeros(len(ids), dtype=bool))  # fmt: skip
        self._next += 1
        self._numbered[chunk.number] = chunk
        return chunk

    def remember(
        self,
        ids: list[str],
        features: FeatureBatch,
        proba: np.ndarray,
        version: str,
        *,
        event_ts: np.ndarray,
        record_ts: np.ndarray,
        now_ms: int,
        older: bool = False,
    ) -> None:
        """Keep a scored batch (``older``: events from before every chunk held, e.g. a rebuild)."""
        if not ids:
            return
        at_ms = np.full(len(ids), now_ms, dtype=np.int64)
        chunk = self._new_chunk(ids, features, proba, version, event_ts, record_ts, at_ms)
        base = chunk.number << _ROW_BITS
        index = self._index
        if older:
            self._chunks.appendleft(chunk)
            for row, event_id in enumerate(ids):
                if event_id not in index:  # a newer scoring of the same id wins
                    index[event_id] = base | row
        else:
            self._chunks.append(chunk)
            for row, event_id in enumerate(ids):
                index[event_id] = base | row
            self._unmerged += 1
            if self._unmerged >= MERGE_AT:
                self._merge_newest()
        self.forget_old(now_ms)

    def _merge_newest(self) -> None:
        """Merge the newest unmerged chunks, each run of one version into one chunk."""
        chunks = self._chunks
        tail = [chunks.pop() for _ in range(min(self._unmerged, len(chunks)))][::-1]
        self._unmerged = 0
        runs: list[list[_Chunk]] = []
        rows = 0
        for chunk in tail:
            if (runs and runs[-1][0].version == chunk.version
                    and rows + len(chunk.ids) <= MERGE_ROWS):  # fmt: skip
                runs[-1].append(chunk)
                rows += len(chunk.ids)
            else:
                runs.append([chunk])
                rows = len(chunk.ids)
        index, numbered = self._index, self._numbered
        for run in runs:
            if len(run) == 1:
                chunks.append(run[0])
                continue
            merged = _merged(self._next, run)
            self._next += 1
            numbered[merged.number] = merged
            new = merged.number << _ROW_BITS
            for old in run:  # entries still pointing at an old chunk move to the merged one
                del numbered[old.number]
                base = old.number << _ROW_BITS
                for row, event_id in enumerate(old.ids):
                    if index.get(event_id) == base | row:
                        index[event_id] = new + row
                new += len(old.ids)
            chunks.append(merged)

    def _find(self, event_id: str) -> tuple[_Chunk, int] | None:
        found = self._index.get(event_id)
        if found is None:
            return None
        return self._numbered[found >> _ROW_BITS], found & _ROW_MASK

    def take(self, event_id: str, now_ms: int) -> tuple[str, Remembered | None]:
        """``(status, remembered)``: status is joined, duplicate, unknown or expired."""
        found = self._find(event_id)
        if found is None:
            return "unknown", None
        chunk, row = found
        if chunk.taken[row]:
            return "duplicate", None
        chunk.taken[row] = True
        if now_ms - int(chunk.at_ms[row]) > self.ttl_ms:
            return "expired", None
        remembered = Remembered(
            chunk.features.row_dict(row),
            chunk.proba[row].tolist(),
            chunk.version,
            int(chunk.event_ts[row]),
            int(chunk.record_ts[row]),
        )
        return "joined", remembered

    def mark_taken(self, event_id: str) -> None:
        """A label already joined before a restart: a later one for the id is a duplicate."""
        found = self._find(event_id)
        if found is not None:
            found[0].taken[found[1]] = True

    def forget_old(self, now_ms: int) -> None:
        """Forget what has waited longer than the TTL (kept a little longer: a label that
        comes just after is reported as expired rather than unknown), or beyond capacity."""
        horizon = now_ms - 1.25 * self.ttl_ms
        chunks = self._chunks
        while chunks and (chunks[0].newest_ms < horizon or len(self._index) > self.capacity):
            self._forget(chunks.popleft())
        self._unmerged = min(self._unmerged, len(chunks))

    def _forget(self, chunk: _Chunk) -> None:
        index = self._index
        base = chunk.number << _ROW_BITS
        for row, event_id in enumerate(chunk.ids):
            if index.get(event_id) == base | row:
                del index[event_id]
        del self._numbered[chunk.number]
        self.unlabelled += int((~chunk.taken).sum())

    def read_unlabelled(self) -> int:
        """Events forgotten without a label since the last call."""
        n, self.unlabelled = self.unlabelled, 0
        return n
