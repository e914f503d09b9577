"""``streamscore report`` from a saved JSON Lines copy: the numbers in the page, the time
range, records it cannot read, and the one line it prints when nothing is left."""

from __future__ import annotations

import functools
import re
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from streamscore.cli.report_html import when
from tests.cli.drift_history import history

START = 1_767_225_600_000  # 2026-01-01T00:00:00Z
WINDOW_MS = 5_000


@functools.cache
def records() -> tuple[dict, ...]:
    return tuple(history(START, ms_per_window=WINDOW_MS))


def _save(path: Path, lines: list) -> Path:
    path.write_bytes(b"".join(line if isinstance(line, bytes) else orjson.dumps(line) + b"\n"
                              for line in lines))  # fmt: skip
    return path


def _report(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "streamscore", "report", *args],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def summary(page: str) -> dict[tuple[str, str], list[str]]:
    """The summary table: (statistic, metric) -> its cells."""
    table = page.split('<table class="summary">', 1)[1].split("</table>", 1)[0]
    rows = {}
    for row in re.findall(r"<tr[^>]*>(.*?)</tr>", table.split("<tbody>", 1)[1]):
        cells = re.findall(r"<td>(.*?)</td>", row)
        rows[(cells[0], cells[2])] = cells
    return rows


def test_a_saved_copy_becomes_a_self_contained_page_with_the_right_numbers(tmp_path):
    recs = list(records())
    saved = recs[:100] + [
        # what `tail drift --json` may write: the Kafka record around the value
        {"key": "synthetic/x", "partition": 0, "offset": i, "timestamp_ms": r["ts"], "value": r}
        for i, r in enumerate(recs[100:])
    ]
    saved += [b"{not json\n", {"kind": "gossip", "name": "x", "metric": "y", "ts": START}]
    saved.append({**recs[-1], "model": "other"})
    step = {"kind": "challenger", "name": "retrain", "metric": "accuracy", "value": 0.9,
            "threshold": 0.6, "state": "promoted", "candidate": "2"}  # fmt: skip
    saved.append({**recs[-1], **step})
    source = _save(tmp_path / "drift.jsonl", saved)

    done = _report("--input", str(source), "--out", str(tmp_path / "out"), "--model", "synthetic")

    assert done.returncode == 0, done.stderr
    page_path = Path(done.stdout.strip().splitlines()[-1])
    assert page_path == tmp_path / "out" / "index.html"
    page = page_path.read_text()
    raised = {(r["name"], r["metric"]): r["ts"] for r in recs if r["kind"] == "alert"
              and r["state"] == "raise"}  # fmt: skip
    assert set(raised) == {("x0", "psi"), ("x0", "ks"), ("c0", "psi"), ("c0", "chi2"),
                           ("score", "psi"), ("score", "ks")}  # fmt: skip
    table = summary(page)
    for key, ts in raised.items():
        cells = table[key]
        assert cells[5] == "1" and cells[6] == when(ts) and cells[7] == "ok", cells  # cleared
    last = next(r for r in reversed(recs) if (r["name"], r["metric"]) == ("x3", "ks"))
    assert table[("x3", "ks")][3] == f"{last['value']:.4g}"
    assert table[("x3", "ks")][5] == "0" and table[("x3", "ks")][6] == "-"
    assert "2 records skipped" in page and "unknown kind" in page
    assert re.search(
        r"<td>retrain promoted</td><td>retrain</td><td>accuracy</td><td>0.9</td>", page
    )
    assert "Other models in the source (not shown): other" in page
    # self-contained: plotly.js inline, nothing to fetch
    assert page.count("<script") >= 10 and not re.search(r"<script[^>]+src=", page)
    assert not re.search(r"<link[^>]+href=", page) and "cdn.plot.ly" not in page.split("</head>")[1]
    assert "unknown kind 'gossip'" in done.stderr  # logged once, not fatal


def test_since_and_until_choose_the_windows(tmp_path):
    source = _save(tmp_path / "drift.jsonl", list(records()))
    drift_starts = START + 9 * WINDOW_MS  # the first window of the shift ends then
    before = _report("--input", str(source), "--out", str(tmp_path / "before"),
                     "--until", str(drift_starts - 1))  # fmt: skip
    assert before.returncode == 0, before.stderr
    table = summary((tmp_path / "before" / "index.html").read_text())
    assert all(cells[5] == "0" for cells in table.values())
    during = _report("--input", str(source), "--out", str(tmp_path / "during"),
                     "--since", "2026-01-01T00:00:40Z",
                     "--until", "2026-01-01T00:01:20Z")  # fmt: skip
    assert during.returncode == 0, during.stderr
    table = summary((tmp_path / "during" / "index.html").read_text())
    assert table[("x0", "psi")][5] == "1" and table[("x0", "psi")][7] == "ALERT"
    assert table[("x1", "psi")][5] == "0"


@pytest.mark.parametrize(
    ("lines", "args", "message"),
    [
        ([], [], "error: no drift records in "),
        ([{"kind": "gossip", "name": "x", "metric": "m", "ts": 0}], [], "no drift records in"),
        (None, ["--model", "nope"], "no drift records for model 'nope' in"),
        (None, ["--since", "2030-01-01"], "no drift records since 2030-01-01 00:00:00 UTC in"),
        (None, ["--since", "last week"], "error: --since 'last week': use epoch milliseconds"),
    ],
)
def test_without_records_one_line_and_a_non_zero_exit(tmp_path, lines, args, message):
    source = _save(tmp_path / "drift.jsonl", list(records()[:50]) if lines is None else lines)
    done = _report("--input", str(source), "--out", str(tmp_path / "out"), *args)
    assert done.returncode == 1
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and message in errors[0], done.stderr
    assert not (tmp_path / "out" / "index.html").exists()


def test_a_missing_input_file_says_so(tmp_path):
    done = _report("--input", str(tmp_path / "nope.jsonl"), "--out", str(tmp_path / "out"))
    assert done.returncode == 1 and "nope.jsonl: no such file" in done.stderr
