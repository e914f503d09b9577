"""Every estimator, on binary, multiclass and categorical data, passes every contract check."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

from streamscore.models.registry import Registry
from streamscore.models.training import train
from tests.models.checks import CHECKS

ESTIMATORS = ["hgb", "logreg", "rf"]
DATASETS = {"phishing": "label", "segments": "class", "agrawal": "label"}


@pytest.fixture(scope="module")
def trained(tmp_path_factory, request):
    """Train each (estimator, data set) once per module; checks share the models."""
    registry = Registry(tmp_path_factory.mktemp("registry"))
    cache = {}

    def get(estimator: str, dataset: str):
        if (estimator, dataset) not in cache:
            data = request.getfixturevalue(dataset)
            model = train(
                data,
                DATASETS[dataset],
                name=f"{dataset}-{estimator}",
                registry=registry,
                estimator=estimator,
                id_col="event id" if "event id" in data else None,
            )
            cache[estimator, dataset] = model, data
        return cache[estimator, dataset]

    return get


@pytest.mark.parametrize("dataset", list(DATASETS))
@pytest.mark.parametrize("estimator", ESTIMATORS)
@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__.removeprefix("check_"))
def test_contract(trained, estimator, dataset, check, tmp_path):
    model, data = trained(estimator, dataset)
    extra = {"tmp_path": tmp_path} if "tmp_path" in inspect.signature(check).parameters else {}
    check(model, data.head(300), **extra)


@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_models_learn_something(trained, estimator):
    for dataset in DATASETS:
        if (estimator, dataset) == ("logreg", "agrawal"):
            continue  # the class depends on age bands: not linear
        model, _ = trained(estimator, dataset)
        assert model.metrics["balanced_accuracy"] > 0.6, (dataset, model.metrics)


def test_multiclass_classes_and_metrics(trained):
    model, data = trained("hgb", "segments")
    assert model.classes == sorted(data["class"].unique())
    assert set(model.metrics["per_class"]) == set(model.classes)
    assert model.metrics["roc_auc"] > 0.9


@pytest.mark.parametrize("dataset", ["phishing", "segments"])
def test_row_stable_linear_scores_equal_sklearn(trained, dataset):
    # the column-by-column sum changes only the last bits, never the answer
    from streamscore.models.features import to_model_frame

    model, data = trained("logreg", dataset)
    frame = to_model_frame(data, model.schema)
    np.testing.assert_allclose(
        model.predict_proba(frame), model.pipeline.predict_proba(frame), rtol=0, atol=1e-12
    )
