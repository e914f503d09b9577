"""Replay and synth against the real broker: what a consumer of the topics sees."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest

from streamscore.ground.errors import BrokerError, DataError
from streamscore.ground.kafka.local import free_port
from streamscore.producers.replay import replay
from tests.kafka_helpers import consume, consume_all, settings_env

pytestmark = pytest.mark.integration


def _table(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(rng.normal(size=(n, 3)), columns=["a", "b", "c"])
    frame["label"] = rng.integers(0, 2, size=n)
    return frame


def _rows(records) -> dict[str, int]:
    return {r.key: int(r.key.rsplit("-", 1)[1]) for r in records}


def test_every_row_arrives_once_keyed_and_in_order(settings_factory, tmp_path):
    settings = settings_factory(partitions=3)
    frame = _table(3000)
    path = tmp_path / "rides.parquet"
    frame.to_parquet(path, row_group_size=700)
    stats = replay(settings, path, max_speed=True, progress=False)
    assert stats.events == 3000 and stats.next_row == 3000
    out = consume_all(settings, settings.events_topic, 3000)
    assert len(out) == 3000
    rows = _rows(out)
    assert sorted(rows.values()) == list(range(3000))  # every row once, key = file row
    for r in out:
        row = rows[r.key]
        assert r.value == {  # a column named label is never sent inside events by default
            "a": frame.a[row],
            "b": frame.b[row],
            "c": frame.c[row],
            "id": r.key,
        }
    for p in {r.partition for r in out}:
        in_partition = [
            rows[r.key] for r in sorted(out, key=lambda r: r.offset) if r.partition == p
        ]
        assert in_partition == sorted(in_partition)  # file order within each partition


def test_keep_label_sends_the_label_inside_events_too(settings_factory):
    settings = settings_factory()
    frame = _table(20)
    stats = replay(settings, frame, label_col="label", keep_label=True, max_speed=True,
                   progress=False)  # fmt: skip
    assert (stats.events, stats.labels) == (20, 20)
    events = consume_all(settings, settings.events_topic, 20)
    assert all(r.value["label"] == frame.label[int(r.key[4:])] for r in events)


def test_paced_rate_is_within_ten_percent(settings_factory, tmp_path):
    settings = settings_factory()
    path = tmp_path / "paced.csv"
    _table(1000).to_csv(path, index=False)
    replay(settings, path, rate=500, progress=False)
    out = consume_all(settings, settings.events_topic, 1000)
    stamps = sorted(r.timestamp_ms for r in out)
    rate = (len(stamps) - 1) / ((stamps[-1] - stamps[0]) / 1000)
    assert len(out) == 1000
    assert rate == pytest.approx(500, rel=0.10)


def test_speed_keeps_inter_arrival_times(settings_factory, tmp_path):
    settings = settings_factory()
    ts = [0, 1000, 1200, 3000]  # ms: 1.5 s of stream at speed 2
    frame = pd.DataFrame({"id": ["a", "b", "c", "d"], "ts": ts, "x": [1, 2, 3, 4]})
    replay(settings, frame, speed=2.0, progress=False)
    out = {r.key: r for r in consume_all(settings, settings.events_topic, 4)}
    gaps = [out[k].timestamp_ms - out["a"].timestamp_ms for k in "bcd"]
    assert gaps == pytest.approx([500, 600, 1500], abs=60)
    assert out["c"].value == {"x": 3, "id": "c", "ts": 1200}


def test_labels_arrive_after_their_events_with_the_delay(settings_factory):
    settings = settings_factory()
    frame = _table(200)
    frame.loc[[5, 6], "label"] = None  # no label, nothing sent
    stats = replay(settings, frame, label_col="label", rate=200, label_delay=1.0, progress=False)
    assert stats.events == 200 and stats.labels == 198
    events = {r.key: r for r in consume_all(settings, settings.events_topic, 200)}
    labels = consume_all(settings, settings.labels_topic, 198)
    assert len(labels) == 198 and {"row-5", "row-6"}.isdisjoint(r.key for r in labels)
    for label in labels:
        event = events[label.key]
        assert "label" not in event.value
        assert label.value["id"] == label.key
        assert label.value["label"] == frame.label[int(label.key[4:])]
        assert label.partition == event.partition  # co-partitioned by key
        assert 950 <= label.timestamp_ms - event.timestamp_ms <= 1500
        assert abs(label.value["ts"] - label.timestamp_ms) <= 50


def test_random_delays_let_labels_arrive_out_of_order(settings_factory):
    settings = settings_factory(partitions=1)
    stats = replay(
        settings, _table(300), label_col="label", max_speed=True,
        label_delay="uniform:0.1:1.0", seed=3, progress=False,
    )  # fmt: skip
    assert stats.labels == 300
    labels = sorted(consume_all(settings, settings.labels_topic, 300), key=lambda r: r.offset)
    order = [int(r.key[4:]) for r in labels]
    assert sorted(order) == list(range(300)) and order != list(range(300))


def test_skip_and_limit_resume_where_a_run_stopped(settings_factory, tmp_path):
    settings = settings_factory()
    path = tmp_path / "log.jsonl"
    _table(500).to_json(path, orient="records", lines=True)
    first = replay(settings, path, limit=180, max_speed=True, progress=False)
    second = replay(settings, path, skip=first.next_row, max_speed=True, progress=False)
    assert (first.events, first.next_row, second.events, second.next_row) == (180, 180, 320, 500)
    out = consume_all(settings, settings.events_topic, 500)
    assert sorted(_rows(out).values()) == list(range(500))


def test_same_file_and_seed_give_the_same_events(settings_factory):
    from streamscore.producers.synthetic import generate

    frame, _ = generate("agrawal", 300, seed=5)
    runs = []
    for i in range(2):
        base = settings_factory()
        settings = settings_factory(
            events_topic=f"{base.events_topic}-{i}", labels_topic=f"{base.labels_topic}-{i}"
        )
        replay(settings, frame, label_col="label", max_speed=True, progress=False,
               label_delay="exp:0.05", seed=1, id_prefix="agrawal")  # fmt: skip
        records = consume_all(settings, settings.events_topic, 300)
        runs.append(sorted((r.partition, r.offset, r.key, r.value) for r in records))
    assert runs[0] == runs[1] and len(runs[0]) == 300


def test_unparsable_timestamp_is_a_data_error(settings_factory):
    settings = settings_factory()
    frame = pd.DataFrame({"ts": ["2026-01-01T00:00:00Z", "soon"], "x": [1, 2]})
    with pytest.raises(DataError, match="'soon' in column 'ts' at row 1"):
        replay(settings, frame, max_speed=True, progress=False)


def test_bad_timestamp_mid_file_says_where_to_resume(settings_factory):
    settings = settings_factory()
    frame = pd.DataFrame({"ts": ["2026-01-01T00:00:00Z"] * 25, "x": range(25)})
    frame.loc[21, "ts"] = "later"
    with pytest.raises(DataError, match=r"'later' .* row 21: .*before row 20 were sent.*--skip 20"):
        replay(settings, frame, max_speed=True, progress=False, chunk_rows=10)
    assert len(consume_all(settings, settings.events_topic, 20, timeout=10)) == 20


def test_unreachable_broker_fails_fast_naming_the_address(settings_factory):
    address = f"127.0.0.1:{free_port()}"
    settings = settings_factory(bootstrap_servers=address, broker_timeout=2)
    start = time.monotonic()
    with pytest.raises(BrokerError, match=address):
        replay(settings, _table(5), progress=False)
    assert time.monotonic() - start < 2 + 2  # the broker timeout is honoured, give or take


def _cli(settings, *args: str) -> subprocess.Popen:
    env = {**os.environ, **settings_env(settings)}
    return subprocess.Popen(
        [sys.executable, "-m", "streamscore", *args],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def test_ctrl_c_flushes_and_reports_the_count(settings_factory, tmp_path):
    settings = settings_factory()
    path = tmp_path / "long.csv"
    _table(20_000).to_csv(path, index=False)
    proc = _cli(settings, "replay", str(path), "--rate", "400", "--quiet")
    # interrupt once events are flowing (however long start-up took on this machine)
    assert len(consume(settings, settings.events_topic, 200, timeout=120)) >= 200
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    line = err.strip().splitlines()[-1]
    assert line.startswith("interrupted: sent ") and "resume with --skip" in line, err
    sent = int(line.split()[2].replace(",", ""))
    assert 200 <= sent < 20_000
    out = consume_all(settings, settings.events_topic, sent, timeout=15)
    assert len(out) == sent
    assert line.endswith(f"--skip {sent}")


def test_cli_errors_are_one_line(settings_factory, tmp_path):
    settings = settings_factory(bootstrap_servers=f"127.0.0.1:{free_port()}")
    _table(3).to_csv(tmp_path / "t.csv", index=False)
    cases = [
        (["replay", str(tmp_path / "missing.csv")], "missing.csv: no such file"),
        (["replay", str(tmp_path / "t.csv"), "--ts-col", "when"], "error: unknown column 'when'"),
        (["replay", str(tmp_path / "t.csv"), "--broker-timeout", "2"], "no Kafka broker answered"),
        (["synth", "nope", "--n", "5", "--replay"], "error: unknown kind 'nope'"),
    ]
    for args, message in cases:
        proc = _cli(settings, *args)
        _, err = proc.communicate(timeout=30)
        assert proc.returncode == 1 and message in err, err
        assert len(err.strip().splitlines()) == 1, err


def test_synth_replay_sends_events_and_delayed_labels(settings_factory, tmp_path):
    settings = settings_factory()
    proc = _cli(
        settings, "synth", "data-drift", "--n", "400", "--seed", "2", "--replay",
        "--max", "--label-delay", "0.2", "--quiet",
    )  # fmt: skip
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    events = consume_all(settings, settings.events_topic, 400)
    labels = consume_all(settings, settings.labels_topic, 400)
    assert len(events) == 400 and len(labels) == 400
    assert {r.key for r in events} == {f"data-drift-2-{i}" for i in range(400)}
    assert "label" not in events[0].value and set(events[0].value) >= {"id", "ts", "x0"}


@pytest.mark.parametrize("pace", [{"max_speed": True}, {"rate": 1000.0}])
def test_a_refused_record_stops_the_run_naming_its_row(settings_factory, pace):
    settings = settings_factory()
    frame = pd.DataFrame({"x": ["small"] * 10})
    frame.loc[6, "x"] = "y" * 2_000_000  # above the producer's max request size
    with pytest.raises(BrokerError, match=r"row 6: .*--skip 7"):
        replay(settings, frame, progress=False, **pace)
    out = consume_all(settings, settings.events_topic, 6, timeout=10)
    assert sorted(r.key for r in out) == [f"row-{i}" for i in range(6)]


def test_no_wait_labels_sends_the_waiting_labels_at_once(settings_factory):
    settings = settings_factory()
    start = time.monotonic()
    stats = replay(
        settings, _table(50), label_col="label", max_speed=True,
        label_delay=60, wait_labels=False, progress=False,
    )  # fmt: skip
    assert time.monotonic() - start < 20
    assert (stats.events, stats.labels, stats.labels_unsent) == (50, 50, 0)
    assert len(consume_all(settings, settings.labels_topic, 50)) == 50
