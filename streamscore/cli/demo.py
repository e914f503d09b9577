"""``streamscore demo``: the main job end to end on the configured broker, then exit.

1. generate a synthetic stream with known drift (river's Agrawal generator);
2. train the batch model on its first part and promote it (published on model-updates);
3. start a worker (a ``streamscore worker`` process);
4. replay the rest into ``events`` at a steady rate, labels held back and sent late
   on ``labels``, plus a few malformed events;
5. read every prediction and dead letter back and print a summary.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table

from streamscore.cli.measure import percentile
from streamscore.cli.processes import running_worker
from streamscore.ground.config import Settings
from streamscore.ground.errors import StreamscoreError
from streamscore.ground.kafka import clients
from streamscore.ground.kafka.admin import create_topics, wait_for_broker
from streamscore.ground.kafka.reading import end_offsets, read_topic

console = Console(stderr=True)

BAD_EVENTS: list[tuple[bytes, bytes]] = [
    (b"bad-1", b"{not json"),
    (b"bad-2", b'["an", "array"]'),
    (b"bad-3", b'{"id": "bad-3", "salary": "lots"}'),
]


@dataclass
class DemoResult:
    events: int
    predictions: int
    dead_letters: int
    duplicates: int
    accuracy: float
    events_per_s: float
    p50_ms: float
    p99_ms: float


def _send_bad_events(settings: Settings) -> None:
    producer = clients.producer(settings, acks="all")
    for key, value in BAD_EVENTS:
        producer.send(settings.events_topic, key=key, value=value)
    producer.flush(30)
    producer.close(10)


def run_demo(settings: Settings, n_train: int, n_stream: int, rate: float, seed: int) -> DemoResult:
    from streamscore.models.registry import Registry
    from streamscore.models.training import train
    from streamscore.producers.replay import replay
    from streamscore.producers.synthetic import generate
    from streamscore.streams.model_updates import publish

    wait_for_broker(settings)
    create_topics(settings)
    frame, sidecar = generate(
        "agrawal", n=n_train + n_stream, drift_at=n_train + n_stream // 2, seed=seed
    )
    history, live = frame.iloc[:n_train], frame.iloc[n_train:].reset_index(drop=True)
    console.print(
        f"[bold]1/5[/] generated {len(frame)} Agrawal events, concept drift at "
        f"{sidecar.get('drift_at')}"
    )

    registry = Registry(settings.registry_path)
    model = train(
        history, "label", name="demo", registry=registry, id_col="id", ts_col="ts", seed=seed
    )
    registry.promote(model.name, model.version)
    publish(settings, registry, model.name, model.version)
    console.print(f"[bold]2/5[/] trained and promoted {model.name}/{model.version}")

    start_events = end_offsets(settings, settings.events_topic)
    start_pred = end_offsets(settings, settings.predictions_topic)
    start_dlq = end_offsets(settings, settings.dlq_topic)
    log_path = Path(settings.data_dir) / "demo-worker.log"
    with running_worker(settings, model.name, log_path) as worker:
        console.print(f"[bold]3/5[/] worker started (pid {worker.pid}, log {log_path})")
        stats = replay(
            settings,
            live,
            id_col="id",
            ts_col="ts",
            label_col="label",
            rate=rate,
            label_delay="1.0",
            progress=True,
        )
        _send_bad_events(settings)
        console.print(
            f"[bold]4/5[/] replayed {stats.events} events at {stats.events_per_second:,.0f}/s "
            f"(+{len(BAD_EVENTS)} malformed ones)"
        )
        expected = len(live)
        predictions = read_topic(
            settings,
            settings.predictions_topic,
            start_pred,
            until=lambda recs: len(recs) >= expected or worker.poll() is not None,
            timeout=120,
        )
        letters = read_topic(
            settings,
            settings.dlq_topic,
            start_dlq,
            until=lambda recs: len(recs) >= len(BAD_EVENTS),
            timeout=30,
        )
        sent = read_topic(
            settings,
            settings.events_topic,
            start_events,
            until=lambda recs: len(recs) >= expected + len(BAD_EVENTS),
            timeout=30,
        )
        if worker.poll() is not None:
            raise StreamscoreError(f"the worker exited early; see {log_path}")
    console.print(f"[bold]5/5[/] read {len(predictions)} predictions, {len(letters)} dead letters")
    return _summarise(live, sent, predictions, letters, stats)


def _summarise(live, sent, predictions, letters, stats) -> DemoResult:
    """Counts, accuracy, and produce-to-prediction latency from Kafka record timestamps."""
    sent_at = {rec.key: rec.timestamp_ms for rec in sent}
    truth = dict(zip(live["id"].astype(str), live["label"], strict=True))
    seen: dict[str, object] = {}
    duplicates = 0
    latencies: list[float] = []
    for rec in predictions:
        if rec.key in seen:
            duplicates += 1
        seen[rec.key] = rec.value["prediction"]
        if rec.key in sent_at:
            latencies.append(rec.timestamp_ms - sent_at[rec.key])
    correct = sum(1 for key, pred in seen.items() if key in truth and truth[key] == pred)
    first = min((r.timestamp_ms for r in predictions), default=0)
    last = max((r.timestamp_ms for r in predictions), default=0)
    span = max((last - first) / 1000, 1e-9)
    return DemoResult(
        events=stats.events,
        predictions=len(seen),
        dead_letters=len(letters),
        duplicates=duplicates,
        accuracy=correct / max(len(seen), 1),
        events_per_s=len(predictions) / span,
        p50_ms=percentile(latencies, 50),
        p99_ms=percentile(latencies, 99),
    )


def print_summary(result: DemoResult) -> None:
    table = Table(title="streamscore demo")
    table.add_column("measure")
    table.add_column("value", justify="right")
    for label, value in (
        ("events replayed", f"{result.events}"),
        ("predictions (distinct ids)", f"{result.predictions}"),
        ("duplicate predictions", f"{result.duplicates}"),
        ("dead letters", f"{result.dead_letters}"),
        ("accuracy vs held-back labels", f"{result.accuracy:.3f}"),
        ("scoring rate, events/s", f"{result.events_per_s:,.0f}"),
        ("latency p50 / p99, ms", f"{result.p50_ms:.0f} / {result.p99_ms:.0f}"),
    ):
        table.add_row(label, value)
    Console().print(table)
