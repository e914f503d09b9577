"""Held-out metrics of a classifier, as JSON-safe numbers.

>>> scores = evaluate(np.array([0, 1, 1, 0]), np.array([[.9, .1], [.2, .8], [.6, .4], [.7, .3]]),
...                   [0, 1])
>>> scores["accuracy"], scores["balanced_accuracy"], scores["roc_auc"]
(0.75, 0.75, 1.0)
>>> sorted(scores["per_class"]["1"])
['f1', 'precision', 'recall', 'support']
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    log_loss,
    precision_recall_fscore_support,
    roc_auc_score,
)

HEADLINE = ("accuracy", "balanced_accuracy", "roc_auc", "log_loss")


def evaluate(y_true: np.ndarray, proba: np.ndarray, classes: list) -> dict:
    """Accuracy, balanced accuracy, ROC AUC (one-vs-rest macro for multiclass; None when
    the held-out rows lack a class), log loss and a per-class report."""
    labels = np.array(classes, dtype=object if isinstance(classes[0], str) else None)
    y_pred = labels[proba.argmax(axis=1)]
    return {
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "balanced_accuracy": float(balanced_accuracy_score(y_true, y_pred)),
        "roc_auc": _roc_auc(y_true, proba, labels),
        "log_loss": float(log_loss(y_true, proba, labels=labels)),
        "per_class": _per_class(y_true, y_pred, labels),
    }


def _roc_auc(y_true: np.ndarray, proba: np.ndarray, labels: np.ndarray) -> float | None:
    if len(np.unique(y_true)) < 2:
        return None
    try:
        if len(labels) == 2:
            return float(roc_auc_score(y_true == labels[1], proba[:, 1]))
        return float(roc_auc_score(y_true, proba, multi_class="ovr", labels=labels))
    except ValueError:  # a class absent from the held-out rows
        return None


def _per_class(y_true: np.ndarray, y_pred: np.ndarray, labels: np.ndarray) -> dict:
    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, labels=labels, zero_division=0
    )
    return {
        str(label): {
            "precision": float(p),
            "recall": float(r),
            "f1": float(f),
            "support": int(s),
        }
        for label, p, r, f, s in zip(labels, precision, recall, f1, support, strict=True)
    }
