"""The ``streamscore`` command: one root app, every command module registered on it.

Command modules (``broker``, ``batch``, ``replay``, ``stream``, ``watch``) import only
typer and rich at module level; the libraries a command needs (pandas,
scikit-learn, Kafka clients, Faust) are imported inside it, so ``--help`` answers
at once.

Every mistake is one line on stderr and a non-zero exit code: a
:class:`StreamscoreError` (bad setting, unreachable broker, bad data) is
``error: ...`` and exit 1; a usage error (unknown option, a value out of range) is
``error: ...`` naming the command's ``--help`` and exit 2. Ctrl-C exits 130; a
closed pipe (``| head``) ends the command quietly with exit 1 (typer's handling).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import typer
import typer.main
from rich.console import Console

from streamscore import __version__
from streamscore.cli import batch, broker, monitor, replay, report, stream, watch
from streamscore.ground.config import get_settings
from streamscore.ground.errors import StreamscoreError

app = typer.Typer(
    name="streamscore",
    help="Real-time ML inference on Kafka event streams.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=True,  # --install-completion / --show-completion (bash, zsh, fish)
)
err = Console(stderr=True, soft_wrap=True)


def info(message: str) -> None:
    err.print(message, markup=False, highlight=False)


def _print_version(value: bool) -> None:
    if value:
        print(f"streamscore {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: bool = typer.Option(
        False, "--version", "-V", is_eager=True, callback=_print_version, help="Print the version."
    ),
) -> None:
    """Real-time ML inference on Kafka event streams."""


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
    exports = " ".join(f"{k}={v}" for k, v in result.env.items())
    info(f"this run's group and topics, for tail, monitor, status and report: export {exports}")


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


for module in (broker, batch, replay, stream, watch, monitor, report):
    module.register(app)


def command() -> Any:
    """The click command behind ``app``, with flags shown without a ``<bool>`` type."""
    root_command = typer.main.get_command(app)
    _plain_flags(root_command, None)
    return root_command


def _plain_flags(cmd: Any, parent: Any) -> None:
    # typer's rich help prints a flag's type (`--json <bool>`); a flag takes no value.
    ctx = typer.Context(cmd, info_name=cmd.name, parent=parent)
    for param in cmd.get_params(ctx):  # includes the generated --help
        if getattr(param, "is_flag", False) and not getattr(param, "count", False):
            param.metavar = ""
    for sub in getattr(cmd, "commands", {}).values():
        _plain_flags(sub, ctx)


def _fail(message: str, code: int) -> int:
    err.print(f"error: {message}", markup=False, highlight=False, soft_wrap=True)
    return code


def run(argv: Sequence[str] | None = None) -> int:
    """Run ``streamscore ARGV``; the exit code."""
    try:
        result = command().main(
            args=list(argv) if argv is not None else None,
            prog_name="streamscore",
            standalone_mode=False,
        )
    except StreamscoreError as exc:
        return _fail(str(exc), 1)
    except typer.TyperException as exc:  # click's usage errors (vendored by typer)
        ctx = getattr(exc, "ctx", None)
        if type(exc).__name__ == "NoArgsIsHelpError":  # `streamscore kafka`: its help
            print(exc.format_message(), end="")  # (rich has printed it already)
            return exc.exit_code
        message = exc.format_message().strip().replace("\n", " ").rstrip(".")
        message = message.replace("Value error, ", "")  # typer's wording of a bad choice
        if ctx is not None:
            message += f" (see `{ctx.command_path} --help`)"
        return _fail(message[:1].lower() + message[1:], exc.exit_code)
    except typer.Abort:
        return 130
    return result if isinstance(result, int) else 0


def main() -> None:
    sys.exit(run())


if __name__ == "__main__":
    main()
