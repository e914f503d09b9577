"""`streamscore worker` against a real broker, observed from the output topics."""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.request
from collections import defaultdict

import orjson
import pandas as pd
import pytest

from streamscore.ground.kafka.admin import create_topics
from streamscore.ground.kafka.local import free_port
from streamscore.ground.kafka.reading import read_topic
from tests.kafka_helpers import consume, produce
from tests.model_data import events, train_model

pytestmark = pytest.mark.integration


def cli(settings, *args, timeout=120) -> subprocess.CompletedProcess:
    env = {**__import__("os").environ, **settings.to_env()}
    return subprocess.run(
        [sys.executable, "-m", "streamscore", *args],
        env=env, capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip


def by_id(records):
    out = defaultdict(list)
    for r in records:
        out[r.key].append(r.value)
    return out


def test_every_event_scored_once_equal_to_offline_predict(
    settings_factory, worker_factory, tmp_path
):
    settings = settings_factory()
    create_topics(settings)
    train_model(settings.registry_path)
    sent = events(400)
    produce(settings, settings.events_topic, ((e["id"], e) for e in sent))
    worker = worker_factory(settings, "--model", "m")

    out = consume(settings, settings.predictions_topic, len(sent) + 1, timeout=90)
    assert worker.alive(), worker.output()[-3000:]
    predictions = by_id(out)
    assert sorted(predictions) == sorted(e["id"] for e in sent)
    assert all(len(v) == 1 for v in predictions.values()), "duplicate predictions"

    # the offline twin: `streamscore predict` on the same rows, from a file
    data = tmp_path / "rows.jsonl"
    pd.DataFrame(sent).to_json(data, orient="records", lines=True)
    offline_path = tmp_path / "offline.csv"
    done = cli(settings, "predict", str(data), "--model", "m", "--out", str(offline_path))
    assert done.returncode == 0, done.stderr
    offline = pd.read_csv(offline_path)
    proba_cols = [c for c in offline.columns if c.startswith("proba_")]
    assert proba_cols, offline.columns
    for row in offline.to_dict("records"):
        online = predictions[str(row["id"])][0]
        for col in proba_cols:
            assert online["proba"][col.removeprefix("proba_")] == row[col]


def test_bad_events_go_to_dlq_and_scoring_goes_on(settings_factory, worker_factory):
    settings = settings_factory()
    create_topics(settings)
    train_model(settings.registry_path)
    good = events(100)
    bad = [
        ("b1", b"\xff\xfe"),
        ("b2", b"{not json"),
        ("b3", b'"just a string"'),
        ("b4", orjson.dumps({"id": "b4", "x1": 1.0})),
        ("b5", orjson.dumps({"id": "b5", "x1": "1.0", "x2": 0, "color": "red", "flag": True})),
    ]
    mixed = [(e["id"], e) for e in good[:50]] + bad + [(e["id"], e) for e in good[50:]]
    produce(settings, settings.events_topic, mixed)
    produce(settings, settings.labels_topic, [("L1", b"{label?")])
    worker = worker_factory(settings, "--model", "m")

    predictions = consume(settings, settings.predictions_topic, len(good), timeout=90)
    letters = consume(settings, settings.dlq_topic, len(bad) + 1, timeout=30)
    assert worker.alive(), worker.output()[-3000:]
    assert sorted(r.key for r in predictions) == sorted(e["id"] for e in good)
    got = {r.key: r.value for r in letters}
    assert sorted(got) == ["L1", "b1", "b2", "b3", "b4", "b5"]
    assert got["L1"]["stage"] == "label" and got["L1"]["topic"] == settings.labels_topic
    assert got["b4"]["error"] == "missing feature 'x2'"
    assert "'x1'" in got["b5"]["error"] and got["b5"]["stage"] == "validate"
    assert got["b1"]["value_encoding"] == "base64"
    assert got["b2"]["value"] == "{not json" and got["b2"]["topic"] == settings.events_topic

    shown = cli(settings, "dlq", "show")
    assert shown.returncode == 0, shown.stderr
    assert "6 dead letters" in shown.stderr
    assert "missing feature 'x2'" in shown.stdout

    ref = next(f"{r.partition}:{r.offset}" for r in letters if r.key == "b2")
    replayed = cli(settings, "dlq", "replay", ref)
    assert replayed.returncode == 0, replayed.stderr
    assert f"1 to {settings.events_topic}" in replayed.stdout
    # the original bytes are back on the events topic, and dead-lettered again
    again = consume(settings, settings.dlq_topic, len(bad) + 2, timeout=60)
    assert [r.key for r in again].count("b2") == 2
    # a label's letter goes back to the labels topic
    label = cli(settings, "dlq", "replay", "--stage", "label")
    assert label.returncode == 0 and f"1 to {settings.labels_topic}" in label.stdout, label
    again = consume(settings, settings.dlq_topic, len(bad) + 3, timeout=60)
    assert [(r.key, r.value["topic"]) for r in again].count(("L1", settings.labels_topic)) == 2

    unknown = cli(settings, "dlq", "replay", "0:999999")
    assert unknown.returncode == 1 and "no dead letter at 0:999999" in unknown.stderr


def test_hot_reload_mid_stream_skips_and_repeats_nothing(settings_factory, worker_factory):
    settings = settings_factory()
    create_topics(settings)
    first = train_model(settings.registry_path, seed=0)
    worker = worker_factory(settings, "--model", "m")
    before = events(200, prefix="a")
    produce(settings, settings.events_topic, ((e["id"], e) for e in before))
    assert len(consume(settings, settings.predictions_topic, 200, timeout=90)) == 200

    second = train_model(settings.registry_path, seed=3)
    promoted = cli(settings, "models", "promote", "m", second.version)
    assert promoted.returncode == 0, promoted.stderr

    # keep events flowing while the new version arrives
    after = events(600, prefix="b")
    for chunk in range(6):
        produce(settings, settings.events_topic, ((e["id"], e) for e in after[chunk * 100 :][:100]))
        time.sleep(0.5)
    out = consume(settings, settings.predictions_topic, 800, timeout=90)
    assert worker.alive(), worker.output()[-3000:]
    predictions = by_id(out)
    assert len(out) == 800 and all(len(v) == 1 for v in predictions.values())
    assert {predictions[e["id"]][0]["version"] for e in before} == {first.version}
    assert predictions[after[-1]["id"]][0]["version"] == second.version, (
        promoted.stderr + worker.output()[-3000:]
    )
    # per partition, in offset order, the version changes once and never back
    for partition in {r.partition for r in out}:
        versions = [r.value["version"] for r in sorted(out, key=lambda r: r.offset)
                    if r.partition == partition]  # fmt: skip
        changes = sum(1 for a, b in zip(versions, versions[1:], strict=False) if a != b)
        assert changes <= 1 and versions[-1] == second.version


def metric(port: int, name: str) -> float:
    """A value from a worker's /metrics; -1 while the endpoint is not up yet."""
    try:
        body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read()
    except OSError:
        return -1.0
    for line in body.decode().splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.split()[-1])
    raise AssertionError(f"no {name} in /metrics of port {port}")


