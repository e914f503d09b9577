"""The ``streamscore`` command: one root app, every command module registered on it.

Command modules (``broker``, ``batch``, ``replay``, ``stream``) import only typer
and rich at module level; the libraries a command needs (pandas, scikit-learn,
Kafka clients, Faust) are imported inside it, so ``--help`` answers at once.
Every :class:`StreamscoreError` becomes one line on stderr and exit code 1.
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from rich.console import Console

from streamscore.cli import batch, broker, monitor, replay, report, stream
from streamscore.ground.config import get_settings
from streamscore.ground.errors import StreamscoreError

app = typer.Typer(
    name="streamscore",
    help="Real-time ML inference on Kafka event streams.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
err = Console(stderr=True)


def info(message: str) -> None:
    err.print(message, markup=False, highlight=False)


@app.command("demo")
def demo(
    n_train: int = typer.Option(5_000, help="Events the batch model is trained on."),
    n_stream: int = typer.Option(30_000, help="Events replayed through the worker."),
    rate: float = typer.Option(2_000, help="Replay rate, events/s."),
    seed: int = typer.Option(7, help="Seed of the synthetic stream."),
    out: Path = typer.Option(Path("demo-data"), help="Folder of the report and the worker's log."),
) -> None:
    """The main job end to end: a stream with a known data drift and concept change,
    a worker scoring, learning and measuring drift, the live monitor, a summary and
    the HTML report; exits 1 if any event got no prediction."""
    from streamscore.cli.demo import print_summary, run_demo

    settings = get_settings()
    result = run_demo(settings, n_train=n_train, n_stream=n_stream, rate=rate, seed=seed, out=out)
    print_summary(result)
    if result.missing:
        raise StreamscoreError(f"{result.missing} events got no prediction")
    info(f"the broker keeps running at {settings.bootstrap}: `streamscore kafka down` stops it")


@app.command("bench")
def bench(
    events: int = typer.Option(100_000, "--events", "-n", help="Events in the backlog."),
    seed: int = typer.Option(0, help="Seed of the synthetic events."),
    latency_rate: list[float] = typer.Option(
        None,
        help="Events/s of a latency phase (repeat; default: 1,000 and half the "
        "worker's backlog rate).",
    ),
    trials: int = typer.Option(1, min=1, help="Latency phases per rate."),
    latency_seconds: float = typer.Option(10.0, help="Seconds of each latency phase."),
    naive_events: int = typer.Option(3000, help="Events the naive Faust agent scores."),
    json_path: Path = typer.Option(None, "--json", help="Also write every figure as JSON."),
) -> None:
    """Throughput, CPU per event and latency of the worker against raw Kafka, a hand-written
    batch scorer and a naive Faust agent, measured in one run."""
    import orjson

    from streamscore.cli.bench import print_report, run_bench

    result = run_bench(
        get_settings(), n=events, seed=seed, latency_rates=latency_rate or None, trials=trials,
        latency_seconds=latency_seconds, naive_events=naive_events,
    )  # fmt: skip
    print_report(result)
    if json_path is not None:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_bytes(orjson.dumps(result, option=orjson.OPT_INDENT_2))
        info(f"wrote {json_path}")


for module in (broker, batch, replay, stream, monitor, report):
    module.register(app)


def main() -> None:
    try:
        app()
    except StreamscoreError as exc:
        err.print(f"error: {exc}", markup=False, highlight=False, soft_wrap=True)
        sys.exit(1)
    except KeyboardInterrupt:
        err.print("interrupted", markup=False)
        sys.exit(130)


if __name__ == "__main__":
    main()
