"""Security on a real broker: SASL/SCRAM over TLS end to end, refused clients, no secret
in any output, refused model artifacts, and web endpoints on loopback."""

from __future__ import annotations

import base64
import hashlib
import io
import operator
import os
import subprocess
import sys
import tarfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from streamscore.ground.config import Settings
from streamscore.ground.errors import BrokerError
from streamscore.ground.kafka.admin import create_topics, wait_for_broker
from streamscore.ground.kafka.reading import read_topic
from streamscore.models.artifact import MANIFEST_FILE, MODEL_FILE, sha256_bytes
from streamscore.models.registry import Registry
from tests.integration.pipeline import learned, wait_for_drift
from tests.kafka_helpers import consume, produce
from tests.model_data import events, frame, train_model
from tests.secure_kafka import SecureBroker, start_secure_broker

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def secure(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecureBroker]:
    password = f"pw-{uuid.uuid4().hex}"  # unique: searched for in every output
    broker = start_secure_broker(tmp_path_factory.mktemp("secure-kafka"), password)
    try:
        yield broker
    finally:
        broker.broker.stop()


def cli(settings: Settings, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    env = {**os.environ, **settings.to_env()}
    return subprocess.run(
        [sys.executable, "-m", "streamscore", *args],
        env=env, capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip


def wait_for_log(worker, text: str, count: int = 1, timeout: float = 60.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        out = worker.output()
        if out.count(text) >= count:
            return out
        assert worker.alive(), out[-3000:]
        time.sleep(0.2)
    raise AssertionError(f"{text!r} x{count} not in the worker's log:\n" + worker.output()[-3000:])


def test_scoring_round_trip_over_sasl_ssl(secure, settings_factory, worker_factory, tmp_path):
    settings = settings_factory(**secure.client_settings(log_level="debug", snapshot_interval=0.5))
    assert create_topics(settings)[settings.events_topic] == "created"
    model = train_model(settings.registry_path)
    promoted = cli(settings, "models", "promote", "m", model.version)  # publishes over SASL_SSL
    assert promoted.returncode == 0, promoted.stderr
    # at the most talkative level, where a library would print its configuration
    worker = worker_factory(settings, "--model", "m", name="debug")
    sent = events(300)
    produce(settings, settings.events_topic, ((e["id"], e) for e in sent))
    out = consume(settings, settings.predictions_topic, len(sent), timeout=120)
    assert sorted(r.key for r in out) == sorted(e["id"] for e in sent), worker.output()[-3000:]
    assert {r.value["version"] for r in out} == {model.version}
    assert worker.stop() == 0
    logs = {"worker log (debug)": worker.output()}
    assert "ready: scoring" in logs["worker log (debug)"] and "DEBUG" in logs["worker log (debug)"]

    # the learner and the drift records, over SASL_SSL too (a worker at the usual level:
    # at debug, 30 MB of log in two minutes slowed the learner past the timeout)
    quiet = settings.model_copy(update={"log_level": "info"})
    worker = worker_factory(quiet, "--model", "m", name="info")
    truth = frame(300, seed=1)["label"]
    labels = [(e["id"], {"id": e["id"], "label": y}) for e, y in zip(sent, truth, strict=True)]
    produce(settings, settings.labels_topic, labels)
    wait_for_drift(settings, lambda r: learned(r) >= 300, 120, "300 labels learned")
    assert worker.alive(), worker.output()[-3000:]
    logs["worker log (info)"] = worker.output()

    # the producers' path: `streamscore replay` over SASL_SSL, scored by the same worker
    rows = tmp_path / "rows.jsonl"
    rows.write_bytes(b"\n".join(orjson.dumps(e) for e in events(50, prefix="replayed")))
    replayed = cli(settings, "replay", str(rows), "--max", "--quiet")
    assert replayed.returncode == 0, replayed.stderr
    out = consume(settings, settings.predictions_topic, len(sent) + 50, timeout=120)
    assert sum(r.key.startswith("replayed") for r in out) == 50
    logs["replay"] = replayed.stdout + replayed.stderr

    listed = cli(settings, "topics", "list")
    assert listed.returncode == 0 and settings.events_topic in listed.stdout, listed.stderr
    shown = cli(settings, "config")
    assert shown.returncode == 0, shown.stderr
    assert "SASL_SSL" in shown.stdout and "**********" in shown.stdout
    # status and tail read the group and the output topics over SASL_SSL
    status = cli(settings, "status", "--json")
    assert status.returncode == 0, status.stderr
    tail = cli(settings, "tail", "predictions", "-n", "3", "--json")
    assert tail.returncode == 0 and len(tail.stdout.splitlines()) == 3, tail.stderr
    logs["status"] = status.stdout + status.stderr
    logs["tail"] = tail.stdout + tail.stderr
    logs["promote"] = promoted.stdout + promoted.stderr
    logs["topics list"] = listed.stdout + listed.stderr
    logs["config"] = shown.stdout + shown.stderr
    for name, text in logs.items():
        assert secure.password not in text, f"the SASL password appears in the {name}"


def test_clients_without_the_right_credentials_are_refused(secure, tmp_path):
    right = secure.client_settings(broker_timeout=5)
    wait_for_broker(Settings(**right), timeout=30)  # the broker answers the right client
    wrong_password = f"not-{secure.password}"
    refused = {
        "no credentials (TLS only)": {**right, "security_protocol": "SSL", "sasl_mechanism": None},
        "plaintext": {**right, "security_protocol": "PLAINTEXT", "sasl_mechanism": None},
        "a wrong password": {**right, "sasl_password": wrong_password},
        "an unknown user": {**right, "sasl_username": "mallory"},
        "no CA (the broker's certificate is not trusted)": {**right, "ssl_cafile": None},
    }
    for what, values in refused.items():
        with pytest.raises(BrokerError):
            create_topics(Settings(**values), [f"refused-{uuid.uuid4().hex}"], timeout=5)
        assert what  # each case refused
    # the CLI says so in one line, without the password it was given
    bad = Settings(**{**right, "sasl_password": wrong_password}, registry_path=tmp_path)
    listed = cli(bad, "topics", "list", timeout=60)
    assert listed.returncode == 1, listed.stdout + listed.stderr
    assert listed.stderr.startswith("error: ") and len(listed.stderr.splitlines()) == 1
    assert "refused login" in listed.stderr and "_SASL_PASSWORD" in listed.stderr
    assert wrong_password not in listed.stdout + listed.stderr


def tampered_update(source: Registry, version: str, *, untrusted: bool) -> bytes:
    """A model-updates record for ``version`` whose artifact was changed after packing: the
    model file flipped (its manifest's sha256 no longer matches), or replaced by a pipeline
    of untrusted types with the manifest's sha256 fixed up. The record's own sha256 is
    recomputed either way: whoever can write to the topic can do that."""
    with tarfile.open(fileobj=io.BytesIO(source.pack("m", version)), mode="r:gz") as tar:
        files = {m.name: tar.extractfile(m).read() for m in tar.getmembers()}  # type: ignore[union-attr]
    model_name, manifest_name = f"m/{version}/{MODEL_FILE}", f"m/{version}/{MANIFEST_FILE}"
    if untrusted:
        import skops.io as sio
        from sklearn.pipeline import Pipeline
        from sklearn.preprocessing import FunctionTransformer

        evil = Pipeline([("f", FunctionTransformer(operator.methodcaller("__reduce__")))])
        files[model_name] = sio.dumps(evil)
        manifest = orjson.loads(files[manifest_name])
        manifest["model_file"]["sha256"] = sha256_bytes(files[model_name])
        files[manifest_name] = orjson.dumps(manifest)
    else:
        blob = bytearray(files[model_name])
        blob[len(blob) // 2] ^= 0xFF
        files[model_name] = bytes(blob)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    artifact = buffer.getvalue()
    return orjson.dumps({
        "model": "m", "version": version, "promoted_ts": 0,
        "sha256": hashlib.sha256(artifact).hexdigest(),
        "artifact": base64.b64encode(artifact).decode("ascii"),
    })  # fmt: skip


def listening_addresses(port: int) -> set[str]:
    """Local IPv4/IPv6 addresses with a listening TCP socket on ``port`` (from /proc)."""
    found = set()
    for table, size in (("/proc/net/tcp", 4), ("/proc/net/tcp6", 16)):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, port_hex = local.split(":")
            if state == "0A" and int(port_hex, 16) == port:  # 0A: LISTEN
                raw = bytes.fromhex(address)
                words = [raw[i : i + 4][::-1] for i in range(0, size, 4)]  # little-endian words
                found.add(".".join(map(str, words[0])) if size == 4 else b"".join(words).hex())
    return found


def test_refused_model_updates_keep_the_worker_scoring(settings_factory, worker_factory, tmp_path):
    settings = settings_factory()
    assert Settings.model_fields["web_host"].default == "127.0.0.1"
    assert "web_host" not in settings.model_fields_set  # the worker binds the default
    create_topics(settings)
    first = train_model(settings.registry_path)
    elsewhere = Registry(tmp_path / "elsewhere")  # a newer version, trained on another machine
    train_model(elsewhere.path, seed=0)
    second = train_model(elsewhere.path, seed=3)
    worker = worker_factory(settings, "--model", "m")
    produce(settings, settings.events_topic, ((e["id"], e) for e in events(50, prefix="a")))
    assert len(consume(settings, settings.predictions_topic, 50, timeout=90)) == 50
    assert listening_addresses(settings.web_port) == {"127.0.0.1"}

    bad = [tampered_update(elsewhere, second.version, untrusted=flag) for flag in (False, True)]
    produce(settings, settings.model_updates_topic, [("m", value) for value in bad])
    log = wait_for_log(worker, "model update refused", count=2)
    refusals = [line for line in log.splitlines() if "model update refused" in line]
    assert len(refusals) == 2, refusals  # one line each
    assert "does not match the sha256" in refusals[0], refusals[0]
    assert "not trusted" in refusals[1], refusals[1]
    assert not (settings.registry_path / "m" / second.version).exists()  # nothing installed
    produce(settings, settings.events_topic, ((e["id"], e) for e in events(50, prefix="b")))
    out = consume(settings, settings.predictions_topic, 100, timeout=60)
    assert {r.value["version"] for r in out} == {first.version}  # still scoring with its own

    # the real version still gets through afterwards
    from streamscore.streams.model_updates import publish

    publish(settings, elsewhere, "m", second.version)
    wait_for_log(worker, f"now scoring with m/{second.version}")
    produce(settings, settings.events_topic, ((e["id"], e) for e in events(50, prefix="c")))
    out = read_topic(settings, settings.predictions_topic, until=lambda r: len(r) >= 150,
                     timeout=60)  # fmt: skip
    assert {r.value["version"] for r in out if r.key.startswith("c")} == {second.version}
    assert worker.alive() and "Traceback" not in worker.output(), worker.output()[-3000:]
