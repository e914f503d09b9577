"""Every Kafka client is built in ``ground/kafka/clients.py``, so the security settings
(SASL, TLS) reach all of them: no other module, the tests' helpers included, constructs a
producer, consumer or admin client, and every Faust app gets ``broker_credentials``.
Read statically from the source, like ``test_layers.py``."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import streamscore

REPO = Path(streamscore.__file__).parent.parent
HOME = REPO / "streamscore" / "ground" / "kafka" / "clients.py"
CONSTRUCTORS = {
    "KafkaProducer", "KafkaConsumer", "KafkaAdminClient", "KafkaClient",
    "AIOKafkaProducer", "AIOKafkaConsumer", "AIOKafkaClient", "AIOKafkaAdminClient",
    "Producer", "Consumer", "AdminClient", "DeserializingConsumer", "SerializingProducer",
}  # fmt: skip
SOURCES = sorted(
    path
    for folder in ("streamscore", "models", "streams", "producers", "tests")
    for path in (REPO / folder).rglob("*.py")
    if path.resolve() != HOME.resolve()
)


def _name(func: ast.expr) -> str:
    if isinstance(func, ast.Attribute):
        return func.attr
    return func.id if isinstance(func, ast.Name) else ""


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(REPO)))
def test_no_client_is_built_outside_the_clients_module(path):
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = _name(node.func)
        assert name not in CONSTRUCTORS, (
            f"{path}:{node.lineno} builds a {name}: use streamscore.ground.kafka.clients"
        )
        if name == "App":
            keywords = {k.arg for k in node.keywords}
            assert "broker_credentials" in keywords, (
                f"{path}:{node.lineno}: a Faust app without broker_credentials="
                "clients.faust_credentials(settings) ignores the security settings"
            )


def test_every_package_is_scanned():
    scanned = {part for path in SOURCES for part in path.relative_to(REPO).parts[:2]}
    assert {"models", "streams", "producers", "cli", "ground", "tests"} <= scanned
