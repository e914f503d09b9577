"""The learner: each label learned once, a restored snapshot resumes exactly, replays
reproduce the model, bad examples are counted, and the online model recovers from a
concept drift that the batch model does not."""

from __future__ import annotations

import itertools
import pickle
import random
from collections import deque

import numpy as np
import orjson
import pytest

from streamscore.models.learner import Learner, load_model
from streamscore.models.online import rows_to_columns
from streamscore.models.schema import Feature, FeatureSchema
from streamscore.models.snapshot import dumps as snapshot_dumps
from streamscore.models.snapshot import loads as snapshot_loads
from tests.models.online_data import SCHEMA, examples, rows

CLASSES = ["no", "yes"]


def stream(n: int = 3000, classes=CLASSES, seed: int = 0) -> list[dict]:
    return examples(rows(n, classes, seed=seed), classes, seed=seed)


def plain(obj, path: tuple = ()):
    """``obj`` by value only. Two pickles of equal state may still differ in bytes: the
    pickler records which equal objects were one object (its memo), e.g. the feature
    names shared by a tree's nodes before a restore and copied after it."""
    if id(obj) in path:
        return "<cycle>"
    path += (id(obj),)
    if obj is None or isinstance(obj, bool | int | str | bytes):
        return obj
    if isinstance(obj, float):
        return repr(obj)
    if isinstance(obj, dict):
        return "dict", tuple((plain(k, path), plain(v, path)) for k, v in obj.items())
    if isinstance(obj, list | tuple | deque):
        return type(obj).__name__, tuple(plain(v, path) for v in obj)
    if isinstance(obj, set | frozenset):
        return "set", tuple(sorted(map(repr, obj)))
    if isinstance(obj, random.Random):
        return "Random", obj.getstate()
    if hasattr(obj, "__dict__"):
        fields = vars(obj)
        if type(obj).__module__.startswith("river.proba"):
            # a distribution's own unseeded generator, used only by .sample(), never by
            # learning or predicting: it differs between any two runs, restored or not
            fields = {k: v for k, v in fields.items() if k != "_rng"}
        return type(obj).__qualname__, plain(fields, path)
    return type(obj).__qualname__, pickle.dumps(obj)  # River's Rust types: their own state


def snapshot_parts(learner: Learner):
    return snapshot_loads(learner.snapshot())


def state_of(learner: Learner):
    """Every piece of learner state, by value."""
    return plain(
        (
            learner.header(),
            learner.model.parts,
            learner.perf.state(),
            learner.detectors.state(),
            vars(learner.challenger),
            learner.delay.to_dict(),
            learner.since_report,
        )
    )


def probe(learner: Learner) -> np.ndarray:
    xs = [x for x, _ in rows(200, learner.model.classes, seed=99)]
    return learner.model.predict_proba_many(rows_to_columns(xs, SCHEMA), len(xs))


@pytest.mark.parametrize(
    ("kind", "classes"), [("logreg", CLASSES), ("logreg", [1, 2, 3]), ("hat", [True, False])]
)
def test_restore_and_resume_equals_an_uninterrupted_run(kind, classes):
    data = stream(2500, classes)
    whole = Learner(SCHEMA, classes, kind=kind, report_every=500)
    records_whole = whole.learn(data)

    first = Learner(SCHEMA, classes, kind=kind, report_every=500)
    records_first = first.learn(data[:1234])
    resumed = Learner.restore(first.snapshot())
    records_rest = resumed.learn(data[resumed.examples_offset + 1 :])

    assert records_first + records_rest == records_whole
    assert state_of(resumed) == state_of(whole)  # every value, counters included
    assert np.array_equal(probe(resumed), probe(whole))


def test_a_replay_from_before_the_snapshot_learns_nothing_twice():
    data = stream(2500)
    whole = Learner(SCHEMA, CLASSES, report_every=500)
    records_whole = whole.learn(data)
    first = Learner(SCHEMA, CLASSES, report_every=500)
    first.learn(data[:1234])
    resumed = Learner.restore(first.snapshot())
    # a crash between producing examples and committing: the last 300 come again
    records_rest = resumed.learn(data[1234 - 300 :])
    assert resumed.n_learned == whole.n_learned == 2500
    assert (resumed.counters["duplicates"], resumed.counters["invalid"]) == (300, 0)
    assert np.array_equal(probe(resumed), probe(whole))
    # the same records as the uninterrupted run's last ones, but for the duplicates counter
    rest = [r for r in records_rest if r["metric"] != "duplicates"]
    tail = [r for r in records_whole if r["metric"] != "duplicates"][-len(rest) :]
    assert rest and rest == tail


def test_duplicates_are_learned_once_per_labels_partition():
    data = stream(600)
    rng = random.Random(3)
    noisy = []
    for example in data:
        noisy.append(example)
        if rng.random() < 0.2:  # an earlier example of any partition comes again
            noisy.append(rng.choice(noisy))
    clean, dirty = Learner(SCHEMA, CLASSES), Learner(SCHEMA, CLASSES)
    clean.learn(data)
    dirty.learn(noisy)
    assert dirty.n_learned == clean.n_learned == 600
    assert dirty.counters["duplicates"] == len(noisy) - 600
    assert dirty.labels_offsets == clean.labels_offsets
    assert np.array_equal(probe(dirty), probe(clean))


