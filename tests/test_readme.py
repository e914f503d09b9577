"""The README documents what a user sees: every setting, command, metric, topic and target.

Each check reads the thing itself (the settings class, the typer app, a worker's metrics
registry, the topic specs, the Makefile), so a new setting or command that the README
does not mention fails here, naming it.
"""

from __future__ import annotations

import re
from pathlib import Path

import typer.main

from streamscore.cli.main import app
from streamscore.ground.config import Settings
from streamscore.ground.kafka.admin import topic_specs
from streamscore.streams.metrics import WorkerMetrics

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def _commands(group, prefix: str = "streamscore") -> list[str]:
    out = []
    for name, command in group.commands.items():
        path = f"{prefix} {name}"
        out.append(path)
        if hasattr(command, "commands"):
            out += _commands(command, path)
    return out


def test_every_setting_is_documented() -> None:
    missing = [f"STREAMSCORE_{name.upper()}" for name in Settings.model_fields
               if f"STREAMSCORE_{name.upper()}" not in README]  # fmt: skip
    assert not missing, f"settings not in the README: {missing}"


def test_every_command_is_documented() -> None:
    commands = _commands(typer.main.get_command(app))
    assert "streamscore worker" in commands  # the walk found the commands
    missing = [c for c in commands if c not in README]
    assert not missing, f"commands not in the README: {missing}"


def test_every_metric_is_documented() -> None:
    names = {
        metric.name
        for metric in WorkerMetrics().registry.collect()
        if metric.name.startswith("streamscore_")
    }
    assert "streamscore_events_in" in names
    missing = sorted(n for n in names if n not in README)
    assert not missing, f"metrics not in the README: {missing}"


def test_every_topic_is_documented() -> None:
    settings = Settings(app_id="APPID")
    names = [spec.name.replace("APPID", "<app id>") for spec in topic_specs(settings)]
    missing = [n for n in names if f"`{n}`" not in README]
    assert not missing, f"topics not in the README: {missing}"


def test_every_make_target_is_documented() -> None:
    makefile = (ROOT / "Makefile").read_text()
    targets = re.findall(r"^([a-z][a-z-]*):.*##", makefile, flags=re.M)
    assert "test" in targets and "demo" in targets
    missing = [t for t in targets if f"make {t}" not in README and f"`{t}`" not in README]
    assert not missing, f"make targets not in the README: {missing}"
