"""A local broker with a SASL_SSL listener and SCRAM users, for the security tests.

The certificates are made here with ``openssl`` in a temporary directory: a CA, and a
broker certificate for 127.0.0.1 and localhost (subject alternative names) signed by it;
the broker reads its key and certificate chain as PEM (``ssl.keystore.type=PEM``). The
SCRAM user is created when the storage is formatted (``--add-scram``). The PLAINTEXT
listener stays on loopback for the broker's own readiness check and inter-broker
traffic; clients use the SASL_SSL one.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from streamscore.ground.config import Settings
from streamscore.ground.kafka.local import LocalKafka, free_port

MECHANISM = "SCRAM-SHA-512"
USER = "app"


@dataclass(frozen=True)
class SecureBroker:
    bootstrap: str  # the SASL_SSL listener
    cafile: Path
    password: str
    broker: LocalKafka

    def client_settings(self, **overrides: object) -> dict[str, object]:
        """The connection settings of an authorised client."""
        return {
            "bootstrap_servers": self.bootstrap,
            "security_protocol": "SASL_SSL",
            "sasl_mechanism": MECHANISM,
            "sasl_username": USER,
            "sasl_password": self.password,
            "ssl_cafile": self.cafile,
            **overrides,
        }


def _openssl(*args: str, cwd: Path) -> None:
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.fail("openssl is not on PATH: the security tests make their certificates with it")
    done = subprocess.run([openssl, *args], cwd=cwd, capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        pytest.fail(f"openssl {' '.join(args)} failed: {done.stderr.strip()}")


def make_certificates(directory: Path) -> tuple[Path, Path]:
    """``(ca.pem, broker keystore)``: a CA, and a broker key + certificate chain in PEM."""
    directory.mkdir(parents=True, exist_ok=True)
    _openssl(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=streamscore test CA",
        cwd=directory,
    )
    _openssl(
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "broker.key",
        "-out",
        "broker.csr",
        "-subj",
        "/CN=localhost",
        cwd=directory,
    )
    (directory / "san.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    _openssl("x509", "-req", "-in", "broker.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
             "-CAcreateserial", "-out", "broker.crt", "-days", "2", "-extfile", "san.ext",
             cwd=directory)  # fmt: skip
    keystore = directory / "broker-keystore.pem"
    keystore.write_text(
        (directory / "broker.key").read_text()
        + (directory / "broker.crt").read_text()
        + (directory / "ca.pem").read_text()
    )
    return directory / "ca.pem", keystore


def start_secure_broker(directory: Path, password: str) -> SecureBroker:
    """Start a broker whose client listener is SASL_SSL with one SCRAM user, ``app``."""
    cafile, keystore = make_certificates(directory / "certs")
    defaults = Settings()
    port, cport, sasl_port = free_port(), free_port(), free_port()
    broker = LocalKafka(
        state_dir=directory / "state",
        kafka_home=defaults.kafka_home,
        version=defaults.kafka_version,
        port=port,
        controller_port=cport,
        heap="512m",
        extra_properties={
            "listeners": f"PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{cport},"
            f"SASL_SSL://127.0.0.1:{sasl_port}",
            "advertised.listeners": f"PLAINTEXT://127.0.0.1:{port},"
            f"SASL_SSL://127.0.0.1:{sasl_port}",
            "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,"
            "SASL_SSL:SASL_SSL",
            "sasl.enabled.mechanisms": MECHANISM,
            "listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config": (
                "org.apache.kafka.common.security.scram.ScramLoginModule required;"
            ),
            "ssl.keystore.type": "PEM",
            "ssl.keystore.location": str(keystore),
            "ssl.client.auth": "none",
        },
        format_args=("--add-scram", f"{MECHANISM}=[name={USER},password={password}]"),
    )
    broker.start(timeout=180, log=lambda message: None)
    return SecureBroker(f"127.0.0.1:{sasl_port}", cafile, password, broker)
