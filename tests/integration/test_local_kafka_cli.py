"""`streamscore kafka up|down|status` as a user runs them."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from streamscore.ground.config import Settings
from streamscore.ground.kafka.local import ensure_jars, free_port

pytestmark = pytest.mark.integration


def run(args: list[str], env: dict[str, str], timeout: float = 200) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "streamscore", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture
def cli_env(tmp_path: Path) -> dict[str, str]:
    """A private cache dir that shares the already-fetched jars, on free ports."""
    defaults = Settings()
    real_home = defaults.kafka_home
    ensure_jars(real_home, defaults.kafka_version)  # a fresh machine has none yet
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / real_home.name).symlink_to(real_home)
    env = {k: v for k, v in os.environ.items() if not k.startswith("STREAMSCORE_")}
    env.update(
        STREAMSCORE_CACHE_DIR=str(cache),
        STREAMSCORE_LOCAL_KAFKA_PORT=str(free_port()),
        STREAMSCORE_LOCAL_KAFKA_CONTROLLER_PORT=str(free_port()),
        STREAMSCORE_LOCAL_KAFKA_HEAP="512m",
    )
    yield env
    run(["kafka", "down"], env)


def broker_processes(marker: str) -> list[str]:
    out = subprocess.run(["pgrep", "-af", "kafka.Kafka"], capture_output=True, text=True)
    return [line for line in out.stdout.splitlines() if marker in line]


def test_up_twice_reuses_and_down_leaves_no_process(cli_env):
    bootstrap = f"127.0.0.1:{cli_env['STREAMSCORE_LOCAL_KAFKA_PORT']}"
    first = run(["kafka", "up"], cli_env)
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip().splitlines()[-1] == bootstrap
    assert len(broker_processes(cli_env["STREAMSCORE_CACHE_DIR"])) == 1

    second = run(["kafka", "up"], cli_env)
    assert second.returncode == 0, second.stderr
    assert "reusing" in second.stderr
    assert second.stdout.strip().splitlines()[-1] == bootstrap
    assert len(broker_processes(cli_env["STREAMSCORE_CACHE_DIR"])) == 1

    status = run(["kafka", "status"], cli_env)
    assert status.returncode == 0 and "running (pid" in status.stdout

    created = run(["topics", "create"], cli_env)
    assert created.returncode == 0, created.stderr
    listed = run(["topics", "list"], cli_env)
    assert "events\t4" in listed.stdout and "model-updates\t1" in listed.stdout

    down = run(["kafka", "down"], cli_env)
    assert down.returncode == 0
    assert broker_processes(cli_env["STREAMSCORE_CACHE_DIR"]) == []
    after = run(["kafka", "status"], cli_env)
    assert after.returncode == 3 and "not running" in after.stdout


def test_port_in_use_is_a_one_line_error(cli_env):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", int(cli_env["STREAMSCORE_LOCAL_KAFKA_PORT"])))
        busy.listen()
        result = run(["kafka", "up"], cli_env, timeout=60)
    assert result.returncode == 1
    assert result.stderr.strip().startswith("error: port ")
    assert "in use" in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_java_is_a_one_line_error(cli_env, tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    cli_env["PATH"] = str(bin_dir)  # no java, no mvn
    result = run(["kafka", "up"], cli_env, timeout=60)
    assert result.returncode == 1
    assert "java was not found" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_unreachable_cluster_fails_fast_with_the_address(cli_env):
    cli_env["STREAMSCORE_BOOTSTRAP_SERVERS"] = f"127.0.0.1:{free_port()}"
    result = run(["topics", "list"], cli_env, timeout=90)
    assert result.returncode == 1
    assert "no Kafka broker answered at" in result.stderr
    assert "Traceback" not in result.stderr
