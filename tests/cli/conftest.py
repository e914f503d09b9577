"""Run ``streamscore`` as a user types it: in a subprocess (exit code, stdout, stderr as a
shell sees them) with a clean environment of the test's own."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from streamscore.ground.kafka.local import free_port


@dataclass
class Ran:
    code: int
    out: str
    err: str

    @property
    def error_line(self) -> str:
        """The one line a mistake prints (asserting that it is exactly one)."""
        lines = self.err.strip().splitlines()
        assert len(lines) == 1, self.err
        assert lines[0].startswith("error: "), self.err
        return lines[0]


@pytest.fixture
def base_env(tmp_path: Path) -> dict[str, str]:
    """No STREAMSCORE_* from the caller; an unreachable cluster unless a test sets one."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("STREAMSCORE_")}
    env.update(
        STREAMSCORE_BOOTSTRAP_SERVERS=f"127.0.0.1:{free_port()}",
        STREAMSCORE_BROKER_TIMEOUT="2",
        STREAMSCORE_REGISTRY_PATH=str(tmp_path / "registry"),
        STREAMSCORE_CACHE_DIR=str(tmp_path / "cache"),
        STREAMSCORE_WEB_PORT=str(free_port()),
        COLUMNS="80",
    )
    return env


@pytest.fixture
def streamscore(base_env: dict[str, str], tmp_path: Path) -> Callable[..., Ran]:
    """``streamscore(*args, env={...})`` -> exit code, stdout, stderr."""

    def run(*args: object, env: dict[str, str | None] | None = None, timeout: float = 120) -> Ran:
        merged: dict[str, str | None] = {**base_env, **(env or {})}
        done = subprocess.run(
            [sys.executable, "-m", "streamscore", *map(str, args)],
            env={k: v for k, v in merged.items() if v is not None},  # None: unset
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )
        return Ran(done.returncode, done.stdout, done.stderr)

    return run
