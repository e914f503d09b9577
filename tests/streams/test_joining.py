"""The label join's timing: a label is never counted unknown while its event may still come.

Kafka keeps no order across topics: after a broker restart a retrying producer
delivered labels before their events, and a worker that had read its events partition
to the end counted them unknown (~1,600 of 20,000 in the broker-restart fault).
"""

from __future__ import annotations

import orjson
import pytest

from streamscore.streams.joining import Joiner
from streamscore.streams.scorer import RawEvent, Scorer
from tests.model_data import events, train_model

T0 = 1_700_000_000_000
GRACE = 10_000


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return train_model(tmp_path_factory.mktemp("registry"))


def scored(model, ids: list[str], ts: int, first_offset: int = 0):
    rows = events(len(ids))
    records = [
        RawEvent(i.encode(), orjson.dumps({**row, "id": i}), "events", 0, first_offset + n, ts)
        for n, (i, row) in enumerate(zip(ids, rows, strict=True))
    ]
    return Scorer(model).score(records).scored


def label(event_id: str, offset: int, ts: int) -> RawEvent:
    return RawEvent(event_id.encode(), orjson.dumps({"label": "yes"}), "labels", 0, offset, ts)


def outcomes(examples) -> dict[str, str]:
    out = {}
    for _, value in examples:
        body = orjson.loads(value)
        if "id" in body:
            out[body["id"]] = body.get("dropped", "joined")
    return out


def test_a_label_read_before_its_event_waits_for_it_even_when_caught_up(model):
    joiner = Joiner(ttl_ms=3_600_000, capacity=10_000, grace_ms=GRACE)
    joiner.remember(scored(model, ["a"], T0), now_ms=T0)
    joiner.note_times({0: T0})
    caught_up = lambda p: True  # noqa: E731 - the events partition is read to its end
    # the label of "b" comes first; "b" itself is still in a producer's retry queue
    examples, _, done = joiner.join([label("b", 0, T0 + 500)], caught_up, ["no", "yes"], T0 + 600)
    assert outcomes(examples) == {} and done == {}  # waiting, not acknowledged
    examples, _, done = joiner.join([], caught_up, ["no", "yes"], T0 + 600 + GRACE - 1)
    assert outcomes(examples) == {}
    joiner.remember(scored(model, ["b"], T0 + 300, first_offset=1), now_ms=T0 + 5_000)
    joiner.note_times({0: T0 + 300})
    examples, _, done = joiner.join([], caught_up, ["no", "yes"], T0 + 5_000)
    assert outcomes(examples) == {"b": "joined"} and done == {0: 0}


def test_a_label_whose_event_never_comes_is_unknown_after_the_grace(model):
    joiner = Joiner(ttl_ms=3_600_000, capacity=10_000, grace_ms=GRACE)
    joiner.remember(scored(model, ["a"], T0), now_ms=T0)
    joiner.note_times({0: T0})
    classes = ["no", "yes"]
    examples, _, _ = joiner.join([label("x", 0, T0 + 100)], lambda p: True, classes, T0 + 100)
    assert outcomes(examples) == {}
    # a quiet stream: read to its end and the grace gone on the wall clock
    examples, _, done = joiner.join([], lambda p: True, classes, T0 + 100 + GRACE)
    assert outcomes(examples) == {"x": "unknown"} and done == {0: 0}


def test_a_stream_past_the_label_by_the_grace_counts_it_unknown_without_waiting(model):
    joiner = Joiner(ttl_ms=3_600_000, capacity=10_000, grace_ms=GRACE)
    joiner.note_times({0: T0 + 100 + GRACE})
    examples, _, _ = joiner.join([label("x", 0, T0 + 100)], lambda p: False, ["no", "yes"], T0)
    assert outcomes(examples) == {"x": "unknown"}


def test_labels_behind_a_waiting_one_wait_too_and_keep_their_order(model):
    joiner = Joiner(ttl_ms=3_600_000, capacity=10_000, grace_ms=GRACE)
    joiner.remember(scored(model, ["a"], T0), now_ms=T0)
    joiner.note_times({0: T0})
    labels = [label("missing", 0, T0 + 100), label("a", 1, T0 + 200)]
    examples, _, done = joiner.join(labels, lambda p: True, ["no", "yes"], T0 + 200)
    assert outcomes(examples) == {} and done == {}  # "a" is remembered but queued behind
    examples, _, done = joiner.join([], lambda p: True, ["no", "yes"], T0 + 200 + GRACE)
    assert [orjson.loads(v)["id"] for _, v in examples if b'"id"' in v] == ["missing", "a"]
    assert outcomes(examples) == {"missing": "unknown", "a": "joined"} and done == {0: 1}


def test_an_unreadable_label_is_a_dead_letter_without_waiting(model):
    joiner = Joiner(ttl_ms=3_600_000, capacity=10_000, grace_ms=GRACE)
    joiner.note_times({0: T0})
    bad = RawEvent(b"x", b"not json", "labels", 0, 0, T0 + 100)
    examples, letters, done = joiner.join([bad], lambda p: True, ["no", "yes"], T0 + 100)
    assert outcomes(examples) == {} and done == {0: 0}
    assert [(p, key) for p, key, _ in letters] == [(0, b"x")]
    assert "not UTF-8 JSON" in orjson.loads(letters[0][2])["error"]
