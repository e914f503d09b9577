"""Producer commands: ``replay`` (a recorded file) and ``synth`` (a stream with known drift)."""

from __future__ import annotations

from pathlib import Path

import typer

from streamscore.cli.output import print_json
from streamscore.ground.config import get_settings
from streamscore.ground.errors import ConfigError


def _info(message: str) -> None:
    typer.echo(message, err=True)


def _settings(broker_timeout: float | None):
    settings = get_settings()
    if broker_timeout is not None:
        settings = settings.model_copy(update={"broker_timeout": broker_timeout})
    return settings


def _options(acks: str, compression: str, linger_ms: int):
    from streamscore.producers.sender import ProducerOptions

    if acks not in ("all", "0", "1"):
        raise ConfigError(f"--acks must be all, 1 or 0, got {acks!r}")
    return ProducerOptions(acks=acks, compression=compression, linger_ms=linger_ms)


# Options shared by ``replay`` and ``synth --replay`` (typer needs them per command).
SPEED = typer.Option(None, "--speed", help="Keep the timestamps' spacing, X times faster.")
RATE = typer.Option(None, "--rate", help="Send N events per second.")
MAX = typer.Option(False, "--max", help="Send as fast as possible.")
TOPIC = typer.Option(None, "--topic", help="Events topic (default: STREAMSCORE_EVENTS_TOPIC).")
LABELS_TOPIC = typer.Option(
    None, "--labels-topic", help="Labels topic (default: STREAMSCORE_LABELS_TOPIC)."
)
LABEL_DELAY = typer.Option(
    "0", "--label-delay", help="Seconds (5, 0.5) or exp:MEAN, uniform:LOW:HIGH, normal:MEAN:SD."
)
NO_WAIT = typer.Option(
    False, "--no-wait-labels", help="At the end, send the waiting labels at once."
)
SEED = typer.Option(0, "--seed", help="Seed of the label delays (and of synth).")
ACKS = typer.Option("all", "--acks", help="all (default), 1 or 0.")
COMPRESSION = typer.Option(
    "auto",
    "--compression",
    help="auto (lz4), none, gzip, lz4, zstd (extra: streamscore[zstd]) or snappy "
    "(extra: streamscore[snappy]).",
)
REALTIME = typer.Option(
    False,
    "--realtime",
    help="Keep the timestamps' own pace even when that takes longer than 10 minutes.",
)
KEEP_LABEL = typer.Option(
    False,
    "--keep-label",
    help="Also send the label column inside each event (by default it never is).",
)
JSON = typer.Option(False, "--json", help="Print the run's summary as one JSON document.")
LINGER = typer.Option(20, "--linger-ms", help="Producer linger: wait this long to fill batches.")
BROKER_TIMEOUT = typer.Option(
    None,
    "--broker-timeout",
    help="Seconds to wait for the broker before giving up (default: STREAMSCORE_BROKER_TIMEOUT).",
)
QUIET = typer.Option(False, "--quiet", "-q", help="No progress bar.")


def _finish(stats, as_json: bool) -> None:
    from dataclasses import asdict

    _info(stats.summary())
    if as_json:
        print_json({**asdict(stats), "events_per_second": round(stats.events_per_second, 1)})
    if stats.interrupted:
        raise typer.Exit(130)


