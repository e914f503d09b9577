"""Train a classifier on a frame, evaluate it on held-out rows, save it as a new version.

>>> import tempfile
>>> from sklearn.datasets import load_iris
>>> from models.registry import Registry
>>> data = load_iris(as_frame=True).frame
>>> model = train(data, "target", name="iris", registry=Registry(tempfile.mkdtemp()),
...               estimator="logreg")
>>> model.name, model.version, model.classes, model.metrics["accuracy"] > 0.8
('iris', '1', [0, 1, 2], True)
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from streamscore.ground.errors import DataError
from streamscore.ground.tables import frame_sha256
from streamscore.ground.times import column_ms
from streamscore.models import artifact, metrics, pipeline
from streamscore.models.artifact import LoadedModel
from streamscore.models.features import to_model_frame
from streamscore.models.reference import compute_reference
from streamscore.models.registry import Registry, check_name
from streamscore.models.schema import as_category, infer_schema

TEST_SIZE = 0.2
Progress = Callable[[str], None]


def train(
    df: pd.DataFrame,
    target: str,
    *,
    name: str,
    registry: Registry,
    estimator: str = "hgb",
    id_col: str | None = None,
    ts_col: str | None = None,
    seed: int = 0,
    test_size: float = TEST_SIZE,
    data_sha256: str | None = None,
    source: str | None = None,
    progress: Progress | None = None,
) -> LoadedModel:
    """Train, evaluate and save a new version of model ``name``; return it loaded.

    The held-out split is stratified by class, or, when ``ts_col`` is given, the
    latest ``test_size`` share of rows by time. The first version of a model is
    promoted to current. ``data_sha256`` defaults to a hash of the frame's contents.
    Raises :class:`DataError` for data that cannot train a classifier.
    """
    step = progress or (lambda _message: None)
    check_name(name)
    pipeline.check_estimator(estimator)  # fail before any work
    df = _prepare(df, target, id_col, ts_col)
    y = target_labels(df[target], target)
    step("inferring the feature schema")
    roles = {target: "target", id_col: "id", ts_col: "timestamp"}
    schema, excluded = infer_schema(df, {k: v for k, v in roles.items() if k is not None})
    step(f"validating {len(df)} rows")
    frame = to_model_frame(df, schema)
    train_idx, test_idx, split = _split(df, y, ts_col, test_size, seed)
    step(f"fitting {estimator} on {len(train_idx)} rows")
    model = pipeline.build_pipeline(schema, estimator, seed)
    model.fit(frame.iloc[train_idx], y[train_idx])
    classes = model.classes_.tolist()
    step(f"evaluating on {len(test_idx)} held-out rows")
    proba = pipeline.predict_proba(model, frame.iloc[test_idx])
    scores = metrics.evaluate(y[test_idx], proba, classes)
    step("computing reference statistics")
    manifest = {
        "format": artifact.FORMAT_VERSION,
        "name": name,
        "task": "classification",
        "estimator": estimator,
        "estimator_class": type(model[-1]).__name__,
        "target": target,
        "classes": classes,
        "id_col": id_col,
        "ts_col": ts_col,
        "features": schema.to_dict(),
        "excluded_columns": excluded,
        "data": {"source": source, "sha256": data_sha256 or frame_sha256(df), "rows": len(df)},
        "split": {**split, "test_size": test_size, "seed": seed},
        "metrics": {**scores, "n_train": len(train_idx), "n_test": len(test_idx)},
        "reference": compute_reference(frame, schema, proba, classes),
        "libraries": artifact.library_versions(),
    }
    step("saving")
    return _save(registry, model, manifest)


def _save(registry: Registry, model, manifest: dict) -> LoadedModel:
    """Add the next version; the first version of a model becomes current."""
    name = manifest["name"]

    def write(directory, version):
        stamp = datetime.now(UTC).isoformat(timespec="seconds")
        artifact.save(directory, model, {**manifest, "version": version, "created_at": stamp})

    version = registry.add(name, write)
    if registry.versions(name) == [version]:
        registry.promote(name, version)
    # loading back proves the artifact passes the same checks a worker will apply
    return registry.load(name, version)


def _prepare(df: pd.DataFrame, target: str, id_col: str | None, ts_col: str | None):
    if len(df) == 0:
        raise DataError("the training data has no rows")
    df = df.rename(columns=str)
    columns = list(df.columns)
    if len(set(columns)) < len(columns):
        raise DataError(
            f"duplicated column names: {sorted({c for c in columns if columns.count(c) > 1})}"
        )
    for option, column in (("target", target), ("id", id_col), ("timestamp", ts_col)):
        if column is not None and column not in columns:
            shown = ", ".join(map(repr, columns[:12])) + (", ..." if len(columns) > 12 else "")
            raise DataError(f"unknown {option} column {column!r}: the columns are {shown}")
    missing = df[target].isna()
    if missing.all():
        raise DataError(f"target column {target!r} is all missing")
    return df.loc[~missing].reset_index(drop=True)


def target_labels(column: pd.Series, target: str) -> np.ndarray:
    """The class labels of a target column: bools, ints or strings, as JSON can carry them.

    >>> target_labels(pd.Series([1.0, 0.0, 1.0]), "y").tolist()
    [1, 0, 1]
    >>> target_labels(pd.Series(["a", 3, "b"]), "y").tolist()
    ['a', '3', 'b']
    """
    values = column.dropna()
    if pd.api.types.is_bool_dtype(column) or all(isinstance(v, bool | np.bool_) for v in values):
        labels = column.astype(bool).to_numpy()
    elif pd.api.types.is_integer_dtype(column):
        labels = column.astype("int64").to_numpy()
    elif pd.api.types.is_float_dtype(column):
        if not np.all(np.mod(values, 1) == 0):
            example = next(v for v in values if v % 1)
            raise DataError(
                f"target column {target!r} holds non-integer numbers (e.g. {example}): "
                "only classification is supported; bin the target into classes first"
            )
        labels = column.astype("int64").to_numpy()
    else:
        labels = np.array([as_category(v) for v in column], dtype=object)
    distinct = pd.unique(labels)
    if len(distinct) < 2:
        only = distinct[0].item() if isinstance(distinct[0], np.generic) else distinct[0]
        raise DataError(
            f"target column {target!r} has a single class ({only!r}): "
            "a classifier needs at least two"
        )
    return labels


def _split(df: pd.DataFrame, y: np.ndarray, ts_col: str | None, test_size: float, seed: int):
    rows = np.arange(len(df))
    if len(df) < 4:
        raise DataError(f"the training data has {len(df)} rows: too few to hold some out")
    if ts_col is not None:
        order = np.argsort(column_ms(df[ts_col], ts_col), kind="stable")
        cut = len(order) - max(1, round(len(order) * test_size))
        train_idx, test_idx, method = order[:cut], order[cut:], "time"
    else:
        try:
            train_idx, test_idx = train_test_split(
                rows, test_size=test_size, stratify=y, random_state=seed
            )
            method = "stratified"
        except ValueError:  # a class too rare to appear on both sides
            train_idx, test_idx = train_test_split(rows, test_size=test_size, random_state=seed)
            method = "random"
    if len(pd.unique(y[train_idx])) < 2:
        raise DataError("the training part of the split has a single class: use more data")
    return np.sort(train_idx), np.sort(test_idx), {"method": method}
