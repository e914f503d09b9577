"""The embedded default broker: one Apache Kafka node in KRaft mode on 127.0.0.1.

It is the official Apache Kafka, run with ``java`` from the jars that Maven
resolves from Maven Central (no tarball, no Docker). The jars are fetched once
into ``<cache_dir>/kafka-<version>/lib``; later starts need no network.

A broker is identified by its state directory (data, config, log, pid file), so
the default one (``streamscore kafka up``) and the throw-away ones the tests
start never touch each other.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from streamscore.ground.errors import BrokerError

MAVEN_TIMEOUT_S = 900


def _resource(name: str) -> str:
    return resources.files("streamscore.ground.kafka").joinpath(name).read_text()


def java_executable() -> str:
    """Path of a Java >= 17, or a clear error."""
    java = shutil.which("java")
    if java is None:
        raise BrokerError(
            "java was not found on PATH; the local Kafka broker needs Java 17 or newer "
            "(Debian: apt-get install openjdk-17-jre-headless), or set "
            "STREAMSCORE_BOOTSTRAP_SERVERS to use an existing cluster"
        )
    out = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=60)
    match = re.search(r'version "(\d+)', out.stderr + out.stdout)
    if match and int(match.group(1)) < 17:
        raise BrokerError(f"Kafka 4 needs Java 17 or newer; {java} is Java {match.group(1)}")
    return java


def ensure_jars(kafka_home: Path, version: str, log=print) -> Path:
    """Return the directory of the Kafka jars, fetching them with Maven the first time."""
    lib = kafka_home / "lib"
    if (kafka_home / ".complete").exists():
        return lib
    mvn = shutil.which("mvn")
    if mvn is None:
        raise BrokerError(
            f"the Kafka {version} jars are not cached in {kafka_home} and Maven (mvn) is "
            "not on PATH to fetch them (Debian: apt-get install maven)"
        )
    kafka_home.mkdir(parents=True, exist_ok=True)
    (kafka_home / "pom.xml").write_text(_resource("pom.xml").replace("@KAFKA_VERSION@", version))
    tmp_lib = kafka_home / "lib.partial"
    shutil.rmtree(tmp_lib, ignore_errors=True)
    log(f"fetching Apache Kafka {version} jars from Maven Central into {lib} (once) ...")
    cmd = [
        mvn,
        "-q",
        "-B",
        "-f",
        str(kafka_home / "pom.xml"),
        "dependency:copy-dependencies",
        "-DincludeScope=runtime",
        f"-DoutputDirectory={tmp_lib}",
    ]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=MAVEN_TIMEOUT_S)
    except subprocess.TimeoutExpired as exc:
        raise BrokerError(
            f"fetching the Kafka jars with Maven took over {MAVEN_TIMEOUT_S} s; "
            "check that Maven Central is reachable"
        ) from exc
    if out.returncode != 0:
        tail = " | ".join((out.stdout + out.stderr).strip().splitlines()[-5:])
        raise BrokerError(f"Maven could not fetch Kafka {version}: {tail}")
    shutil.rmtree(lib, ignore_errors=True)
    tmp_lib.rename(lib)
    (kafka_home / ".complete").write_text(version + "\n")
    return lib


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


SERVER_PROPERTIES = """\
# Written by streamscore: a single combined KRaft node on loopback.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:{cport}
listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{cport}
advertised.listeners=PLAINTEXT://127.0.0.1:{port}
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs={data}
num.partitions=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=true
message.max.bytes=10485760
log.retention.hours=168
"""


def with_properties(text: str, overrides: dict[str, str]) -> str:
    r"""``server.properties`` text with ``overrides`` replacing or adding lines.

    >>> with_properties("a=1\nb=2\n", {"b": "3", "c": "4"})
    'a=1\nb=3\nc=4\n'
    """
    lines = []
    for line in text.splitlines():
        name = line.split("=", 1)[0]
        if "=" in line and not line.startswith("#") and name in overrides:
            continue
        lines.append(line)
    lines += [f"{name}={value}" for name, value in overrides.items()]
    return "\n".join(lines) + "\n"


@dataclass
class LocalKafka:
    """One local broker, identified by its state directory.

    ``extra_properties`` replace or add ``server.properties`` lines (e.g. a SASL_SSL
    listener beside the PLAINTEXT one, which stays for readiness and inter-broker
    traffic) and ``format_args`` go to ``StorageTool format`` (e.g. ``--add-scram``
    users); both are empty for the default broker.
    """

    state_dir: Path
    kafka_home: Path
    version: str
    port: int = 9092
    controller_port: int = 9093
    heap: str = "1g"
    extra_properties: dict[str, str] = field(default_factory=dict)
    format_args: tuple[str, ...] = ()

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def pid_file(self) -> Path:
        return self.state_dir / "kafka.pid"

    @property
    def log_file(self) -> Path:
        return self.state_dir / "logs" / "server.log"

    def running_pid(self) -> int | None:
        """PID of this broker if its process is alive, else None."""
        try:
            pid = int(self.pid_file.read_text().split()[0])
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
        except (OSError, ValueError, IndexError):
            return None
        return pid if str(self.state_dir) in cmdline and "kafka.Kafka" in cmdline else None

    def _recorded_port(self) -> int | None:
        try:
            return int(self.pid_file.read_text().split()[1])
        except (OSError, ValueError, IndexError):
            return None

    def start(self, timeout: float = 120.0, log=print) -> str:
        """Start the broker (or reuse the running one) and return its bootstrap address."""
        from streamscore.ground.config import Settings
        from streamscore.ground.kafka.admin import wait_for_broker

        plain = Settings(
            bootstrap_servers=self.bootstrap, security_protocol="PLAINTEXT", sasl_mechanism=None
        )

        pid = self.running_pid()
        if pid is not None:
            recorded = self._recorded_port()
            if recorded is not None and recorded != self.port:
                raise BrokerError(
                    f"the local broker in {self.state_dir} already runs on port {recorded} "
                    f"(pid {pid}), not {self.port}; stop it first with `streamscore kafka down`"
                )
            log(f"reusing the local Kafka broker (pid {pid})")
            wait_for_broker(
                plain,
                timeout=timeout,
                hint=f"the local broker (pid {pid}) runs but does not answer: restart it with "
                "`streamscore kafka down` and `streamscore kafka up`",
            )
            return self.bootstrap
        for p in (self.port, self.controller_port):
            if not port_is_free(p):
                raise BrokerError(
                    f"port {p} on 127.0.0.1 is in use by another program; free it, pick "
                    "another with STREAMSCORE_LOCAL_KAFKA_PORT / "
                    "STREAMSCORE_LOCAL_KAFKA_CONTROLLER_PORT, or point "
                    "STREAMSCORE_BOOTSTRAP_SERVERS at the Kafka already running there"
                )
        java = java_executable()
        lib = ensure_jars(self.kafka_home, self.version, log=log)
        classpath = f"{lib}/*"
        data = self.state_dir / "data"
        (self.state_dir / "logs").mkdir(parents=True, exist_ok=True)
        props = self.state_dir / "server.properties"
        text = SERVER_PROPERTIES.format(port=self.port, cport=self.controller_port, data=data)
        props.write_text(with_properties(text, self.extra_properties))
        (self.state_dir / "log4j2.properties").write_text(_resource("log4j2.properties"))
        if not (data / "meta.properties").exists():
            fmt = subprocess.run(
                [
                    java,
                    "-cp",
                    classpath,
                    "kafka.tools.StorageTool",
                    "format",
                    "-t",
                    uuid.uuid4().hex[:22],
                    "-c",
                    str(props),
                    *self.format_args,
                ],
                capture_output=True,
                text=True,
                timeout=120,
            )
            if fmt.returncode != 0:
                raise BrokerError(f"formatting the Kafka storage failed: {fmt.stderr.strip()}")
        cmd = [
            java,
            "-Xms256m",
            f"-Xmx{self.heap}",
            "-XX:+UseG1GC",
            "-Djava.awt.headless=true",
            f"-Dkafka.logs.dir={self.state_dir / 'logs'}",
            f"-Dlog4j2.configurationFile={self.state_dir / 'log4j2.properties'}",
            f"-Dstreamscore.state={self.state_dir}",
            "-cp",
            classpath,
            "kafka.Kafka",
            str(props),
        ]
        stdout = open(self.state_dir / "logs" / "stdout.log", "ab")  # noqa: SIM115
        proc = subprocess.Popen(
            cmd,
            stdout=stdout,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # survives the CLI that started it
        )
        stdout.close()
        self.pid_file.write_text(f"{proc.pid} {self.port}\n")
        log(f"starting Apache Kafka {self.version} (pid {proc.pid}) on {self.bootstrap} ...")
        try:
            wait_for_broker(
                plain,
                timeout=timeout,
                alive=lambda: proc.poll() is None,
                hint="a slow machine may need a larger STREAMSCORE_LOCAL_KAFKA_START_TIMEOUT",
            )
        except BrokerError as exc:
            self.stop()
            raise BrokerError(f"{exc}; broker log: {self.log_file}") from exc
        return self.bootstrap

    def stop(self, timeout: float = 30.0) -> bool:
        """Stop the broker cleanly (SIGTERM, then SIGKILL). True if one was running."""
        pid = self.running_pid()
        if pid is None:
            self.pid_file.unlink(missing_ok=True)
            return False
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.running_pid() is not None:
            _reap(pid)
            time.sleep(0.2)
        if self.running_pid() is not None:
            os.kill(pid, signal.SIGKILL)
            time.sleep(0.5)
            _reap(pid)
        self.pid_file.unlink(missing_ok=True)
        return True

    def status(self) -> dict[str, object]:
        pid = self.running_pid()
        return {
            "running": pid is not None,
            "pid": pid,
            "bootstrap": self.bootstrap,
            "version": self.version,
            "state_dir": str(self.state_dir),
            "log": str(self.log_file),
            "jars_cached": (self.kafka_home / ".complete").exists(),
        }


def _reap(pid: int) -> None:
    # A broker started by this very process is our child: reap it so it is not a zombie.
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def from_settings(settings) -> LocalKafka:
    return LocalKafka(
        state_dir=settings.local_kafka_dir,
        kafka_home=settings.kafka_home,
        version=settings.kafka_version,
        port=settings.local_kafka_port,
        controller_port=settings.local_kafka_controller_port,
        heap=settings.local_kafka_heap,
    )
