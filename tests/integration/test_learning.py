"""Online learning from delayed labels, end to end on a real broker: every label learned
once, the state tied to offsets, one logical model for the whole group."""

from __future__ import annotations

import random
import threading
import time

import orjson
import pytest

from streamscore.cli.processes import worker_metric
from streamscore.ground.kafka.admin import create_topics
from streamscore.ground.kafka.local import free_port
from streamscore.ground.kafka.reading import read_topic
from streamscore.models.snapshot import load_header
from streamscore.producers.replay import replay
from streamscore.producers.synthetic import generate
from tests.integration.pipeline import (
    latest,
    learned,
    snapshots,
    train_on,
    wait_assigned,
    wait_for_drift,
)
from tests.kafka_helpers import consume, produce
from tests.model_data import events, frame, train_model

pytestmark = pytest.mark.integration


def test_labels_out_of_order_unknown_expired_and_duplicate_are_counted(
    settings_factory, worker_factory
):
    # a label whose event never came holds the labels behind it in its partition for the
    # grace: kept well under this test's 8 s TTL, or the late ones would find their events
    # forgotten (unknown) instead of expired
    settings = settings_factory(label_ttl=8.0, label_grace=0.5, snapshot_interval=1.0)
    create_topics(settings)
    train_model(settings.registry_path)
    worker = worker_factory(settings, "--model", "m")
    sent = events(300)
    truth = dict(zip((e["id"] for e in sent), frame(300, seed=1)["label"], strict=True))
    produce(settings, settings.events_topic, ((e["id"], e) for e in sent))
    assert len(consume(settings, settings.predictions_topic, 300, timeout=90)) == 300
    scored_at = time.monotonic()  # all 300 were scored by now (and not long before)

    ids = [e["id"] for e in sent[:200]]
    random.Random(4).shuffle(ids)  # labels arrive out of order
    labels = [(i, {"id": i, "label": truth[i]}) for i in ids]
    labels += [(f"nope-{i}", {"label": "yes"}) for i in range(5)]  # never scored
    labels += [(i, {"id": i, "label": truth[i]}) for i in ids[:10]]  # a second label
    produce(settings, settings.labels_topic, labels)
    records = wait_for_drift(settings, lambda r: learned(r) >= 200, 90, "200 labels learned")

    # ten more labels come after the TTL: expired, not learned
    expired = [(e["id"], {"id": e["id"], "label": truth[e["id"]]}) for e in sent[200:210]]
    # the scenario: time passes, past the TTL of their events but not past 1.25 TTL, when
    # the memory forgets them (a label then is unknown): timed from their scoring, not
    # from the learning above, which took seconds on a loaded CI machine
    threading.Event().wait(max(0.0, scored_at + settings.label_ttl + 0.6 - time.monotonic()))
    produce(settings, settings.labels_topic, expired)
    records = wait_for_drift(
        settings, lambda r: latest(r, "performance", "labels", "expired") == 10, 90, "10 expired"
    )
    assert worker.alive(), worker.output()[-3000:]
    metrics = ("learned", "unknown", "duplicate_labels", "expired", "duplicates")
    counts = {m: latest(records, "performance", "labels", m) for m in metrics}
    assert counts == {"learned": 200, "unknown": 5, "duplicate_labels": 10, "expired": 10,
                      "duplicates": 0}  # fmt: skip
    delay = latest(records, "performance", "labels", "delay_p50_ms")
    assert delay is not None and delay > 0

    predictions = consume(settings, settings.predictions_topic, 300, timeout=30)
    assert all(p.value["online"] is None for p in predictions)  # scored before any snapshot
    produce(settings, settings.events_topic, ((e["id"], e) for e in events(20, prefix="late")))
    later = read_topic(settings, settings.predictions_topic, {},
                       until=lambda r: len(r) >= 320, timeout=60)  # fmt: skip
    online = [p.value["online"] for p in later if p.key.startswith("late")]
    assert len(online) == 20
    assert all(o is not None and o["n_learned"] >= 200 for o in online), online[:2]
    assert all(
        set(o["proba"]) == {"no", "yes"} and o["prediction"] in ("no", "yes") for o in online
    )
    # the same counts on the worker's /metrics
    outcomes = {o: worker_metric(settings.web_port, f'streamscore_labels_total{{outcome="{o}"}}')
                for o in ("joined", "unknown", "duplicate", "expired")}  # fmt: skip
    assert outcomes == {"joined": 200, "unknown": 5, "duplicate": 10, "expired": 10}
    assert (worker_metric(settings.web_port, "streamscore_online_snapshot_labels") or 0) >= 200


