"""Turn table rows into event records: key = id, value = plain JSON.

The value holds every column except the id, timestamp and label columns under its
own name, plus ``id`` (a string) and, with a timestamp column, ``ts`` as in the
file (a number stays a number, a string stays a string; a native timestamp
becomes epoch milliseconds). Missing values (NaN, NaT, None, pd.NA) become JSON
``null``; numpy numbers become JSON numbers that read back to the same value.

>>> import pandas as pd
>>> layout = Layout(["k", "x", "t"], id_col="k", ts_col="t", label_col=None)
>>> chunk = encode(pd.DataFrame({"k": [7], "x": [0.1], "t": [1000]}), layout, "f")
>>> chunk.keys, chunk.values
([b'7'], [b'{"x":0.1,"id":"7","ts":1000}'])
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from streamscore.ground.errors import DataError
from streamscore.ground.jsonrows import each_text, json_objects, number_texts
from streamscore.ground.times import column_ms


@dataclass(frozen=True)
class Layout:
    """Which columns are the id, the timestamp and the label; the rest are features.

    The label column is never sent inside an event unless ``label_in_event``;
    ``withheld`` columns are not sent at all (a column named ``label`` when no
    ``--label-col`` is given).
    """

    columns: list[str]
    id_col: str | None = None
    ts_col: str | None = None
    label_col: str | None = None
    label_in_event: bool = False
    withheld: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for option, name in (("id", self.id_col), ("ts", self.ts_col), ("label", self.label_col)):
            if name is not None and name not in self.columns:
                raise DataError(
                    f"unknown column {name!r} (--{option}-col); the columns are: "
                    + ", ".join(self.columns)
                )
        for field, own in (("id", self.id_col), ("ts", self.ts_col)):
            if field in self.features and own != field:
                raise DataError(
                    f"column {field!r} would clash with the event's {field!r} field: "
                    f"pass --{field}-col {field} or rename the column"
                )

    @property
    def features(self) -> list[str]:
        special = {self.id_col, self.ts_col, *self.withheld}
        if not self.label_in_event:
            special.add(self.label_col)
        return [c for c in self.columns if c not in special]


@dataclass
class EncodedChunk:
    """One chunk, ready to send: keys, JSON values, timestamps (ms) and labels."""

    rows: pd.Index
    keys: list[bytes]
    values: list[bytes]
    ts_ms: np.ndarray | None
    labels: list | None


def encode(chunk: pd.DataFrame, layout: Layout, id_prefix: str) -> EncodedChunk:
    """Encode a chunk whose index holds the rows' positions in the file."""
    ids = _ids(chunk, layout.id_col, id_prefix)
    names = [*layout.features, "id"]
    texts = [_json_texts(chunk[c]) for c in layout.features] + [_json_each(ids)]
    ts_ms = None
    if layout.ts_col is not None:
        ts_ms = column_ms(chunk[layout.ts_col], layout.ts_col)
        names.append("ts")
        texts.append(_json_each(_ts_values(chunk[layout.ts_col], ts_ms)))
    values = json_objects(names, texts)
    labels = plain_values(chunk[layout.label_col]) if layout.label_col else None
    return EncodedChunk(chunk.index, [i.encode() for i in ids], values, ts_ms, labels)


def _json_texts(values: pd.Series) -> list[bytes]:
    """The JSON text of each value of a column (the same bytes orjson writes in an object)."""
    plain = plain_values(values)
    dtype = values.dtype
    if plain and isinstance(dtype, np.dtype) and dtype.kind in "biuf":
        return number_texts(plain)  # numbers and booleans never contain a comma
    return _json_each(plain)


def _json_each(plain: list) -> list[bytes]:
    return each_text(plain, default=_fallback)


def _ids(chunk: pd.DataFrame, id_col: str | None, prefix: str) -> list[str]:
    if id_col is None:
        return [f"{prefix}-{row}" for row in chunk.index]
    ids = chunk[id_col]
    missing = ids.isna().to_numpy()
    if missing.any():
        row = chunk.index[int(np.argmax(missing))]
        raise DataError(f"missing id in column {id_col!r} at row {row}")
    if pd.api.types.is_float_dtype(ids.dtype) and (ids % 1 == 0).all():
        ids = ids.astype("int64")  # 7.0 -> "7": a CSV int column with gaps reads as float
    return [str(v) for v in ids.tolist()]


def plain_values(values: pd.Series) -> list:
    """Python values JSON can hold: numbers, strings, bools, None.

    >>> plain_values(pd.Series([1.5, None]))
    [1.5, nan]
    >>> plain_values(pd.Series([1, None], dtype="Int64"))
    [1, None]
    >>> plain_values(pd.Series(pd.to_datetime(["2026-01-01", None])))
    [1767225600000, None]
    """
    dtype = values.dtype
    if pd.api.types.is_float_dtype(dtype) and isinstance(dtype, np.dtype):
        return values.tolist()  # NaN is written as null by orjson
    if pd.api.types.is_datetime64_any_dtype(dtype):
        ms = values.dt.tz_localize("UTC") if values.dt.tz is None else values
        ms = ms.dt.as_unit("ms").astype("int64").astype(object)
        return ms.where(values.notna(), None).tolist()
    if isinstance(dtype, np.dtype) and dtype.kind in "biu":
        return values.tolist()
    out = values.astype(object)
    return out.where(values.notna(), None).tolist()


def _ts_values(values: pd.Series, ts_ms: np.ndarray) -> list:
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        return ts_ms.astype("int64").tolist()
    if pd.api.types.is_float_dtype(values.dtype) and (ts_ms % 1 == 0).all():
        return ts_ms.astype("int64").tolist()
    return plain_values(values)


def _fallback(value: object) -> object:
    # Only reached for values orjson does not know, e.g. in object columns.
    if isinstance(value, pd.Timestamp):
        return None if pd.isna(value) else round(value.timestamp() * 1000)
    if value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)
