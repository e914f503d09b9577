"""What commands print: JSON for scripts, tables for people, both safe in a pipe.

``--json`` output is UTF-8 JSON on stdout (one document, or one record a line for
streams), flushed as it is written; messages for people go to stderr. A table on
a terminal fits the terminal; piped, it is never cut (no width limit), so ``grep``
and ``less`` see whole names.

>>> json_text({"path": Path("a/b"), "n": 1})
'{"path":"a/b","n":1}'
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import orjson
from rich.console import Console
from rich.table import Table

WIDE = 1_000  # columns of a piped table: wide enough that nothing is folded or cut


def _default(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "get_secret_value"):
        return "**********"
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    raise TypeError(f"not JSON: {type(value).__name__}")


def json_text(value: Any, indent: bool = False) -> str:
    option = orjson.OPT_INDENT_2 if indent else 0
    return orjson.dumps(value, default=_default, option=option | orjson.OPT_NON_STR_KEYS).decode()


def print_json(value: Any) -> None:
    """One JSON document on stdout (indented on a terminal, compact in a pipe)."""
    print(json_text(value, indent=sys.stdout.isatty()), flush=True)


def print_line(text: str) -> None:
    """One line on stdout, flushed at once (``tail --follow | grep`` sees it now)."""
    print(text, flush=True)


def stdout() -> Console:
    """A console for tables: the terminal's width, or no limit when piped."""
    console = Console(soft_wrap=True)
    return console if console.is_terminal else Console(soft_wrap=True, width=WIDE)


def print_table(table: Table) -> None:
    stdout().print(table)


def plain_table(*columns: str, title: str | None = None) -> Table:
    """A table whose cells are never folded: long values stay on one line."""
    table = Table(title=title)
    for name in columns:
        table.add_column(name, overflow="fold" if sys.stdout.isatty() else "ignore")
    return table
