"""Delayed labels: a label is withheld from its event and sent after a delay.

A delay is a fixed number of seconds (``5``, ``0.5``) or drawn per row from a
distribution with a seeded generator, so labels can arrive out of order:
``exp:MEAN`` (exponential), ``uniform:LOW:HIGH``, ``normal:MEAN:SD`` (clipped at 0).

>>> import numpy as np
>>> parse_delay("2.5").draw(np.random.default_rng(0), 2).tolist()
[2.5, 2.5]
>>> d = parse_delay("uniform:1:3").draw(np.random.default_rng(0), 1000)
>>> bool(d.min() >= 1 and d.max() <= 3)
True
>>> q = LabelQueue()
>>> q.push(2.0, b"b", 1); q.push(1.0, b"a", 0)
>>> q.pop_due(1.5), q.next_due()
([(b'a', 0)], 2.0)
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass

import numpy as np

from streamscore.ground.errors import ConfigError


@dataclass(frozen=True)
class Delay:
    """A label delay in seconds: ``kind`` is fixed, exp, uniform or normal."""

    kind: str
    params: tuple[float, ...]

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` delays in seconds, never negative."""
        p = self.params
        if self.kind == "fixed":
            return np.full(n, p[0])
        if self.kind == "exp":
            return rng.exponential(p[0], n)
        if self.kind == "uniform":
            return rng.uniform(p[0], p[1], n)
        return np.clip(rng.normal(p[0], p[1], n), 0.0, None)

    def __str__(self) -> str:
        if self.kind == "fixed":
            return f"{self.params[0]:g}"
        return ":".join([self.kind, *(f"{v:g}" for v in self.params)])


ARITY = {"exp": 1, "uniform": 2, "normal": 2}


def parse_delay(spec: str | float | Delay) -> Delay:
    """A Delay from ``5``, ``0.5``, ``exp:2``, ``uniform:1:5`` or ``normal:3:1``."""
    if isinstance(spec, Delay):
        return spec
    text = str(spec).strip()
    kind, *args = text.split(":")
    try:
        if not args:
            params: tuple[float, ...] = (float(kind),)
            kind = "fixed"
        else:
            params = tuple(float(a) for a in args)
    except ValueError:
        params, kind = (), "?"
    ok = (kind == "fixed" and len(params) == 1) or ARITY.get(kind) == len(params)
    ok = ok and all(math.isfinite(v) and v >= 0 for v in params)
    if ok and kind == "uniform":
        ok = params[0] <= params[1]
    if not ok:
        raise ConfigError(
            f"bad --label-delay {text!r}: use seconds (5, 0.5) or exp:MEAN, "
            "uniform:LOW:HIGH, normal:MEAN:SD with non-negative numbers"
        )
    return Delay(kind, params)


class LabelQueue:
    """Labels waiting to be sent, in order of their due time (a heap)."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, bytes, object]] = []
        self._seq = 0  # ties keep the order the events were sent in

    def __len__(self) -> int:
        return len(self._heap)

    def push(self, due: float, key: bytes, label: object) -> None:
        heapq.heappush(self._heap, (due, self._seq, key, label))
        self._seq += 1

    def next_due(self) -> float:
        """Due time of the first label, or infinity when none waits."""
        return self._heap[0][0] if self._heap else math.inf

    def pop_due(self, now: float) -> list[tuple[bytes, object]]:
        """Remove and return the labels due at or before ``now``, in due order."""
        out = []
        while self._heap and self._heap[0][0] <= now:
            _, _, key, label = heapq.heappop(self._heap)
            out.append((key, label))
        return out

    def pop_all(self) -> list[tuple[float, bytes, object]]:
        """Remove and return every waiting label with its due time, in due order."""
        out = [(due, key, label) for due, _, key, label in sorted(self._heap)]
        self._heap.clear()
        return out
