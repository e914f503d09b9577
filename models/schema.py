"""The feature schema: which columns the model reads, and as what.

Three kinds of feature, inferred from the training frame's dtypes:

- ``numeric``: integer or float columns (read as float64);
- ``boolean``: bool columns, or object columns holding only True/False (read as 0.0/1.0);
- ``categorical``: strings, pandas categoricals and mixed object columns (read as
  ``str``; an unseen category at scoring time is allowed and scores like a rare one).

The target, the id and timestamp columns, and any column named ``id`` or ``ts``
(the reserved event fields) are never features. Date-time columns are left out.

>>> import pandas as pd
>>> frame = pd.DataFrame({"age": [30, 41], "city": ["Oslo", "Rome"], "vip": [True, False],
...                       "y": [0, 1]})
>>> schema, excluded = infer_schema(frame, exclude={"y": "target"})
>>> [(f.name, f.kind) for f in schema.features]
[('age', 'numeric'), ('city', 'categorical'), ('vip', 'boolean')]
>>> schema.categorical["city"].categories
('Oslo', 'Rome')
>>> FeatureSchema.from_dict(schema.to_dict()) == schema
True
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from streamscore.ground.errors import DataError

if TYPE_CHECKING:
    import pandas as pd

NUMERIC, BOOLEAN, CATEGORICAL = "numeric", "boolean", "categorical"
KINDS = (NUMERIC, BOOLEAN, CATEGORICAL)
RESERVED = {"id": "reserved event field", "ts": "reserved event field"}
# The manifest lists at most this many categories per feature (most frequent first).
MAX_LISTED_CATEGORIES = 1000


@dataclass(frozen=True)
class Feature:
    """One model input: its column name, kind, and (categorical) training categories."""

    name: str
    kind: str
    dtype: str = ""
    categories: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict:
        out: dict[str, object] = {"name": self.name, "kind": self.kind, "dtype": self.dtype}
        if self.kind == CATEGORICAL:
            out["categories"] = list(self.categories)
        return out


@dataclass(frozen=True)
class FeatureSchema:
    """The ordered features a model reads; the column order of every model frame."""

    features: tuple[Feature, ...]

    @property
    def names(self) -> list[str]:
        return [f.name for f in self.features]

    @property
    def categorical(self) -> dict[str, Feature]:
        return {f.name: f for f in self.features if f.kind == CATEGORICAL}

    def of_kind(self, kind: str) -> list[str]:
        """Names of the features of one kind, in schema order."""
        return [f.name for f in self.features if f.kind == kind]

    def to_dict(self) -> list[dict]:
        return [f.to_dict() for f in self.features]

    @classmethod
    def from_dict(cls, data: list[dict]) -> FeatureSchema:
        return cls(
            tuple(
                Feature(d["name"], d["kind"], d.get("dtype", ""), tuple(d.get("categories", ())))
                for d in data
            )
        )


def as_category(value: object) -> str:
    """The string a categorical value is known by (training and scoring alike).

    >>> as_category("a"), as_category(3), as_category(True), as_category(2.0), as_category(2.5)
    ('a', '3', 'True', '2', '2.5')
    """
    if isinstance(value, str):
        return value
    if isinstance(value, bool | np.bool_):
        return str(bool(value))
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating) and float(value).is_integer():
        # a file column of mixed ints and blanks is read as floats: 3.0 was "3"
        return str(int(value))
    return str(value)


def infer_schema(
    frame: pd.DataFrame, exclude: dict[str, str]
) -> tuple[FeatureSchema, dict[str, str]]:
    """Infer the features of ``frame``; ``exclude`` maps column names to the reason.

    Returns the schema and every left-out column with its reason. Raises
    :class:`DataError` for a column that is all missing, or when no feature is left.
    """
    excluded = {name: why for name, why in {**RESERVED, **exclude}.items() if name in frame}
    features = []
    for name in frame.columns:
        if name in excluded:
            continue
        column = frame[name]
        if column.isna().all():
            raise DataError(
                f"column {name!r} is all missing ({len(column)} rows): drop it or fill it in"
            )
        kind = _kind(column)
        if kind is None:
            excluded[name] = f"unsupported dtype {column.dtype}"
            continue
        features.append(_feature(name, kind, column))
    if not features:
        raise DataError(f"no feature columns left (excluded: {sorted(excluded)})")
    return FeatureSchema(tuple(features)), excluded


def _kind(column: pd.Series) -> str | None:
    import pandas as pd

    dtype = column.dtype
    if pd.api.types.is_bool_dtype(dtype) or _holds_only_bools(column):
        return BOOLEAN
    if pd.api.types.is_datetime64_any_dtype(dtype) or pd.api.types.is_timedelta64_dtype(dtype):
        return None
    if pd.api.types.is_numeric_dtype(dtype):
        return NUMERIC
    return CATEGORICAL


def _holds_only_bools(column: pd.Series) -> bool:
    if column.dtype != object:
        return False
    values = column.dropna()
    return len(values) > 0 and all(isinstance(v, bool | np.bool_) for v in values)


def _feature(name: str, kind: str, column: pd.Series) -> Feature:
    if kind != CATEGORICAL:
        return Feature(name, kind, str(column.dtype))
    counts = column.dropna().map(as_category).value_counts(sort=False)
    # most frequent first, ties by name, so the listing is stable
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    categories = tuple(c for c, _ in ordered[:MAX_LISTED_CATEGORIES])
    return Feature(name, kind, str(column.dtype), categories)
