"""Commands of this package, added to ``streamscore`` by ``register``."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add this package's commands to the ``streamscore`` CLI."""
