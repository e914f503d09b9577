"""Produce-to-output latency at a steady rate for variants of the worker, one after the
other on the configured broker (a measurement for README's Performance section, not
part of the product; `streamscore bench` measures the whole pipeline only).

    python scripts/latency_variants.py [--trials 2] [--rate 1000] raw scoring whole

* ``raw``: the bench's raw aiokafka pass-through (the floor of a Python Kafka-to-Kafka hop);
* ``scoring``: ``streamscore worker`` with the online model off (scoring, drift windows);
* ``whole``: ``streamscore worker`` with everything on (label join, learner, snapshots).

Each variant gets its own topics and a model trained as the bench trains it; events
(and their labels, 1 s later) are paced by the bench's producer, stamped with the time
each was due, and the latency is the output's broker append time minus that.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from streamscore.cli import bench
from streamscore.ground.config import get_settings
from streamscore.ground.kafka.admin import create_topics, delete_topics_with_prefix
from streamscore.ground.kafka.reading import end_offsets, read_topic
from streamscore.models.registry import Registry
from streamscore.models.training import train


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("variants", nargs="+", choices=["raw", "scoring", "whole"])
    parser.add_argument("--trials", type=int, default=2)
    parser.add_argument("--rate", type=float, default=1000.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument(
        "--per-second",
        action="store_true",
        help="also print each trial's p99 per second of due time (where a stall falls)",
    )
    parser.add_argument(
        "--batches",
        action="store_true",
        help="also print the worker's batches so far: count, mean size, mean ms",
    )
    args = parser.parse_args()
    settings = get_settings()
    for variant in args.variants:
        workdir = Path(tempfile.mkdtemp(prefix=f"latency-{variant}-"))
        run = bench._bench_settings(settings, workdir)
        if variant == "scoring":
            run = run.model_copy(update={"online_model": "off"})
        create_topics(run, [run.predictions_topic], config=bench.APPEND_TIME)
        create_topics(run)
        train(bench.synthetic_rows(5_000, 1, "train"), "label", name="bench",
              registry=Registry(run.registry_path), id_col="id", seed=0)  # fmt: skip
        if variant == "raw":
            args_ = ["streamscore.cli.bench_contestants", "raw", run.predictions_topic,
                     f"{run.app_id}-raw", "bench"]  # fmt: skip
            proc = bench._spawn(run, args_, workdir / "raw.log")
            time.sleep(8)  # joined its group (no readiness endpoint)
        else:
            proc = bench._spawn(run, ["streamscore", "worker", "--model", "bench"],
                                workdir / "worker.log")  # fmt: skip
            bench.wait_worker_ready(run.web_port, alive=lambda p=proc: p.poll() is None)
        try:
            for trial in range(args.trials):
                if variant == "raw":
                    print(variant, _raw_latency(run, args.rate, args.seconds, trial), flush=True)
                elif args.per_second:
                    print(variant, _per_second(run, args.rate, args.seconds, trial), flush=True)
                else:
                    print(variant, bench._latency(run, args.rate, args.seconds, trial), flush=True)
                    if args.batches:
                        print(variant, _batches(run.web_port), flush=True)
        finally:
            bench._stop(proc)
            delete_topics_with_prefix(run, run.app_id)


def _per_second(run, rate: float, seconds: float, trial: int) -> dict:
    """Like the bench's latency, plus the p99 of the events due in each second."""
    start = end_offsets(run, run.predictions_topic)
    prefix = f"lat{trial}-{int(rate)}"
    n = bench._paced(run, rate, seconds, prefix, seed=100 + trial)
    got = read_topic(run, run.predictions_topic, start, timeout=120,
                     until=lambda r: len(r) >= n)  # fmt: skip
    rows = sorted((r.value["event_ts"], r.timestamp_ms - r.value["event_ts"])
                  for r in got if (r.key or "").startswith(prefix))  # fmt: skip
    first = rows[0][0] if rows else 0
    by_second: dict[int, list[int]] = {}
    for due, latency in rows:
        by_second.setdefault((due - first) // 1000, []).append(latency)
    lat = sorted(latency for _, latency in rows)
    return {"events": n, "answered": len(lat), "p50_ms": bench.percentile(lat, 50),
            "p99_ms": bench.percentile(lat, 99), "max_ms": lat[-1] if lat else None,
            "p99_ms_per_second": [bench.percentile(sorted(v), 99)
                                  for _, v in sorted(by_second.items())]}  # fmt: skip


def _batches(port: int) -> dict:
    """The worker's batch metrics so far (``streamscore_batch_size``, ``_batch_seconds``)."""
    from streamscore.cli.processes import worker_metric

    n = worker_metric(port, "streamscore_batch_size_count") or 0
    size = worker_metric(port, "streamscore_batch_size_sum") or 0
    seconds = worker_metric(port, "streamscore_batch_seconds_sum") or 0
    return {"batches": int(n), "mean_size": round(size / n, 1) if n else None,
            "mean_ms": round(1000 * seconds / n, 2) if n else None}  # fmt: skip


def _raw_latency(run, rate: float, seconds: float, trial: int) -> dict:
    """The pass-through copies key and value: match outputs to inputs by key."""
    start = end_offsets(run, run.predictions_topic)
    prefix = f"raw{trial}"
    n = bench._paced(run, rate, seconds, prefix, seed=100 + trial)
    out = read_topic(run, run.predictions_topic, start, timeout=120, parse=False,
                     until=lambda r: len(r) >= n)  # fmt: skip
    due = {r.key: r.timestamp_ms for r in read_topic(run, run.events_topic, timeout=30, parse=False)
           if r.key and r.key.startswith(prefix)}  # fmt: skip
    lat = sorted(r.timestamp_ms - due[r.key] for r in out if r.key in due)
    return {"events": n, "answered": len(lat), "p50_ms": bench.percentile(lat, 50),
            "p99_ms": bench.percentile(lat, 99), "max_ms": lat[-1] if lat else None}  # fmt: skip


if __name__ == "__main__":
    main()
