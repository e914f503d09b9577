"""The one front door: ``streamscore <command>``.

Each package adds its own commands (``models.cli``, ``producers.cli``,
``streams.cli``); this module holds the shared ones (``kafka``, ``topics``,
``config``) and turns every :class:`StreamscoreError` into one line on stderr
and exit code 1.
"""

from __future__ import annotations

import sys

import typer
from rich.console import Console
from rich.table import Table

from streamscore.config import Settings, get_settings
from streamscore.errors import StreamscoreError

app = typer.Typer(
    name="streamscore",
    help="Real-time ML inference on Kafka event streams.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
kafka_app = typer.Typer(help="The embedded local Apache Kafka broker (KRaft, 127.0.0.1).")
topics_app = typer.Typer(help="Create and list streamscore's topics.")
app.add_typer(kafka_app, name="kafka", no_args_is_help=True)
app.add_typer(topics_app, name="topics", no_args_is_help=True)

err = Console(stderr=True)
out = Console()


def info(message: str) -> None:
    err.print(message, markup=False, highlight=False)


@kafka_app.command("up")
def kafka_up() -> None:
    """Start the local broker, or reuse the running one; print its bootstrap address last."""
    from streamscore.kafka import local
    from streamscore.kafka.admin import wait_for_broker

    settings = get_settings()
    if settings.bootstrap_servers:
        info(f"STREAMSCORE_BOOTSTRAP_SERVERS is set: using {settings.bootstrap_servers}")
        from streamscore.clients import kafka_python_options

        wait_for_broker(kafka_python_options(settings), timeout=30)
        print(settings.bootstrap_servers)
        return
    broker = local.from_settings(settings)
    bootstrap = broker.start(timeout=settings.local_kafka_start_timeout, log=info)
    print(bootstrap)


@kafka_app.command("down")
def kafka_down() -> None:
    """Stop the local broker; no process is left behind. Its data is kept."""
    from streamscore.kafka import local

    broker = local.from_settings(get_settings())
    info("stopped the local Kafka broker" if broker.stop() else "no local Kafka broker runs")


@kafka_app.command("status")
def kafka_status() -> None:
    """Say whether the local broker runs, where, and with which version."""
    from streamscore.kafka import local

    settings = get_settings()
    if settings.bootstrap_servers:
        print(f"using the cluster at {settings.bootstrap_servers} (STREAMSCORE_BOOTSTRAP_SERVERS)")
    status = local.from_settings(settings).status()
    state = f"running (pid {status['pid']})" if status["running"] else "not running"
    print(f"local broker: {state}")
    for key in ("bootstrap", "version", "state_dir", "log", "jars_cached"):
        print(f"  {key}: {status[key]}")
    if not status["running"]:
        raise typer.Exit(3)


@topics_app.command("create")
def topics_create() -> None:
    """Create every streamscore topic that does not exist yet."""
    from streamscore.kafka.admin import create_topics, topic_specs

    settings = get_settings()
    result = create_topics(settings)
    for spec in topic_specs(settings):
        print(f"{spec.name}\t{spec.partitions} partitions\t{result[spec.name]}")


@topics_app.command("list")
def topics_list(
    all_topics: bool = typer.Option(False, "--all", help="Include internal topics."),
) -> None:
    """List the topics on the cluster with their partition counts."""
    from streamscore.kafka.admin import describe_topics

    for topic in describe_topics(get_settings()):
        if topic["internal"] and not all_topics:
            continue
        print(f"{topic['name']}\t{topic['partitions']}")


@app.command("config")
def show_config() -> None:
    """Print every setting, its environment variable and its current value."""
    settings = get_settings()
    table = Table("environment variable", "value", "meaning")
    for name, field in Settings.model_fields.items():
        value = getattr(settings, name)
        if name == "sasl_password" and value is not None:
            value = "**********"
        table.add_row(Settings.env_name(name), str(value), field.description or "")
    out.print(table)


@app.command("demo")
def demo(
    n_train: int = typer.Option(5_000, help="Events the batch model is trained on."),
    n_stream: int = typer.Option(20_000, help="Events replayed through the worker."),
    rate: float = typer.Option(4_000, help="Replay rate, events/s."),
    seed: int = typer.Option(7, help="Seed of the synthetic stream."),
) -> None:
    """Run the main job end to end: train, start a worker, replay, read back, summarise."""
    from streamscore.demo import print_summary, run_demo

    settings = get_settings()
    result = run_demo(settings, n_train=n_train, n_stream=n_stream, rate=rate, seed=seed)
    print_summary(result)
    lost = result.events - result.predictions
    if lost:
        raise StreamscoreError(f"{lost} events got no prediction")
    info(f"the broker keeps running at {settings.bootstrap}: `streamscore kafka down` stops it")


@app.command("bench")
def bench(
    events: int = typer.Option(
        100_000, "--events", "-n", help="Backlog size scored by the worker."
    ),
    seed: int = typer.Option(0, help="Seed of the synthetic events."),
    latency_rate: float = typer.Option(
        None, help="Events/s of the latency phase (default: half the measured worker rate)."
    ),
) -> None:
    """Measure worker throughput and latency against raw Kafka pass-through, same run."""
    from streamscore.bench import print_report, run_bench

    print_report(run_bench(get_settings(), n=events, seed=seed, latency_rate=latency_rate))


def _register_package_commands() -> None:
    # Each package owns its commands; importing them here keeps one front door.
    import models.cli
    import producers.cli
    import streams.cli

    for module in (models.cli, producers.cli, streams.cli):
        module.register(app)


_register_package_commands()


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
