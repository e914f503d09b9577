"""``streamscore bench``: the worker against the raw Kafka limit, a hand-written batch
scorer and a naive Faust agent, all measured in one run on one broker.

On a shared machine only ratios measured side by side mean something, so one run
measures everything on the same backlog (``-n`` events of 10 numeric features,
HistGradientBoosting, and their labels):

* **throughput** on the backlog, for ``raw`` (consume and forward, no decoding),
  ``limit`` (the hand-written batch scorer), ``naive`` (a Faust agent scoring each
  event, on the first ``--naive-events``), the worker scoring (with the drift windows;
  online model off) with 1 process and with 2 (``--processes 2``), and the whole
  pipeline (scoring, drift, label join, online learner, snapshots) in one process:
  events/s from the first to the last output record (their broker append times;
  the whole pipeline: until every label is learned), CPU µs per event of the
  process(es) over the same stretch (``/proc``: user + system, sampled with the
  output count every 20 ms), peak RSS;
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
from streamscore.cli.processes import wait_worker_ready, worker_metric
from streamscore.ground.config import Settings
from streamscore.ground.errors import StreamscoreError
from streamscore.ground.kafka import clients
from streamscore.ground.kafka.admin import (
    create_topics,
    delete_topics_with_prefix,
    wait_for_broker,
)
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


class _Counter:
    """Records in a topic, read from one long-lived consumer (a few ms a call, so the
    CPU and the count are sampled close together even for a run that lasts a second)."""

    def __init__(self, settings: Settings, topic: str) -> None:
        from kafka import TopicPartition

        self.consumer = clients.consumer(settings)
        deadline = time.monotonic() + settings.broker_timeout
        while not (found := self.consumer.partitions_for_topic(topic)):
            if time.monotonic() > deadline:
                raise StreamscoreError(f"topic {topic} not found")
            time.sleep(0.2)
        self.tps = [TopicPartition(topic, p) for p in sorted(found)]

    def __call__(self) -> int:
        return sum(self.consumer.end_offsets(self.tps).values())

    def close(self) -> None:
        self.consumer.close()


def _measure(settings: Settings, name: str, proc: subprocess.Popen, out: str, n: int,
             timeout: float) -> Run:  # fmt: skip
    """Watch ``out`` fill up to ``n`` records while ``proc`` runs; its figures. The CPU
    per event is counted from the first output record seen to the last (start-up and
    model loading left out), sampled every 20 ms; when half the records came out before
    the first sample (a short run), from the last sample before any output."""
    deadline = time.monotonic() + timeout
    first: tuple[int, float] | None = None
    before: tuple[int, float] = (0, 0.0)  # the last sample with no output yet
    count = 0
    counter = _Counter(settings, out)
    try:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise StreamscoreError(f"bench contestant {name} exited ({proc.returncode})")
            cpu = _cpu_seconds(_family(proc.pid))
            count = counter()
            if not count:
                before = (0, cpu)
            elif first is None:
                first = (count, cpu)
            if count >= n:
                break
            time.sleep(0.02)
    finally:
        counter.close()
    pids = _family(proc.pid)
    cpu, rss = _cpu_seconds(pids), _peak_rss_mb(pids)
    if count < n or first is None:
        raise StreamscoreError(f"bench contestant {name} wrote {count} of {n} in {timeout:.0f} s")
    if first[0] > n // 2:  # a short run (small -n, a fast contestant): count from the
        first = before  # last sample before any output (adds at most 20 ms of start-up)
    stamps = [r.timestamp_ms for r in read_topic(settings, out, timeout=120, parse=False)]
    span = (max(stamps) - min(stamps)) / 1000
    return Run(name, n, (n - 1) / max(span, 1e-9), (cpu - first[1]) / (n - first[0]) * 1e6, rss)


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


def _worker(bench: Settings, scoring: Settings, processes: int, n: int, workdir: Path,
            name: str) -> Run:  # fmt: skip
    """A worker (``processes`` of them in one group) on the backlog, stopped after.

    The workers start on an empty events topic of their own; once every process holds
    partitions, the raw contestant copies the backlog into it (~10x faster than a worker
    scores, so the workers see a backlog within a fraction of a second). Reading the
    backlog straight away instead, the first process of two scored it alone before the
    group's rebalance gave the second its partitions (a rebalance waits up to a
    heartbeat, 3 s): the figure was one process's."""
    proc = _spawn(scoring, ["streamscore", "worker", "--model", "bench", "--processes",
                            str(processes)], workdir / f"{name}.log")  # fmt: skip
    copier: subprocess.Popen | None = None
    try:
        for i in range(processes):  # every process in the group before the clock starts
            wait_worker_ready(scoring.web_port + i, alive=lambda: proc.poll() is None)
        _wait_balanced(scoring, processes, proc)
        copy = ["streamscore.cli.bench_contestants", "raw", scoring.events_topic,
                f"{scoring.app_id}-copy", "bench"]  # fmt: skip
        copier = _spawn(bench, copy, workdir / f"{name}-copy.log")
        return _measure(scoring, name, proc, scoring.predictions_topic, n, timeout=900)
    finally:
        if copier is not None:
            _stop(copier)
        _stop(proc)