def test_offsets_are_tracked_per_labels_partition():
    learner = Learner(SCHEMA, CLASSES)
    x = rows(1, CLASSES)[0][0]
    make = lambda p, o: {"x": x, "y": "no", "proba": [0.5, 0.5], "source": [p, o]}  # noqa: E731
    learner.learn([make(1, 5), make(0, 3), make(1, 4), make(0, 4), make(1, 5)])
    assert learner.labels_offsets == {1: 5, 0: 4}
    # (1, 4) came after (1, 5) but was not taken before: learned; (1, 5) again is not
    assert learner.n_learned == 4 and learner.counters["duplicates"] == 1
    assert learner.examples_offset is None  # the wiring did not say


def test_examples_out_of_order_are_each_learned_once():
    # a batch's examples delivered again after a broker restart can come after those of
    # later batches: none is a duplicate, each is learned once, also across a restore
    data = stream(400)
    late = [e for e in data if e["source"][1] % 50 < 10]  # a run of 10 of every 50
    first = [e for e in data if e not in late]
    learner = Learner(SCHEMA, CLASSES)
    learner.learn(first[:200])
    learner = Learner.restore(learner.snapshot())
    learner.learn(first[200:] + late + late[:7])
    assert learner.n_learned == 400
    assert learner.counters["duplicates"] == 7
    whole = Learner(SCHEMA, CLASSES)
    whole.learn(data)
    assert learner.labels_offsets == whole.labels_offsets


def test_a_snapshot_from_before_the_intervals_counts_up_to_its_top_as_seen():
    learner = Learner(SCHEMA, CLASSES)
    data = stream(100)
    learner.learn(data[:60])
    header, parts, state = snapshot_parts(learner)
    del header["labels_seen"]
    restored = Learner.restore(snapshot_dumps(header, parts, state))
    restored.learn(data)  # the first 60 again, then 40 new
    assert restored.n_learned == 100 and restored.counters["duplicates"] == 60


@pytest.mark.parametrize("kind", ["logreg", "hat"])
def test_replaying_the_same_examples_reproduces_the_same_model(kind):
    data = stream(1500)
    a, b = Learner(SCHEMA, CLASSES, kind=kind), Learner(SCHEMA, CLASSES, kind=kind)
    a.learn(data)
    b.learn(data)
    assert state_of(a) == state_of(b)
    assert np.array_equal(probe(a), probe(b))
    if kind == "logreg":  # the tree's Gaussians hold unseeded generators (see plain())
        assert a.snapshot() == b.snapshot()


def test_bad_examples_are_counted_and_learning_goes_on():
    good = stream(10)
    bad = [
        {**good[0], "y": "maybe"},
        {**good[0], "proba": [0.5, 0.3, 0.2]},
        {**good[0], "x": "not an object"},
        {k: v for k, v in good[0].items() if k != "source"},
        {**good[0], "source": ["p", 1]},
        {**good[0], "x": {**good[0]["x"], "x1": "3.5"}},
        {**good[0], "x": {**good[0]["x"], "x1": float("inf")}},
        {**good[0], "x": {**good[0]["x"], "color": 7}},
    ]
    learner = Learner(SCHEMA, CLASSES)
    untouched = pickle.dumps(learner.model.parts)
    learner.learn(bad)
    assert pickle.dumps(learner.model.parts) == untouched  # refused before any update
    learner.learn(good)
    assert (learner.counters["duplicates"], learner.counters["invalid"]) == (0, len(bad))
    assert learner.n_learned == 10


def test_labels_the_join_dropped_are_counted_once_by_reason():
    good = stream(3)
    dropped = [
        {"id": "u", "dropped": "unknown", "label_ts": 0, "source": [1, 5]},
        {"id": "e", "dropped": "expired", "label_ts": 0, "source": [1, 6]},
        {"id": "d", "dropped": "duplicate", "label_ts": 0, "source": [1, 7]},
        {"unlabelled": 4, "partition": 1},
    ]
    learner = Learner(SCHEMA, CLASSES)
    learner.learn(good + dropped + dropped[:3])  # the join re-sent three after a crash
    counts = learner.counters
    assert (counts["unknown"], counts["expired"], counts["duplicate_labels"]) == (1, 1, 1)
    assert counts["unlabelled"] == 4
    assert counts["duplicates"] == 3 and learner.n_learned == 3
    assert learner.labels_offsets[1] == 7


