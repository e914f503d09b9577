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
from typing import Any

import typer
import typer.main
from rich.console import Console

from streamscore import __version__
from streamscore.cli import batch, broker, replay, stream, watch
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
    n_stream: int = typer.Option(20_000, help="Events replayed through the worker."),
    rate: float = typer.Option(4_000, help="Replay rate, events/s."),
    seed: int = typer.Option(7, help="Seed of the synthetic stream."),
) -> None:
    """Run the main job end to end: train, start a worker, replay, read back, summarise."""
    from streamscore.cli.demo import print_summary, run_demo

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
    from streamscore.cli.bench import print_report, run_bench

    print_report(run_bench(get_settings(), n=events, seed=seed, latency_rate=latency_rate))


for module in (broker, batch, replay, stream, watch):
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
