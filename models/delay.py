"""Label delay (``label_ts - event_ts``, ms) summarised in fixed log-spaced buckets.

Why buckets: the summary must be small, updated in well under a microsecond, kept in
snapshots, and *merge* exactly (two workers' histograms, or two windows, add bucket
by bucket) — which streaming quantile sketches such as P² (``river.stats.Quantile``)
cannot. Bucket ``0`` holds delays under 1 ms (a negative delay means the clocks
disagree, and counts there); bucket ``i >= 1`` holds ``[2**((i-1)/8), 2**(i/8))`` ms, so
8 buckets per doubling and 321 buckets reach 2**40 ms (35 years; later is clamped).
A quantile is the geometric middle of its bucket, within 4.5% of the true value
(2**(1/16) - 1), clamped to the observed min and max. Count, mean, min and max are
exact.

>>> h = DelayHistogram()
>>> for ms in [100, 200, 300, 400, 1000]:
...     h.update(ms)
>>> s = h.summary()
>>> s["count"], s["mean_ms"], s["max_ms"], round(s["p50_ms"])
(5, 400.0, 1000, 292)
>>> other = DelayHistogram()
>>> other.update(5000)
>>> h.merge(other).summary()["max_ms"], h.merge(other).count
(5000, 6)
"""

from __future__ import annotations

import math

PER_DOUBLING = 8
N_BUCKETS = 1 + PER_DOUBLING * 40
QUANTILES = (0.5, 0.9, 0.99)


class DelayHistogram:
    """Counts of delays per bucket plus exact count, sum, min and max."""

    def __init__(self) -> None:
        self.counts = [0] * N_BUCKETS
        self.count = 0
        self.total: float = 0
        self.min: float | None = None
        self.max: float | None = None

    def update(self, delay_ms: float) -> None:
        if delay_ms < 1:
            bucket = 0
        else:
            bucket = min(N_BUCKETS - 1, 1 + int(math.log2(delay_ms) * PER_DOUBLING))
        self.counts[bucket] += 1
        self.count += 1
        self.total += delay_ms
        if self.min is None or delay_ms < self.min:
            self.min = delay_ms
        if self.max is None or delay_ms > self.max:
            self.max = delay_ms

    def merge(self, other: DelayHistogram) -> DelayHistogram:
        """A new histogram of both (exact: buckets are the same everywhere)."""
        out = DelayHistogram()
        out.counts = [a + b for a, b in zip(self.counts, other.counts, strict=True)]
        out.count, out.total = self.count + other.count, self.total + other.total
        mins = [m for m in (self.min, other.min) if m is not None]
        maxs = [m for m in (self.max, other.max) if m is not None]
        out.min, out.max = (min(mins) if mins else None), (max(maxs) if maxs else None)
        return out

    def quantile(self, q: float) -> float | None:
        """The ``q`` quantile (0 < q <= 1), or None before the first delay."""
        if self.min is None or self.max is None:
            return None
        rank, seen, bucket = q * self.count, 0, 0
        for bucket, n in enumerate(self.counts):  # noqa: B007 - the bucket is the answer
            seen += n
            if n and seen >= rank:
                break
        middle = 0.0 if bucket == 0 else 2 ** ((bucket - 0.5) / PER_DOUBLING)
        return float(min(max(middle, self.min), self.max))

    def summary(self) -> dict:
        """``count``, ``mean_ms``, ``p50_ms``, ``p90_ms``, ``p99_ms``, ``max_ms`` (JSON-safe)."""
        out: dict = {
            "count": self.count,
            "mean_ms": self.total / self.count if self.count else None,
        }
        for q in QUANTILES:
            out[f"p{round(q * 100)}_ms"] = self.quantile(q)
        out["max_ms"] = self.max
        return out

    def to_dict(self) -> dict:
        """Plain JSON data: only the non-empty buckets."""
        buckets = {str(i): n for i, n in enumerate(self.counts) if n}
        return {
            "buckets": buckets,
            "count": self.count,
            "total": self.total,
            "min": self.min,
            "max": self.max,
        }

    @classmethod
    def from_dict(cls, data: dict) -> DelayHistogram:
        out = cls()
        for i, n in data["buckets"].items():
            out.counts[int(i)] = n
        out.count, out.total, out.min, out.max = (
            data["count"],
            data["total"],
            data["min"],
            data["max"],
        )
        return out
