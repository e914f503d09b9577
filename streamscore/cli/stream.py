"""Streaming commands: ``worker`` and ``dlq show|replay``."""

from __future__ import annotations

import enum

import typer

from streamscore.ground.config import Settings, get_settings
from streamscore.ground.errors import ConfigError

dlq_app = typer.Typer(help="Inspect and re-send dead letters (events-dlq).")


class Stage(enum.StrEnum):
    """Where an event failed (the ``stage`` field of a dead letter)."""

    decode = "decode"
    validate = "validate"
    score = "score"
    label = "label"


def check_web_ports(settings: Settings, ports: list[int]) -> None:
    """Fail with one line before starting when a worker's web port is taken."""
    from streamscore.ground.kafka.local import port_is_free

    for port in ports:
        if not port_is_free(port, settings.web_host):
            raise ConfigError(
                f"web port {port} on {settings.web_host} is in use (another worker?): give this "
                "worker its own with --web-port PORT or STREAMSCORE_WEB_PORT"
            )


_LEVELS = {"debug": 10, "info": 20, "warn": 20, "error": 40}  # warn: our info lines still show


def worker(
    model: str = typer.Option(
        None, "--model", "-m", help="Model name (default: STREAMSCORE_MODEL_NAME)."
    ),
    web_port: int = typer.Option(
        None,
        "--web-port",
        help="Port of /metrics, /health and /ready (default: STREAMSCORE_WEB_PORT).",
    ),
    processes: int = typer.Option(
        1,
        "--processes",
        "-p",
        min=1,
        help="Worker processes in the group on this machine (one per core); process i "
        "serves its web endpoint on the web port + i. Ctrl-C or SIGTERM stops them all.",
    ),
) -> None:
    """Run a Faust worker: score every event, dead-letter bad ones, follow model promotions."""
    import logging

    settings = get_settings()
    port = settings.web_port if web_port is None else web_port
    check_web_ports(settings, [port + i for i in range(processes)])
    if processes > 1:
        from streamscore.cli.processes import supervise

        base = ["worker"] + (["--model", model] if model else [])
        raise typer.Exit(
            supervise([[*base, "--web-port", str(port + i)] for i in range(processes)])
        )

    from faust import Worker

    from streamscore.streams.worker import build_worker

    # Faust and its libraries log at STREAMSCORE_LOG_LEVEL; the worker's own few lines
    # (ready, model swaps, refused updates) at info unless that level is error. Our
    # logger has its own handler: Faust's handler drops records below its level.
    ours = logging.getLogger("streamscore")
    ours.setLevel(min(logging.INFO, _LEVELS[settings.log_level]))
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("[%(asctime)s] [%(process)d] %(levelname)s %(message)s"))
    ours.addHandler(handler)
    ours.propagate = False
    settings = settings.model_copy(update={"web_port": port})
    app = build_worker(settings, model)
    runner = Worker(app, loglevel=settings.log_level, quiet=True)
    # Faust's terminal spinner sets the root logger to DEBUG so that every log call
    # spins it; aiokafka then builds a debug record per sent message (~15% of a
    # worker's time, measured). No spinner, no per-message logging.
    runner.spinner = None
    runner.execute_from_commandline()


@dlq_app.command("show")
def dlq_show(
    limit: int = typer.Option(50, min=1, help="Print at most this many letters (newest last)."),
    stage: Stage = typer.Option(None, help="Only letters from this stage."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object a line, verbatim."),
) -> None:
    """Print dead letters: where they sit (PARTITION:OFFSET), stage, reason, original payload."""
    import orjson

    from streamscore.streams.dlq import read_letters

    letters = [
        letter
        for letter in read_letters(get_settings())
        if stage is None or letter.body.get("stage") == stage.value
    ]
    for letter in letters[-limit:]:
        if as_json:
            print(orjson.dumps({"ref": letter.ref, **letter.body}).decode())
            continue
        body = letter.body
        source = f"{body.get('topic')}[{body.get('partition')}]@{body.get('offset')}"
        value = str(body.get("value"))
        value = value if len(value) <= 120 else value[:117] + "..."
        print(f"{letter.ref}\t{body.get('stage')}\t{source}\t{body.get('error')}\t{value}")
    typer.echo(f"{len(letters)} dead letters", err=True)


@dlq_app.command("replay")
def dlq_replay(
    refs: list[str] = typer.Argument(None, help="Letters to re-send, as PARTITION:OFFSET."),
    stage: Stage = typer.Option(None, help="Re-send every letter of this stage."),
    all_letters: bool = typer.Option(False, "--all", help="Re-send every letter."),
    topic: str = typer.Option(
        None, help="Target topic (default: the topic each letter came from: events or labels)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document."),
) -> None:
    """Send chosen dead letters' original key and bytes back to the topic they came from."""
    from streamscore.streams.dlq import parse_refs, read_letters, replay_letters

    if not refs and stage is None and not all_letters:
        raise ConfigError("choose letters: PARTITION:OFFSET ..., --stage STAGE or --all")
    wanted = parse_refs(refs or [])
    settings = get_settings()
    chosen = [
        letter
        for letter in read_letters(settings)
        if all_letters
        or (letter.partition, letter.offset) in wanted
        or (stage is not None and letter.body.get("stage") == stage.value)
    ]
    missing = wanted - {(letter.partition, letter.offset) for letter in chosen}
    if missing:
        raise ConfigError(f"no dead letter at {', '.join(f'{p}:{o}' for p, o in sorted(missing))}")
    sent = replay_letters(settings, chosen, topic)
    if as_json:
        from streamscore.cli.output import print_json

        print_json({"resent": sum(sent.values()), "topics": sent,
                    "letters": [letter.ref for letter in chosen]})  # fmt: skip
        return
    where = ", ".join(f"{n} to {name}" for name, n in sent.items()) or "none"
    print(f"re-sent {sum(sent.values())} dead letters: {where}")


def register(app: typer.Typer) -> None:
    app.command("worker")(worker)
    app.add_typer(dlq_app, name="dlq", no_args_is_help=True)
