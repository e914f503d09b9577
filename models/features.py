"""Rows to model features: the one code path shared by training, offline
``predict`` and the stream, so the same row always gets the same probabilities.

Validation policy (one event or one file row; ``reason`` names feature and value):

- a feature key that is absent -> ``missing feature 'x'``; extra keys (including the
  event's ``id`` and ``ts``) are ignored;
- ``None`` (JSON ``null``) is a missing value, imputed as in training;
- numeric features take numbers (int or float) only: booleans, strings (also
  numeric strings such as ``"3.5"``) and NaN/Infinity are refused;
- boolean features take ``true``/``false`` and the numbers 0 and 1;
- categorical features take strings; ints and booleans are turned into the string
  training saw (``3`` -> ``"3"``, ``true`` -> ``"True"``); other types are refused.
  A category never seen in training is accepted.

>>> from models.schema import Feature, FeatureSchema
>>> schema = FeatureSchema((Feature("x", "numeric"), Feature("color", "categorical")))
>>> validate_row({"x": 2, "color": 7, "id": "e1"}, schema)
{'x': 2.0, 'color': '7'}
>>> validate_row({"x": "3.5", "color": "red"}, schema)  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
streamscore.models.features.FeatureError: numeric feature 'x' got the string '3.5': send...
>>> rows_to_frame([{"x": 1.5, "color": None}], schema).dtypes.astype(str).tolist()
['float64', 'object']
"""

from __future__ import annotations

import math
import numbers

import numpy as np
import pandas as pd

from streamscore.ground.errors import DataError
from streamscore.models.schema import BOOLEAN, CATEGORICAL, NUMERIC, FeatureSchema, as_category

# Set on frames built here; LoadedModel.predict_proba trusts such frames as they are.
MODEL_FRAME = "streamscore.model_frame"


class FeatureError(DataError):
    """A row cannot be turned into model features; the message is the one-line reason."""


def validate_row(row: dict, schema: FeatureSchema) -> dict:
    """The cleaned feature values of one row, in schema order.

    Numeric and boolean values become ``float``, categorical values ``str``,
    missing values ``None``. Raises :class:`FeatureError` naming the feature and value.
    """
    if not isinstance(row, dict):
        raise FeatureError(f"an event must be a JSON object, got {type(row).__name__}")
    clean = {}
    for feature in schema.features:
        try:
            value = row[feature.name]
        except KeyError:
            raise FeatureError(f"missing feature {feature.name!r}") from None
        clean[feature.name] = (
            None if value is None else _CLEANERS[feature.kind](feature.name, value)
        )
    return clean


def _numeric(name: str, value: object) -> float:
    if isinstance(value, bool | np.bool_):
        raise FeatureError(f"numeric feature {name!r} got a boolean ({value}): expected a number")
    if isinstance(value, str):
        if _looks_numeric(value):
            raise FeatureError(
                f"numeric feature {name!r} got the string {_show(value)}: "
                "send numbers as JSON numbers, not strings"
            )
        raise FeatureError(
            f"numeric feature {name!r} got the string {_show(value)}: expected a number"
        )
    if not isinstance(value, numbers.Real):
        raise FeatureError(f"numeric feature {name!r} got {_show(value)}: expected a number")
    try:
        number = float(value)
    except OverflowError:
        raise FeatureError(
            f"numeric feature {name!r} got {_show(value)}: too large for a float"
        ) from None
    if not math.isfinite(number):
        raise FeatureError(f"numeric feature {name!r} got {number}: use null for a missing value")
    return number


def _boolean(name: str, value: object) -> float:
    if isinstance(value, bool | np.bool_):
        return float(value)
    if isinstance(value, numbers.Real) and not isinstance(value, bool) and value in (0, 1):
        return float(value)
    raise FeatureError(f"boolean feature {name!r} got {_show(value)}: expected true, false, 0 or 1")


def _categorical(name: str, value: object) -> str:
    if isinstance(value, str | bool | int | np.bool_ | np.integer):
        return as_category(value)
    raise FeatureError(f"categorical feature {name!r} got {_show(value)}: expected a string")


_CLEANERS = {NUMERIC: _numeric, BOOLEAN: _boolean, CATEGORICAL: _categorical}


def _looks_numeric(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def rows_to_frame(rows: list[dict], schema: FeatureSchema) -> pd.DataFrame:
    """The model frame of rows that :func:`validate_row` returned.

    Columns in schema order; numeric and boolean columns ``float64`` (NaN for
    missing), categorical columns ``object`` holding ``str`` (NaN for missing).
    """
    columns = {}
    for feature in schema.features:
        values = [row[feature.name] for row in rows]
        columns[feature.name] = _column(values, feature.kind)
    frame = pd.DataFrame(columns, columns=schema.names, copy=False)
    frame.attrs[MODEL_FRAME] = tuple(schema.names)
    return frame


def _column(values: list, kind: str) -> pd.Series:
    if kind == CATEGORICAL:
        array = np.empty(len(values), dtype=object)
        array[:] = [np.nan if v is None else v for v in values]
        # object, not pandas' str dtype: scikit-learn's imputer and encoder expect it
        return pd.Series(array, dtype=object, copy=False)
    array = np.fromiter((np.nan if v is None else v for v in values), float, len(values))
    return pd.Series(array, dtype="float64", copy=False)


def is_model_frame(frame: pd.DataFrame, schema: FeatureSchema) -> bool:
    """Whether ``frame`` came from :func:`rows_to_frame` for this schema."""
    return (
        frame.attrs.get(MODEL_FRAME) == tuple(schema.names) and list(frame.columns) == schema.names
    )


def frame_records(frame: pd.DataFrame, schema: FeatureSchema) -> list[dict]:
    """The rows of a file's frame as event-like dicts of Python values.

    Missing cells (NaN, None, NA) become ``None``. Categorical columns are turned
    into strings first, because a file reader may have typed a mixed column
    (``"3"`` read as ``3.0``); everything else is left to :func:`validate_row`.
    """
    absent = [name for name in schema.names if name not in frame.columns]
    if absent:
        raise DataError(f"the data lacks the model's feature column(s) {absent}")
    columns = []
    for feature in schema.features:
        values = frame[feature.name].to_numpy(dtype=object, copy=True)
        missing = pd.isna(values)
        values[missing] = None
        if feature.kind == CATEGORICAL:
            present = ~missing
            values[present] = [as_category(v) for v in values[present]]
        columns.append(values)
    # built column-wise with numpy: pandas 3 would re-infer a str dtype (None -> NaN)
    return [dict(zip(schema.names, row, strict=True)) for row in zip(*columns, strict=True)]


def to_model_frame(frame: pd.DataFrame, schema: FeatureSchema) -> pd.DataFrame:
    """The model frame of a whole file: records -> :func:`validate_row` -> :func:`rows_to_frame`.

    Raises :class:`FeatureError` naming the first bad row (1-based, in file order).
    """
    clean = []
    for number, record in enumerate(frame_records(frame, schema), start=1):
        try:
            clean.append(validate_row(record, schema))
        except FeatureError as exc:
            raise FeatureError(f"row {number}: {exc}") from None
    return rows_to_frame(clean, schema)
