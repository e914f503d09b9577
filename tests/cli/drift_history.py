"""A realistic ``drift`` topic history, made by the very code the workers run.

:func:`history` runs the synthetic stream of ``tests/models/drift/streams.py``
(model ``synthetic`` version ``1``: numeric ``x0``..``x9``, categorical ``c0``, ``c1``)
through :class:`DriftMonitor` window by window, and its labelled examples through the
:class:`Learner`. Data drift: ``x0`` shifts by +1.5 and ``c0``'s shares change from
window ``drift_at`` to ``drift_until`` (``alert`` records: raise, then clear). Concept
drift: from ``concept_at`` the label flips for rows with ``x1 > 0`` (the batch model's
errors jump: ``detector`` records; the online model relearns and wins the
``challenger`` test). Each window is ``window`` events, ``ms_per_window`` apart in
time from ``start_ms``; labels arrive 0.5-3 s after their event.
"""

from __future__ import annotations

import random

import numpy as np

from streamscore.models.drift.counting import count
from streamscore.models.drift.records import DriftMonitor
from streamscore.models.learner import Learner
from tests.models.drift import streams

MODEL, VERSION = "synthetic", "1"
SHIFTED_C0 = np.array([0.1, 0.1, 0.2, 0.2, 0.4])


def history(
    start_ms: int,
    windows: int = 24,
    window: int = 1_000,
    ms_per_window: int = 5_000,
    drift_at: int = 8,
    drift_until: int = 17,
    concept_at: int = 14,
    labelled: int = 400,
    seed: int = 5,
) -> list[dict]:
    """Every record the workers would have written, in the order they would have."""
    rng = np.random.default_rng(seed)
    delays = random.Random(seed)
    ref = streams.reference(rng)
    monitor = DriftMonitor(ref)
    learner = Learner(streams.SCHEMA, [0, 1], window=400, report_every=labelled)
    records: list[dict] = []
    offset = 0
    for i in range(windows):
        shifted = drift_at <= i < drift_until
        columns, scores = streams.rows(
            rng, window, {"x0": 1.5} if shifted else None,
            SHIFTED_C0 if shifted else streams.C0_SHARES,
        )  # fmt: skip
        t0 = start_ms + i * ms_per_window
        event_ts = t0 + np.arange(window) * (ms_per_window // window)
        index = np.arange(offset, offset + window)
        counts = count(ref, columns, scores, event_ts=event_ts, partitions=index % 2,
                       offsets=index // 2)  # fmt: skip
        ts = t0 + ms_per_window
        records += monitor.update(counts, ts=ts)
        examples = _examples(columns, scores, event_ts, offset, labelled, i >= concept_at, delays)
        records += [
            {"ts": ts, "model": MODEL, "version": VERSION, **r} for r in learner.learn(examples)
        ]
        offset += window
    return records


def _examples(columns, scores, event_ts, offset, n, flipped, delays) -> list[dict]:
    out = []
    for j in range(n):
        x = {name: _plain(values[j]) for name, values in columns.items()}
        truth = int(scores[j] > 0.5)
        if flipped and x["x1"] is not None and x["x1"] > 0:  # the concept changes for half
            truth = 1 - truth
        out.append(
            {
                "id": str(offset + j),
                "x": x,
                "y": truth,
                "proba": {"0": float(1 - scores[j]), "1": float(scores[j])},
                "version": VERSION,
                "event_ts": int(event_ts[j]),
                "label_ts": int(event_ts[j]) + delays.randint(500, 3_000),
                "source": [0, offset + j],
                "offset": offset + j,
            }
        )
    return out


def _plain(value):
    if isinstance(value, float | np.floating):
        return None if np.isnan(value) else float(value)
    return value


def predictions(n: int, version: str = "3", model: str = MODEL, n_learned: int = 4_321) -> list:
    """``(key, value)`` prediction records of ``model`` ``version``."""
    return [
        (
            str(i),
            {
                "id": str(i),
                "model": model,
                "version": version,
                "prediction": 1,
                "proba": {"0": 0.3, "1": 0.7},
                "online": {
                    "prediction": 1,
                    "proba": {"0": 0.4, "1": 0.6},
                    "n_learned": n_learned,
                    "snapshot": 7,
                },
                "event_ts": 0,
                "scored_ts": 0,
            },
        )  # fmt: skip
        for i in range(n)
    ]


def keyed(records: list[dict]) -> list[tuple[str, dict]]:
    """``(model/name, record)`` pairs, as the topic keys them."""
    return [(f"{r['model']}/{r['name']}", r) for r in records]
