"""A rich progress bar on stderr: events sent, rate, ETA; and the closing summary."""

from __future__ import annotations

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text


class RateColumn(ProgressColumn):
    """Events per second over the whole run so far."""

    def render(self, task: Task) -> Text:
        elapsed = task.elapsed or 0.0
        rate = task.completed / elapsed if elapsed > 0 else 0.0
        return Text(f"{rate:,.0f} ev/s", style="progress.data.speed")


class Bar:
    """Progress of a run; does nothing when ``enabled`` is False."""

    def __init__(self, total: int | None, description: str, enabled: bool = True) -> None:
        self.enabled = enabled
        if not enabled:
            return
        self.progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            RateColumn(),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=Console(stderr=True),
            refresh_per_second=4,
            transient=False,
        )
        self.task = self.progress.add_task(description, total=total)
        self.progress.start()

    def update(self, completed: int) -> None:
        if self.enabled:
            self.progress.update(self.task, completed=completed)

    def close(self) -> None:
        if self.enabled:
            self.progress.stop()
