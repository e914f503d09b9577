"""The row validation policy of the stream, one case per rule."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from streamscore.ground.errors import DataError, StreamscoreError
from streamscore.models.features import FeatureError, rows_to_frame, to_model_frame, validate_row
from streamscore.models.schema import Feature, FeatureSchema

SCHEMA = FeatureSchema(
    (
        Feature("amount", "numeric"),
        Feature("is vip", "boolean"),
        Feature("city", "categorical", categories=("Oslo", "Rome")),
    )
)
GOOD = {"amount": 3, "is vip": True, "city": "Oslo"}


def row(**changes):
    return {**GOOD, **changes}


def test_cleaned_values_and_extra_fields_ignored():
    clean = validate_row({**GOOD, "id": "e1", "ts": 1700000000000, "other": [1]}, SCHEMA)
    assert clean == {"amount": 3.0, "is vip": 1.0, "city": "Oslo"}
    assert list(clean) == SCHEMA.names


def test_null_is_a_missing_value():
    assert validate_row({"amount": None, "is vip": None, "city": None}, SCHEMA) == {
        "amount": None,
        "is vip": None,
        "city": None,
    }


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"amount": "3.5"}, "numeric feature 'amount' got the string '3.5': send numbers as JSON"),
        ({"amount": "abc"}, "numeric feature 'amount' got the string 'abc': expected a number"),
        ({"amount": True}, "numeric feature 'amount' got a boolean (True)"),
        ({"amount": math.nan}, "numeric feature 'amount' got nan: use null"),
        ({"amount": math.inf}, "numeric feature 'amount' got inf: use null"),
        ({"amount": [1]}, "numeric feature 'amount' got [1]: expected a number"),
        ({"amount": 10**400}, "too large for a float"),
        ({"is vip": "yes"}, "boolean feature 'is vip' got 'yes': expected true, false, 0 or 1"),
        ({"is vip": 2}, "boolean feature 'is vip' got 2"),
        ({"city": 2.5}, "categorical feature 'city' got 2.5: expected a string"),
        ({"city": {"a": 1}}, "categorical feature 'city' got {'a': 1}"),
    ],
)
def test_bad_values_name_feature_and_value(changes, reason):
    with pytest.raises(FeatureError) as caught:
        validate_row(row(**changes), SCHEMA)
    assert reason in str(caught.value)
    assert "\n" not in str(caught.value)


def test_missing_key():
    with pytest.raises(FeatureError, match="^missing feature 'city'$"):
        validate_row({"amount": 1, "is vip": False}, SCHEMA)


def test_not_an_object():
    with pytest.raises(FeatureError, match="must be a JSON object"):
        validate_row([1, 2], SCHEMA)


def test_feature_error_is_a_streamscore_data_error():
    assert issubclass(FeatureError, DataError) and issubclass(FeatureError, StreamscoreError)


@pytest.mark.parametrize(
    ("value", "expected"), [(0, 0.0), (1, 1.0), (False, 0.0), (np.bool_(True), 1.0), (1.0, 1.0)]
)
def test_boolean_accepts(value, expected):
    assert validate_row(row(**{"is vip": value}), SCHEMA)["is vip"] == expected


@pytest.mark.parametrize(
    ("value", "expected"), [("x", "x"), (7, "7"), (True, "True"), (np.int64(3), "3")]
)
def test_categorical_accepts_as_training_saw_it(value, expected):
    assert validate_row(row(city=value), SCHEMA)["city"] == expected


def test_numeric_accepts_numpy_numbers():
    assert validate_row(row(amount=np.float32(0.5)), SCHEMA)["amount"] == 0.5
    assert validate_row(row(amount=np.int64(-2)), SCHEMA)["amount"] == -2.0


def test_rows_to_frame_types_and_order():
    rows = [validate_row(row(amount=i, city=None if i % 2 else "Rome"), SCHEMA) for i in range(4)]
    frame = rows_to_frame(rows, SCHEMA)
    assert list(frame.columns) == SCHEMA.names
    assert frame.dtypes.astype(str).tolist() == ["float64", "float64", "object"]
    assert frame["amount"].tolist() == [0.0, 1.0, 2.0, 3.0]
    assert frame["city"].isna().tolist() == [False, True, False, True]


def test_rows_to_frame_of_no_rows():
    assert rows_to_frame([], SCHEMA).shape == (0, 3)


def test_to_model_frame_reads_file_cells_like_events():
    data = pd.DataFrame(
        {"amount": [1.5, np.nan], "is vip": [True, None], "city": [3, None], "y": [0, 1]}
    )
    frame = to_model_frame(data, SCHEMA)
    expected = rows_to_frame(
        [
            validate_row({"amount": 1.5, "is vip": True, "city": "3"}, SCHEMA),
            validate_row({"amount": None, "is vip": None, "city": None}, SCHEMA),
        ],
        SCHEMA,
    )
    pd.testing.assert_frame_equal(frame, expected)


def test_to_model_frame_names_the_bad_row():
    data = pd.DataFrame({"amount": [1, "x"], "is vip": [True, False], "city": ["a", "b"]})
    with pytest.raises(FeatureError, match=r"^row 2: numeric feature 'amount' got the string"):
        to_model_frame(data, SCHEMA)


def test_to_model_frame_missing_column():
    with pytest.raises(DataError, match=r"lacks the model's feature column\(s\) \['city'\]"):
        to_model_frame(pd.DataFrame({"amount": [1], "is vip": [True]}), SCHEMA)
