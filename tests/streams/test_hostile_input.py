"""Hostile input through the pure stages (scoring and the label join), many examples fast.

The integration test (``tests/integration/test_hostile_input.py``) sends the same kinds
of records to a running worker; here each hypothesis example is one micro-batch, so
thousands of odd records are checked in seconds: each event becomes exactly one
prediction or one dead letter (with its reason and its original key and bytes), each
label exactly one example, count or dead letter, and nothing raises.
"""

from __future__ import annotations

import math

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streamscore.streams.joining import Joiner
from streamscore.streams.records import original_bytes
from streamscore.streams.scorer import RawEvent, Scorer
from tests.hostile import event, event_drafts, good_label, label, label_drafts
from tests.model_data import train_model

LIMIT = 20_000
TS = 1_700_000_000_000
CHECKS = settings(
    max_examples=100,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@pytest.fixture(scope="module", params=["hgb", "logreg"])
def model(request, tmp_path_factory):
    return train_model(tmp_path_factory.mktemp("registry"), estimator=request.param)


def letter_bound(key: bytes | None, value: bytes | None) -> int:
    """The most a dead letter may weigh: the original in base64 and a bounded reason."""
    return 4 * (len(key or b"") + len(value or b"")) // 3 + 4096


@CHECKS
@given(
    drafts=st.lists(event_drafts(LIMIT), min_size=1, max_size=25),
    labels=st.lists(label_drafts(LIMIT), max_size=10),
)
def test_each_hostile_event_and_label_has_exactly_one_outcome(model, drafts, labels):
    sent = [event(d, f"e{i}", LIMIT) for i, d in enumerate(drafts)]
    records = [RawEvent(s.key, s.value, "events", i % 2, i, TS + i) for i, s in enumerate(sent)]
    out = Scorer(model, max_event_bytes=LIMIT).score(records)

    letters = {}
    for partition, items in out.dead_letters.items():
        for key, raw in items:
            body = orjson.loads(raw)
            assert body["partition"] == partition and body["topic"] == "events"
            assert body["offset"] not in letters, "two dead letters for one event"
            letters[body["offset"]] = body
            sent_one = sent[body["offset"]]
            assert key == sent_one.key
            assert original_bytes(body) == sent_one.value
            assert original_bytes(body, "key") == sent_one.key
            assert body["stage"] in ("decode", "validate", "score") and body["error"]
            assert len(raw) <= letter_bound(sent_one.key, sent_one.value)
    for i, one in enumerate(sent):
        if one.expect == "dead":
            assert i in letters, (one, "no dead letter")
        elif one.expect == "prediction":
            assert i not in letters, (one, letters.get(i))

    kept = [i for p in (0, 1) for i in range(len(sent)) if i not in letters and i % 2 == p]
    got = [
        orjson.loads(value)
        for partition in sorted(out.predictions)
        for _, value in out.predictions[partition]
    ]
    assert [p["id"] for p in got] == [sent[i].ident for i in kept]
    for p in got:
        probabilities = list(p["proba"].values())
        assert all(isinstance(x, float) and math.isfinite(x) for x in probabilities), p
        assert math.isclose(sum(probabilities), 1.0) and p["prediction"] in ("no", "yes")

    # labels: for the good events (UTF-8 keys, in their event's partition), and hostile ones
    joiner = Joiner(ttl_ms=60_000, capacity=10_000)
    joiner.note_times({0: TS + 10**6, 1: TS + 10**6})
    if out.scored is not None:
        joiner.remember(out.scored, now_ms=TS)
    good = [
        (i % 2, good_label(sent[i].ident, "yes"))
        for i in kept
        if sent[i].key and sent[i].ident == sent[i].key.decode()
    ]
    hostile = [(i % 2, label(d, f"u{i}")) for i, d in enumerate(labels)]
    all_labels = [one for _, one in good + hostile]
    label_records = [
        RawEvent(one.key, one.value, "labels", p, i, TS + 100)
        for i, (p, one) in enumerate(good + hostile)
    ]
    examples, bad, _ = joiner.join(label_records, lambda p: True, ["no", "yes"], TS + 100)
    dead = {}
    for _, key, raw in bad:
        body = orjson.loads(raw)
        assert body["stage"] == "label" and body["error"] and body["topic"] == "labels"
        dead[body["offset"]] = body
        one = all_labels[body["offset"]]
        assert key == one.key
        assert (original_bytes(body), original_bytes(body, "key")) == (one.value, one.key)
        assert len(raw) <= letter_bound(one.key, one.value)
    joined = [orjson.loads(v) for _, v in examples if b'"unlabelled"' not in v[:20]]
    by_offset = {e["source"][1]: e for e in joined if "source" in e}
    for i, one in enumerate(all_labels):
        assert (i in dead) != (i in by_offset), (one, "not exactly one outcome")
        if one.expect == "dead":
            assert i in dead, one
        elif one.expect == "unknown":
            assert by_offset[i].get("dropped") == "unknown", (one, by_offset.get(i))
        else:
            assert by_offset[i]["y"] == "yes" and "x" in by_offset[i], by_offset[i]


@pytest.mark.parametrize("kind", ["logreg", "hat"])
def test_a_huge_number_does_not_poison_the_online_model(kind):
    """One labelled event with x1 near 1e308 made every later online prediction NaN (the
    scaler's variance overflowed): such a value is counted invalid, not learned."""
    from streamscore.models.learner import Learner

    schema = _schema()
    learner = Learner(schema, ["no", "yes"], kind=kind, report_every=10**9)
    examples = [
        {"x": {"x1": x1, "x2": 0.1, "color": "red", "flag": 1.0}, "y": "yes" if x1 > 0 else "no",
         "proba": {"no": 0.5, "yes": 0.5}, "event_ts": 0, "label_ts": 1, "source": [0, i],
         "offset": i}
        for i, x1 in enumerate([0.5, -0.5] * 50 + [1.7976931348623157e308, -1e300] + [0.5, -0.5])
    ]  # fmt: skip
    learner.learn(examples)
    assert learner.n_learned == 102 and learner.counters["invalid"] == 2
    proba = learner.model.predict_proba_one({"x1": 0.5, "x2": 0.1, "color": "red", "flag": 1.0})
    assert all(math.isfinite(p) for p in proba) and math.isclose(sum(proba), 1.0)


def _schema():
    from streamscore.models.schema import Feature, FeatureSchema

    return FeatureSchema(
        (Feature("x1", "numeric"), Feature("x2", "numeric"), Feature("color", "categorical"),
         Feature("flag", "boolean"))
    )  # fmt: skip