def _wait_balanced(settings: Settings, processes: int, proc: subprocess.Popen) -> None:
    """Until the partitions are split among all ``processes`` (none holds them all)."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        held = [worker_metric(settings.web_port + i, "streamscore_assigned_partitions")
                for i in range(processes)]  # fmt: skip
        if all(h is not None and h > 0 for h in held) and sum(h or 0 for h in held) == (
            settings.partitions
        ):
            return
        if proc.poll() is not None:
            raise StreamscoreError(f"the worker exited ({proc.returncode})")
        time.sleep(0.2)
    raise StreamscoreError(f"the partitions were not split among {processes} processes in 120 s")


def _learned(settings: Settings) -> int:
    from streamscore.models.snapshot import load_header

    records = read_topic(settings, settings.snapshots_topic, timeout=30, parse=False)
    counts = [load_header(r.raw)["n_learned"] for r in records
              if r.raw and (r.key or "").startswith("online/")]  # fmt: skip
    return max(counts, default=0)


def _whole(settings: Settings, proc: subprocess.Popen, n: int, timeout: float = 900) -> Run:
    """The whole pipeline on the backlog: from the first prediction until every event is
    scored and every label learned (wall clock), with the CPU of that stretch."""
    deadline = time.monotonic() + timeout
    first: tuple[float, float] | None = None
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise StreamscoreError(f"the worker exited ({proc.returncode})")
        scored = _count(settings, settings.predictions_topic)
        if scored and first is None:
            first = (time.monotonic(), _cpu_seconds(_family(proc.pid)))
        if scored >= n and _learned(settings) >= n:
            break
        time.sleep(0.5)
    else:
        raise StreamscoreError(f"the worker did not score and learn {n} events in {timeout:.0f} s")
    assert first is not None
    span = time.monotonic() - first[0]
    cpu = _cpu_seconds(_family(proc.pid)) - first[1]
    return Run("worker x1, whole pipeline", n, n / span, cpu / n * 1e6,
               _peak_rss_mb(_family(proc.pid)))  # fmt: skip


def _paced(settings: Settings, rate: float, seconds: float, prefix: str, seed: int) -> int:
    """Send ``rate`` events/s for ``seconds`` and each one's label 1 s after it, every
    record stamped with the time it was due (so a late producer does not hide latency)."""
    frame = synthetic_rows(int(rate * seconds), seed, prefix)
    labels = frame.pop("label").tolist()
    plan: list[tuple[float, str, bytes, bytes]] = []
    for i, row in enumerate(frame.to_dict("records")):
        key = row["id"].encode()
        plan.append((i / rate, settings.events_topic, key, orjson.dumps(row)))
        label = orjson.dumps({"id": row["id"], "label": int(labels[i])})
        plan.append((i / rate + 1.0, settings.labels_topic, key, label))
    plan.sort(key=lambda item: item[0])
    producer = clients.producer(settings, acks="all", linger_ms=1)
    # Connected and the topics' metadata fetched before the clock starts: kafka-python
    # fetches them on the first send to each topic, which held that send and the ones
    # behind it 50-100 ms (the events at the start and the first labels, 1 s later,
    # were the p99 of a 10 s trial, a producer's start-up and not the pipeline).
    for topic in (settings.events_topic, settings.labels_topic):
        producer.partitions_for(topic)
    start = time.time()
    for at, topic, key, value in plan:
        due = start + at
        wait = due - time.time()
        if wait > 0:
            time.sleep(wait)
        producer.send(topic, key=key, value=value, timestamp_ms=int(due * 1000))
    producer.flush(60)
    producer.close(10)
    return len(frame)


def _latency(settings: Settings, rate: float, seconds: float, trial: int) -> dict[str, float]:
    start = end_offsets(settings, settings.predictions_topic)
    prefix = f"lat{trial}-{int(rate)}"
    n = _paced(settings, rate, seconds, prefix, seed=100 + trial)
    got = read_topic(settings, settings.predictions_topic, start, timeout=120,
                     until=lambda r: len(r) >= n)  # fmt: skip
    lat = [r.timestamp_ms - r.value["event_ts"] for r in got if (r.key or "").startswith(prefix)]
    return {"rate": rate, "events": n, "answered": len(lat), "p50_ms": percentile(lat, 50),
            "p99_ms": percentile(lat, 99), "max_ms": max(lat, default=float("nan"))}  # fmt: skip


def _variant(bench: Settings, tag: str, **update: Any) -> Settings:
    """The bench's settings for another group: its own app id, outputs and web port."""
    variant = bench.model_copy(update={
        "app_id": f"{bench.app_id}-{tag}", "web_port": free_port(),
        "predictions_topic": f"{bench.predictions_topic}-{tag}",
        "drift_topic": f"{bench.drift_topic}-{tag}", **update,
    })  # fmt: skip
    create_topics(variant, [variant.predictions_topic], config=APPEND_TIME)
    return variant


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
    try:
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
        for processes in (1, 2):
            console.print(f"streamscore worker, scoring and drift, {processes} process(es) ...")
            tag = f"s{processes}"
            scoring = _variant(bench, tag, online_model="off",
                               events_topic=f"{bench.events_topic}-{tag}",
                               labels_topic=f"{bench.labels_topic}-{tag}")  # fmt: skip
            create_topics(scoring, [scoring.events_topic, scoring.labels_topic])
            runs.append(_worker(bench, scoring, processes, n, workdir, f"worker x{processes}"))
        console.print("streamscore worker, the whole pipeline (labels: join, learner) ...")
        worker = _spawn(bench, ["streamscore", "worker", "--model", "bench"], workdir / "whole.log")
        latency: list[dict[str, float]] = []
        try:
            wait_worker_ready(bench.web_port, alive=lambda: worker.poll() is None)
            runs.append(_whole(bench, worker, n))
            rates = latency_rates or [1000.0, runs[-1].events_per_s / 2]
            for trial in range(trials):
                for rate in rates:
                    console.print(f"latency at {rate:,.0f} events/s (and their labels) for "
                                  f"{latency_seconds:g} s ...")  # fmt: skip
                    latency.append(
                        {"trial": trial, **_latency(bench, rate, latency_seconds, trial)}
                    )
        finally:
            _stop(worker)
        return _result(n, produce_rate, runs, latency, workdir)
    finally:  # the run's topics (a few hundred MB on the broker) go with it
        delete_topics_with_prefix(settings, f"{bench.app_id}-")


