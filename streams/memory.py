"""What was scored, by id, until its label comes: the feature memory of the label join.

One :class:`FeatureMemory` per events partition. A scored micro-batch is kept as one
*chunk* (its validated feature columns, the batch model's probabilities and version,
the event times, the events' record times) and an index ``id -> (chunk, row)``:
remembering costs one dict insert per event (about 0.1 µs), no copy of the features.
A label takes its entry (``joined``); a second label for the same id finds it taken
(``duplicate``); an id never scored is ``unknown``; a label that comes more than the
TTL after its event was scored is ``expired``. The TTL runs on the wall clock from
the moment the event was scored, not on event times, which a replay of old data
sets years back. Chunks are forgotten once their TTL has passed, or when the memory
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


@dataclass(eq=False)
class _Chunk:
    ids: list[str]
    features: FeatureBatch
    proba: np.ndarray
    version: str
    event_ts: np.ndarray
    record_ts: np.ndarray
    at_ms: int  # wall clock when scored
    taken: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.taken = np.zeros(len(self.ids), dtype=bool)


class FeatureMemory:
    """The scored events of one partition, by id, for at most ``ttl_ms`` of event time."""

    def __init__(self, ttl_ms: float, capacity: int) -> None:
        self.ttl_ms = ttl_ms
        self.capacity = capacity
        self.unlabelled = 0  # forgotten without a label (since the last read)
        self._index: dict[str, tuple[_Chunk, int]] = {}
        self._chunks: deque[_Chunk] = deque()

    def __len__(self) -> int:
        return len(self._index)

    def __contains__(self, event_id: object) -> bool:
        return event_id in self._index

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
        chunk = _Chunk(ids, features, proba, version, event_ts, record_ts, now_ms)
        (self._chunks.appendleft if older else self._chunks.append)(chunk)
        index = self._index
        for row, event_id in enumerate(ids):
            if older and event_id in index:
                continue  # a newer scoring of the same id wins
            index[event_id] = (chunk, row)
        self.forget_old(now_ms)

    def take(self, event_id: str, now_ms: int) -> tuple[str, Remembered | None]:
        """``(status, remembered)``: status is joined, duplicate, unknown or expired."""
        found = self._index.get(event_id)
        if found is None:
            return "unknown", None
        chunk, row = found
        if chunk.taken[row]:
            return "duplicate", None
        chunk.taken[row] = True
        if now_ms - chunk.at_ms > self.ttl_ms:
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
        found = self._index.get(event_id)
        if found is not None:
            found[0].taken[found[1]] = True

    def forget_old(self, now_ms: int) -> None:
        """Forget what has waited longer than the TTL (kept a little longer: a label that
        comes just after is reported as expired rather than unknown), or beyond capacity."""
        horizon = now_ms - 1.25 * self.ttl_ms
        chunks = self._chunks
        while chunks and (chunks[0].at_ms < horizon or len(self._index) > self.capacity):
            self._forget(chunks.popleft())

    def _forget(self, chunk: _Chunk) -> None:
        index = self._index
        for event_id in chunk.ids:
            if index.get(event_id, (None,))[0] is chunk:
                del index[event_id]
        self.unlabelled += int((~chunk.taken).sum())

    def read_unlabelled(self) -> int:
        """Events forgotten without a label since the last call."""
        n, self.unlabelled = self.unlabelled, 0
        return n
