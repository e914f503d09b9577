"""train(): what the manifest records, how the split is made, and data it refuses."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from streamscore.ground.errors import ConfigError, DataError
from streamscore.models.artifact import MODEL_FILE, sha256_bytes
from streamscore.models.training import train

MANIFEST_KEYS = {
    "format", "name", "version", "created_at", "task", "estimator", "estimator_class",
    "target", "classes", "id_col", "ts_col", "features", "excluded_columns", "data", "split",
    "metrics", "reference", "libraries", "model_file",
}  # fmt: skip


def test_manifest_carries_what_the_stream_needs(registry, agrawal):
    model = train(agrawal, "label", name="agr", registry=registry, id_col="event id")
    m = model.manifest
    assert set(m) >= MANIFEST_KEYS
    assert (m["name"], m["version"], m["target"], m["classes"]) == ("agr", "1", "label", [0, 1])
    assert m["data"]["rows"] == len(agrawal) and len(m["data"]["sha256"]) == 64
    assert {"python", "scikit-learn", "numpy", "river"} <= set(m["libraries"])
    assert m["model_file"]["sha256"] == sha256_bytes((model.path / MODEL_FILE).read_bytes())
    kinds = {f["name"]: f["kind"] for f in m["features"]}
    assert kinds["car"] == kinds["zipcode"] == kinds["elevel"] == "categorical"
    assert kinds["salary"] == "numeric" and "event id" not in kinds and "label" not in kinds
    assert m["excluded_columns"] == {"label": "target", "event id": "id"}
    assert set(m["reference"]["numeric"]) == {k for k, v in kinds.items() if v == "numeric"}
    assert set(m["reference"]["categorical"]) == {"car", "zipcode", "elevel"}
    assert m["reference"]["score"]["count"] == m["metrics"]["n_test"]
    for key in ("accuracy", "balanced_accuracy", "roc_auc", "log_loss", "per_class"):
        assert m["metrics"][key] is not None
    assert m["split"]["method"] == "stratified"


def test_any_column_names_and_boolean_features(registry):
    rng = np.random.default_rng(0)
    x = rng.normal(size=400)
    data = pd.DataFrame(
        {
            0: x,  # an int column name, as a frame from numpy would have
            "a b c": rng.normal(size=400),
            "2nd": rng.choice(["p", "q"], size=400),
            "flag": rng.choice([True, False], size=400),
            "ts": range(400),  # a reserved event field: never a feature
            "y": np.where(x > 0, "up", "down"),
        }
    )
    model = train(data, "y", name="names", registry=registry, estimator="logreg")
    assert model.schema.names == ["0", "a b c", "2nd", "flag"]
    assert [f.kind for f in model.schema.features] == [
        "numeric", "numeric", "categorical", "boolean",
    ]  # fmt: skip
    assert model.classes == ["down", "up"] and model.metrics["accuracy"] > 0.9
    assert model.manifest["excluded_columns"]["ts"] == "reserved event field"


def test_time_split_holds_out_the_latest_rows(registry, phishing):
    data = phishing.assign(when=pd.date_range("2024-01-01", periods=len(phishing), freq="h"))
    data = data.sample(frac=1.0, random_state=0)  # file order is not time order
    model = train(data, "label", name="t", registry=registry, ts_col="when", estimator="logreg")
    assert model.manifest["split"]["method"] == "time"
    assert model.metrics["n_test"] == 250 and model.metrics["n_train"] == 1000
    assert "when" not in model.schema.names


def test_class_imbalance_is_weighted(registry):
    rng = np.random.default_rng(1)
    x = rng.normal(size=2000)
    y = (x + rng.normal(scale=0.3, size=2000) > 1.8).astype(int)  # about 5% positives
    model = train(pd.DataFrame({"x": x, "y": y}), "y", name="rare", registry=registry)
    assert model.pipeline[-1].class_weight == "balanced"
    assert model.metrics["per_class"]["1"]["recall"] > 0.5


def test_rows_without_target_are_dropped(registry, breast_cancer):
    data = breast_cancer.astype({"target": float})
    data.loc[:9, "target"] = np.nan
    model = train(data, "target", name="bc", registry=registry, estimator="logreg")
    assert model.manifest["data"]["rows"] == len(data) - 10 and model.classes == [0, 1]


@pytest.mark.parametrize(
    ("data", "target", "message"),
    [
        (pd.DataFrame({"x": [1, 2], "y": [0, 1]}), "nope", "unknown target column 'nope'"),
        (pd.DataFrame({"x": [], "y": []}), "y", "has no rows"),
        (pd.DataFrame({"x": [1, 2, 3, 4], "y": [1, 1, 1, 1]}), "y", "single class (1)"),
        (
            pd.DataFrame({"x": [1, 2, 3, 4], "gone": [None] * 4, "y": [0, 1, 0, 1]}),
            "y",
            "column 'gone' is all missing",
        ),
        (pd.DataFrame({"x": [1, 2, 3, 4], "y": [None] * 4}), "y", "target column 'y' is all"),
        (
            pd.DataFrame({"x": [1, 2, 3, 4], "y": [0.5, 1.5, 2.5, 0.1]}),
            "y",
            "non-integer numbers",
        ),
        (pd.DataFrame({"id": [1, 2, 3, 4], "y": [0, 1, 0, 1]}), "y", "no feature columns"),
        (
            pd.DataFrame([[1, 2, 0], [3, 4, 1]] * 2, columns=[1, "1", "y"]),
            "y",
            "duplicated column names: ['1']",
        ),
    ],
)
def test_bad_data_is_one_clear_error(registry, data, target, message):
    with pytest.raises(DataError) as caught:
        train(data, target, name="bad", registry=registry)
    assert message in str(caught.value) and "\n" not in str(caught.value)
    assert registry.versions("bad") == []


def test_unknown_estimator(registry, breast_cancer):
    with pytest.raises(ConfigError, match="unknown estimator 'svm'"):
        train(breast_cancer, "target", name="bc", registry=registry, estimator="svm")
