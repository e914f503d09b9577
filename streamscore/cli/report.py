"""``streamscore report --out DIR``: the ``drift`` topic (or a saved copy) as one HTML page.

:func:`write_report` reads the records, keeps one model's between two times, and
writes ``DIR/index.html`` (self-contained: see :mod:`~streamscore.cli.report_html`).
The demo calls it after its run::

    path = write_report(settings, Path("demo-data/report"), model="demo")
"""

from __future__ import annotations

from pathlib import Path

import typer

from streamscore.ground.config import Settings, get_settings
from streamscore.ground.errors import ConfigError, DataError, StreamscoreError

READ_TIMEOUT = 600.0  # seconds to read the whole drift topic


def parse_time(text: str | None, option: str) -> int | None:
    """``--since``/``--until``: epoch milliseconds or ISO-8601 (no offset = UTC).

    >>> parse_time("1767225600000", "--since"), parse_time("2026-01-01T00:00:00Z", "--since")
    (1767225600000, 1767225600000)
    """
    from streamscore.ground.times import parse_ms

    if text is None:
        return None
    try:
        return parse_ms(int(text) if text.strip().lstrip("-").isdigit() else text)
    except ValueError as exc:
        raise ConfigError(f"{option} {text!r}: {str(exc).replace('ts must be', 'use')}") from None


def write_report(
    settings: Settings,
    out: Path,
    *,
    model: str | None = None,
    since: int | None = None,
    until: int | None = None,
    input_file: Path | None = None,
) -> Path:
    """Write ``out/index.html`` and return its path; StreamscoreError when no record is left.

    Records come from ``input_file`` (JSON Lines) when given, else from the whole
    ``drift`` topic; ``since``/``until`` are epoch ms, compared with each record's ``ts``.
    """
    from streamscore.cli.drift_feed import Skipped, check
    from streamscore.cli.report_data import arrange, read_jsonl
    from streamscore.cli.report_html import render_page
    from streamscore.ground.times import now_ms

    skipped = Skipped()
    records: list[dict | None]
    if input_file is not None:
        source = str(input_file)
        records = list(read_jsonl(input_file, skipped))
    else:
        from streamscore.ground.kafka.reading import iter_topic

        source = f"topic {settings.drift_topic} on {settings.bootstrap}"
        records = [
            check(r.value, skipped, r.timestamp_ms)
            for r in iter_topic(
                settings, settings.drift_topic, timeout=READ_TIMEOUT, must_exist=True
            )
        ]
    data = arrange(records, model, since, until)
    if data is None:
        raise DataError(f"no drift records{_scope(model, since, until)} in {source}")
    out.mkdir(parents=True, exist_ok=True)
    path = out / "index.html"
    tmp = path.with_suffix(".html.tmp")
    tmp.write_text(render_page(data, source, skipped.summary(), now_ms()), encoding="utf-8")
    tmp.replace(path)
    return path


def _scope(model: str | None, since: int | None, until: int | None) -> str:
    from streamscore.cli.report_html import when

    parts = [f" for model {model!r}" if model else ""]
    if since is not None:
        parts.append(f" since {when(since)} UTC")
    if until is not None:
        parts.append(f" until {when(until)} UTC")
    return "".join(parts)


def report(
    out: Path = typer.Option(..., "--out", "-o", help="Directory to write index.html into."),
    model: str = typer.Option(
        None, "--model", "-m", help="Model to report (default: the one with most records)."
    ),
    since: str = typer.Option(
        None,
        help="Only records written at or after this time (epoch ms or ISO-8601, no offset = UTC).",
    ),
    until: str = typer.Option(None, help="Only records written at or before this time."),
    input_file: Path = typer.Option(
        None, "--input", "-i", help="Read this JSON Lines file instead of the drift topic."
    ),
) -> None:
    """Write a self-contained HTML report of drift, alerts and model performance."""
    start, end = parse_time(since, "--since"), parse_time(until, "--until")
    if start is not None and end is not None and start > end:
        raise ConfigError(f"--since {since} is after --until {until}")
    try:
        path = write_report(
            get_settings(), out, model=model, since=start, until=end, input_file=input_file
        )
    except OSError as exc:
        raise StreamscoreError(f"cannot write the report into {out}: {exc}") from None
    typer.echo(str(path))


def register(app: typer.Typer) -> None:
    app.command("report")(report)