def test_records_are_plain_json_for_the_drift_topic():
    learner = Learner(SCHEMA, CLASSES, report_every=1000)
    records = learner.learn(stream(3000))
    assert records == orjson.loads(orjson.dumps(records))
    assert {r["kind"] for r in records} >= {"performance", "challenger"}
    for record in records:
        assert {"kind", "name", "metric", "value", "threshold", "alert", "window"} <= set(record)
        assert set(record["window"]) == {"start", "end", "n", "offsets"}
    labels = {r["metric"]: r["value"] for r in records[-20:] if r["name"] == "labels"}
    assert labels["learned"] == 3000 and 50 <= labels["delay_p50_ms"] <= 5000
    assert set(labels) >= {"delay_mean_ms", "delay_p90_ms", "delay_p99_ms", "delay_max_ms"}
    challenger = records[-1]
    assert challenger["kind"] == "challenger" and challenger["counts"]["n"] == 1000
    assert learner.report()[-1] == {**challenger}  # a timer may ask at any time


def test_a_worker_loads_only_the_model():
    learner = Learner(SCHEMA, CLASSES)
    learner.learn(stream(500))
    model, header = load_model(learner.snapshot())
    assert header["n_learned"] == 500 and header["classes"] == CLASSES
    assert np.array_equal(
        probe(learner),
        model.predict_proba_many(
            rows_to_columns([x for x, _ in rows(200, CLASSES, seed=99)], SCHEMA), 200
        ),
    )


# --- concept drift: Agrawal classification function 0, then 2 at row 5,000 -----------
AGRAWAL_CATEGORICAL = ("elevel", "car", "zipcode")


def agrawal(function: int, seed: int, n: int) -> list[tuple[dict, int]]:
    from river.datasets import synth

    data = itertools.islice(synth.Agrawal(classification_function=function, seed=seed), n)
    return [
        ({k: (f"{k}{v}" if k in AGRAWAL_CATEGORICAL else float(v)) for k, v in x.items()}, y)
        for x, y in data
    ]


@pytest.mark.slow
@pytest.mark.parametrize(("kind", "online_after"), [("logreg", 0.65), ("hat", 0.8)])
def test_online_model_recovers_from_concept_drift_and_batch_model_does_not(kind, online_after):
    from streamscore.models.features import rows_to_frame
    from streamscore.models.pipeline import build_pipeline, predict_proba

    data = agrawal(0, seed=1, n=5000) + agrawal(2, seed=2, n=5000)
    schema = FeatureSchema(
        tuple(
            Feature(k, "categorical" if k in AGRAWAL_CATEGORICAL else "numeric") for k in data[0][0]
        )
    )
    frame = rows_to_frame([x for x, _ in data], schema)
    batch = build_pipeline(schema, "hgb").fit(frame.iloc[:2000], [y for _, y in data[:2000]])
    proba = predict_proba(batch, frame)
    joined = [
        {
            "x": x,
            "y": y,
            "proba": list(proba[i]),
            "event_ts": i,
            "label_ts": i + 10,
            "source": [0, i],
            "offset": i,
        }
        for i, (x, y) in enumerate(data)
    ]
    learner = Learner(schema, [0, 1], kind=kind, window=1000, report_every=500)
    rolling = {}
    detections = []
    for start in range(0, len(joined), 250):
        for r in learner.learn(joined[start : start + 250]):
            if r["metric"] == "accuracy" and r["scope"] == "rolling":
                rolling[r["window"]["offsets"]["last"], r["name"]] = r["value"]
            detections += [(r["name"], r["metric"], r["index"])] if r["kind"] == "detector" else []
    print(f"\n{kind}: rolling accuracy {rolling}")
    # before: the batch model (trained on function 0) is right almost always
    assert rolling[4999, "batch"] > 0.95
    # after: the batch model stays at chance or below, the online model has learned anew
    assert rolling[9999, "batch"] < 0.55
    assert rolling[9999, "online"] > online_after
    assert rolling[9999, "online"] - rolling[9999, "batch"] > 0.15
    # both of the batch model's detectors fire within 200 examples of the change
    batch_fired = {d for name, d, index in detections if name == "batch" and 5000 <= index < 5200}
    assert batch_fired == {"adwin", "page_hinkley"}, detections
    assert learner.report()[-1]["winner"] == "online"


def test_a_snapshot_of_an_older_state_format_is_refused_not_restored_half_way():
    """A worker upgraded over an older snapshot learns anew (the caller logs why); it
    restored one whose metrics lacked a field and crashed on its first label."""
    from streamscore.ground.errors import ModelError
    from streamscore.models import snapshot

    learner = Learner(SCHEMA, CLASSES, report_every=500)
    learner.learn(stream(100))
    header = learner.header()
    del header["state_format"]  # as written before the state format was recorded
    state = {"perf": learner.perf.state(), "detectors": learner.detectors.state(),
             "challenger": dict(vars(learner.challenger)), "delay": learner.delay.to_dict(),
             "since_report": 0}  # fmt: skip
    old = snapshot.dumps(header, learner.model.parts, state)
    with pytest.raises(ModelError, match="format 1; this version reads format 2"):
        Learner.restore(old)
    assert Learner.restore(learner.snapshot()).n_learned == 100
