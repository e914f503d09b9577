"""Commands for the cluster: ``kafka up|down|status``, ``topics create|list``, ``config``."""

from __future__ import annotations

from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from streamscore.cli.output import print_json, print_table
from streamscore.ground.config import Settings, get_settings

kafka_app = typer.Typer(help="The embedded local Apache Kafka broker (KRaft, 127.0.0.1).")
topics_app = typer.Typer(help="Create and list streamscore's topics.")

err = Console(stderr=True, soft_wrap=True)  # a message is one line, also in a log file


def info(message: str) -> None:
    err.print(message, markup=False, highlight=False)


@kafka_app.command("up")
def kafka_up() -> None:
    """Start the local broker, or reuse the running one; print its bootstrap address last.

    With STREAMSCORE_BOOTSTRAP_SERVERS set nothing is started: the configured
    cluster is checked and its address printed.
    """
    from streamscore.ground.kafka import local
    from streamscore.ground.kafka.admin import wait_for_broker

    settings = get_settings()
    if settings.bootstrap_servers:
        info(
            f"STREAMSCORE_BOOTSTRAP_SERVERS is set: nothing to start, using the cluster at "
            f"{settings.bootstrap_servers}"
        )
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

    settings = get_settings()
    stopped = local.from_settings(settings).stop()
    info("stopped the local Kafka broker" if stopped else "no local Kafka broker runs")
    if settings.bootstrap_servers:
        info(f"the cluster at {settings.bootstrap_servers} (STREAMSCORE_BOOTSTRAP_SERVERS) "
             "is not streamscore's to stop")  # fmt: skip


@kafka_app.command("status")
def kafka_status(
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document."),
) -> None:
    """Whether the cluster in use answers: the configured one, or the local broker.

    Exit code 0 when it answers, 3 when it does not (or the local broker is not running).
    """
    settings = get_settings()
    report = _configured_status(settings) if settings.bootstrap_servers else _local_status(settings)
    if as_json:
        print_json(report)
    else:
        _print_status(report)
    if not report["running"]:
        raise typer.Exit(3)


def _configured_status(settings: Settings) -> dict[str, Any]:
    from streamscore.ground.errors import BrokerError
    from streamscore.ground.kafka.admin import describe_cluster

    report: dict[str, Any] = {"kind": "configured", "bootstrap": settings.bootstrap}
    try:
        cluster = describe_cluster(settings)
    except BrokerError as exc:
        return {**report, "running": False, "error": str(exc)}
    return {**report, "running": True, **cluster}


def _local_status(settings: Settings) -> dict[str, Any]:
    from streamscore.ground.kafka import local

    return {"kind": "local", **local.from_settings(settings).status()}


def _print_status(report: dict[str, Any]) -> None:
    if report["kind"] == "configured":
        where = f"cluster at {report['bootstrap']} (STREAMSCORE_BOOTSTRAP_SERVERS)"
        if not report["running"]:
            print(f"{where}: not reachable")
            print(f"  error: {report['error']}")
            return
        brokers = report["brokers"]
        print(f"{where}: reachable")
        addresses = ", ".join(f"{b['host']}:{b['port']}" for b in brokers)
        print(f"  brokers: {len(brokers)} ({addresses})")
        print(f"  version: {report['version'] or 'unknown'}")
        print(f"  cluster_id: {report['cluster_id']}")
        print(f"  controller: {report['controller_id']}")
        return
    state = f"running (pid {report['pid']})" if report["running"] else "not running"
    print(f"local broker: {state}")
    for key in ("bootstrap", "version", "state_dir", "log", "jars_cached"):
        print(f"  {key}: {report[key]}")


@topics_app.command("create")
def topics_create(
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document."),
) -> None:
    """Create every streamscore topic that does not exist yet."""
    from streamscore.ground.kafka.admin import create_topics, topic_specs

    settings = get_settings()
    result = create_topics(settings)
    rows = [
        {"name": spec.name, "partitions": spec.partitions, "result": result[spec.name]}
        for spec in topic_specs(settings)
    ]
    if as_json:
        print_json(rows)
        return
    for row in rows:
        print(f"{row['name']}\t{row['partitions']} partitions\t{row['result']}")


@topics_app.command("list")
def topics_list(
    all_topics: bool = typer.Option(False, "--all", help="Include internal topics."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document."),
) -> None:
    """List the topics on the cluster with their partition counts."""
    from streamscore.ground.kafka.admin import describe_topics

    topics = [t for t in describe_topics(get_settings()) if all_topics or not t["internal"]]
    if as_json:
        print_json(topics)
        return
    for topic in topics:
        print(f"{topic['name']}\t{topic['partitions']}")


def show_config(
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document."),
) -> None:
    """Print every setting: its environment variable, the value in use, where it came from."""
    settings = get_settings()
    rows = config_rows(settings)
    if as_json:
        print_json(
            {row["variable"]: {k: v for k, v in row.items() if k != "variable"} for row in rows}
        )
        return
    table = Table("environment variable", "value", "source", "meaning")
    for row in rows:
        value = "" if row["value"] is None else str(row["value"])
        table.add_row(row["variable"], value, row["source"], row["meaning"])
    print_table(table)


def config_rows(settings: Settings) -> list[dict[str, Any]]:
    """Each setting's variable, value in use, source (environment or .env / default) and meaning.

    The bootstrap servers show the address clients use: unset means the local broker.
    """
    rows = []
    for name, field in Settings.model_fields.items():
        value: Any = getattr(settings, name)
        if name == "sasl_password" and value is not None:
            value = "**********"
        elif name == "bootstrap_servers" and value is None:
            value = settings.bootstrap  # what clients connect to: the local broker
        rows.append(
            {
                "variable": Settings.env_name(name),
                "value": value,
                "source": "set" if name in settings.model_fields_set else "default",
                "meaning": field.description or "",
            }
        )
    return rows


def register(app: typer.Typer) -> None:
    app.add_typer(kafka_app, name="kafka", no_args_is_help=True)
    app.add_typer(topics_app, name="topics", no_args_is_help=True)
    app.command("config")(show_config)
