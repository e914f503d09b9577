"""What a user installs is what was tested: every imported package declared, pins that
match the tested environment, an image built from them, a license, type information."""

from __future__ import annotations

import ast
import os
import re
import sys
import tomllib
from importlib.metadata import packages_distributions, version
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
PROJECT = PYPROJECT["project"]


def _requirements(*extras: str) -> list[Requirement]:
    listed = list(PROJECT["dependencies"])
    for extra in extras:
        listed += PROJECT["optional-dependencies"][extra]
    return [Requirement(r) for r in listed]


def _imported_distributions(folder: Path) -> dict[str, set[str]]:
    """Distribution -> files importing it, for every absolute import under ``folder``."""
    owners = packages_distributions()
    found: dict[str, set[str]] = {}
    for dirpath, _, files in os.walk(folder, followlinks=True):  # models/ etc. are links
        for name in files:
            if not name.endswith(".py"):
                continue
            path = Path(dirpath) / name
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Import):
                    modules = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    modules = [node.module]
                else:
                    continue
                for module in modules:
                    top = module.split(".")[0]
                    if top in sys.stdlib_module_names or top in ("streamscore", "tests"):
                        continue
                    for dist in owners.get(top, [top]):
                        found.setdefault(canonicalize_name(dist), set()).add(str(path))
    return found


def test_every_package_the_code_imports_is_a_declared_dependency():
    declared = {canonicalize_name(r.name) for r in _requirements()}
    missing = {d: sorted(f) for d, f in _imported_distributions(ROOT / "streamscore").items()
               if d not in declared}  # fmt: skip
    assert not missing, f"imported but not in [project.dependencies]: {missing}"


def test_every_package_the_tests_import_is_declared_for_development():
    declared = {canonicalize_name(r.name) for r in _requirements("dev")}
    used = _imported_distributions(ROOT / "tests")
    missing = {d: sorted(f) for d, f in used.items() if d not in declared}
    assert not missing, f"imported by tests but not in the dev extra: {missing}"


def _pins() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, pinned = line.partition("==")
            pins[canonicalize_name(name)] = pinned.strip()
    return pins


def test_lower_bounds_were_tested_and_constraints_pin_this_environment():
    pins = _pins()
    for requirement in _requirements("dev", "zstd", "snappy"):
        name = canonicalize_name(requirement.name)
        installed = version(requirement.name)
        assert pins.get(name) == installed, (
            f"constraints.txt pins {name} {pins.get(name)}, the tested .venv has {installed}: "
            "run `make lock`"
        )
        assert requirement.specifier.contains(installed), (requirement, installed)
        for spec in requirement.specifier:
            if spec.operator == ">=":
                assert Version(spec.version) <= Version(installed)


def test_the_image_installs_the_pins_as_a_non_root_user_with_a_health_check():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"pip install [^\n]*-c constraints\.txt", dockerfile)
    assert "COPY constraints.txt" in dockerfile
    users = re.findall(r"^USER (\S+)", dockerfile, flags=re.M)
    assert users and users[-1] not in ("root", "0")
    assert re.search(r"^HEALTHCHECK .*\n?.*/health", dockerfile, flags=re.M)
    # the bootstrap of the image is the broker's listener on the compose network
    compose = (ROOT / "docker-compose.yml").read_text()
    internal = re.search(r"KAFKA_ADVERTISED_LISTENERS: .*INTERNAL://([\w.-]+:\d+)", compose)
    assert internal is not None
    assert f"STREAMSCORE_BOOTSTRAP_SERVERS={internal.group(1)}" in dockerfile
    assert f"STREAMSCORE_BOOTSTRAP_SERVERS: {internal.group(1)}" in compose
    assert "-c constraints.txt" in (ROOT / "Makefile").read_text()


def test_license_and_type_information_ship_with_the_package():
    assert PROJECT["license"] == "Apache-2.0"
    assert "Apache License" in (ROOT / "LICENSE").read_text()[:200]
    assert "LICENSE" in PROJECT["license-files"]
    assert (ROOT / "streamscore" / "py.typed").is_file()
    assert "py.typed" in PYPROJECT["tool"]["setuptools"]["package-data"]["streamscore"]
