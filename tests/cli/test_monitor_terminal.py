"""``streamscore monitor`` in a real terminal (tmux, 160x50), read as a user reads it.

Set ``SCREENSHOT_DIR`` (``make screenshots``) to also save the screen as
``monitor.png`` there.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pytest

from streamscore.cli.dashboard import FEATURES_WIDTH
from tests.cli import scene
from tests.cli.browser import terminal_png
from tests.cli.terminal import PROMPT, Tmux
from tests.kafka_helpers import settings_env

pytestmark = pytest.mark.integration


@pytest.fixture
def terminal_factory(unique):
    started: list[Tmux] = []

    def start(settings) -> Tmux:
        env = {**os.environ, **settings_env(settings), "COLUMNS": "", "LINES": ""}
        env = {k: v for k, v in env.items() if v and not k.startswith("TMUX")}
        tmux = Tmux(unique("monitor"), env)
        started.append(tmux)
        return tmux

    yield start
    for tmux in started:
        tmux.close()


def _rate(screen: str, what: str = "events/s") -> float:
    match = re.search(rf"{what} ([\d,.]+)", screen)
    return float(match.group(1).replace(",", "")) if match else 0.0


def test_the_dashboard_shows_alerts_version_rates_and_ctrl_c_leaves_a_clean_terminal(
    settings_factory, terminal_factory, tmp_path
):
    settings = settings_factory()
    scene.drift_history(settings, drift_until=99)  # x0 and c0 drift to the end
    lag = scene.lagging_group(settings, events=400, lag_per_partition=60)
    tty = terminal_factory(settings)
    tty.type(f"stty -g > {tmp_path}/tty-before")
    with scene.predictions_flowing(settings, per_second=200, dead_letters_per_second=5):
        tty.type(f"{sys.executable} -m streamscore monitor --from-beginning")
        screen = tty.wait_for(
            lambda s: (
                "ALERT" in s
                and "synthetic v3" in s
                and _rate(s) > 0
                and f"lag {lag}" in s
                and _rate(s, "dead letters/s") > 0
            ),
            timeout=90,
        )
        colours = tty.screen(colours=True)
    assert tty.display("#{alternate_on}") == "1"  # a full-screen dashboard, like top
    rows = {  # the features panel: the left FEATURES_WIDTH columns
        line.split()[1]: line[:FEATURES_WIDTH]
        for line in screen.splitlines()
        if line.startswith("│  ")
    }
    for feature, metrics in (("x0", "psi,ks"), ("c0", "psi,chi2")):
        assert f"ALERT {metrics}" in rows[feature], rows[feature]
    assert "ok" in rows["x5"] and "ALERT" not in rows["x5"]
    assert re.search(r"score \(pred\.\).*ALERT psi,ks", screen)
    assert "online model learned 4,321" in screen
    assert re.search(r"batch\s+\d\.\d{3}", screen) and re.search(r"online\s+\d\.\d{3}", screen)
    assert "label delay p50" in screen and "challenger winner online" in screen
    assert 100 < _rate(screen) < 400, screen  # 200 predictions/s are produced
    assert 1 < _rate(screen, "dead letters/s") < 15, screen  # and 5 dead letters/s
    # --from-beginning: the whole history's alerts and detector firings are in the log
    assert re.search(r"alert\s+ALERT x0 psi", screen) and re.search(
        r"detector\s+\w+ on batch", screen
    )

    directory = os.environ.get("SCREENSHOT_DIR")
    if directory:
        terminal_png(colours, Path(directory) / "monitor.png", tty.columns, tty.rows)

    tty.keys("C-c")
    tty.wait_for(lambda s: s.rstrip().endswith(PROMPT.rstrip()), timeout=15)
    tty.type('echo "exit=$?"')
    tty.wait_for_text(r"^exit=0$", timeout=10)
    assert tty.display("#{alternate_on} #{cursor_flag}") == "0 1"  # screen restored, cursor on
    tty.type(f'stty -g | diff -q - {tmp_path}/tty-before && echo "tty=same"')
    tty.wait_for_text(r"^tty=same$", timeout=10)
    assert "feature drift" not in tty.screen()


def test_with_nothing_to_read_it_says_so_and_rates_are_zero(settings_factory, terminal_factory):
    settings = settings_factory()
    from streamscore.ground.kafka.admin import create_topics

    create_topics(settings)
    tty = terminal_factory(settings)
    tty.type(f"{sys.executable} -m streamscore monitor --duration 30")
    screen = tty.wait_for(lambda s: "events/s 0.0" in s and "dead letters/s 0.0" in s, 60)
    assert screen.count("no data yet") >= 2  # the features and the models panels
    assert "lag 0" in screen
    # records arriving later show up without a restart
    scene.drift_history(settings, windows=10, drift_at=2, drift_until=99)
    tty.wait_for(lambda s: re.search(r"x0 .*ALERT psi", s), timeout=30)
    tty.keys("C-c")
    tty.wait_for(lambda s: s.rstrip().endswith(PROMPT.rstrip()), timeout=15)
    tty.type('echo "exit=$?"')
    tty.wait_for_text(r"^exit=0$", timeout=10)
