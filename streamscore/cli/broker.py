"""Commands for the cluster: ``kafka up|down|status``, ``topics create|list``, ``config``."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from streamscore.ground.config import Settings, get_settings

kafka_app = typer.Typer(help="The embedded local Apache Kafka broker (KRaft, 127.0.0.1).")
topics_app = typer.Typer(help="Create and list streamscore's topics.")

err = Console(stderr=True)
out = Console()


def info(message: str) -> None:
    err.print(message, markup=False, highlight=False)


@kafka_app.command("up")
def kafka_up() -> None:
    """Start the local broker, or reuse the running one; print its bootstrap address last."""
    from streamscore.ground.kafka import local
    from streamscore.ground.kafka.admin import wait_for_broker

    settings = get_settings()
    if settings.bootstrap_servers:
        info(f"STREAMSCORE_BOOTSTRAP_SERVERS is set: using {settings.bootstrap_servers}")
        wait_for_broker(settings)
        print(settings.bootstrap_servers)
        return
    broker = local.from_settings(settings)
    bootstrap = broker.start(timeout=settings.local_kafka_start_timeout, log=info)
    print(bootstrap)


@kafka_app.command("down")
def kafka_down() -> None:
    """Stop the local broker; no process is left behind. Its data is kept."""
    from streamscore.ground.kafka import local

    broker = local.from_settings(get_settings())
    info("stopped the local Kafka broker" if broker.stop() else "no local Kafka broker runs")


@kafka_app.command("status")
def kafka_status() -> None:
    """Say whether the local broker runs, where, and with which version."""
    from streamscore.ground.kafka import local

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
    from streamscore.ground.kafka.admin import create_topics, topic_specs

    settings = get_settings()
    result = create_topics(settings)
    for spec in topic_specs(settings):
        print(f"{spec.name}\t{spec.partitions} partitions\t{result[spec.name]}")


@topics_app.command("list")
def topics_list(
    all_topics: bool = typer.Option(False, "--all", help="Include internal topics."),
) -> None:
    """List the topics on the cluster with their partition counts."""
    from streamscore.ground.kafka.admin import describe_topics

    for topic in describe_topics(get_settings()):
        if topic["internal"] and not all_topics:
            continue
        print(f"{topic['name']}\t{topic['partitions']}")


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


def register(app: typer.Typer) -> None:
    app.add_typer(kafka_app, name="kafka", no_args_is_help=True)
    app.add_typer(topics_app, name="topics", no_args_is_help=True)
    app.command("config")(show_config)