def _result(n: int, produce_rate: float, runs: list[Run], latency: list[dict], workdir: Path):
    by = {r.name: r for r in runs}
    one, whole = by["worker x1"], by["worker x1, whole pipeline"]
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
        "whole_pipeline_events_per_s": whole.events_per_s,
        "whole_pipeline_cpu_us_per_event": whole.cpu_us_per_event,
        "whole_vs_scoring": whole.events_per_s / one.events_per_s,
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
    ratios = Table(title="worker (1 process, scoring and drift) against")
    ratios.add_column("ratio")
    ratios.add_column("value", justify="right")
    for key in ("worker_vs_limit", "worker_vs_raw", "worker_vs_naive", "workers2_vs_1",
                "whole_vs_scoring"):  # fmt: skip
        ratios.add_row(key, f"{result[key]:.2f}")
    out.print(ratios)
    latency = Table(title="produce-to-prediction latency (whole pipeline, 1 process)")
    for column in ("trial", "events/s", "answered", "p50 ms", "p99 ms", "max ms"):
        latency.add_column(column, justify="right")
    for row in result["latency"]:
        latency.add_row(str(row["trial"]), f"{row['rate']:,.0f}",
                        f"{row['answered']}/{row['events']}", f"{row['p50_ms']:.0f}",
                        f"{row['p99_ms']:.0f}", f"{row['max_ms']:.0f}")  # fmt: skip
    out.print(latency)
