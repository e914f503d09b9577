"""Every online model configuration passes every contract check (River's ``checks`` style),
and the numpy batch route agrees with River's own ``predict_proba_one``."""

from __future__ import annotations

import copy
import pickle
import timeit
from functools import partial

import numpy as np
import pytest

from streamscore.ground.errors import ConfigError, DataError
from streamscore.models.learner import Learner, load_model
from streamscore.models.online import default_online_model, rows_to_columns
from streamscore.models.online_batch import LinearScorer, batch_scorer
from streamscore.models.schema import Feature, FeatureSchema
from tests.models.online_data import NUMERIC_10, SCHEMA, numeric_rows, rows

CONFIGS = {
    "logreg-bool": ("logreg", [False, True]),
    "logreg-int": ("logreg", [0, 1]),
    "logreg-str": ("logreg", ["no", "yes"]),
    "logreg-3-str": ("logreg", ["a", "b", "c"]),
    "logreg-4-int": ("logreg", [1, 2, 3, 4]),
    "hat-bool": ("hat", [False, True]),
    "hat-3-str": ("hat", ["a", "b", "c"]),
}


def trained(config: str, n: int = 600):
    kind, classes = CONFIGS[config]
    model = default_online_model(SCHEMA, classes, kind)
    for x, y in rows(n, classes, seed=1):
        model.learn_one(x, y)
    return model, rows(300, classes, seed=2)


def check_predict_does_not_mutate_input(model, data):
    xs = [x for x, _ in data]
    before = copy.deepcopy(xs)
    for x in xs:
        model.predict_proba_one(x)
    assert xs == before
    columns = rows_to_columns(xs, SCHEMA)
    columns_before = copy.deepcopy(columns)
    model.predict_proba_many(columns, len(xs))
    for name in columns:
        np.testing.assert_array_equal(columns[name], columns_before[name])


def check_predict_does_not_mutate_model(model, data):
    before = pickle.dumps(model.parts)
    odd = {"x1": 1e9, "x2": None, "color": "never-seen", "flag": 1.0}
    for x in [odd] + [x for x, _ in data]:
        model.predict_proba_one(x)
    model.predict_proba_many(rows_to_columns([odd] + [x for x, _ in data], SCHEMA), len(data) + 1)
    assert pickle.dumps(model.parts) == before
    # River's scaler would insert a feature it has not learned yet while predicting
    fresh = default_online_model(SCHEMA, model.classes, model.kind)
    before = pickle.dumps(fresh.parts)
    fresh.predict_proba_one(data[0][0])
    assert pickle.dumps(fresh.parts) == before


def check_probabilities_sum_to_one(model, data):
    proba = model.predict_proba_many(rows_to_columns([x for x, _ in data], SCHEMA), len(data))
    assert proba.shape == (len(data), len(model.classes))
    assert np.all((proba >= 0) & (proba <= 1))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=0, atol=1e-9)


def check_batch_equals_rows(model, data):
    xs = [x for x, _ in data]
    one = np.array([model.predict_proba_one(x) for x in xs])
    whole = model.predict_proba_many(rows_to_columns(xs, SCHEMA), len(xs))
    np.testing.assert_allclose(whole, one, rtol=0, atol=1e-9)
    for size in (1, 7, 64):  # the stream scores micro-batches of any size: same bits
        parts = [
            model.predict_proba_many(
                rows_to_columns(xs[i : i + size], SCHEMA), len(xs[i : i + size])
            )
            for i in range(0, len(xs), size)
        ]
        assert np.array_equal(np.vstack(parts), whole), f"batch size {size}"
    predicted = model.predict_many(rows_to_columns(xs, SCHEMA), len(xs))
    assert predicted == [model.classes[int(np.argmax(p))] for p in one]


def check_missing_values_never_crash(model, data):
    empty = {name: None for name in SCHEMA.names}
    nan = {"x1": float("nan"), "x2": float("nan"), "color": float("nan"), "flag": float("nan")}
    for x in (empty, nan, {}):
        assert np.isclose(sum(model.predict_proba_one(x)), 1.0)
        model.learn_one(x, model.classes[0])
    columns = rows_to_columns([empty, nan] * 5, SCHEMA)
    assert np.allclose(model.predict_proba_many(columns, 10).sum(axis=1), 1.0)


def check_unseen_category_is_scored(model, data):
    x = {**data[0][0], "color": "never-seen-before"}
    assert np.isclose(sum(model.predict_proba_one(x)), 1.0)