def _stream(settings, frame, rate: float = 3000, delay: str = "uniform:0.1:1.0"):
    replay(settings, frame, id_col="id", ts_col="ts", label_col="label", rate=rate,
           label_delay=delay, progress=False)  # fmt: skip


def test_a_killed_learner_resumes_from_its_snapshot_and_learns_each_label_once(
    settings_factory, worker_factory
):
    settings = settings_factory(snapshot_every=500, snapshot_interval=1.0)
    create_topics(settings)
    data, _ = generate("sea", 7000, seed=5)
    train_on(settings, data.iloc[:1000])
    live = data.iloc[1000:].reset_index(drop=True)
    first = worker_factory(settings, "--model", "m", name="first")
    feeder = threading.Thread(target=_stream, args=(settings, live, 1500))
    feeder.start()
    wait_for_drift(settings, lambda r: learned(r) >= 1500, 120, "1500 labels learned")
    first.kill()  # kill -9 mid-stream: the learner dies between two snapshots
    second = worker_factory(settings, "--model", "m", "--web-port", str(free_port()), name="2nd")
    feeder.join(timeout=120)
    records = wait_for_drift(settings, lambda r: learned(r) >= len(live), 180,
                             f"{len(live)} labels learned")  # fmt: skip
    assert second.alive(), second.output()[-3000:]
    assert learned(records) == len(live)  # each distinct labelled id once, none lost
    history = [h for h in (load_header(s.raw) for s in snapshots(settings))]
    counts = [h["n_learned"] for h in history]
    assert counts == sorted(counts), counts  # the published model never fell back
    assert counts[-1] == len(live)


def test_two_workers_share_one_logical_online_model(settings_factory, worker_factory):
    settings = settings_factory(partitions=4, snapshot_every=300, snapshot_interval=1.0)
    create_topics(settings)
    data, _ = generate("sea", 5000, seed=6)
    train_on(settings, data.iloc[:1000])
    live = data.iloc[1000:].reset_index(drop=True)
    ports = [settings.web_port, free_port()]
    worker_factory(settings, "--model", "m", name="one")
    worker_factory(settings, "--model", "m", "--web-port", str(ports[1]), name="two")
    wait_assigned(ports, settings.partitions)
    _stream(settings, live)
    records = wait_for_drift(settings, lambda r: learned(r) >= len(live), 180, "every label")
    assert learned(records) == len(live)
    counts = [load_header(s.raw)["n_learned"] for s in snapshots(settings)]
    assert counts == sorted(counts) and counts[-1] == len(live)  # one learner, in order
    predictions = read_topic(settings, settings.predictions_topic, timeout=30)
    ids = {p.value["id"] for p in predictions}
    assert ids == set(live["id"])  # every event scored by one of the two workers
    seen = {p.value["online"]["snapshot"] for p in predictions if p.value["online"]}
    published = {load_header(s.raw)["sha256"][:16] for s in snapshots(settings)}
    assert seen and seen <= published  # both workers score with the one model's snapshots


