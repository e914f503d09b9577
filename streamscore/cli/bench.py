"""``streamscore bench``: the worker against the raw Kafka limit, a hand-written batch
scorer and a naive Faust agent, all measured in one run on one broker.

On a shared machine only ratios measured side by side mean something, so one run
measures everything on the same backlog (``-n`` events of 10 numeric features,
HistGradientBoosting; the worker also gets their labels, so its row is the whole
pipeline: scoring, online model, label join, learner, drift windows and merger):

* **throughput** on the backlog, for ``raw`` (consume and forward, no decoding),
  ``limit`` (the hand-written batch scorer), ``naive`` (a Faust agent scoring each
  event, on the first ``--naive-events``), the worker with 1 process and with 2
  (``--processes 2``): events/s from the first to the last output record (their
  broker append times), CPU µs per event of the process(es) over the same stretch
  (``/proc``: user + system), peak RSS;
* **latency** of the worker at a steady 1,000 events/s and at half its backlog rate
  (``--latency-rate`` to choose), ``--trials`` times: produce-to-prediction, from the
  time each event was *due* (set as its record timestamp by the paced producer, so a
  producer running late does not hide it: no coordinated omission) to the broker's
  append time of its prediction; p50 / p99 / max.

The contestants run as their own processes (:mod:`streamscore.cli.bench_contestants`,
``streamscore worker``). Figures are printed, never asserted; ``--json PATH`` writes
them all, with ``worker_vs_limit``, ``worker_vs_raw``, ``worker_vs_naive`` and
``worker_cpu_us_per_event``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pandas as pd
from rich.console import Console
from rich.table import Table

from streamscore.cli.measure import percentile
from streamscore.cli.processes import wait_worker_ready
from streamscore.ground.config import Settings
from streamscore.ground.errors import StreamscoreError
from streamscore.ground.kafka import clients
from streamscore.ground.kafka.admin import create_topics, wait_for_broker
from streamscore.ground.kafka.local import free_port
from streamscore.ground.kafka.reading import end_offsets, read_topic

console = Console(stderr=True)
N_FEATURES = 10
APPEND_TIME = {"message.timestamp.type": "LogAppendTime"}
TICK = os.sysconf("SC_CLK_TCK")


def synthetic_rows(n: int, seed: int, prefix: str) -> pd.DataFrame:
    """``n`` rows of 10 numeric features and a binary label."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, N_FEATURES))
    frame = pd.DataFrame(x, columns=[f"f{i}" for i in range(N_FEATURES)])
    frame["label"] = ((x[:, 0] + x[:, 1] * x[:, 2] - 0.5 * x[:, 3]) > 0).astype(int)
    frame.insert(0, "id", [f"{prefix}-{i}" for i in range(n)])
    return frame


@dataclass
class Run:
    """One contestant's figures on the backlog."""

    name: str
    events: int
    events_per_s: float
    cpu_us_per_event: float
    peak_rss_mb: float


def _family(pid: int) -> list[int]:
    """``pid`` and its children (the processes of ``worker --processes N``)."""
    pids = [pid]
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return pids
    return pids + [int(c) for c in children]


