"""``streamscore demo``: the whole story on the configured broker, then exit.

1. generate a stream with known drift (``synth data-and-concept``): a data drift at one
   row (x0 shifts, a category grows; the concept reads neither), a concept change at a
   later row (a new decision boundary);
2. train the batch model on its first part, promote it (published on model-updates);
3. start a worker (a ``streamscore worker`` process: scoring, the label join, the
   online model, drift windows, champion/challenger in report mode);
4. replay the rest at a steady rate, each label sent 0.5 to 2 s after its event, plus
   three malformed events, while the monitor shows the stream (a dashboard on a
   terminal, one line every few seconds otherwise);
5. wait for every prediction and every label, write the HTML report;
6. print the summary: events, predictions, dead letters, each alert against the
   known drift rows, both models' accuracy before and after the concept change, the
   latency and the report's path. Any event without a prediction fails the run.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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
MODEL = "demo"  # each run's model is MODEL-<date>-<time>: its own online model and records
BAD_EVENTS: list[tuple[bytes, bytes]] = [
    (b"bad-1", b"{not json"),
    (b"bad-2", b'["an", "array"]'),
    (b"bad-3", b'{"id": "bad-3", "x1": "lots"}'),
]


@dataclass
class DemoResult:
    events: int
    predictions: int
    dead_letters: int
    duplicates: int
    rate: float
    p50_ms: float
    p99_ms: float
    drift_row: int
    concept_row: int
    alerts: list[dict[str, Any]] = field(default_factory=list)
    detectors: list[dict[str, Any]] = field(default_factory=list)
    accuracy: dict[str, dict[str, float]] = field(default_factory=dict)
    learned: int = 0
    report: Path | None = None
    env: dict[str, str] = field(default_factory=dict)  # the settings that name this run
    missing: int = 0


def _send_bad_events(settings: Settings) -> None:
    producer = clients.producer(settings, acks="all")
    for key, value in BAD_EVENTS:
        producer.send(settings.events_topic, key=key, value=value)
    producer.flush(30)
    producer.close(10)


def run_demo(
    settings: Settings, n_train: int, n_stream: int, rate: float, seed: int, out: Path
) -> DemoResult:
    from streamscore.models.registry import Registry
    from streamscore.models.training import train
    from streamscore.producers.synthetic import generate
    from streamscore.streams.model_updates import publish

    wait_for_broker(settings)
    # Each run has its own model name, consumer group and topics: a second run on the
    # same broker (or one after a failed run) would otherwise start with the first
    # one's unscored events, records and online model.
    run = f"{MODEL}-{time.strftime('%Y%m%d-%H%M%S')}"
    names = ("events", "labels", "predictions", "drift", "dlq", "model_updates")
    settings = settings.model_copy(update={
        "challenger": "report", "snapshot_interval": 2.0, "app_id": run,
        **{f"{n}_topic": f"{run}-{getattr(settings, f'{n}_topic')}" for n in names},
    })  # fmt: skip
    create_topics(settings)
    total = n_train + n_stream
    frame, sidecar = generate("data-and-concept", total, drift_at=n_train + n_stream // 3,
                              seed=seed)  # fmt: skip
    drift_row, concept_row = sidecar["drift_at"] - n_train, sidecar["concept_at"] - n_train
    history, live = frame.iloc[:n_train], frame.iloc[n_train:].reset_index(drop=True)
    console.print(f"[bold]1/6[/] generated {total:,} events: data drift (x0, segment) at "
                  f"stream row {drift_row:,}, concept change at row {concept_row:,}")  # fmt: skip
    registry = Registry(settings.registry_path)
    model = train(history, "label", name=run, registry=registry, id_col="id", ts_col="ts",
                  seed=seed)  # fmt: skip
    registry.promote(model.name, model.version)
    publish(settings, registry, model.name, model.version)
    console.print(f"[bold]2/6[/] trained and promoted {model.name}/{model.version} on "
                  f"{n_train:,} events")  # fmt: skip
    start = {topic: end_offsets(settings, topic) for topic in
             (settings.events_topic, settings.predictions_topic, settings.dlq_topic)}  # fmt: skip
    log_path = out / "demo-worker.log"
    with running_worker(settings, model.name, log_path) as worker:
        console.print(f"[bold]3/6[/] worker started (pid {worker.pid}, log {log_path})")
        console.print(f"[bold]4/6[/] replaying {len(live):,} events at {rate:,.0f}/s, "
                      "labels 0.5-2 s late")  # fmt: skip
        stats = _replay_watched(settings, live, rate, model.name)
        _send_bad_events(settings)
        expected = len(live)
        predictions = read_topic(
            settings, settings.predictions_topic, start[settings.predictions_topic],
            until=lambda r: len({p.key for p in r}) >= expected or worker.poll() is not None,
            timeout=180,
        )  # fmt: skip
        learned = _wait_learned(settings, model.name, expected, worker)
        if worker.poll() is not None:
            raise StreamscoreError(f"the worker exited early; see {log_path}")
    letters = read_topic(settings, settings.dlq_topic, start[settings.dlq_topic], timeout=30)
    sent = read_topic(settings, settings.events_topic, start[settings.events_topic], timeout=60)
    console.print(f"[bold]5/6[/] {len(predictions):,} predictions, {len(letters)} dead "
                  f"letters, {learned:,} labels learned; writing the report")  # fmt: skip
    from streamscore.cli.report import write_report

    report = write_report(settings, out / "report", model=model.name)
    result = _summarise(live, sent, predictions, letters, stats.events_per_second,
                        drift_row, concept_row, settings, model.name)  # fmt: skip
    result.learned, result.report = learned, report
    result.env = {f"STREAMSCORE_{key.upper()}": str(getattr(settings, key))
                  for key in ("app_id", *(f"{n}_topic" for n in names))}  # fmt: skip
    return result


def _replay_watched(settings: Settings, live: Any, rate: float, model: str) -> Any:
    from streamscore.cli.monitor import monitoring
    from streamscore.producers.replay import replay

    with monitoring(settings, model=model, console=console, screen=False):
        return replay(settings, live, id_col="id", ts_col="ts", label_col="label", rate=rate,
                      label_delay="uniform:0.5:2", progress=False)  # fmt: skip


def _wait_learned(
    settings: Settings, model: str, expected: int, worker: Any, timeout: float = 120
) -> int:
    """Labels learned, as the learner last reported them (waits for all, or ``timeout``)."""
    deadline = time.monotonic() + timeout
    learned = 0
    while time.monotonic() < deadline and worker.poll() is None:
        records = read_topic(settings, settings.drift_topic, timeout=10)
        counts = [r.value for r in records if isinstance(r.value, dict)
                  and r.value.get("metric") == "learned"
                  and r.value.get("model") == model]  # fmt: skip
        learned = max((c["value"] for c in counts), default=0)
        if learned >= expected:
            break
        time.sleep(1)
    return learned


def _summarise(live, sent, predictions, letters, rate, drift_row, concept_row, settings, model):
    sent_at = {r.key: r.timestamp_ms for r in sent}
    truth = dict(zip(live["id"], live["label"], strict=True))
    row_of = {key: i for i, key in enumerate(live["id"])}
    seen: dict[str, dict] = {}
    latencies = []
    for record in predictions:
        if record.key in seen:
            continue
        seen[record.key] = record.value
        if record.key in sent_at:
            latencies.append(record.timestamp_ms - sent_at[record.key])
    drift = read_topic(settings, settings.drift_topic, timeout=30)
    records = [r.value for r in drift
               if isinstance(r.value, dict) and r.value.get("model") == model]  # fmt: skip
    start_ms = int(live["ts"].iloc[0])
    alerts = [
        {**r, "row": int(r["window"]["end"] - start_ms)}
        for r in records if r["kind"] == "alert" and r.get("state") == "raise"
    ]  # fmt: skip
    detectors = [{**r, "row": int(r["window"]["end"] - start_ms)}
                 for r in records if r["kind"] == "detector"]  # fmt: skip
    accuracy: dict[str, dict[str, float]] = {}
    for name in ("batch", "online"):
        for part, rows in (
            ("before", range(0, concept_row)),
            ("after", range(concept_row, len(live))),
        ):
            ids = [live["id"].iloc[i] for i in rows if live["id"].iloc[i] in seen]
            got = [(seen[i] if name == "batch" else seen[i].get("online")) for i in ids]
            pairs = [(g["prediction"], truth[i]) for g, i in zip(got, ids, strict=True) if g]
            if pairs:
                accuracy.setdefault(name, {})[part] = sum(p == t for p, t in pairs) / len(pairs)
    return DemoResult(
        events=len(live), predictions=sum(1 for k in seen if k in row_of),
        dead_letters=len(letters), duplicates=len(predictions) - len(seen), rate=rate,
        p50_ms=percentile(latencies, 50), p99_ms=percentile(latencies, 99),
        drift_row=drift_row, concept_row=concept_row, alerts=alerts, detectors=detectors,
        accuracy=accuracy, missing=len(live) - sum(1 for k in seen if k in row_of),
    )  # fmt: skip


def print_summary(result: DemoResult) -> None:
    out = Console()
    table = Table(title="streamscore demo")
    table.add_column("measure")
    table.add_column("value", justify="right")
    for label, value in (
        ("events replayed", f"{result.events:,} at {result.rate:,.0f}/s"),
        ("predictions (distinct ids)", f"{result.predictions:,}"),
        ("events without a prediction", f"{result.missing}"),
        ("duplicate predictions", f"{result.duplicates}"),
        ("dead letters (malformed events sent)", f"{result.dead_letters} ({len(BAD_EVENTS)})"),
        ("labels learned by the online model", f"{result.learned:,}"),
        ("latency p50 / p99, ms", f"{result.p50_ms:.0f} / {result.p99_ms:.0f}"),
    ):
        table.add_row(label, value)
    out.print(table)
    alerts = Table(title=f"alerts (data drift at row {result.drift_row:,}, concept change at "
                         f"row {result.concept_row:,})")  # fmt: skip
    for column in ("kind", "name", "metric", "fired at row", "after the drift by"):
        alerts.add_column(column)
    for r in sorted(result.alerts, key=lambda r: r["row"]):
        alerts.add_row("alert", r["name"], r["metric"], f"{r['row']:,}",
                       f"{r['row'] - result.drift_row:+,} events")  # fmt: skip
    for r in sorted(result.detectors, key=lambda r: r["row"]):
        after = f"{r['row'] - result.concept_row:+,} events after the concept change"
        alerts.add_row("detector", f"{r['name']} model", r["metric"], f"{r['row']:,}", after)
    out.print(alerts)
    accuracy = Table(title="accuracy against the labels")
    for column in ("model", "before the concept change", "after"):
        accuracy.add_column(column, justify="right")
    for name, parts in result.accuracy.items():
        accuracy.add_row(name, f"{parts.get('before', float('nan')):.3f}",
                         f"{parts.get('after', float('nan')):.3f}")  # fmt: skip
    out.print(accuracy)
    if result.report is not None:
        out.print(f"report: {result.report}")
