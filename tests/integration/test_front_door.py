"""`streamscore tail`, `status`, `kafka status` and the worker's endpoints on a real broker,
as a user types them (subprocesses; the worker is a real `streamscore worker`)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from queue import Empty, Queue
from typing import Any

import orjson
import pytest

from streamscore.ground.config import Settings
from streamscore.ground.kafka import clients
from streamscore.ground.kafka.admin import create_topics
from streamscore.ground.kafka.local import free_port
from tests.kafka_helpers import consume, produce
from tests.model_data import events, train_model

pytestmark = pytest.mark.integration


def cli(settings: Settings, *args: object, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "streamscore", *map(str, args)],
        env={**os.environ, **settings.to_env()},
        capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL,
    )  # fmt: skip


def wait_for(what: str, check: Callable[[], Any], timeout: float = 60.0) -> Any:
    """Poll ``check`` until it returns something truthy; fail naming ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")


def send_at(settings: Settings, topic: str, records: list[tuple[str, bytes | None, int]]) -> None:
    """``(key, value, timestamp_ms)``, each to partition ``hash(key) % partitions`` by Kafka."""
    producer = clients.producer(settings, linger_ms=5)
    try:
        for key, value, ts in records:
            producer.send(topic, key=key.encode(), value=value, timestamp_ms=ts)
        producer.flush(timeout=30)
    finally:
        producer.close(timeout=10)


@pytest.fixture
def predictions(settings_factory) -> tuple[Settings, list[bytes]]:
    """A predictions topic of 3 partitions holding 12 records written 1 s apart, as written."""
    settings = settings_factory(partitions=3)
    create_topics(settings, [settings.predictions_topic])
    start = 1_767_225_600_000
    values = [orjson.dumps({"id": f"k{i}", "model": "m", "version": "1", "prediction": "yes",
                            "proba": {"no": 0.25, "yes": 0.75}, "online": None})
              for i in range(12)]  # fmt: skip
    send_at(settings, settings.predictions_topic,
            [(f"k{i}", v, start + 1000 * i) for i, v in enumerate(values)])  # fmt: skip
    return settings, values


def test_tail_prints_the_newest_records_over_all_partitions(predictions):
    settings, values = predictions
    last = cli(settings, "tail", "predictions", "-n", "3", "--json")
    assert last.returncode == 0, last.stderr
    assert last.stdout.splitlines() == [v.decode() for v in values[-3:]]  # exactly as written
    default = cli(settings, "tail", "predictions", "--json").stdout.splitlines()
    assert default == [v.decode() for v in values[-10:]]  # like tail(1): ten
    everything = cli(settings, "tail", settings.predictions_topic, "--from-beginning", "--json")
    assert sorted(everything.stdout.splitlines()) == sorted(v.decode() for v in values)
    assert cli(settings, "tail", "predictions", "-n", "0").stdout == ""


def test_tail_key_and_table(predictions):
    settings, values = predictions
    keyed = cli(settings, "tail", "predictions", "--key", "k4", "--json")
    assert keyed.stdout.splitlines() == [values[4].decode()]
    table = cli(settings, "tail", "predictions", "-n", "2").stdout.splitlines()
    assert table[0].split() == ["time", "partition:offset", "key", "model", "prediction", "p",
                                "online"]  # fmt: skip
    assert table[1].split()[0] == "2026-01-01T00:00:10.000Z"
    assert table[2].split()[2:6] == ["k11", "m/1", "yes", "0.750"]
    nothing = cli(settings, "tail", "predictions", "--key", "nobody")
    assert nothing.returncode == 0 and "no records with key 'nobody'" in nothing.stderr


def test_tail_json_lines_are_json_whatever_was_written(settings_factory):
    settings = settings_factory(partitions=1)
    topic = settings.events_topic
    create_topics(settings, [topic])
    written = [b'{\n  "pretty": true\n}', b"not json \xff", None, b'{"ok":1}']
    send_at(settings, topic, [(f"r{i}", v, 1_000 + i) for i, v in enumerate(written)])
    lines = cli(settings, "tail", topic, "--json").stdout.splitlines()
    assert [orjson.loads(line) for line in lines] == [{"pretty": True}, "not json \ufffd", None,
                                                      {"ok": 1}]  # fmt: skip
    assert lines[-1] == '{"ok":1}'
    missing = cli(settings, "tail", "no-such-topic-anywhere")
    assert missing.returncode == 1 and missing.stderr.startswith(
        "error: topic 'no-such-topic-anywhere' does not exist on"
    )


def _lines(proc: subprocess.Popen) -> Queue:
    queue: Queue = Queue()

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            queue.put(line.rstrip("\n"))

    threading.Thread(target=pump, daemon=True).start()
    return queue


def _next(queue: Queue, timeout: float = 30.0) -> str:
    try:
        return queue.get(timeout=timeout)
    except Empty:
        raise AssertionError(f"no line within {timeout} s") from None


def test_tail_follow_prints_new_records_at_once_and_stops_on_ctrl_c(predictions):
    settings, values = predictions
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamscore", "tail", "predictions", "-n", "1", "-f", "--json"],
        env={**os.environ, **settings.to_env()},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        lines = _lines(proc)
        assert _next(lines) == values[-1].decode()  # the backlog first: caught up
        new = [orjson.dumps({"id": f"n{i}"}) for i in range(3)]
        send_at(settings, settings.predictions_topic,
                [(f"n{i}", v, int(time.time() * 1000)) for i, v in enumerate(new)])  # fmt: skip
        got = sorted(_next(lines) for _ in new)
        assert got == sorted(v.decode() for v in new)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(30) == 130
    finally:
        proc.kill()
        proc.wait(10)


