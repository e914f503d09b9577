"""The scoring stage on its own: every event becomes one prediction or one dead letter."""

from __future__ import annotations

import math

import orjson
import pytest

from streamscore.models.features import rows_to_frame, validate_row
from streamscore.streams.records import original_bytes
from streamscore.streams.scorer import RawEvent, Scorer
from tests.model_data import events, frame, train_model


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return train_model(tmp_path_factory.mktemp("registry"))


def flat(by_partition: dict) -> list:
    """Outputs of every partition, in partition order."""
    return [item for partition in sorted(by_partition) for item in by_partition[partition]]


def raw(value, key=None, offset=0, ts=1_700_000_000_000) -> RawEvent:
    if isinstance(value, dict | list):
        value = orjson.dumps(value)
    return RawEvent(key, value, "events", 0, offset, ts)


def test_each_event_gets_one_prediction_in_input_order(model):
    sent = events(50)
    out = Scorer(model).score([raw(e, key=e["id"].encode(), offset=i) for i, e in enumerate(sent)])
    assert not flat(out.dead_letters)
    got = [orjson.loads(v) for _, v in flat(out.predictions)]
    assert [p["id"] for p in got] == [e["id"] for e in sent]
    assert [k.decode() for k, _ in flat(out.predictions)] == [e["id"] for e in sent]
    for p in got:
        assert p["model"] == "m" and p["version"] == model.version
        assert set(p["proba"]) == {"no", "yes"}
        assert math.isclose(sum(p["proba"].values()), 1.0)
        assert p["prediction"] == max(p["proba"], key=p["proba"].get)
        assert p["event_ts"] == 1_700_000_000_000


def test_batch_probabilities_equal_one_row_at_a_time(model):
    sent = events(30)
    batch = Scorer(model).score([raw(e) for e in sent])
    for event, (_, value) in zip(sent, flat(batch.predictions), strict=True):
        alone = model.predict_proba(
            rows_to_frame([validate_row(event, model.schema)], model.schema)
        )
        assert list(orjson.loads(value)["proba"].values()) == alone[0].tolist()


GOOD = {"x1": 0.5, "x2": -0.1, "color": "red", "flag": False}

BAD = [
    (b"\xff\xfe not utf-8", "decode", "not UTF-8 JSON"),
    (b"{truncated", "decode", "not UTF-8 JSON"),
    (b"NaN", "decode", "not UTF-8 JSON"),
    (b'{"x1": NaN, "x2": 1, "color": "red", "flag": true}', "decode", "not UTF-8 JSON"),
    (b"[1, 2, 3]", "decode", "must be a JSON object"),
    (orjson.dumps({"x1": 0.5, "color": "red", "flag": False}), "validate", "missing feature 'x2'"),
    (orjson.dumps({**GOOD, "x1": "0.5"}), "validate", "'x1'"),
    (orjson.dumps({**GOOD, "x1": True}), "validate", "'x1'"),
    (orjson.dumps({**GOOD, "color": [1]}), "validate", "'color'"),
    (orjson.dumps({**GOOD, "ts": "yesterday"}), "validate", "ts must be epoch milliseconds"),
    (None, "decode", "tombstone"),
]


@pytest.mark.parametrize(("payload", "stage", "reason"), BAD)
def test_bad_event_is_dead_lettered_with_reason_and_original_bytes(model, payload, stage, reason):
    out = Scorer(model).score([raw(GOOD, offset=1), raw(payload, key=b"k", offset=2)])
    assert len(flat(out.predictions)) == 1  # the good neighbour is still scored
    assert len(flat(out.dead_letters)) == 1
    key, letter = flat(out.dead_letters)[0]
    body = orjson.loads(letter)
    assert key == b"k"
    assert body["stage"] == stage
    assert reason in body["error"]
    assert (body["topic"], body["partition"], body["offset"]) == ("events", 0, 2)
    assert original_bytes(body) == payload
    assert original_bytes(body, "key") == b"k"


def test_too_large_event_is_dead_lettered(model):
    out = Scorer(model, max_event_bytes=100).score([raw({**GOOD, "note": "x" * 200})])
    assert not flat(out.predictions)
    assert "over the limit of 100" in orjson.loads(flat(out.dead_letters)[0][1])["error"]


def test_extra_fields_null_and_unseen_category_are_accepted(model):
    event = {**GOOD, "x2": None, "color": "purple", "extra": {"nested": 1}}
    out = Scorer(model).score([raw(event)])
    assert len(flat(out.predictions)) == 1 and not flat(out.dead_letters)


def test_id_comes_from_key_then_payload_then_coordinates(model):
    out = Scorer(model).score(
        [raw({**GOOD, "id": "p"}, key=b"k"), raw({**GOOD, "id": "p"}), raw(GOOD, offset=9)]
    )
    assert [orjson.loads(v)["id"] for _, v in flat(out.predictions)] == ["k", "p", "events:0:9"]


def test_iso_timestamp_becomes_epoch_ms(model):
    out = Scorer(model).score([raw({**GOOD, "ts": "2024-01-01T00:00:00Z"})])
    assert orjson.loads(flat(out.predictions)[0][1])["event_ts"] == 1_704_067_200_000


def test_swap_takes_effect_from_the_next_batch(model):
    newer = train_model(model.path.parent.parent, name="m", seed=5)
    assert newer.version != model.version
    scorer = Scorer(model)
    first = scorer.score([raw(GOOD)])
    scorer.swap(newer)
    second = scorer.score([raw(GOOD)])
    assert orjson.loads(flat(first.predictions)[0][1])["version"] == model.version
    assert orjson.loads(flat(second.predictions)[0][1])["version"] == newer.version


def test_a_row_the_online_model_cannot_score_gets_online_null_and_still_a_prediction(model):
    from streamscore.models.online import default_online_model
    from streamscore.streams.scorer import OnlineView

    online = default_online_model(model.schema, list(model.classes))
    for row in frame(200).to_dict("records"):
        online.learn_one(validate_row(row, model.schema), row["label"])
    scorer = Scorer(model)
    scorer.online = OnlineView(online, 200, "abc")
    # finite, so valid; the online logit is +inf + -inf (River's predict_proba_one: NaN too)
    huge = {**GOOD, "x1": 1.79e308, "x2": -1.79e308}
    out = scorer.score([raw(GOOD, key=b"good", offset=1), raw(huge, key=b"huge", offset=2)])
    assert not flat(out.dead_letters)  # the batch model (trees) scores it
    got = {k.decode(): orjson.loads(v) for k, v in flat(out.predictions)}
    assert got["huge"]["online"] is None
    assert all(math.isfinite(p) for p in got["huge"]["proba"].values())
    assert got["good"]["online"]["n_learned"] == 200
    assert all(math.isfinite(p) for p in got["good"]["online"]["proba"].values())
