"""The scikit-learn pipeline: one ColumnTransformer, then one estimator.

- numeric: median imputation, then standard scaling;
- boolean: most-frequent imputation (values are already 0.0/1.0);
- categorical: a ``"__missing__"`` category for missing values, then one-hot encoding
  with at most :data:`MAX_CATEGORIES` columns per feature; rare and never-seen
  categories share the "infrequent" column, so an unseen category never fails.

Every estimator weights classes by inverse frequency (``class_weight="balanced"``)
against class imbalance.

>>> sorted(ESTIMATORS)
['hgb', 'logreg', 'rf']
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import expit
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from streamscore.ground.errors import ConfigError
from streamscore.models.schema import BOOLEAN, CATEGORICAL, NUMERIC, FeatureSchema

MAX_CATEGORIES = 30
MISSING_CATEGORY = "__missing__"


def _hgb(seed: int):
    return HistGradientBoostingClassifier(class_weight="balanced", random_state=seed)


def _logreg(seed: int):
    return LogisticRegression(class_weight="balanced", max_iter=1000, random_state=seed)


def _rf(seed: int):
    # n_jobs stays 1: parallel trees add their votes in any order, and float sums
    # in any order are not bit-identical between two runs.
    return RandomForestClassifier(
        n_estimators=100, min_samples_leaf=2, class_weight="balanced", random_state=seed
    )


ESTIMATORS = {"hgb": _hgb, "logreg": _logreg, "rf": _rf}


def check_estimator(estimator: str) -> None:
    """Raise :class:`ConfigError` unless ``estimator`` is one of :data:`ESTIMATORS`."""
    if estimator not in ESTIMATORS:
        raise ConfigError(f"unknown estimator {estimator!r}: use one of {sorted(ESTIMATORS)}")


def build_pipeline(schema: FeatureSchema, estimator: str = "hgb", seed: int = 0) -> Pipeline:
    """An unfitted pipeline reading the model frame of ``schema``."""
    check_estimator(estimator)
    parts = []
    if names := schema.of_kind(NUMERIC):
        numeric = Pipeline(
            [("impute", SimpleImputer(strategy="median")), ("scale", StandardScaler())]
        )
        parts.append(("numeric", numeric, names))
    if names := schema.of_kind(BOOLEAN):
        parts.append(("boolean", SimpleImputer(strategy="most_frequent"), names))
    if names := schema.of_kind(CATEGORICAL):
        categorical = Pipeline(
            [
                ("impute", SimpleImputer(strategy="constant", fill_value=MISSING_CATEGORY)),
                (
                    "encode",
                    OneHotEncoder(
                        handle_unknown="infrequent_if_exist",
                        max_categories=MAX_CATEGORIES,
                        sparse_output=False,
                    ),
                ),
            ]
        )
        parts.append(("categorical", categorical, names))
    features = ColumnTransformer(parts, remainder="drop", verbose_feature_names_out=False)
    return Pipeline([("features", features), ("model", ESTIMATORS[estimator](seed))])


def predict_proba(pipeline: Pipeline, frame: pd.DataFrame) -> np.ndarray:
    """Class probabilities; each row depends on that row only (see :func:`estimator_proba`)."""
    return estimator_proba(pipeline[-1], np.asarray(pipeline[:-1].transform(frame)))


def estimator_proba(model: object, inputs: np.ndarray) -> np.ndarray:
    """The final estimator's probabilities for inputs the preprocessing already made.

    Tree ensembles are row-wise. A linear model's ``X @ coef`` goes through BLAS,
    whose kernels sum in a different order for 1 row than for 1000, and even
    numpy's ``sum(axis=1)`` changes its summation order with the array's shape, so
    the last bit of a probability would depend on the micro-batch it was scored in.
    Here the linear scores are accumulated one input column at a time, an
    element-wise sum in one fixed order, then the logistic link
    (``expit`` for two classes, a column-by-column softmax for more).
    """
    if not isinstance(model, LogisticRegression):
        return model.predict_proba(inputs)  # type: ignore[attr-defined]
    inputs = np.asarray(inputs, dtype=np.float64)
    scores = np.zeros((inputs.shape[0], model.coef_.shape[0]))
    for column, weights in zip(inputs.T, model.coef_.T, strict=True):
        scores += column[:, None] * weights
    scores += model.intercept_
    if len(model.classes_) == 2:
        positive = expit(scores[:, 0])
        return np.column_stack([1.0 - positive, positive])
    return _softmax(scores)


def _softmax(scores: np.ndarray) -> np.ndarray:
    # sklearn's softmax sums with axis=1 (shape-dependent order); sum column by column
    exp = np.exp(scores - scores.max(axis=1, keepdims=True))
    total = np.zeros(exp.shape[0])
    for column in exp.T:
        total += column
    return exp / total[:, None]
