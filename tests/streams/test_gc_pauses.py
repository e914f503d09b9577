"""The worker's ``streamscore_gc_pause_seconds``: each cyclic collection, by generation."""

from __future__ import annotations

import gc

from prometheus_client.parser import text_string_to_metric_families

from streamscore.streams.metrics import WorkerMetrics


def _samples(metrics: WorkerMetrics) -> dict[tuple[str, str, str | None], float]:
    text = metrics.exposition().decode()
    return {
        (s.name, s.labels.get("generation", ""), s.labels.get("le")): s.value
        for family in text_string_to_metric_families(text)
        if family.name == "streamscore_gc_pause_seconds"
        for s in family.samples
    }


def test_full_collections_are_counted_with_their_time_once_watched() -> None:
    metrics = WorkerMetrics()
    before = _samples(metrics)
    assert before[("streamscore_gc_pause_seconds_count", "2", None)] == 0
    metrics.gc_pauses.watch()
    try:
        cycles = []
        for _ in range(1000):  # garbage only the cyclic collector frees
            a: list = []
            a.append(a)
            cycles.append(a)
        del cycles, a
        gc.collect()
        gc.collect()
    finally:
        metrics.gc_pauses.unwatch()
    after = _samples(metrics)
    counted = after[("streamscore_gc_pause_seconds_count", "2", None)]
    assert counted >= 2  # the two asked for (and any the allocations above set off)
    assert after[("streamscore_gc_pause_seconds_sum", "2", None)] > 0
    assert after[("streamscore_gc_pause_seconds_bucket", "2", "+Inf")] == counted
    gc.collect()  # no longer watched: not counted
    assert _samples(metrics)[("streamscore_gc_pause_seconds_count", "2", None)] == counted
