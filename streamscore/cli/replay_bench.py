"""Benchmark ``replay --max`` from Parquet against a raw kafka-python pass-through.

Run it against a broker of your choice (never assert speed in tests)::

    python -m streamscore.cli.replay_bench --rows 200000

It writes a Parquet file of ``--rows`` rows with 10 float features, then, in the
same process and with the same producer settings:

1. **raw**: the rows pre-encoded as JSON in memory, handed to ``KafkaProducer.send``
   in a tight loop, then ``flush()`` -- what kafka-python itself can do;
2. **replay**: ``producers.replay.replay(path, max_speed=True)`` -- reading the
   file in chunks, encoding, sending, flushing.

Each runs ``--rounds`` times (alternating) into fresh topics; the best round is
printed as events/s, with the ratio replay / raw.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np
import orjson
import pandas as pd

from streamscore.ground.config import Settings, get_settings
from streamscore.ground.kafka import clients
from streamscore.ground.kafka.admin import create_topics
from streamscore.producers.replay import replay
from streamscore.producers.sender import ProducerOptions


def make_parquet(path: Path, rows: int, features: int = 10, seed: int = 0) -> Path:
    """A Parquet file of ``rows`` rows and ``features`` standard normal float columns."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        rng.normal(size=(rows, features)), columns=[f"f{i}" for i in range(features)]
    )
    frame.to_parquet(path, index=False)
    return path


def raw_rate(settings: Settings, path: Path, options: ProducerOptions) -> float:
    """Events/s of kafka-python sending the file's rows pre-encoded (encoding not timed)."""
    frame = pd.read_parquet(path)
    names = list(frame.columns)
    cols = [frame[c].tolist() for c in names]
    rows = enumerate(zip(*cols, strict=True))
    values = [orjson.dumps({**dict(zip(names, r, strict=True)), "id": f"b-{i}"}) for i, r in rows]
    keys = [f"b-{i}".encode() for i in range(len(values))]
    topic = f"bench-raw-{uuid.uuid4().hex[:8]}"
    create_topics(settings, [topic])
    producer = clients.producer(settings, **options.kafka_config(settings.broker_timeout))
    try:
        producer.partitions_for(topic)
        send = producer.send
        start = time.perf_counter()
        for key, value in zip(keys, values, strict=True):
            send(topic, value=value, key=key)
        producer.flush()
        return len(values) / (time.perf_counter() - start)
    finally:
        producer.close()


def replay_rate(settings: Settings, path: Path, options: ProducerOptions) -> float:
    """Events/s of ``replay --max`` (reading, encoding, sending, flushing)."""
    topic = f"bench-replay-{uuid.uuid4().hex[:8]}"
    create_topics(settings, [topic])
    stats = replay(settings, path, max_speed=True, topic=topic, progress=False, producer=options)
    return stats.events_per_second


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--compression", default="auto")
    parser.add_argument("--linger-ms", type=int, default=20)
    args = parser.parse_args(argv)
    settings = get_settings()
    options = ProducerOptions(compression=args.compression, linger_ms=args.linger_ms)
    with tempfile.TemporaryDirectory() as tmp:
        path = make_parquet(Path(tmp) / "bench.parquet", args.rows)
        raw, ours = [], []
        for _ in range(args.rounds):
            raw.append(raw_rate(settings, path, options))
            ours.append(replay_rate(settings, path, options))
    best_raw, best_ours = max(raw), max(ours)
    print(f"broker            {settings.bootstrap}")
    codec = options.kafka_config(settings.broker_timeout)["compression_type"]
    print(f"rows x features   {args.rows:,} x 10 (Parquet), acks=all, compression="
          f"{codec}, linger_ms={args.linger_ms}")  # fmt: skip
    print(f"raw kafka-python  {best_raw:>10,.0f} events/s  (rounds: {_fmt(raw)})")
    print(f"replay --max      {best_ours:>10,.0f} events/s  (rounds: {_fmt(ours)})")
    print(f"ratio             {best_ours / best_raw:>10.2f}")


def _fmt(rates: list[float]) -> str:
    return ", ".join(f"{r:,.0f}" for r in rates)


if __name__ == "__main__":
    main()
