"""Synthetic streams with known drift, and references trained on them.

Ten numeric features N(0, 1) (``x9`` 5% missing), a categorical feature ``c0`` of 5
categories and ``c1`` of 30 Zipf-like ones (2% missing), and a score that depends on
``x0``, ``x1`` and ``c0``, so drift in those moves the predictions too.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from streamscore.models.drift.bins import DriftReference
from streamscore.models.reference import compute_reference
from streamscore.models.schema import Feature, FeatureSchema

NUMERIC = [f"x{i}" for i in range(10)]
C0 = np.array(["a", "b", "c", "d", "e"], dtype=object)
C0_SHARES = np.array([0.4, 0.25, 0.15, 0.12, 0.08])
C1 = np.array([f"k{i:02d}" for i in range(30)], dtype=object)
C1_SHARES = 1.0 / np.arange(1, 31) / np.sum(1.0 / np.arange(1, 31))
SCHEMA = FeatureSchema(
    tuple(Feature(name, "numeric") for name in NUMERIC)
    + (Feature("c0", "categorical"), Feature("c1", "categorical"))
)


def rows(
    rng: np.random.Generator,
    n: int,
    shift: dict[str, float] | None = None,
    c0_shares: np.ndarray = C0_SHARES,
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """``n`` rows as drift counting takes them: the columns, and the scores.

    ``shift`` adds a constant to numeric features (N(0, 1) -> N(shift, 1)).
    """
    shift = shift or {}
    columns = {name: rng.normal(shift.get(name, 0.0), 1.0, n) for name in NUMERIC}
    columns["x9"][rng.uniform(size=n) < 0.05] = np.nan
    columns["c0"] = C0[rng.choice(5, n, p=c0_shares)]
    c1 = C1[rng.choice(30, n, p=C1_SHARES)]
    c1[rng.uniform(size=n) < 0.02] = None
    columns["c1"] = c1
    logit = columns["x0"] + 0.5 * columns["x1"] + np.where(columns["c0"] == "a", 1.0, -0.5)
    return columns, 1.0 / (1.0 + np.exp(-logit))


def manifest(rng: np.random.Generator, n: int = 5_000) -> dict:
    """A model manifest whose reference was computed on ``n`` training rows (20% held out)."""
    columns, scores = rows(rng, n)
    held_out = scores[: n // 5]
    proba = np.column_stack([1.0 - held_out, held_out])
    reference = compute_reference(pd.DataFrame(columns), SCHEMA, proba, [0, 1])
    return {"name": "synthetic", "version": "1", "reference": reference}


def reference(rng: np.random.Generator, n: int = 5_000) -> DriftReference:
    return DriftReference.from_manifest(manifest(rng, n))


def shifted_stream(
    rng: np.random.Generator,
    n: int,
    shift_at: int,
    shift: dict[str, float] | None = None,
    c0_shares: np.ndarray = C0_SHARES,
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """``n`` rows whose rows from ``shift_at`` on are drawn shifted."""
    before, s_before = rows(rng, shift_at)
    after, s_after = rows(rng, n - shift_at, shift, c0_shares)
    columns = {k: np.concatenate([before[k], after[k]]) for k in before}
    return columns, np.concatenate([s_before, s_after])


def take(columns: dict[str, np.ndarray], rows: slice) -> dict[str, np.ndarray]:
    return {name: values[rows] for name, values in columns.items()}
