"""``streamscore report`` from the drift topic, opened in headless Chromium with no
network: every plot is drawn, the page logs nothing, and its screenshot shows the
plots in colour. Set ``SCREENSHOT_DIR`` (``make screenshots``) to keep ``report.png``."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from tests.cli import browser, scene
from tests.kafka_helpers import settings_env

pytestmark = pytest.mark.integration

BLUE, RED, ALERTED_ROW = (0x1F, 0x77, 0xB4), (0xD6, 0x27, 0x28), (0xFF, 0xF4, 0xE0)


def _near(pixels: list, colour: tuple[int, int, int], tolerance: int = 12) -> int:
    return sum(
        n
        for n, rgb in pixels
        if all(abs(a - b) <= tolerance for a, b in zip(rgb, colour, strict=False))
    )


def test_the_report_renders_every_plot_offline_without_errors(settings_factory, tmp_path):
    settings = settings_factory()
    records = scene.drift_history(settings)
    out = tmp_path / "report"
    done = subprocess.run(
        [sys.executable, "-m", "streamscore", "report", "--out", str(out)],
        capture_output=True, text=True, timeout=300,
        env={**os.environ, **settings_env(settings)},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    page = Path(done.stdout.strip().splitlines()[-1])
    url = page.as_uri()

    # every figure was drawn: each plotly div holds its SVG with drawn traces
    dom = browser.dump_dom(url)
    assert dom.console == [], dom.console
    statistics = {r["name"] for r in records if r["kind"] in ("feature", "prediction")}
    figures = dom.stdout.split('class="plotly-graph-div')[1:]
    assert len(figures) == len(statistics) + 2  # one per feature and the score, models, delay
    for figure in figures:
        assert 'class="main-svg"' in figure and re.search(r'class="scatterlayer.*?d="M', figure)
    assert dom.stdout.count('class="alerting"') == 0 and dom.stdout.count('class="alerted"') == 6

    # the screenshot: not blank, plots in colour below the summary, alerts marked in red
    shot = tmp_path / "report.png"
    view = browser.screenshot(url, shot, width=1400, height=6000)
    assert view.console == [], view.console
    image = Image.open(shot).convert("RGB")
    colours = image.getcolors(maxcolors=1 << 20)
    assert colours is not None and len(colours) > 500  # not a blank or a one-colour page
    top, plots = image.crop((0, 0, 1400, 1200)), image.crop((0, 1200, 1400, 6000))
    plot_colours = plots.getcolors(maxcolors=1 << 20)
    assert _near(plot_colours, BLUE) > 20_000  # the statistics' lines
    assert _near(plot_colours, RED) > 200  # the six alert markers (▲, ~70 px each)
    assert _near(top.getcolors(maxcolors=1 << 20), ALERTED_ROW) > 10_000  # 6 rows: raised, cleared

    directory = os.environ.get("SCREENSHOT_DIR")
    if directory:
        browser.screenshot(url, Path(directory) / "report.png", width=1400, height=2300)


def test_the_console_check_sees_an_error(tmp_path):
    # the check above must be able to fail: a page that throws is reported
    page = tmp_path / "throwing.html"
    page.write_text("<html><body><script>undefined_function();</script></body></html>")
    (level, message), *_ = browser.dump_dom(page.as_uri()).console
    assert "Uncaught ReferenceError" in message