def test_after_a_concept_change_the_online_model_recovers_and_the_batch_model_does_not(
    settings_factory, worker_factory
):
    # Agrawal's functions are bands of age and salary: a tree learns the new one, a
    # linear model (the default online model) only partly
    settings = settings_factory(partitions=2, snapshot_every=200, snapshot_interval=1.0,
                                online_model="hat", challenger="report")  # fmt: skip
    create_topics(settings)
    data, sidecar = generate("agrawal", 15000, drift_at=9000, seed=3)
    train_on(settings, data.iloc[:3000], estimator="rf")
    live = data.iloc[3000:].reset_index(drop=True)
    worker_factory(settings, "--model", "m")
    _stream(settings, live, rate=2500, delay="0.2")
    records = wait_for_drift(settings, lambda r: learned(r) >= len(live), 180, "every label")
    rolling = [r for r in records if r["kind"] == "performance" and r["metric"] == "accuracy"
               and r.get("scope") == "rolling"]  # fmt: skip
    change_ts = sidecar["start_ms"] + 9000
    before = [r for r in rolling if r["window"]["end"] < change_ts]
    assert before, "no performance record before the change"
    batch_before = max(r["value"] for r in before if r["name"] == "batch")
    assert batch_before > 0.9  # the batch model fits the first concept
    # the newest rolling window of each model that holds only events after the change
    after = [r for r in rolling if r["window"]["start"] >= change_ts]
    final = {r["name"]: r["value"] for r in sorted(after, key=lambda r: r["window"]["end"])}
    tail = [(r["name"], r["value"], r["window"]) for r in rolling[-4:]]
    assert set(final) == {"batch", "online"}, tail
    assert final["batch"] < 0.7, tail  # ... and not the second one
    assert final["online"] > final["batch"] + 0.1, final  # the online model learned it
    detections = [r for r in records if r["kind"] == "detector" and r["name"] == "batch"]
    assert detections and all(r["window"]["start"] >= change_ts for r in detections), (
        detections
    )  # the batch model's errors rise after the change, not before
    challenger = [r for r in records if r["kind"] == "challenger"]
    assert challenger, "no challenger record in report mode"
    assert challenger[-1]["winner"] == "online" and challenger[-1]["alert"], challenger[-1]
    assert challenger[-1]["value"] < challenger[-1]["threshold"]  # McNemar's p under alpha
    assert all(isinstance(orjson.dumps(r), bytes) for r in records)


def test_retrain_mode_promotes_a_new_batch_version_after_the_change_and_none_before(
    settings_factory, worker_factory
):
    settings = settings_factory(partitions=2, snapshot_every=300, snapshot_interval=1.0,
                                challenger="retrain", online_model="hat")  # fmt: skip
    create_topics(settings)
    # a retraining fired early learns mostly from before the change and may be rejected
    # (held-out accuracy ~0.5 for both versions); 15,000 events after the change leave
    # room for more retrainings, each on a newer window
    data, sidecar = generate("agrawal", 22000, drift_at=7000, seed=8)
    train_on(settings, data.iloc[:3000], estimator="rf")
    live = data.iloc[3000:].reset_index(drop=True)
    worker = worker_factory(settings, "--model", "m")
    _stream(settings, live, rate=3000, delay="0.2")
    records = wait_for_drift(
        settings,
        lambda r: any(x["kind"] == "challenger" and x.get("state") == "promoted" for x in r),
        240, "a promoted retraining",
    )  # fmt: skip
    steps = [r for r in records if r["kind"] == "challenger" and r["name"] == "retrain"]
    promoted = [r for r in steps if r["state"] == "promoted"]
    change_ts = sidecar["start_ms"] + 7000
    assert all(r["window"]["end"] > change_ts for r in steps), steps  # none before the change
    assert promoted[0]["value"] > promoted[0]["threshold"]  # it beat the champion
    version = promoted[0]["candidate"]
    predictions = read_topic(settings, settings.predictions_topic, timeout=30)
    assert any(p.value["version"] == version for p in predictions) or worker.alive()
    updates = read_topic(settings, settings.model_updates_topic, timeout=10)
    assert [u.value["version"] for u in updates][-1] == version  # published to every worker