def test_kafka_status_of_a_configured_cluster(settings_factory):
    settings = settings_factory()
    status = cli(settings, "kafka", "status")
    assert status.returncode == 0, status.stdout + status.stderr
    assert f"cluster at {settings.bootstrap} (STREAMSCORE_BOOTSTRAP_SERVERS): reachable" in (
        status.stdout
    )
    report = orjson.loads(cli(settings, "kafka", "status", "--json").stdout)
    assert report["running"] is True and len(report["brokers"]) >= 1
    assert report["version"] and report["version"][0].isdigit()
    up = cli(settings, "kafka", "up")
    assert up.returncode == 0 and up.stdout.strip() == settings.bootstrap
    assert "nothing to start" in up.stderr


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()
    except OSError:
        return 0, b""


def _status(settings: Settings) -> dict:
    done = cli(settings, "status", "--json")
    assert done.returncode == 0, done.stderr
    return orjson.loads(done.stdout)


def test_worker_health_ready_metrics_and_status_with_its_model_version(
    settings_factory, worker_factory
):
    settings = settings_factory(partitions=2)
    create_topics(settings)
    train_model(settings.registry_path)
    base = f"http://127.0.0.1:{settings.web_port}"
    worker = worker_factory(settings, "--model", "m")

    wait_for("/health", lambda: _get(f"{base}/health")[0] == 200 or not worker.alive())
    assert worker.alive(), worker.output()[-3000:]
    code, body = wait_for("/ready 200", lambda: (r := _get(f"{base}/ready"))[0] == 200 and r)
    ready = orjson.loads(body)
    assert ready["ready"] is True and ready["assigned_partitions"] == 2
    metrics = _get(f"{base}/metrics")[1].decode()
    for name in ("process_cpu_seconds_total", "process_resident_memory_bytes",
                 "streamscore_events_in_total", "streamscore_model_info"):  # fmt: skip
        assert f"\n{name}" in metrics, name

    def reported() -> dict | None:
        s = _status(settings)
        return s if s["workers"] and s["workers"][0]["model"] else None

    status = wait_for("the worker's status record", reported)
    assert status["group"] == settings.app_id and status["state"] == "Stable"
    [me] = status["workers"]
    assert me["in_group"] and (me["model"], me["version"]) == ("m", "1")
    assert me["partitions"][settings.events_topic] == [0, 1]  # and labels, internal topics
    assert me["pid"] == worker.proc.pid and me["web"] == base
    table = cli(settings, "status").stdout
    assert f"group {settings.app_id} on {settings.bootstrap}: Stable, 1 worker" in table
    assert "m/1" in table

    sent = events(60)
    produce(settings, settings.events_topic, ((e["id"], e) for e in sent))
    consume(settings, settings.predictions_topic, len(sent), timeout=60)

    def caught_up() -> dict | None:
        s = _status(settings)
        mine = [p for p in s["partitions"] if p["topic"] == settings.events_topic]
        done = sum(p["end"] for p in mine) == len(sent) and s["lag"] == 0
        return s if done and all(p["committed"] == p["end"] for p in mine) else None

    status = wait_for("committed offsets at the end", caught_up)
    assert {p["partition"] for p in status["partitions"]} == {0, 1}
    assert all(p["worker"] == me["worker"] for p in status["partitions"])

    train_model(settings.registry_path, seed=1)
    promoted = cli(settings, "models", "promote", "m", "2")
    assert promoted.returncode == 0, promoted.stderr
    wait_for("version 2 in status", lambda: _status(settings)["workers"][0]["version"] == "2")
    records = cli(settings, "tail", "workers", "--json").stdout.splitlines()
    assert orjson.loads(records[-1])["version"] == "2"

    assert worker.stop() == 0
    gone = wait_for("an empty group", lambda: (s := _status(settings))["workers"] == [] and s)
    assert gone["state"] == "Empty"
    assert orjson.loads(cli(settings, "tail", "workers", "--json").stdout.splitlines()[-1]) is None


def test_ready_is_503_for_a_worker_without_partitions(settings_factory, worker_factory):
    settings = settings_factory(partitions=1)
    create_topics(settings)
    train_model(settings.registry_path)
    first = worker_factory(settings, "--model", "m")
    wait_for("the first worker ready",
             lambda: _get(f"http://127.0.0.1:{settings.web_port}/ready")[0] == 200
             or not first.alive())  # fmt: skip
    standby = settings.model_copy(update={"web_port": free_port()})
    worker_factory(standby, "--model", "m")
    wait_for("the standby's /health",
             lambda: _get(f"http://127.0.0.1:{standby.web_port}/health")[0] == 200)  # fmt: skip
    wait_for("two members", lambda: len(_status(settings)["workers"]) == 2)

    def one_has_none() -> bool:
        ports = (settings.web_port, standby.web_port)
        return {_get(f"http://127.0.0.1:{p}/ready")[0] for p in ports} == {200, 503}

    wait_for("one ready worker and one standby", one_has_none)


def test_status_of_a_group_no_worker_has_joined(settings_factory):
    settings = settings_factory()
    status = _status(settings)
    assert (status["state"], status["workers"], status["lag"]) == ("Dead", [], 0)
    table = cli(settings, "status")
    assert table.returncode == 0
    assert f"group {settings.app_id} on {settings.bootstrap}: Dead (no worker has joined it)" in (
        table.stdout
    )
