"""Hostile input at volume: one running worker, rounds of hypothesis-drawn records on
``events`` and ``labels`` (arbitrary bytes, malformed and deeply nested JSON, huge numbers
and strings, odd keys), interleaved with good events and the labels of earlier good ones.

After every round, within a timeout (a stalled worker fails here): the worker is alive,
every good event has exactly one prediction, every bad event and bad label exactly one
dead letter with its stage, reason and original key and bytes. At the end: every good
label was learned once (the drift topic's ``performance/labels/learned``), the labels for
unknown ids were counted, nothing came out twice, and the online model still answers
with finite probabilities.
"""

from __future__ import annotations

import itertools
import math
import random
import time
from collections import Counter
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from streamscore.ground.config import Settings
from streamscore.ground.kafka import clients
from streamscore.ground.kafka.admin import create_topics
from streamscore.streams.records import original_bytes
from tests.hostile import Sent, event, event_drafts, good_label, label, label_drafts
from tests.integration.pipeline import drift_records, latest
from tests.model_data import events, train_model

pytestmark = pytest.mark.integration

LIMIT = 200_000  # STREAMSCORE_MAX_EVENT_BYTES of the worker: oversize events up to 3x
ROUNDS = 25
ROUND_TIMEOUT = 90.0
EVENT_STAGES = {"decode", "validate", "score"}


class Tail:
    """Everything written to a topic so far, read on as the test goes (one open consumer)."""

    def __init__(self, settings: Settings, topic: str) -> None:
        from kafka import TopicPartition

        self.consumer = clients.consumer(settings)
        tps = [TopicPartition(topic, p) for p in range(settings.partitions)]
        self.consumer.assign(tps)
        self.consumer.seek_to_beginning(*tps)
        self.values: list[bytes] = []

    def poll(self) -> list[bytes]:
        new = [
            msg.value
            for messages in self.consumer.poll(timeout_ms=200, max_records=5000).values()
            for msg in messages
        ]
        self.values += new
        return new

    def close(self) -> None:
        self.consumer.close()


