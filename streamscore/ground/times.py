"""Time: the one timestamp parser (a value or a whole column) and deadlines.

An event time is epoch **milliseconds** when it is a number, ISO-8601 when it is
text (a time without an offset is UTC, never the machine's local time), and taken
as it is when a file column is already a native timestamp. Training, replay and
the stream all parse through here, so a file and the stream agree on every ``ts``.

>>> parse_ms(1700000000000), parse_ms("2023-11-14T22:13:20Z"), parse_ms("2023-11-14T22:13:20")
(1700000000000, 1700000000000, 1700000000000)
>>> import pandas as pd
>>> column_ms(pd.Series(["2026-01-01T00:00:00Z", "2026-01-01T00:00:01.5Z"]), "ts").tolist()
[1767225600000.0, 1767225601500.0]
>>> parse_ms("yesterday")
Traceback (most recent call last):
...
ValueError: ts must be epoch milliseconds or ISO-8601 (e.g. 2026-01-01T00:00:00Z), got 'yesterday'
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from streamscore.ground.errors import DataError

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

HINT = "epoch milliseconds or ISO-8601 (e.g. 2026-01-01T00:00:00Z)"


def now_ms() -> int:
    """The wall clock in epoch milliseconds."""
    return time.time_ns() // 1_000_000


def parse_ms(value: Any) -> int:
    """One timestamp as epoch milliseconds; ValueError naming the value otherwise."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        if value == value and abs(value) < 1e17:  # not NaN, not absurd
            return int(value)
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            pass
        else:
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=UTC)
            return int(parsed.timestamp() * 1000)
    raise ValueError(f"ts must be {HINT}, got {value!r}")


def column_ms(values: pd.Series, column: str) -> np.ndarray:
    """Epoch milliseconds (float64) of a timestamp column; DataError naming the first bad row."""
    import numpy as np
    import pandas as pd

    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        parsed = values if values.dt.tz is not None else values.dt.tz_localize("UTC")
    elif pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(
        values.dtype
    ):
        ms = values.to_numpy(dtype="float64", na_value=np.nan)
        _refuse_missing(values, np.isnan(ms), column)
        return ms
    else:
        parsed = pd.to_datetime(values, utc=True, format="ISO8601", errors="coerce")
    _refuse_missing(values, parsed.isna().to_numpy(), column)
    return parsed.dt.as_unit("us").astype("int64").to_numpy() / 1000.0


def _refuse_missing(values: pd.Series, bad: np.ndarray, column: str) -> None:
    if bad.any():
        i = int(bad.argmax())
        raise DataError(
            f"unparsable timestamp {values.iloc[i]!r} in column {column!r} at row "
            f"{values.index[i]}: use {HINT}"
        )


class Deadline:
    """A point in monotonic time; every wait with a timeout asks it how long is left.

    >>> d = Deadline(10.0)
    >>> 9.0 < d.remaining() <= 10.0, d.expired
    (True, False)
    >>> Deadline(0).expired
    True
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.at = time.monotonic() + seconds

    def remaining(self) -> float:
        return max(0.0, self.at - time.monotonic())

    @property
    def expired(self) -> bool:
        return time.monotonic() >= self.at

    def sleep(self, seconds: float) -> None:
        """Sleep ``seconds``, but never past the deadline."""
        time.sleep(min(seconds, self.remaining()))