def _cpu_seconds(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / TICK  # utime, stime
    return total


def _peak_rss_mb(pids: list[int]) -> float:
    peak = 0.0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peak = max(peak, int(line.split()[1]) / 1024)
        except OSError:
            continue
    return peak


def _count(settings: Settings, topic: str) -> int:
    return sum(end_offsets(settings, topic).values())


def _measure(settings: Settings, name: str, proc: subprocess.Popen, out: str, n: int,
             timeout: float) -> Run:  # fmt: skip
    """Watch ``out`` fill up to ``n`` records while ``proc`` runs; its figures."""
    deadline = time.monotonic() + timeout
    first: tuple[int, float] | None = None
    count = 0
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise StreamscoreError(f"bench contestant {name} exited ({proc.returncode})")
        count = _count(settings, out)
        if count and first is None:
            first = (count, _cpu_seconds(_family(proc.pid)))
        if count >= n:
            break
        time.sleep(0.2)
    pids = _family(proc.pid)
    cpu, rss = _cpu_seconds(pids), _peak_rss_mb(pids)
    if count < n or first is None:
        raise StreamscoreError(f"bench contestant {name} wrote {count} of {n} in {timeout:.0f} s")
    stamps = [r.timestamp_ms for r in read_topic(settings, out, timeout=120, parse=False)]
    span = (max(stamps) - min(stamps)) / 1000
    return Run(name, n, (n - 1) / max(span, 1e-9), (cpu - first[1]) / max(n - first[0], 1) * 1e6,
               rss)  # fmt: skip


def _stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


def _spawn(settings: Settings, args: list[str], log: Path) -> subprocess.Popen:
    with open(log, "ab") as handle:
        return subprocess.Popen(
            [sys.executable, "-m", *args], env={**os.environ, **settings.to_env()},
            stdout=handle, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )  # fmt: skip


def _produce(settings: Settings, topic: str, records: list[tuple[bytes, bytes]]) -> float:
    producer = clients.producer(settings, acks="all", linger_ms=20, batch_size=512 * 1024)
    started = time.perf_counter()
    for key, value in records:
        producer.send(topic, key=key, value=value)
    producer.flush(120)
    producer.close(10)
    return len(records) / (time.perf_counter() - started)


def _contestant(settings: Settings, kind: str, n: int, workdir: Path) -> Run:
    out = f"{settings.app_id}-{kind}-out"
    create_topics(settings, [out], config=APPEND_TIME)
    args = ["streamscore.cli.bench_contestants", kind, out, f"{settings.app_id}-{kind}", "bench"]
    proc = _spawn(settings, args, workdir / f"{kind}.log")
    try:
        return _measure(settings, kind, proc, out, n, timeout=900)
    finally:
        _stop(proc)


def _worker(settings: Settings, processes: int, n: int, workdir: Path) -> Run:
    proc = _spawn(settings, ["streamscore", "worker", "--model", "bench", "--processes",
                             str(processes)], workdir / f"worker-{processes}.log")  # fmt: skip
    try:
        wait_worker_ready(settings.web_port, alive=lambda: proc.poll() is None)
        return _measure(settings, f"worker x{processes}", proc, settings.predictions_topic, n,
                        timeout=900)  # fmt: skip
    finally:
        _stop(proc)


def _paced(settings: Settings, rate: float, seconds: float, prefix: str, seed: int) -> int:
    """Send ``rate`` events/s for ``seconds``, each stamped with the time it was due."""
    frame = synthetic_rows(int(rate * seconds), seed, prefix).drop(columns=["label"])
    values = [orjson.dumps(r) for r in frame.to_dict("records")]
    keys = [i.encode() for i in frame["id"]]
    producer = clients.producer(settings, acks="all", linger_ms=1)
    start = time.time()
    for i, (key, value) in enumerate(zip(keys, values, strict=True)):
        due = start + i / rate
        wait = due - time.time()
        if wait > 0:
            time.sleep(wait)
        producer.send(settings.events_topic, key=key, value=value, timestamp_ms=int(due * 1000))
    producer.flush(60)
    producer.close(10)
    return len(values)


def _latency(settings: Settings, rate: float, seconds: float, trial: int) -> dict[str, float]:
    start = end_offsets(settings, settings.predictions_topic)
    prefix = f"lat{trial}-{int(rate)}"
    n = _paced(settings, rate, seconds, prefix, seed=100 + trial)
    got = read_topic(settings, settings.predictions_topic, start, timeout=120,
                     until=lambda r: len(r) >= n)  # fmt: skip
    lat = [r.timestamp_ms - r.value["event_ts"] for r in got if (r.key or "").startswith(prefix)]
    return {"rate": rate, "events": n, "answered": len(lat), "p50_ms": percentile(lat, 50),
            "p99_ms": percentile(lat, 99), "max_ms": max(lat, default=float("nan"))}  # fmt: skip


def _bench_settings(settings: Settings, workdir: Path) -> Settings:
    run = f"bench-{uuid.uuid4().hex[:8]}"
    names = ("events", "labels", "predictions", "drift", "dlq", "model_updates")
    return settings.model_copy(update={
        **{f"{name}_topic": f"{run}-{name.replace('_', '-')}" for name in names},
        "app_id": run, "registry_path": workdir / "registry",
        "data_dir": workdir / "data", "web_port": free_port(),
    })  # fmt: skip


def run_bench(
    settings: Settings,
    n: int = 100_000,
    seed: int = 0,
    latency_rates: list[float] | None = None,
    trials: int = 1,
    latency_seconds: float = 10.0,
    naive_events: int = 3000,
) -> dict[str, Any]:
    from streamscore.models.registry import Registry
    from streamscore.models.training import train

    wait_for_broker(settings)
    workdir = Path(tempfile.mkdtemp(prefix="streamscore-bench-"))
    bench = _bench_settings(settings, workdir)
    create_topics(bench, [bench.predictions_topic], config=APPEND_TIME)
    create_topics(bench)
    train(synthetic_rows(5_000, seed + 1, "train"), "label", name="bench",
          registry=Registry(bench.registry_path), id_col="id", seed=seed)  # fmt: skip
    frame = synthetic_rows(n, seed, "ev")
    events = [(i.encode(), orjson.dumps(r))
              for i, r in zip(frame["id"], frame.drop(columns=["label"]).to_dict("records"),
                              strict=True)]  # fmt: skip
    console.print(f"producing {n:,} events of {N_FEATURES} features and their labels ...")
    produce_rate = _produce(bench, bench.events_topic, events)
    _produce(bench, bench.labels_topic, [
        (i.encode(), orjson.dumps({"id": i, "label": int(y)}))
        for i, y in zip(frame["id"], frame["label"], strict=True)
    ])  # fmt: skip
    runs: list[Run] = []
    for kind, count in (("raw", n), ("limit", n), ("naive", min(n, naive_events))):
        console.print(f"{kind} ...")
        runs.append(_contestant(bench, kind, count, workdir))
    console.print("streamscore worker, 2 processes ...")
    two = bench.model_copy(update={"app_id": f"{bench.app_id}-x2", "web_port": free_port(),
                                   "predictions_topic": f"{bench.predictions_topic}-x2",
                                   "drift_topic": f"{bench.drift_topic}-x2"})  # fmt: skip
    create_topics(two, [two.predictions_topic], config=APPEND_TIME)
    runs.append(_worker(two, 2, n, workdir))
    console.print("streamscore worker, 1 process ...")
    worker = _spawn(bench, ["streamscore", "worker", "--model", "bench"], workdir / "worker-1.log")
    latency: list[dict[str, float]] = []
    try:
        wait_worker_ready(bench.web_port, alive=lambda: worker.poll() is None)
        runs.append(_measure(bench, "worker x1", worker, bench.predictions_topic, n, timeout=900))
        rates = latency_rates or [1000.0, runs[-1].events_per_s / 2]
        for trial in range(trials):
            for rate in rates:
                console.print(f"latency at {rate:,.0f} events/s for {latency_seconds:g} s ...")
                latency.append({"trial": trial, **_latency(bench, rate, latency_seconds, trial)})
    finally:
        _stop(worker)
    return _result(n, produce_rate, runs, latency, workdir)


def _result(n: int, produce_rate: float, runs: list[Run], latency: list[dict], workdir: Path):
    by = {r.name: r for r in runs}
    one = by["worker x1"]
    return {
        "events": n,
        "features": N_FEATURES,
        "produce_events_per_s": produce_rate,
        "runs": [asdict(r) for r in runs],
        "worker_events_per_s": one.events_per_s,
        "worker_cpu_us_per_event": one.cpu_us_per_event,
        "worker_vs_limit": one.events_per_s / by["limit"].events_per_s,
        "worker_vs_raw": one.events_per_s / by["raw"].events_per_s,
        "worker_vs_naive": one.events_per_s / by["naive"].events_per_s,
        "workers2_vs_1": by["worker x2"].events_per_s / one.events_per_s,
        "latency": latency,
        "workdir": str(workdir),
    }


def print_report(result: dict[str, Any]) -> None:
    table = Table(title=f"streamscore bench: {result['events']:,} events, "
                        f"{result['features']} features (HistGradientBoosting)")  # fmt: skip
    for column in ("contestant", "events/s", "CPU µs/event", "peak RSS MB"):
        table.add_column(column, justify="left" if column == "contestant" else "right")
    for run in result["runs"]:
        table.add_row(run["name"], f"{run['events_per_s']:,.0f}",
                      f"{run['cpu_us_per_event']:.1f}", f"{run['peak_rss_mb']:.0f}")  # fmt: skip
    out = Console()
    out.print(table)
    ratios = Table(title="worker (1 process, whole pipeline) against")
    ratios.add_column("ratio")
    ratios.add_column("value", justify="right")
    for key in ("worker_vs_limit", "worker_vs_raw", "worker_vs_naive", "workers2_vs_1"):
        ratios.add_row(key, f"{result[key]:.2f}")
    out.print(ratios)
    latency = Table(title="produce-to-prediction latency (worker, 1 process)")
    for column in ("trial", "events/s", "answered", "p50 ms", "p99 ms", "max ms"):
        latency.add_column(column, justify="right")
    for row in result["latency"]:
        latency.add_row(str(row["trial"]), f"{row['rate']:,.0f}",
                        f"{row['answered']}/{row['events']}", f"{row['p50_ms']:.0f}",
                        f"{row['p99_ms']:.0f}", f"{row['max_ms']:.0f}")  # fmt: skip
    out.print(latency)