def check_classes_round_trip(model, data):
    columns = rows_to_columns([x for x, _ in data], SCHEMA)
    predicted = model.predict_many(columns, len(data))
    assert set(predicted) <= set(model.classes)
    assert {type(p) for p in predicted} == {type(model.classes[0])}
    with pytest.raises(DataError, match="not one of the classes"):
        model.learn_one(data[0][0], "no-such-class")
    learner = Learner(SCHEMA, model.classes, kind=model.kind)
    learner.model = model
    restored, header = load_model(learner.snapshot())
    assert restored.classes == model.classes
    assert [type(c) for c in restored.classes] == [type(c) for c in model.classes]
    assert restored.predict_many(columns, len(data)) == predicted


CHECKS = [
    check_predict_does_not_mutate_input,
    check_predict_does_not_mutate_model,
    check_probabilities_sum_to_one,
    check_batch_equals_rows,
    check_missing_values_never_crash,
    check_unseen_category_is_scored,
    check_classes_round_trip,
]


@pytest.mark.parametrize("config", list(CONFIGS))
@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__.removeprefix("check_"))
def test_contract(config, check):
    check(*trained(config))


@pytest.mark.parametrize("config", ["logreg-bool", "logreg-3-str", "logreg-4-int"])
def test_numpy_route_equals_river_to_1e9(config):
    model, data = trained(config, n=2000)
    scorer = batch_scorer(model)
    assert isinstance(scorer, LinearScorer)
    xs = [x for x, _ in data]
    # extreme logits take River's clipped sigmoid (exactly 0 or 1 beyond +-30)
    xs += [{"x1": v, "x2": 100.0, "color": "red", "flag": 0.0} for v in (-1e6, -40.0, 40.0, 1e6)]
    got = scorer(rows_to_columns(xs, SCHEMA), len(xs))
    expected = [model.predict_proba_one(x) for x in xs]
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-9)
    assert {type(p) for row in expected for p in row} == {float}


def test_one_hot_name_clash_scores_row_by_row():
    schema = FeatureSchema((Feature("city", "categorical"), Feature("city_Oslo", "numeric")))
    model = default_online_model(schema, [0, 1])
    for i in range(50):
        model.learn_one({"city": "Oslo", "city_Oslo": float(i % 3)}, i % 2)
    assert not isinstance(batch_scorer(model), LinearScorer)
    x = {"city": np.array(["Oslo"] * 6, dtype=object), "city_Oslo": np.arange(6.0)}
    expected = [model.predict_proba_one({"city": "Oslo", "city_Oslo": float(v)}) for v in range(6)]
    np.testing.assert_allclose(model.predict_proba_many(x, 6), expected, rtol=0, atol=1e-12)


def test_model_frame_columns_are_accepted():
    # the score agent already holds a pandas model frame: categorical NaN for missing
    from streamscore.models.features import rows_to_frame

    model, data = trained("logreg-str")
    xs = [x for x, _ in data]
    frame = rows_to_frame(xs, SCHEMA)
    columns = {name: frame[name].to_numpy() for name in SCHEMA.names}
    np.testing.assert_allclose(
        model.predict_proba_many(columns, len(xs)),
        model.predict_proba_many(rows_to_columns(xs, SCHEMA), len(xs)),
        rtol=0,
        atol=0,
    )


def test_factory_refuses_bad_configuration():
    with pytest.raises(ConfigError, match="unknown online model"):
        default_online_model(SCHEMA, [0, 1], kind="svm")
    with pytest.raises(ConfigError, match="at least 2 classes"):
        default_online_model(SCHEMA, [0])
    with pytest.raises(ConfigError, match="not distinct"):
        default_online_model(SCHEMA, [1, "1"])


def test_batch_scoring_cost():
    """The brief's budget: <= 5 µs a row at 50 rows, <= 3 µs at 1,000 (default model,
    10 numeric features). Measured here: ~0.7 and ~0.1 µs (see online_batch)."""
    model = default_online_model(NUMERIC_10, [0, 1])
    data = numeric_rows(2000)
    for x, y in data:
        model.learn_one(x, y)
    for n, budget in ((50, 5e-6), (1000, 3e-6)):
        columns = rows_to_columns([x for x, _ in data[:n]], NUMERIC_10)
        model.predict_proba_many(columns, n)  # compile once, as a worker does per snapshot
        number = 20_000 // n
        score = partial(model.predict_proba_many, columns, n)
        best = min(timeit.repeat(score, number=number, repeat=5))
        per_row = best / number / n
        print(f"\n{n} rows: {per_row * 1e6:.2f} µs per row")
        assert per_row < budget