class Book:
    """What was sent and what came out, checked against each other."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.predictions = Tail(settings, settings.predictions_topic)
        self.letters = Tail(settings, settings.dlq_topic)
        self.want_predictions: Counter[str | None] = Counter()
        self.want_dead: Counter[tuple[str, bytes | None, bytes | None]] = Counter()
        self.either: list[Sent] = []
        self.got_predictions: Counter[str | None] = Counter()
        self.got_dead: Counter[tuple[str, bytes | None, bytes | None]] = Counter()
        self.online: list[dict[str, Any]] = []  # the online field of each prediction
        self.good_labels = 0
        self.unknown_labels = 0
        self.sent = 0

    def expect_event(self, one: Sent) -> None:
        if one.expect == "prediction":
            self.want_predictions[one.ident] += 1
        elif one.expect == "dead":
            self.want_dead[(self.settings.events_topic, one.key, one.value)] += 1
        else:
            self.either.append(one)

    def expect_label(self, one: Sent) -> None:
        if one.expect == "dead":
            self.want_dead[(self.settings.labels_topic, one.key, one.value)] += 1
        elif one.expect == "unknown":
            self.unknown_labels += 1
        else:
            self.good_labels += 1

    def read(self) -> None:
        for raw in self.predictions.poll():
            body = orjson.loads(raw)  # a prediction is always valid JSON
            self.got_predictions[body["id"]] += 1
            probabilities = list(body["proba"].values())
            assert all(math.isfinite(p) for p in probabilities), body
            if body["online"] is not None:
                self.online.append(body["online"])
        for raw in self.letters.poll():
            letter = orjson.loads(raw)
            topic = letter["topic"]
            stages = EVENT_STAGES if topic == self.settings.events_topic else {"label"}
            assert letter["stage"] in stages and letter["error"], letter["error"][:300]
            assert isinstance(letter["partition"], int) and isinstance(letter["offset"], int)
            key, value = original_bytes(letter, "key"), original_bytes(letter)
            self.got_dead[(topic, key, value)] += 1

    def either_outcomes(self, one: Sent) -> int:
        dead = self.got_dead[(self.settings.events_topic, one.key, one.value)]
        return self.got_predictions[one.ident] + dead

    def missing(self) -> str:
        """What has not come out yet ('' when everything has)."""
        predictions = self.want_predictions - self.got_predictions
        dead = self.want_dead - self.got_dead
        either = [one for one in self.either if not self.either_outcomes(one)]
        if not (predictions or dead or either):
            return ""
        shown = [(t, (k or b"")[:40], (v or b"")[:60]) for t, k, v in list(dead.elements())[:3]]
        return (
            f"{sum(predictions.values())} predictions (e.g. {list(predictions)[:3]!r:.300}), "
            f"{sum(dead.values())} dead letters (e.g. {shown}), {len(either)} either"
        )

    def wait(self, worker: Any, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            self.read()
            assert worker.alive(), "the worker died:\n" + worker.output()[-4000:]
            left = self.missing()
            if not left:
                return
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"the worker stalled: after {timeout:.0f} s still missing {left}\n"
                    + worker.output()[-3000:]
                )

    def check_exact(self) -> None:
        """Nothing twice, nothing unexpected (the either-records counted where they went)."""
        self.read()
        predictions, dead = Counter(self.want_predictions), Counter(self.want_dead)
        for one in self.either:
            assert self.either_outcomes(one) == 1, one
            if self.got_predictions[one.ident]:
                predictions[one.ident] += 1
            else:
                dead[(self.settings.events_topic, one.key, one.value)] += 1
        assert self.got_predictions == predictions, (
            self.got_predictions - predictions,
            predictions - self.got_predictions,
        )
        assert self.got_dead == dead, "unexpected or repeated dead letters"

    def close(self) -> None:
        self.predictions.close()
        self.letters.close()


def send(
    settings: Settings, records: list[tuple[str, Sent]], max_request_size: int = 4 * LIMIT
) -> None:
    """One producer for both topics, in the given order; wait until the broker has all."""
    producer = clients.producer(settings, linger_ms=5, max_request_size=max_request_size)
    try:
        for topic, one in records:
            producer.send(topic, key=one.key, value=one.value)
        producer.flush(timeout=60)
    finally:
        producer.close(timeout=10)


def good_events(prefix: str, n: int) -> list[Sent]:
    return [
        Sent(e["id"].encode(), orjson.dumps(e), "prediction", e["id"])
        for e in events(n, prefix=prefix)
    ]


def test_hostile_input_never_stops_the_worker(settings_factory, worker_factory):
    settings = settings_factory(
        max_event_bytes=LIMIT, snapshot_interval=0.5, snapshot_every=100, label_ttl=3600.0
    )
    create_topics(settings)
    train_model(settings.registry_path)
    worker = worker_factory(settings, "--model", "m")
    book = Book(settings)
    first = good_events("warm", 5)
    send(settings, [(settings.events_topic, one) for one in first])
    for one in first:
        book.expect_event(one)
    book.wait(worker, ROUND_TIMEOUT)  # the worker is up and scoring

    rounds = itertools.count()
    pending: list[Sent] = []  # labels for the good events of the round before

    @hypothesis_settings(
        max_examples=ROUNDS,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.generate],  # no shrinking: every round goes to the same live worker
        suppress_health_check=list(HealthCheck),
    )
    @given(
        drafts=st.lists(event_drafts(LIMIT), min_size=30, max_size=90),
        hostile=st.lists(label_drafts(LIMIT), min_size=5, max_size=30),
        seed=st.integers(0, 2**32),
    )
    def one_round(drafts, hostile, seed) -> None:
        # every draw happens before the round sends anything (a lazy st.randoms() could
        # end an example half-way, with its records sent and its labels never made)
        order = random.Random(seed)
        n = next(rounds)
        sent = [event(d, f"r{n}e{i}", LIMIT) for i, d in enumerate(drafts)]
        sent += good_events(f"r{n}g", 10)
        odd = [label(d, f"r{n}u{i}") for i, d in enumerate(hostile)]
        records = [(settings.events_topic, one) for one in sent]
        records += [(settings.labels_topic, one) for one in odd + pending]
        order.shuffle(records)
        send(settings, records)
        for one in sent:
            book.expect_event(one)
        for one in odd + pending:
            book.expect_label(one)
        book.sent += len(records)
        book.wait(worker, ROUND_TIMEOUT)
        pending[:] = [
            good_label(one.ident, order.choice(["no", "yes"]))
            for one in sent
            if one.expect == "prediction" and one.learnable and one.key
            and one.ident == one.key.decode()
        ]  # fmt: skip

    one_round()
    assert next(rounds) == ROUNDS, "hypothesis left rounds half done"
    send(settings, [(settings.labels_topic, one) for one in pending])
    for one in pending:
        book.expect_label(one)
    book.wait(worker, ROUND_TIMEOUT)

    metrics = ("learned", "unknown", "invalid", "expired", "duplicate_labels", "duplicates")
    counts: dict[str, Any] = {}
    deadline = time.monotonic() + ROUND_TIMEOUT
    while time.monotonic() < deadline:
        records = drift_records(settings)
        counts = {m: latest(records, "performance", "labels", m) for m in metrics}
        if (counts["learned"] or 0) >= book.good_labels and (
            counts["unknown"] or 0
        ) >= book.unknown_labels:
            break
        time.sleep(0.5)
    wanted = {"learned": book.good_labels, "unknown": book.unknown_labels}
    assert {m: counts[m] for m in wanted} == wanted, (counts, worker.output()[-3000:])
    assert book.sent >= 2000, book.sent  # volume: a few thousand records went through

    # the online model learned from all that and still answers with probabilities
    probes = 0
    deadline = time.monotonic() + ROUND_TIMEOUT
    while not book.online and time.monotonic() < deadline:
        probe = good_events(f"probe{probes}", 20)
        probes += 1
        send(settings, [(settings.events_topic, one) for one in probe])
        for one in probe:
            book.expect_event(one)
        book.wait(worker, ROUND_TIMEOUT)
    assert book.online, "no prediction carried the online model's answer"
    for online in book.online:
        assert all(isinstance(p, float) and math.isfinite(p) for p in online["proba"].values())
        assert online["n_learned"] <= book.good_labels

    book.check_exact()
    assert worker.alive(), worker.output()[-3000:]
    assert "Traceback" not in worker.output(), worker.output()[-6000:]
    book.close()


def topic_limit(settings: Settings, topic: str) -> int:
    """The topic's own ``max.message.bytes`` (0 when it only has the broker's default)."""
    from kafka.admin import ConfigResource, ConfigResourceType

    admin = clients.admin(settings)
    try:
        found = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
    finally:
        admin.close()
    entry = found["topic"][topic]["max.message.bytes"]
    return int(entry["value"]) if entry["config_source"] == "DYNAMIC_TOPIC_CONFIG" else 0


def test_outputs_larger_than_their_events_are_delivered(settings_factory, worker_factory):
    """On a cluster at Kafka's default record limit (1 MiB), a dead letter (the event in
    base64) or a prediction (the id twice) can outgrow its event: the topics streamscore
    creates for them allow it, and the worker delivers them instead of retrying for ever."""
    settings = settings_factory()  # STREAMSCORE_MAX_EVENT_BYTES at its default, 1,000,000
    kafka_default = 1_048_588
    create_topics(
        settings, [settings.events_topic], config={"max.message.bytes": str(kafka_default)}
    )
    create_topics(settings)
    for topic in (settings.predictions_topic, settings.dlq_topic, settings.examples_topic):
        assert topic_limit(settings, topic) >= 4 * kafka_default // 3 + 4096, topic
    train_model(settings.registry_path)
    worker = worker_factory(settings, "--model", "m")
    book = Book(settings)
    binary = Sent(b"binary", random.Random(1).randbytes(1_000_000), "dead")  # 1.33 MB letter
    long_id = "k" * 600_000  # its prediction holds 1.2 MB of id
    payload = orjson.dumps({"x1": 1.0, "x2": 0.5, "color": "red", "flag": True})
    big_key = Sent(long_id.encode(), payload, "prediction", long_id)
    after = good_events("after", 20)
    records = [(settings.events_topic, one) for one in [binary, big_key, *after]]
    send(settings, records, max_request_size=kafka_default)
    for _, one in records:
        book.expect_event(one)
    book.wait(worker, ROUND_TIMEOUT)
    book.check_exact()
    book.close()
    assert "not delivered" not in worker.output(), worker.output()[-3000:]
