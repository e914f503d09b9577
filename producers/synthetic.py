"""Synthetic streams with known drift, from River's generators, plus a data-drift-only kind.

Kinds (``KINDS``):

- ``agrawal``: Agrawal, classification function 0 switching to 2 (concept drift; the
  nine loan-applicant features keep their distribution).
- ``sea``: SEA, variant 0 (threshold 8) switching to variant 3 (threshold 9.5).
- ``hyperplane``: a random 10-d hyperplane switching to another one.
- ``rbf``: RandomRBF (10 features, 50 centroids) switching to RandomRBFDrift with
  the same centroids, which then move (``change_speed``): incremental drift from
  ``drift_at`` on.
- ``data-drift``: 10 standard normal features with a fixed linear concept; after
  the drift ``x0`` is drawn from N(2, 1) instead: the input distribution shifts,
  P(label | features) does not.
- ``data-and-concept`` (the demo's): 10 standard normal features and a categorical
  ``segment``; at ``drift_at`` the inputs drift (``x0`` from N(0, 1) to N(2, 1), the
  segment ``a`` three times as common; neither is in the concept), and halfway between
  ``drift_at`` and the end the concept changes (a new linear boundary on x1..x9): a data
  drift first, then a concept drift, both at known rows (``drift_at`` and ``concept_at``).

The concept kinds switch between two River generators the way
``river.datasets.synth.ConceptDriftStream`` does: row ``i`` (0-based) comes from
the new stream with probability
``1 / (1 + exp(-4 (i - drift_at) / drift_width))`` -- one half at ``drift_at``, and
about 12 % to 88 % across ``drift_at ± drift_width / 2`` (``drift_width`` 1: abrupt).
Each generator advances only when it is drawn from. ``data-drift`` uses the same
curve to choose between the two distributions of ``x0``.

>>> frame, sidecar = generate("sea", 6, drift_at=0.5, seed=1)
>>> list(frame.columns), sidecar["drift_at"], frame["id"].iloc[0]
(['id', 'ts', 'x0', 'x1', 'x2', 'label'], 3, 'sea-1-0')
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from river.datasets import synth

from streamscore.ground.errors import ConfigError
from streamscore.ground.tables import write_table

KINDS = ("agrawal", "sea", "hyperplane", "rbf", "data-drift", "data-and-concept")
START_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z: a fixed start keeps files reproducible
N_FEATURES = 10
SHIFT = 2.0


def drift_index(drift_at: float | int | str | None, n: int) -> int:
    """The 0-based row of the drift: a value below 1 is a fraction of ``n``, else an index.

    >>> drift_index(0.25, 1000), drift_index(600, 1000), drift_index(None, 10)
    (250, 600, 5)
    """
    value = 0.5 if drift_at is None else float(drift_at)
    index = round(value * n) if value < 1 else int(value)
    if not (0 <= index <= n) or value != value:
        raise ConfigError(f"--drift-at {drift_at} is outside the stream of {n} rows")
    return index


def _concept_streams(kind: str, seed: int) -> tuple[Any, Any, dict[str, Any]]:
    params: dict[str, Any]
    if kind == "agrawal":
        params = {"classification_function": [0, 2]}
        return (
            synth.Agrawal(classification_function=0, seed=seed),
            synth.Agrawal(classification_function=2, seed=seed + 1),
            params,
        )
    if kind == "sea":
        params = {"variant": [0, 3], "noise": 0.0}
        return synth.SEA(variant=0, seed=seed), synth.SEA(variant=3, seed=seed + 1), params
    if kind == "hyperplane":
        params = {"n_features": N_FEATURES, "hyperplane_seeds": [seed, seed + 1]}
        return (
            synth.Hyperplane(seed=seed, n_features=N_FEATURES),
            synth.Hyperplane(seed=seed + 1, n_features=N_FEATURES),
            params,
        )
    params = {"n_features": N_FEATURES, "n_centroids": 50, "change_speed": 0.5}
    return (
        synth.RandomRBF(seed_model=seed, seed_sample=seed, n_features=N_FEATURES),
        synth.RandomRBFDrift(
            seed_model=seed, seed_sample=seed + 1, n_features=N_FEATURES, change_speed=0.5
        ),
        params,
    )


def _concept_frame(kind: str, n: int, at: int, width: int, seed: int) -> tuple[pd.DataFrame, dict]:
    before, after, params = _concept_streams(kind, seed)
    old, new = iter(before), iter(after)
    xs, ys = [], []
    for drifted in _drifted_rows(n, at, width, seed):
        x, y = next(new if drifted else old)
        xs.append(x)
        ys.append(int(y))
    frame = pd.DataFrame(xs, columns=list(xs[0]))
    frame.columns = [f"x{c}" if isinstance(c, int) else str(c) for c in frame.columns]
    frame["label"] = np.asarray(ys, dtype="int64")
    return frame, params


def _drifted_rows(n: int, at: int, width: int, seed: int) -> np.ndarray:
    """Which rows come from the new concept: ConceptDriftStream's curve, drawn with numpy.

    River's ``ConceptDriftStream`` computes ``math.exp(-4 (i - position) / width)``
    without bounds, which overflows for rows more than ~180 widths before the drift
    (so an abrupt drift in a long stream fails); here the exponent is clipped.
    """
    rng = np.random.default_rng([seed, 1])
    return rng.random(n) < _drift_probability(np.arange(n), at, width)


def _data_drift_frame(n: int, at: int, width: int, seed: int) -> tuple[pd.DataFrame, dict]:
    rng = np.random.default_rng(seed)
    weights = rng.normal(size=N_FEATURES)
    x = rng.normal(size=(n, N_FEATURES))
    shifted = _drifted_rows(n, at, width, seed)
    x[shifted, 0] += SHIFT
    label = (x @ weights > 0).astype("int64")  # the same concept before and after
    frame = pd.DataFrame(x, columns=[f"x{i}" for i in range(N_FEATURES)])
    frame["label"] = label
    params = {
        "n_features": N_FEATURES,
        "weights": weights.tolist(),
        "concept": "label = int(sum(weights[i] * x{i}) > 0)",
        "before": {"x0": "normal(0, 1)"},
        "after": {"x0": f"normal({SHIFT:g}, 1)"},
    }
    return frame, params


def _data_and_concept_frame(
    n: int, at: int, concept_at: int, width: int, seed: int
) -> tuple[pd.DataFrame, dict]:
    rng = np.random.default_rng(seed)
    before, after = rng.normal(size=N_FEATURES), rng.normal(size=N_FEATURES)
    before[0] = after[0] = 0.0  # x0 drifts, the concept never reads it
    x = rng.normal(size=(n, N_FEATURES))
    shifted = _drifted_rows(n, at, width, seed)
    x[shifted, 0] += SHIFT
    segment = rng.choice(np.array(list("abcd")), size=n)
    segment[shifted & (rng.random(n) < 0.5)] = "a"
    changed = _drifted_rows(n, concept_at, width, seed + 1)
    label = np.where(changed, x @ after > 0, x @ before > 0).astype("int64")
    frame = pd.DataFrame(x, columns=[f"x{i}" for i in range(N_FEATURES)])
    frame["segment"] = segment
    frame["label"] = label
    params = {
        "n_features": N_FEATURES,
        "weights_before": before.tolist(),
        "weights_after": after.tolist(),
        "concept": "label = int(sum(weights[i] * x{i}) > 0); x0 and segment not used",
        "data_drift": {"x0": f"normal(0, 1) -> normal({SHIFT:g}, 1)", "segment": "a: 1/4 -> 5/8"},
        "concept_at": concept_at,
    }
    return frame, params


def _drift_probability(rows: np.ndarray, at: int, width: int) -> np.ndarray:
    z = np.clip(-4.0 * (rows - at) / width, -700, 700)
    return 1.0 / (1.0 + np.exp(z))


def generate(
    kind: str,
    n: int,
    drift_at: float | int | str | None = None,
    drift_width: int = 1,
    seed: int = 0,
    interval_ms: int = 1,
    start_ms: int = START_MS,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """A stream of ``n`` rows (``id``, ``ts``, features, ``label``) and its sidecar dict."""
    if kind not in KINDS:
        raise ConfigError(f"unknown kind {kind!r}: use one of {', '.join(KINDS)}")
    if n < 1 or drift_width < 1 or interval_ms < 0:
        raise ConfigError("--n and --drift-width must be >= 1, --interval-ms >= 0")
    at = drift_index(drift_at, n)
    if kind == "data-drift":
        body, params = _data_drift_frame(n, at, drift_width, seed)
    elif kind == "data-and-concept":
        concept_at = at + (n - at) // 2
        body, params = _data_and_concept_frame(n, at, concept_at, drift_width, seed)
    else:
        body, params = _concept_frame(kind, n, at, drift_width, seed)
    rows = np.arange(n)
    frame = pd.DataFrame({"id": [f"{kind}-{seed}-{i}" for i in rows]})
    frame["ts"] = start_ms + rows.astype("int64") * interval_ms
    frame = pd.concat([frame, body], axis=1)
    features = [c for c in body.columns if c != "label"]
    sidecar = {
        "kind": kind,
        "n": n,
        "seed": seed,
        "drift_at": at,
        "drift_width": drift_width,
        "drift_region": [
            max(0, math.floor(at - drift_width / 2)),
            min(n, math.ceil(at + drift_width / 2)),
        ],
        "drift_type": {"data-drift": "data", "data-and-concept": "data and concept"}.get(
            kind, "concept"
        ),
        "shifted_features": {"data-drift": ["x0"], "data-and-concept": ["x0", "segment"]}.get(
            kind, []
        ),
        "concept_at": params.get("concept_at", at if kind != "data-drift" else None),
        "features": features,
        "label": "label",
        "start_ms": start_ms,
        "interval_ms": interval_ms,
        "generator": params,
    }
    return frame, sidecar


def sidecar_path(out: str | Path) -> Path:
    """``<out>.drift.json`` next to the stream file.

    >>> sidecar_path("runs/sea.parquet").as_posix()
    'runs/sea.parquet.drift.json'
    """
    out = Path(out)
    return out.with_name(out.name + ".drift.json")


def write(frame: pd.DataFrame, sidecar: dict[str, Any], out: str | Path) -> Path:
    """Write the stream (any table format, by suffix) and its sidecar; return the sidecar's path."""
    out = Path(out)
    write_table(frame, out)
    side = sidecar_path(out)
    side.write_text(json.dumps({**sidecar, "file": out.name}, indent=2) + "\n")
    return side
