"""``streamscore worker``: run the Faust worker."""

from __future__ import annotations

import typer

from streamscore.config import get_settings


def worker() -> None:
    """Run a Faust worker: score events, write predictions (Ctrl-C stops it cleanly)."""
    from faust import Worker

    from streams import scoring
    from streams.app import create_app

    settings = get_settings()
    app = create_app(settings)
    scoring.install(app, settings)
    Worker(app, loglevel=settings.log_level, quiet=True).execute_from_commandline()


def register(app: typer.Typer) -> None:
    app.command("worker")(worker)
