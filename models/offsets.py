"""Which labels offsets the learner has taken, exactly, when examples come out of order.

A worker scores the next batch while the outputs of the previous ones are still on
their way (``streams/scoring.py``), and a delivery that fails (a broker restart) is
sent again after a wait: the examples of a later batch can then reach the examples
topic before those of an earlier one. A high-water mark per labels partition ("every
offset up to the highest seen") would take the late ones for duplicates and skip
them: measured in the broker-restart fault test, 61 of 20,000 labels never learned.

So each labels partition keeps the offsets it has seen as sorted, disjoint closed
intervals. In order they are one interval; a late example fills its gap. A gap that
is never filled (a label that went to the dead-letter topic, which has no example)
stays, so after :data:`MAX_INTERVALS` intervals the oldest gap is closed (counted as
seen): a late example arrives within a few batches, never after 64 newer gaps.

>>> seen = SeenOffsets()
>>> [seen.add(0, o) for o in (0, 1, 2, 5, 6)]
[True, True, True, True, True]
>>> seen.intervals(0), seen.top(0)
([[0, 2], [5, 6]], 6)
>>> seen.add(0, 3), seen.add(0, 4), seen.add(0, 4)
(True, True, False)
>>> seen.intervals(0)
[[0, 6]]
>>> SeenOffsets.from_state(seen.state()).add(0, 5)
False
"""

from __future__ import annotations

import bisect

MAX_INTERVALS = 64


class SeenOffsets:
    """Per partition, the offsets seen, as sorted disjoint ``[first, last]`` intervals."""

    def __init__(self) -> None:
        self._starts: dict[int, list[int]] = {}
        self._ends: dict[int, list[int]] = {}

    def seen(self, partition: int, offset: int) -> bool:
        starts = self._starts.get(partition)
        if not starts:
            return False
        i = bisect.bisect_right(starts, offset) - 1
        return i >= 0 and offset <= self._ends[partition][i]

    def add(self, partition: int, offset: int) -> bool:
        """Mark ``offset`` seen; False if it already was."""
        if self.seen(partition, offset):
            return False
        starts = self._starts.setdefault(partition, [])
        ends = self._ends.setdefault(partition, [])
        i = bisect.bisect_right(starts, offset)  # the interval after it
        joins_left = i > 0 and ends[i - 1] == offset - 1
        joins_right = i < len(starts) and starts[i] == offset + 1
        if joins_left and joins_right:
            ends[i - 1] = ends[i]
            del starts[i], ends[i]
        elif joins_left:
            ends[i - 1] = offset
        elif joins_right:
            starts[i] = offset
        else:
            starts.insert(i, offset)
            ends.insert(i, offset)
            if len(starts) > MAX_INTERVALS:  # the oldest gap will not be filled now
                ends[0] = ends[1]
                del starts[1], ends[1]
        return True

    def top(self, partition: int) -> int:
        """The highest offset seen (-1: none)."""
        ends = self._ends.get(partition)
        return ends[-1] if ends else -1

    def tops(self) -> dict[int, int]:
        return {p: ends[-1] for p, ends in self._ends.items() if ends}

    def intervals(self, partition: int) -> list[list[int]]:
        return [[a, b] for a, b in zip(self._starts.get(partition, []),
                                       self._ends.get(partition, []), strict=True)]  # fmt: skip

    def state(self) -> dict[str, list[list[int]]]:
        """JSON-ready: ``{partition: [[first, last], ...]}``."""
        return {str(p): self.intervals(p) for p in self._starts if self._starts[p]}

    @classmethod
    def from_state(cls, state: dict[str, list[list[int]]]) -> SeenOffsets:
        out = cls()
        for p, intervals in state.items():
            out._starts[int(p)] = [int(a) for a, _ in intervals]
            out._ends[int(p)] = [int(b) for _, b in intervals]
        return out

    @classmethod
    def up_to(cls, tops: dict[int, int]) -> SeenOffsets:
        """Every offset up to each partition's top seen (a snapshot from before this state)."""
        return cls.from_state({str(p): [[0, int(top)]] for p, top in tops.items() if top >= 0})
