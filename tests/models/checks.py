"""Contract checks every trained model must pass, whatever its estimator and data
(in the spirit of river's ``checks``). Each takes the model and a raw data frame."""

from __future__ import annotations

import copy

import numpy as np
import orjson
import pandas as pd

from streamscore.models.artifact import LoadedModel
from streamscore.models.batch import validate_batch
from streamscore.models.features import FeatureError, rows_to_frame, to_model_frame, validate_row
from streamscore.models.scoring import proba_column, score_frame


def check_predict_does_not_mutate_input(model: LoadedModel, data: pd.DataFrame) -> None:
    before = copy.deepcopy(data)
    model.predict_proba(data)
    pd.testing.assert_frame_equal(data, before)
    frame = to_model_frame(data, model.schema)
    frame_before = frame.copy(deep=True)
    model.predict_proba(frame)
    pd.testing.assert_frame_equal(frame, frame_before)


def check_probabilities_sum_to_one(model: LoadedModel, data: pd.DataFrame) -> None:
    proba = model.predict_proba(data)
    assert proba.shape == (len(data), len(model.classes))
    assert np.all((proba >= 0) & (proba <= 1))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=0, atol=1e-9)


def check_output_order_is_input_order(model: LoadedModel, data: pd.DataFrame) -> None:
    proba = model.predict_proba(data)
    order = np.random.default_rng(0).permutation(len(data))
    shuffled = model.predict_proba(data.iloc[order].reset_index(drop=True))
    assert np.array_equal(shuffled, proba[order])


def check_batch_size_does_not_change_probabilities(model: LoadedModel, data) -> None:
    # the stream scores micro-batches of any size; every size must give the same bits
    rows = [validate_row(_jsonable(r), model.schema) for r in data.to_dict("records")[:60]]
    whole = model.predict_proba(rows_to_frame(rows, model.schema))
    for size in (1, 7, 64):
        parts = [
            model.predict_proba(rows_to_frame(rows[i : i + size], model.schema))
            for i in range(0, len(rows), size)
        ]
        assert np.array_equal(np.vstack(parts), whole), f"batch size {size}"


def check_stream_equals_offline(model: LoadedModel, data: pd.DataFrame, tmp_path) -> None:
    # offline: the file -> predict path; online: JSON events -> validate_row -> rows_to_frame
    path = tmp_path / "rows.csv"
    data.to_csv(path, index=False)
    from streamscore.ground.tables import read_table

    offline = score_frame(model, read_table(path))
    events = [orjson.loads(orjson.dumps(_jsonable(r))) for r in data.to_dict("records")]
    online = model.predict_proba(
        rows_to_frame([validate_row(e, model.schema) for e in events], model.schema)
    )
    columns = [proba_column(c) for c in model.classes]
    assert np.array_equal(offline[columns].to_numpy(), online)


def check_missing_values_are_imputed(model: LoadedModel, data: pd.DataFrame) -> None:
    row = {name: None for name in model.schema.names}
    proba = model.predict_proba(rows_to_frame([validate_row(row, model.schema)], model.schema))
    assert np.isclose(proba.sum(), 1.0)


def check_unseen_category_is_scored(model: LoadedModel, data: pd.DataFrame) -> None:
    row = validate_row(_jsonable(data.to_dict("records")[0]), model.schema)
    for name in model.schema.categorical:
        row[name] = "never-seen-in-training"
    proba = model.predict_proba(rows_to_frame([row], model.schema))
    assert np.isclose(proba.sum(), 1.0)


def check_micro_batch_path_equals_frame_path(model: LoadedModel, data: pd.DataFrame) -> None:
    # the stream validates columns and preprocesses with numpy; the result must be the
    # bits of the frame path, also with missing values and unseen categories
    events = [orjson.loads(orjson.dumps(_jsonable(r))) for r in data.to_dict("records")[:80]]
    for i, event in enumerate(events[::9]):
        name = model.schema.names[i % len(model.schema.names)]
        event[name] = None
    for name in model.schema.categorical:
        events[3][name] = "never-seen-in-training"
    assert model.compiled, "the pipeline should preprocess micro-batches with numpy"
    batch, refused = validate_batch(events, model.schema)
    assert refused == [] and len(batch) == len(events)
    frame = rows_to_frame([validate_row(e, model.schema) for e in events], model.schema)
    if type(model.pipeline[-1]).__name__ == "HistGradientBoostingClassifier":
        # fails loudly if a scikit-learn upgrade moves the trees' private predictor
        assert model.fast_trees, "micro-batches should skip the trees' per-call overhead"
    assert np.array_equal(model.predict_proba_batch(batch), model.predict_proba(frame))


def check_batch_validation_equals_row_validation(model: LoadedModel, data: pd.DataFrame) -> None:
    events = [orjson.loads(orjson.dumps(_jsonable(r))) for r in data.to_dict("records")[:40]]
    bad_values = ["3.5", True, [1], {"a": 1}, 2.5, "x"]
    for i, event in enumerate(events[::4]):
        feature = model.schema.features[i % len(model.schema.features)]
        event[feature.name] = bad_values[i % len(bad_values)]
    del events[5][model.schema.names[0]]
    expected_ok, expected_bad = [], []
    for i, event in enumerate(events):
        try:
            expected_ok.append((i, validate_row(event, model.schema)))
        except FeatureError as exc:
            expected_bad.append((i, str(exc)))
    batch, refused = validate_batch(events, model.schema)
    assert refused == expected_bad
    assert batch.rows == [i for i, _ in expected_ok]
    for position, (_, row) in enumerate(expected_ok):
        assert batch.row_dict(position) == row


def _jsonable(record: dict) -> dict:
    return {k: (None if isinstance(v, float) and v != v else v) for k, v in record.items()}


CHECKS = [
    check_predict_does_not_mutate_input,
    check_probabilities_sum_to_one,
    check_output_order_is_input_order,
    check_batch_size_does_not_change_probabilities,
    check_stream_equals_offline,
    check_missing_values_are_imputed,
    check_unseen_category_is_scored,
    check_micro_batch_path_equals_frame_path,
    check_batch_validation_equals_row_validation,
]