def test_two_workers_share_partitions_and_survive_one_stopping(settings_factory, worker_factory):
    # no periodic commit during the test: only the hand-over's own commits count (with
    # the default 1 s the test passed or failed by the timing of that timer)
    settings = settings_factory(partitions=4, commit_interval=600.0)
    create_topics(settings)
    train_model(settings.registry_path)
    one = worker_factory(settings, "--model", "m", name="one")
    two = worker_factory(settings, "--model", "m", "--web-port", str(free_port()), name="two")
    two_port = int(two.proc.args[two.proc.args.index("--web-port") + 1])
    ports = (settings.web_port, two_port)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:  # both in the group, the 4 partitions split
        assigned = [metric(port, "streamscore_assigned_partitions") for port in ports]
        if sorted(assigned) == [2, 2]:
            break
        time.sleep(0.5)
    assert sorted(assigned) == [2, 2], (assigned, one.output()[-2000:], two.output()[-2000:])

    first = events(400, prefix="a")
    produce(settings, settings.events_topic, ((e["id"], e) for e in first))
    assert len(consume(settings, settings.predictions_topic, 400, timeout=120)) == 400
    counts = [metric(port, "streamscore_events_in_total") for port in ports]
    assert sum(counts) >= 400 and min(counts) > 0, counts  # both did part of the work

    assert two.stop() == 0  # a clean stop hands its partitions to the other worker
    second = events(400, prefix="b")
    produce(settings, settings.events_topic, ((e["id"], e) for e in second))
    wanted = {e["id"] for e in first + second}
    out = read_topic(settings, settings.predictions_topic,
                     until=lambda recs: {r.key for r in recs} >= wanted, timeout=120)  # fmt: skip
    assert one.alive(), one.output()[-3000:]
    assert {r.key for r in out} == wanted, one.output()[-4000:]
    # a clean hand-over commits first, also what the staying worker finished: its
    # partitions are revoked and assigned again too (eager rebalancing)
    out = consume(settings, settings.predictions_topic, 801, timeout=5)
    repeated = len(out) - len({r.key for r in out})
    assert repeated == 0, (repeated, one.output()[-4000:])


def test_a_killed_worker_loses_nothing(settings_factory, worker_factory):
    """SIGKILL mid-stream, start a new worker: every event still gets a prediction."""
    settings = settings_factory(batch_size=100)
    create_topics(settings)
    train_model(settings.registry_path)
    sent = events(3000)
    first = worker_factory(settings, "--model", "m", name="first")
    produce(settings, settings.events_topic, ((e["id"], e) for e in sent[:1000]))
    assert len(consume(settings, settings.predictions_topic, 300, timeout=90)) >= 300
    produce(settings, settings.events_topic, ((e["id"], e) for e in sent[1000:]))
    first.kill()  # no clean shutdown: offsets of the last batches are not committed

    second = worker_factory(settings, "--model", "m", "--web-port", str(free_port()), name="2nd")
    wanted = {e["id"] for e in sent}
    out = read_topic(settings, settings.predictions_topic,
                     until=lambda recs: {r.key for r in recs} >= wanted, timeout=150)  # fmt: skip
    assert second.alive(), second.output()[-3000:]
    ids = [r.key for r in out]
    assert set(ids) == {e["id"] for e in sent}, "events lost after a crash"
    # at-least-once: a crash may repeat what the dead worker had not committed, no more
    duplicates = len(ids) - len(set(ids))
    assert duplicates <= 1000 + settings.batch_size, duplicates
