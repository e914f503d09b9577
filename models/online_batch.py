"""Score a micro-batch with the online model: numpy for the linear model, rows otherwise.

The workers' hot path. For the default ``"logreg"`` model the fitted state (scaler
means and variances, logistic weights and intercepts) is copied once into numpy
arrays and a batch is scored as ``b + sum_j w_j (x_j - mean_j) / std_j`` plus one table
lookup per categorical column, then River's own clipped sigmoid (and, for more than
two classes, its one-vs-rest normalisation). It agrees with River's
``predict_proba_one`` to 1e-9, and a row's probabilities are the same bits whatever
the batch it comes in (tests/models/test_online.py), as for the batch model. Other
models, and schemas where a one-hot key could equal another feature's name
(categorical ``c`` beside a feature named ``c_...``), are scored row by row with River.

Measured on this machine (2 shared cores; default binary model, 10 numeric features;
per row, best of 5; ``test_batch_scoring_cost`` checks the budget):

=====  ==============  ======================  ======================================
rows   here (numpy)    River per row (*one*)   River's pandas route (*many*)
=====  ==============  ======================  ======================================
1      56 µs           7 µs                    940 µs
50     1.05 µs         6.7 µs                  19 µs
1,000  0.11 µs         6.9 µs                  1.06 µs
=====  ==============  ======================  ======================================

(*one*: ``predict_proba_one``; *many*: ``transform_many`` then ``predict_proba_many``.)

The budget was 5 µs a row at 50 rows and 3 µs at 1,000. A batch of one row costs more
than River's per-row call, but stays on the numpy route so that its bits match any
other batch size (~56 µs, against ~1 ms for a one-row scikit-learn call beside it).
Compiling the arrays costs ~20 µs, once per snapshot (or after learning).

>>> from streamscore.models.online import default_online_model
>>> from streamscore.models.schema import Feature, FeatureSchema
>>> model = default_online_model(FeatureSchema((Feature("x", "numeric"),)), [False, True])
>>> for i in range(20):
...     model.learn_one({"x": float(i % 2)}, bool(i % 2))
>>> score = batch_scorer(model)
>>> proba = score({"x": np.array([0.0, 1.0, np.nan])}, 3)
>>> np.allclose(proba, [model.predict_proba_one({"x": v}) for v in (0.0, 1.0, None)])
True
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import partial
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from streamscore.models.online import OnlineModel

Scorer = Callable[[Mapping[str, np.ndarray], int], np.ndarray]


def batch_scorer(model: OnlineModel) -> Scorer:
    """A function ``(columns, n) -> (n, n_classes)`` scoring with ``model`` as it is now."""
    if model.kind == "logreg" and not one_hot_clash(model.schema.names, model._categorical):
        return LinearScorer(model)
    return partial(score_row_by_row, model)


def one_hot_clash(names: list[str], categorical: list[str]) -> bool:
    """Whether a one-hot key ``f"{c}_{value}"`` could equal another feature's name.

    >>> one_hot_clash(["city", "city_size"], ["city"]), one_hot_clash(["city", "x"], ["city"])
    (True, False)
    """
    return any(n != c and n.startswith(f"{c}_") for c in categorical for n in names)


def score_row_by_row(model: OnlineModel, columns: Mapping[str, np.ndarray], n: int) -> np.ndarray:
    """River's ``predict_proba_one`` on each row (NaN and None are missing)."""
    names = model.schema.names
    lists = [np.asarray(columns[name]).tolist() for name in names]
    out = np.empty((n, len(model.classes)))
    for i, values in enumerate(zip(*lists, strict=True)):
        out[i] = model.predict_proba_one(dict(zip(names, values, strict=True)))
    return out


class LinearScorer:
    """The default model's state as arrays; immutable, so one scorer per snapshot."""

    def __init__(self, model: OnlineModel) -> None:
        scaler, head = model.parts["scaler"], model.parts["head"]
        self.binary = len(model.classes) == 2
        heads = [head] if self.binary else [head.classifiers[k] for k in range(len(model.classes))]
        weights = [h.weights for h in heads]
        self.intercept = np.array([float(h.intercept) for h in heads])
        self.numeric = model._numeric
        variance = np.array([scaler.vars.get(f, 0.0) for f in self.numeric], dtype=float)
        self.mean = np.array([scaler.means.get(f, 0.0) for f in self.numeric], dtype=float)
        # River scales a feature of zero variance to 0.0: its weight row is zeroed here
        self.std = np.where(variance > 0, np.sqrt(variance), 1.0)
        self.w_numeric = _matrix(weights, self.numeric) * (variance > 0)[:, None]
        self.boolean = model._boolean
        self.w_boolean = _matrix(weights, self.boolean)
        self.categorical = [_category_table(weights, name) for name in model._categorical]

    def __call__(self, columns: Mapping[str, np.ndarray], n: int) -> np.ndarray:
        # Every sum runs column by column, element-wise, in one fixed order (intercept,
        # numeric, categorical, boolean): a row gets the same bits in a batch of 1 or
        # 1,000. A matrix product would not promise that (BLAS reorders by shape).
        logits = np.empty((n, len(self.intercept)))
        logits[:] = self.intercept
        if self.numeric:
            z = (_stack(columns, self.numeric) - self.mean) / self.std
            z[np.isnan(z)] = 0.0
            for j, w in enumerate(self.w_numeric):
                logits += z[:, j, None] * w
        for name, table, w in self.categorical:
            unknown = len(w) - 1  # the zero row: unseen category, None or NaN
            rows = np.fromiter((table.get(v, unknown) for v in columns[name]), np.intp, n)
            logits += w[rows]
        if self.boolean:
            b = _stack(columns, self.boolean)
            b[np.isnan(b)] = 0.0
            for j, w in enumerate(self.w_boolean):
                logits += b[:, j, None] * w
        return self._proba(logits)

    def _proba(self, logits: np.ndarray) -> np.ndarray:
        # River's utils.math.sigmoid: exactly 0 below -30 and 1 above 30
        p = 1.0 / (1.0 + np.exp(-np.clip(logits, -31.0, 31.0)))
        p[logits < -30] = 0.0
        p[logits > 30] = 1.0
        if self.binary:
            return np.hstack([1.0 - p, p])
        total = p.sum(axis=1, keepdims=True)
        uniform = np.full_like(p, 1.0 / p.shape[1])
        # OneVsRestClassifier divides by the sum, or answers uniformly when it is 0
        return np.divide(p, total, out=uniform, where=total != 0)


def _matrix(weights: list[dict], names: list[str]) -> np.ndarray:
    return np.array([[w.get(f, 0.0) for w in weights] for f in names], dtype=float).reshape(
        len(names), len(weights)
    )


def _stack(columns: Mapping[str, np.ndarray], names: list[str]) -> np.ndarray:
    return np.column_stack([np.asarray(columns[f], dtype=float) for f in names])


def _category_table(weights: list[dict], name: str) -> tuple[str, dict, np.ndarray]:
    """``(name, {category: row}, W)``: row ``i`` of ``W`` holds the weights of one category."""
    prefix = f"{name}_"
    keys = sorted({k for w in weights for k in w if isinstance(k, str) and k.startswith(prefix)})
    table = {k[len(prefix) :]: i for i, k in enumerate(keys)}
    w = np.zeros((len(keys) + 1, len(weights)))
    for i, key in enumerate(keys):
        w[i] = [ws.get(key, 0.0) for ws in weights]
    return name, table, w
