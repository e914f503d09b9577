"""``streamscore bench``: worker throughput and latency against the raw Kafka limit.

All figures come from one run on one broker, so the ratios mean something on a
shared, noisy machine where absolute numbers do not:

* **produce**: kafka-python sending the pre-encoded events as fast as it can;
* **raw pass-through**: an aiokafka consumer that forwards every event to another
  topic with an aiokafka producer, no decoding — the ceiling for any Kafka-to-Kafka
  Python process on this machine;
* **worker**: ``streamscore worker`` scoring the same backlog (decode, validate,
  micro-batch ``predict_proba``, write predictions), from its first prediction to its last;
* **latency**: events paced at half the worker's rate; produce (event record
  timestamp) to prediction (prediction record timestamp), p50/p95/p99.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pandas as pd
from rich.console import Console
from rich.table import Table

from streamscore.cli.measure import percentile
from streamscore.cli.processes import running_worker
from streamscore.ground.config import Settings
from streamscore.ground.errors import StreamscoreError
from streamscore.ground.kafka import clients
from streamscore.ground.kafka.admin import create_topics, wait_for_broker
from streamscore.ground.kafka.local import free_port
from streamscore.ground.kafka.reading import end_offsets, read_topic

console = Console(stderr=True)
N_FEATURES = 10


def synthetic_rows(n: int, seed: int, prefix: str) -> pd.DataFrame:
    """``n`` rows of 10 numeric features and a binary label."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, N_FEATURES))
    frame = pd.DataFrame(x, columns=[f"f{i}" for i in range(N_FEATURES)])
    frame["label"] = ((x[:, 0] + x[:, 1] * x[:, 2] - 0.5 * x[:, 3]) > 0).astype(int)
    frame.insert(0, "id", [f"{prefix}-{i}" for i in range(n)])
    return frame


def _bench_settings(settings: Settings, registry: Path) -> Settings:
    run = uuid.uuid4().hex[:8]
    return settings.model_copy(
        update={
            "events_topic": f"bench-{run}-events",
            "labels_topic": f"bench-{run}-labels",
            "predictions_topic": f"bench-{run}-predictions",
            "drift_topic": f"bench-{run}-drift",
            "dlq_topic": f"bench-{run}-dlq",
            "model_updates_topic": f"bench-{run}-model-updates",
            "app_id": f"bench-{run}",
            "registry_path": registry,
            "data_dir": registry.parent / "worker-data",
            "web_port": free_port(),
        }
    )


def produce_all(settings: Settings, frame: pd.DataFrame) -> float:
    """Send every row as fast as possible; events/s."""
    ids = frame["id"].tolist()
    values = [orjson.dumps(r) for r in frame.drop(columns=["label"]).to_dict("records")]
    producer = clients.producer(
        settings,
        acks="all",
        linger_ms=20,
        batch_size=512 * 1024,
        compression_type=None,
    )
    started = time.perf_counter()
    for key, value in zip(ids, values, strict=True):
        producer.send(settings.events_topic, key=key.encode(), value=value)
    producer.flush(120)
    elapsed = time.perf_counter() - started
    producer.close(10)
    return len(ids) / elapsed


async def _pass_through(settings: Settings, n: int, out_topic: str) -> float:
    consumer = clients.aiokafka_consumer(
        settings,
        settings.events_topic,
        group_id=f"{settings.app_id}-raw",
        auto_offset_reset="earliest",
        max_poll_records=2000,
    )
    producer = clients.aiokafka_producer(
        settings, acks="all", linger_ms=5, max_batch_size=256 * 1024
    )
    await consumer.start()
    await producer.start()
    seen = 0
    started: float | None = None
    try:
        while seen < n:
            batches = await consumer.getmany(timeout_ms=1000, max_records=2000)
            if started is None and batches:
                started = time.perf_counter()
            futures = []
            for records in batches.values():
                for rec in records:
                    futures.append(await producer.send(out_topic, rec.value, key=rec.key))
                    seen += 1
            if futures:
                await asyncio.gather(*futures)
        await producer.flush()
        return n / (time.perf_counter() - (started or time.perf_counter()))
    finally:
        await consumer.stop()
        await producer.stop()


