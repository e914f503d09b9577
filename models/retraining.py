"""Retrain the batch model on the newest labelled window; promote it only if it wins.

When the online model beats the batch model (``STREAMSCORE_CHALLENGER=retrain``), the
learner hands this module its newest labelled examples. They are ordered by event
time; the newest ``holdout`` share is kept apart, a new version of the batch model is
trained on the rest with the existing training code (same estimator as the current
version; the version is saved in the registry, not promoted), and both versions are
scored on the held-out examples. The candidate wins when its accuracy there is
higher than the current version's by more than ``margin``. Pure: no Kafka.

>>> import tempfile, numpy as np
>>> from streamscore.models.registry import Registry
>>> from streamscore.models.training import train
>>> import pandas as pd
>>> rng = np.random.default_rng(0)
>>> x = rng.normal(size=(600, 2))
>>> old = pd.DataFrame({"a": x[:, 0], "b": x[:, 1], "y": (x[:, 0] > 0).astype(int)})
>>> registry = Registry(tempfile.mkdtemp())
>>> current = train(old, "y", name="m", registry=registry, estimator="logreg")
>>> rows = [{"a": float(a), "b": float(b)} for a, b in x]
>>> labels = (x[:, 1] > 0).astype(int).tolist()  # the concept has changed
>>> decision = retrain(current, rows, labels, list(range(600)), registry)
>>> decision.promote, decision.candidate.version, decision.candidate_accuracy > 0.9
(True, '2', True)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from streamscore.models.artifact import LoadedModel
from streamscore.models.features import FeatureError, rows_to_frame, validate_row
from streamscore.models.registry import Registry

MIN_EXAMPLES = 200


@dataclass
class Decision:
    """What a retraining found; ``candidate`` is None when none could be trained."""

    promote: bool
    reason: str
    candidate: LoadedModel | None = None
    candidate_accuracy: float | None = None
    current_accuracy: float | None = None
    n_train: int = 0
    n_holdout: int = 0


def retrain(
    current: LoadedModel,
    rows: list[dict[str, Any]],
    labels: list[Any],
    event_ts: list[int],
    registry: Registry,
    *,
    holdout: float = 0.25,
    margin: float = 0.02,
    seed: int = 0,
) -> Decision:
    """Train a candidate on the older examples, compare both versions on the newest."""
    import pandas as pd

    from streamscore.models.training import train

    if len(rows) < MIN_EXAMPLES:
        return Decision(False, f"only {len(rows)} labelled examples (at least {MIN_EXAMPLES})")
    order = np.argsort(np.asarray(event_ts), kind="stable")
    cut = int(len(order) * (1 - holdout))
    older, newest = order[:cut].tolist(), order[cut:].tolist()
    frame = pd.DataFrame([rows[i] for i in older], columns=current.schema.names)
    frame["label"] = [labels[i] for i in older]
    if frame["label"].nunique() < 2:
        return Decision(False, "the training part of the window holds a single class")
    candidate = train(frame, "label", name=current.name, registry=registry,
                      estimator=current.manifest.get("estimator", "hgb"), seed=seed)  # fmt: skip
    truth = [labels[i] for i in newest]
    held = [rows[i] for i in newest]
    ours, theirs = _accuracy(candidate, held, truth), _accuracy(current, held, truth)
    won = ours > theirs + margin
    reason = f"accuracy {ours:.3f} against {theirs:.3f} on {len(newest)} held-out examples"
    return Decision(won, reason, candidate, ours, theirs, len(older), len(newest))


def _accuracy(model: LoadedModel, rows: list[dict[str, Any]], truth: list[Any]) -> float:
    try:
        frame = rows_to_frame([validate_row(r, model.schema) for r in rows], model.schema)
    except FeatureError:
        return 0.0
    predicted = model.predict(frame)
    right = sum(str(p) == str(t) for p, t in zip(predicted, truth, strict=True))
    return right / len(truth)
