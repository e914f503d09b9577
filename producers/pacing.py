"""When each event is due: original inter-arrival times scaled by a speed, a fixed
rate, or as fast as possible; and how long a run at the timestamps' own pace takes
(one longer than ten minutes needs ``--realtime``, so an hourly file never silently
runs for days).

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

from streamscore.ground import tables
from streamscore.ground.errors import ConfigError
from streamscore.ground.times import column_ms

MAX_REALTIME_SECONDS = 600.0  # longer real-time runs need --realtime (or a pace)


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


def realtime_seconds(
    source: tables.Source, ts_col: str, skip: int = 0, limit: int | None = None
) -> float:
    """How long a replay at the file's own pace (speed 1) takes: latest ``ts`` minus the first.

    Reads only the timestamp column (Parquet and CSV decode nothing else).

    >>> import pandas as pd
    >>> realtime_seconds(pd.DataFrame({"ts": [0, 3_600_000, 1_800_000]}), "ts")
    3600.0
    """
    first: float | None = None
    latest = float("-inf")
    for chunk in tables.read_chunks(source, chunk_rows=100_000, skip=skip, limit=limit,
                                    only=[ts_col]):  # fmt: skip
        ms = column_ms(chunk[ts_col], ts_col)
        if first is None:
            first = float(ms[0])
        latest = max(latest, float(ms.max()))
    return 0.0 if first is None else max(0.0, latest - first) / 1000


def check_realtime(seconds: float, realtime: bool) -> str:
    """Refuse a real-time replay over :data:`MAX_REALTIME_SECONDS` unless asked for with
    ``--realtime``; else the line that says how long it takes."""
    if seconds > MAX_REALTIME_SECONDS and not realtime:
        speed = nice_speed(seconds / MAX_REALTIME_SECONDS)
        raise ConfigError(
            f"at the pace of its timestamps this replay would take {duration(seconds)}: pass "
            f"--speed X (--speed {speed:g} takes {duration(seconds / speed)}), --rate N, --max, "
            "or --realtime to run it in real time anyway"
        )
    return f"replaying in real time (the timestamps' own pace): about {duration(seconds)}" + (
        "" if seconds < 60 else "; --speed, --rate or --max go faster"
    )


def nice_speed(at_least: float) -> float:
    """The smallest of 1, 2, 5, 10, 20, 50, ... that is at least ``at_least``.

    >>> nice_speed(1.0), nice_speed(3.2), nice_speed(52_560)
    (1.0, 5.0, 100000.0)
    """
    scale = 1.0
    while True:
        for step in (1.0, 2.0, 5.0):
            if step * scale >= at_least:
                return step * scale
        scale *= 10


def duration(seconds: float) -> str:
    """A duration for people.

    >>> duration(42), duration(450), duration(7500), duration(3 * 86400 + 7200)
    ('42 s', '7 min 30 s', '2 h 5 min', '3 d 2 h')
    """
    s = round(seconds)
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60} s" if s % 60 else f"{s // 60} min"
    if s < 86400:
        return f"{s // 3600} h {s % 3600 // 60} min"
    return f"{s // 86400} d {s % 86400 // 3600} h"
