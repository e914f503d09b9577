"""The fault harness prints one table of every scenario's figures at the end of the run."""

from __future__ import annotations

import orjson

from tests.faults.harness import ROWS, table


def pytest_terminal_summary(terminalreporter, exitstatus, config):  # noqa: ARG001
    if ROWS:
        terminalreporter.write_sep("=", "fault harness")
        terminalreporter.write_line(table(ROWS))
        with open("faults.json", "wb") as out:
            out.write(orjson.dumps([row.__dict__ for row in ROWS], option=orjson.OPT_INDENT_2))
