"""The house holds: imports only go down a layer, and every module is reached by one name.

Layers, bottom up (README, "Layout"): ``ground`` -> ``models`` -> ``producers`` and
``streams`` (side by side, neither imports the other) -> ``cli`` (the front door).
Read statically from each module's source, so a lazy import inside a function counts.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import streamscore

ROOT = Path(streamscore.__file__).parent
# What each layer may import from streamscore itself.
ALLOWED = {
    "ground": {"ground"},
    "models": {"ground", "models"},
    "producers": {"ground", "models", "producers"},
    "streams": {"ground", "models", "streams"},
    "cli": {"ground", "models", "producers", "streams", "cli"},
}
KAFKA_LIBRARIES = {"kafka", "aiokafka", "faust", "confluent_kafka", "mode"}


def _modules() -> list[tuple[str, Path]]:
    found = []
    for layer in ALLOWED:
        for path in sorted((ROOT / layer).rglob("*.py")):
            found.append((layer, path))
    return found


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize(("layer", "path"), _modules(), ids=lambda v: str(v))
def test_imports_only_go_down(layer, path):
    for name in _imports(path):
        top = name.split(".")[0]
        assert top not in {"models", "streams", "producers"}, (
            f"{path} imports {name!r}: use streamscore.{name}"
        )
        if top == "streamscore" and "." in name:
            target = name.split(".")[1]
            assert target in ALLOWED[layer], f"{path} ({layer}) imports {name} ({target})"


@pytest.mark.parametrize(("layer", "path"), [m for m in _modules() if m[0] == "models"])
def test_models_import_no_kafka_client(layer, path):
    assert not {n.split(".")[0] for n in _imports(path)} & KAFKA_LIBRARIES, path


def test_a_users_own_models_package_does_not_shadow_ours(tmp_path):
    (tmp_path / "models.py").write_text("raise SystemExit('the user module was imported')\n")
    (tmp_path / "streams.py").write_text("raise SystemExit('the user module was imported')\n")
    out = subprocess.run(
        [sys.executable, "-m", "streamscore", "--help"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert "train" in out.stdout
