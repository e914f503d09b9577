"""Soak: twenty minutes at a steady rate (``make soak``; ``SOAK_MINUTES`` to change it).

One worker scores, joins labels, learns and measures drift while events (and their
labels, 0.5 to 2 s late) come at ``SOAK_RATE`` a second. Every 10 s the worker's RSS,
its group's lag and its latency (from its own histogram: the events of the last 10 s)
are sampled and printed as a table. The label memory is given a 60 s TTL so that it
reaches its steady size within the run; then RSS must be flat: the last quarter of
the run may not grow more than 10 % over the third quarter, and the lag must not grow.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from streamscore.ground.kafka.admin import create_topics
from streamscore.ground.kafka.reading import end_offsets, group_offsets
from streamscore.producers.synthetic import generate
from tests.faults.harness import Feed
from tests.integration.pipeline import train_on

pytestmark = [pytest.mark.integration, pytest.mark.soak]
MINUTES = float(os.environ.get("SOAK_MINUTES", "20"))
RATE = float(os.environ.get("SOAK_RATE", "1000"))


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _histogram(port: int) -> dict[float, float]:
    import urllib.request

    body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    out = {}
    for line in body.splitlines():
        if line.startswith("streamscore_scoring_latency_seconds_bucket"):
            le = line.split('le="')[1].split('"')[0]
            out[float("inf") if le == "+Inf" else float(le)] = float(line.split()[-1])
    return out


def _p99(before: dict[float, float], after: dict[float, float]) -> float:
    counts = sorted((le, after[le] - before.get(le, 0.0)) for le in after)
    total = counts[-1][1]
    for le, cumulative in counts:
        if total and cumulative >= 0.99 * total:
            return le * 1000
    return float("nan")


def _lag(settings) -> int:
    # The committed offsets first, the ends after: a commit made between the two reads
    # cannot then pass an end read before it (which printed negative lags).
    partitions = range(settings.partitions)
    committed = {p: group_offsets(settings, settings.app_id, settings.events_topic, p, 0)[0] or 0
                 for p in partitions}  # fmt: skip
    ends = end_offsets(settings, settings.events_topic)
    return sum(end - committed.get(p, 0) for p, end in ends.items())


@pytest.mark.timeout(int(MINUTES * 60) + 600)  # the run itself, set-up and the drain
def test_twenty_minutes_at_a_steady_rate(settings_factory, worker_factory):
    n = int(MINUTES * 60 * RATE)
    settings = settings_factory(partitions=4, label_ttl=60.0)
    create_topics(settings)
    data, _ = generate("data-drift", n + 3000, drift_at=0.5, seed=31)
    train_on(settings, data.iloc[:3000])
    worker = worker_factory(settings, "--model", "m")
    port = settings.web_port
    feed = Feed(settings, data.iloc[3000:].reset_index(drop=True), RATE, "uniform:0.5:2")
    samples = []
    previous = None
    started = time.monotonic()
    while feed.thread.is_alive():
        time.sleep(10)
        assert worker.alive(), worker.output()[-3000:]
        histogram = _histogram(port)
        p99 = _p99(previous or {}, histogram) if previous else float("nan")
        previous = histogram
        samples.append((time.monotonic() - started, _rss_mb(worker.proc.pid), _lag(settings), p99))
    feed.join()
    print(f"\nsoak: {n:,} events at {RATE:,.0f}/s for {MINUTES:g} min")
    print(f"{'t s':>7} {'RSS MB':>8} {'lag':>8} {'p99 ms (last 10 s)':>20}")
    for t, rss, lag, p99 in samples:
        print(f"{t:7.0f} {rss:8.1f} {lag:8d} {p99:20.0f}")
    quarter = max(1, len(samples) // 4)
    third = [s[1] for s in samples[2 * quarter : 3 * quarter]]
    last = [s[1] for s in samples[3 * quarter :]]
    assert max(last) <= 1.10 * max(third), "RSS still grows in the last quarter"
    assert max(s[2] for s in samples[-quarter:]) <= max(2 * RATE, 2000), "the lag grows"