def replay(
    data: Path = typer.Argument(..., help="CSV, CSV.gz, Parquet or JSONL file."),
    id_col: str = typer.Option(None, "--id-col", help="Id column (default: 'id' if present)."),
    ts_col: str = typer.Option(
        None, "--ts-col", help="Timestamp column (default: 'ts' if present)."
    ),
    label_col: str = typer.Option(
        None,
        "--label-col",
        help="Label column: sent on the labels topic after --label-delay, never in the event "
        "(a column named 'label' is left out of events even without this option).",
    ),
    speed: float = SPEED,
    rate: float = RATE,
    max_speed: bool = MAX,
    limit: int = typer.Option(None, "--limit", help="Send at most N rows."),
    skip: int = typer.Option(0, "--skip", help="Start at row N (0-based): resume a run."),
    topic: str = TOPIC,
    labels_topic: str = LABELS_TOPIC,
    label_delay: str = LABEL_DELAY,
    no_wait_labels: bool = NO_WAIT,
    seed: int = SEED,
    acks: str = ACKS,
    compression: str = COMPRESSION,
    linger_ms: int = LINGER,
    broker_timeout: float | None = BROKER_TIMEOUT,
    quiet: bool = QUIET,
    realtime: bool = REALTIME,
    keep_label: bool = KEEP_LABEL,
    as_json: bool = JSON,
) -> None:
    """Replay a recorded stream into Kafka: one JSON event per row, keyed by its id.

    With a timestamp column and no --speed, --rate or --max the rows keep their own
    pace; a run that would take over 10 minutes is refused unless --realtime.
    """
    from streamscore.producers.replay import replay as run

    stats = run(
        _settings(broker_timeout), data,
        id_col=id_col, ts_col=ts_col, label_col=label_col,
        speed=speed, rate=rate, max_speed=max_speed, limit=limit, skip=skip,
        topic=topic, labels_topic=labels_topic, label_delay=label_delay,
        wait_labels=not no_wait_labels, seed=seed, progress=not quiet,
        producer=_options(acks, compression, linger_ms),
        realtime=realtime, keep_label=keep_label, log=_info,
    )  # fmt: skip
    _finish(stats, as_json)


def synth(
    kind: str = typer.Argument(..., help="agrawal, sea, hyperplane, rbf or data-drift."),
    n: int = typer.Option(..., "--n", help="Rows to generate."),
    drift_at: float = typer.Option(
        0.5, "--drift-at", help="Drift midpoint: a fraction (<1) of --n, or a row index."
    ),
    drift_width: int = typer.Option(1, "--drift-width", help="Rows over which it drifts."),
    seed: int = SEED,
    interval_ms: int = typer.Option(1, "--interval-ms", help="Spacing of the ts column."),
    out: Path = typer.Option(None, "--out", help="Write .parquet, .csv or .jsonl (+ .drift.json)."),
    to_kafka: bool = typer.Option(False, "--replay", help="Send to Kafka instead of a file."),
    speed: float = SPEED,
    rate: float = RATE,
    max_speed: bool = MAX,
    topic: str = TOPIC,
    labels_topic: str = LABELS_TOPIC,
    label_delay: str = LABEL_DELAY,
    no_wait_labels: bool = NO_WAIT,
    acks: str = ACKS,
    compression: str = COMPRESSION,
    linger_ms: int = LINGER,
    broker_timeout: float | None = BROKER_TIMEOUT,
    quiet: bool = QUIET,
    realtime: bool = REALTIME,
    as_json: bool = JSON,
) -> None:
    """Generate a stream with known drift: to a file (--out) or straight into Kafka (--replay)."""
    from streamscore.producers import synthetic

    if (out is None) == (not to_kafka):
        raise ConfigError("give exactly one of --out FILE and --replay")
    frame, sidecar = synthetic.generate(
        kind, n, drift_at=drift_at, drift_width=drift_width, seed=seed, interval_ms=interval_ms
    )
    if out is not None:
        side = synthetic.write(frame, sidecar, out)
        _info(f"wrote {n:,} rows to {out} and the drift positions to {side}")
        if as_json:
            print_json({"out": out, "drift": side, "rows": n, "drift_at": sidecar["drift_at"]})
        return
    from streamscore.producers.replay import replay as run

    _info(f"drift at row {sidecar['drift_at']} (width {drift_width})")
    stats = run(
        _settings(broker_timeout), frame,
        id_col="id", ts_col="ts", label_col="label",
        speed=speed, rate=rate, max_speed=max_speed,
        topic=topic, labels_topic=labels_topic, label_delay=label_delay,
        wait_labels=not no_wait_labels, seed=seed, progress=not quiet, id_prefix=kind,
        producer=_options(acks, compression, linger_ms), realtime=realtime, log=_info,
    )  # fmt: skip
    _finish(stats, as_json)


def register(app: typer.Typer) -> None:
    """Add this package's commands to the ``streamscore`` CLI."""
    app.command("replay")(replay)
    app.command("synth")(synth)
