"""Headless Chromium (Debian's ``chromium``) for the tests: screenshots, the DOM after
scripts ran, and the page's console messages. No network: the machine has none, and
the flags turn off everything Chromium would fetch by itself."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--host-resolver-rules=MAP * ~NOTFOUND",  # resolve no name: nothing can leave the machine
    "--enable-logging=stderr",
    "--v=0",
]
# Chromium logs every console message (log, error, an uncaught exception) at one level,
# as ...:INFO:CONSOLE:LINE] "text", source: URL (LINE): so any message is reported.
CONSOLE = re.compile(r":(INFO|WARNING|ERROR):CONSOLE[^\]]*\] \"(?P<text>.*)\", source: ")


@dataclass
class Page:
    stdout: str
    console: list[tuple[str, str]]  # (level, message)


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    assert found, "chromium is not installed: run scripts/install-system-deps (make system-deps)"
    return found


def run(url: str, *args: str, budget_ms: int = 20_000, timeout: float = 120) -> Page:
    """Open ``url`` and let its scripts run for up to ``budget_ms`` of virtual time."""
    with tempfile.TemporaryDirectory(prefix="chromium-") as profile:
        done = subprocess.run(
            [chromium(), *FLAGS, f"--user-data-dir={profile}",
             f"--virtual-time-budget={budget_ms}", *args, url],
            capture_output=True, text=True, timeout=timeout,
        )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    console = [(m.group(1), m.group("text")) for m in CONSOLE.finditer(done.stderr)]
    return Page(done.stdout, console)


def screenshot(url: str, png: Path, width: int, height: int) -> Page:
    png.parent.mkdir(parents=True, exist_ok=True)
    page = run(url, f"--window-size={width},{height}", f"--screenshot={png.resolve()}")
    assert png.is_file(), f"no screenshot of {url}"
    return page


def dump_dom(url: str) -> Page:
    return run(url, "--dump-dom")


def terminal_png(ansi: str, png: Path, columns: int, rows: int) -> None:
    """A picture of a terminal screen captured with its colours (``capture-pane -e``)."""
    from rich.console import Console
    from rich.text import Text

    console = Console(record=True, width=columns, height=rows, force_terminal=True,
                      color_system="truecolor", file=open("/dev/null", "w"))  # noqa: SIM115  # fmt: skip
    console.print(Text.from_ansi(ansi), crop=True, soft_wrap=False)
    # rich's SVG asks a CDN for its font: drop that, the local monospace font draws it
    svg = re.sub(r"@font-face\s*\{[^}]*\}", "", console.export_svg(title="streamscore monitor"))
    width, height = (float(v) for v in re.search(r'viewBox="0 0 ([\d.]+) ([\d.]+)"', svg).groups())
    with tempfile.TemporaryDirectory() as tmp:
        page = Path(tmp) / "screen.html"
        page.write_text(f'<html><body style="margin:0;background:#fff">{svg}</body></html>')
        screenshot(page.as_uri(), png, width=round(width), height=round(height))
