"""When each event is due: original inter-arrival times scaled by a speed, a fixed
rate, or as fast as possible.

Timestamps are parsed by :func:`streamscore.ground.times.column_ms`.

>>> import pandas as pd
>>> Pace(rate=4).due_seconds(pd.RangeIndex(0, 3), None)
[0.0, 0.25, 0.5]
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from streamscore.ground.errors import ConfigError


@dataclass
class Pace:
    """How events are spaced: ``speed`` (with timestamps), ``rate`` (events/s) or neither (max).

    ``due_seconds`` gives, for the rows of a chunk, the seconds after the start of
    the run at which each is due; None means "now" (``--max``).
    """

    speed: float | None = None
    rate: float | None = None
    _first_ms: float | None = field(default=None, repr=False)
    _first_row: int | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.speed is not None and self.rate is not None:
            raise ConfigError("give --speed or --rate, not both")
        for name in ("speed", "rate"):
            value = getattr(self, name)
            if value is not None and not value > 0:
                raise ConfigError(f"--{name} must be > 0, got {value}")

    @property
    def paced(self) -> bool:
        return self.speed is not None or self.rate is not None

    def due_seconds(self, rows: pd.Index, ts_ms: np.ndarray | None) -> list[float] | None:
        if self.rate is not None:
            if self._first_row is None:
                self._first_row = int(rows[0])
            return ((np.asarray(rows) - self._first_row) / self.rate).tolist()
        if self.speed is not None and ts_ms is not None:
            if self._first_ms is None:
                self._first_ms = float(ts_ms[0])
            return ((ts_ms - self._first_ms) / 1000.0 / self.speed).tolist()
        return None


class Clock:
    """Monotonic seconds since the run started; ``sleep_until`` a point on it."""

    def __init__(self) -> None:
        self.start = time.monotonic()

    def now(self) -> float:
        return time.monotonic() - self.start

    def sleep_until(self, t: float) -> None:
        delay = t - self.now()
        if delay > 0:
            time.sleep(delay)
