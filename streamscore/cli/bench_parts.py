"""The cost of each stage of the hot path and of the learner, without Kafka (``make bench-parts``).

Prints, per row and at micro-batches of 50 and 1,000 events of 10 numeric features
(HistGradientBoosting, one OpenMP thread as in the worker), the best of several
repeats of:

* the bare model: ``predict_proba`` of the fitted estimator on a NumPy array (the
  scoring path calls HistGradientBoosting's trees directly, :mod:`streamscore.models.trees`,
  so at small batches it can cost less than the bare model);
* the scoring path: decode (orjson), validate by column, preprocess with numpy,
  ``predict_proba``, encode the predictions (what :class:`Scorer` does per batch),
  and its ratio to the bare model (the aim: at most 2 at a batch of 50);
* the same through pandas and the pipeline (what the worker did before);
* drift counting, the online model's predictions, remembering for the label join;
* the learner, per labelled example (the aim: 5,000 a second, 200 µs).

Figures are printed, never asserted: ``python -m streamscore.cli.bench_parts``.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable

import numpy as np
import orjson


def _best(run: Callable[[], object], rows: int, repeats: int = 7) -> float:
    """Best time per row over ``repeats`` runs of ``run`` (µs)."""
    run()
    loops = max(1, 2000 // rows)
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        for _ in range(loops):
            run()
        best = min(best, (time.perf_counter() - started) / loops)
    return best / rows * 1e6


def _stages(n, model, raw, events, scorer, reference, online) -> dict[str, float]:
    """µs per row of each stage at a micro-batch of ``n`` events."""
    from streamscore.models.batch import validate_batch
    from streamscore.models.drift import count
    from streamscore.models.features import rows_to_frame, validate_row
    from streamscore.models.reference import score_of
    from streamscore.streams.memory import FeatureMemory

    rows = [orjson.loads(v) for v in raw[:n]]
    batch, _ = validate_batch(rows, model.schema)
    x = model._compiled.transform(batch) if model.compiled else None
    proba = model.predict_proba_batch(batch)
    memory = FeatureMemory(3.6e6, 10**9)
    ids = [r["id"] for r in rows]
    ts = np.arange(n)
    return {
        "bare model (NumPy array)": _best(lambda: model.pipeline[-1].predict_proba(x), n),
        "scoring path (decode .. encode)": _best(lambda: scorer.score(events[:n]), n),
        "  decode + validate by column": _best(
            lambda: validate_batch([orjson.loads(v) for v in raw[:n]], model.schema), n),
        "  preprocess (numpy) + model (its trees called directly)": _best(
            lambda: model.predict_proba_batch(batch), n
        ),
        "pandas path (validate_row, frame, pipeline)": _best(
            lambda: model.predict_proba(
                rows_to_frame([validate_row(r, model.schema) for r in rows], model.schema)), n),
        "drift counting": _best(lambda: count(
            reference, batch.columns, score_of(proba), event_ts=ts, partitions=0, offsets=ts), n),
        "online model predictions": _best(
            lambda: online.predict_proba_many(batch.columns, len(batch)), n),
        "remember for the label join": _best(lambda: memory.remember(
            ids, batch, proba, "1", event_ts=ts, record_ts=ts, now_ms=0), n),
    }  # fmt: skip


def main() -> None:
    from streamscore.cli.bench import synthetic_rows
    from streamscore.models.drift import DriftReference
    from streamscore.models.learner import Learner
    from streamscore.models.online import default_online_model
    from streamscore.models.registry import Registry
    from streamscore.models.threads import limit_native_threads
    from streamscore.models.training import train
    from streamscore.streams.scorer import RawEvent, Scorer

    limit_native_threads(1)
    model = train(synthetic_rows(5000, 1, "t"), "label", name="parts",
                  registry=Registry(tempfile.mkdtemp()), id_col="id")  # fmt: skip
    frame = synthetic_rows(1000, 2, "e")
    labels = frame.pop("label").tolist()
    raw = [orjson.dumps(r) for r in frame.to_dict("records")]
    records = zip(frame.to_dict("records"), raw, strict=True)
    events = [RawEvent(r["id"].encode(), v, "events", 0, i, 0) for i, (r, v) in enumerate(records)]
    scorer = Scorer(model)
    reference = DriftReference.from_manifest(model.manifest)
    online = default_online_model(model.schema, model.classes)
    print(f"{'stage':46s} {'batch 50':>12s} {'batch 1,000':>12s}   (µs per row, best of 7)")
    figures = {n: _stages(n, model, raw, events, scorer, reference, online) for n in (50, 1000)}
    for name in figures[50]:
        print(f"{name:46s} {figures[50][name]:12.2f} {figures[1000][name]:12.2f}")
    for n in (50, 1000):
        ratio = (
            figures[n]["scoring path (decode .. encode)"] / figures[n]["bare model (NumPy array)"]
        )
        print(f"scoring path / bare model at a batch of {n:,}: {ratio:.2f}")
    learner = Learner(model.schema, model.classes)
    from streamscore.models.batch import validate_batch

    batch, _ = validate_batch([orjson.loads(v) for v in raw], model.schema)
    rows = [batch.row_dict(i) for i in range(len(batch))]
    examples = [{"x": rows[i % len(rows)], "y": labels[i % len(labels)],
                 "proba": {"0": 0.5, "1": 0.5}, "event_ts": i, "label_ts": i + 1000,
                 "source": [0, i], "offset": i} for i in range(20_000)]  # fmt: skip
    started = time.perf_counter()
    learner.learn(examples)
    per = (time.perf_counter() - started) / len(examples)
    print(f"learner (test then train, metrics, detectors): {per * 1e6:.1f} µs per example, "
          f"{1 / per:,.0f} labels/s")  # fmt: skip


if __name__ == "__main__":
    main()
