"""Watching the system: ``tail`` (read any topic) and ``status`` (the workers' group)."""

from __future__ import annotations

import typer

from streamscore.ground.config import get_settings

LINES = 10  # like tail(1)


def tail(
    topic: str = typer.Argument(
        ...,
        help="predictions, drift, dlq, events, labels, model-updates, workers "
        "(the configured names) or any topic name.",
    ),
    lines: int = typer.Option(
        None, "--lines", "-n", min=0, help=f"Print the last N records (default {LINES})."
    ),
    from_beginning: bool = typer.Option(
        False, "--from-beginning", help="Print every record from the start of the topic."
    ),
    follow: bool = typer.Option(
        False, "--follow", "-f", help="Keep printing new records until Ctrl-C."
    ),
    key: str = typer.Option(None, "--key", "-k", help="Only records with this key (event id)."),
    as_json: bool = typer.Option(
        False, "--json", help="One record value a line, as written (pipe-safe JSON Lines)."
    ),
) -> None:
    """Print a topic's records: the last ten, all (--from-beginning), and new ones (--follow)."""
    from streamscore.cli.tailing import Tail, resolve_topic
    from streamscore.ground.errors import ConfigError

    if from_beginning and lines is not None:
        raise ConfigError("give -n N (the last N records) or --from-beginning, not both")
    settings = get_settings()
    name, kind = resolve_topic(settings, topic)
    n = None if from_beginning else (LINES if lines is None else lines)
    Tail(settings, name, kind, n=n, key=key, as_json=as_json).run(follow=follow)


def status(
    group: str = typer.Option(
        None, "--group", "-g", help="Consumer group (default: STREAMSCORE_APP_ID)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document."),
) -> None:
    """The workers in the group: their partitions, lag per partition and the model they serve."""
    from streamscore.cli.grouping import print_status, read_status

    settings = get_settings()
    report = read_status(settings, group or settings.app_id)
    print_status(report, as_json=as_json)


def register(app: typer.Typer) -> None:
    app.command("tail")(tail)
    app.command("status")(status)