def run_bench(
    settings: Settings, n: int, seed: int = 0, latency_rate: float | None = None
) -> dict[str, Any]:
    from streamscore.models.registry import Registry
    from streamscore.models.training import train
    from streamscore.producers.replay import replay
    from streamscore.producers.sender import ProducerOptions

    wait_for_broker(settings)
    workdir = Path(tempfile.mkdtemp(prefix="streamscore-bench-"))
    bench = _bench_settings(settings, workdir / "registry")
    create_topics(bench)
    registry = Registry(bench.registry_path)
    train(
        synthetic_rows(5_000, seed + 1, "train"),
        "label",
        name="bench",
        registry=registry,
        id_col="id",
        seed=seed,
    )
    frame = synthetic_rows(n, seed, "ev")

    console.print(f"producing {n} events of {N_FEATURES} features ...")
    produce_rate = produce_all(bench, frame)
    console.print("raw aiokafka pass-through ...")
    raw_rate = asyncio.run(_pass_through(bench, n, f"{bench.events_topic}-raw"))

    console.print("streamscore worker on the same backlog ...")
    log = workdir / "worker.log"
    with running_worker(bench, "bench", log):
        predictions = read_topic(
            bench, bench.predictions_topic, {}, until=lambda r: len(r) >= n, timeout=600
        )
        if len(predictions) < n:
            raise StreamscoreError(f"only {len(predictions)} of {n} predictions; see {log}")
        stamps = [r.timestamp_ms for r in predictions]
        worker_rate = n / max((max(stamps) - min(stamps)) / 1000, 1e-9)

        paced = latency_rate or min(worker_rate / 2, 10_000.0)
        n_paced = int(paced * 10)  # ten seconds
        console.print(f"latency at {paced:,.0f} events/s for 10 s ...")
        start_events = end_offsets(bench, bench.events_topic)
        start_pred = end_offsets(bench, bench.predictions_topic)
        # linger 1 ms: the record timestamp is taken at send(), so a producer that
        # lingers to fill batches would add its own wait to the measured latency.
        replay(
            bench,
            synthetic_rows(n_paced, seed + 2, "lat").drop(columns=["label"]),
            id_col="id",
            rate=paced,
            progress=False,
            producer=ProducerOptions(linger_ms=1),
        )
        sent = read_topic(
            bench, bench.events_topic, start_events, until=lambda r: len(r) >= n_paced, timeout=60
        )
        answered = read_topic(
            bench,
            bench.predictions_topic,
            start_pred,
            until=lambda r: len(r) >= n_paced,
            timeout=120,
        )
    sent_at = {r.key: r.timestamp_ms for r in sent}
    latencies = [r.timestamp_ms - sent_at[r.key] for r in answered if r.key in sent_at]
    ids = [r.key for r in predictions]
    return {
        "events": n,
        "features": N_FEATURES,
        "partitions": bench.partitions,
        "batch_size": bench.batch_size,
        "produce_events_per_s": produce_rate,
        "raw_passthrough_events_per_s": raw_rate,
        "worker_events_per_s": worker_rate,
        "worker_vs_raw": worker_rate / raw_rate,
        "duplicates": len(ids) - len(set(ids)),
        "latency_rate_events_per_s": paced,
        "latency_events": len(latencies),
        "latency_p50_ms": percentile(latencies, 50),
        "latency_p95_ms": percentile(latencies, 95),
        "latency_p99_ms": percentile(latencies, 99),
        "worker_log": str(log),
    }


def print_report(result: dict[str, Any]) -> None:
    table = Table(
        title=f"streamscore bench: {result['events']} events, "
        f"{result['features']} features, {result['partitions']} partitions"
    )
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_row("produce (kafka-python), events/s", f"{result['produce_events_per_s']:,.0f}")
    table.add_row(
        "raw pass-through (aiokafka), events/s", f"{result['raw_passthrough_events_per_s']:,.0f}"
    )
    table.add_row("worker (score + write), events/s", f"{result['worker_events_per_s']:,.0f}")
    table.add_row("worker / raw", f"{result['worker_vs_raw']:.2f}")
    table.add_row("duplicate predictions", f"{result['duplicates']}")
    table.add_row(
        f"latency at {result['latency_rate_events_per_s']:,.0f}/s: p50 / p95 / p99 ms",
        f"{result['latency_p50_ms']:.0f} / {result['latency_p95_ms']:.0f} / "
        f"{result['latency_p99_ms']:.0f}",
    )
    Console().print(table)
    print(orjson.dumps(result).decode())
