"""Every Kafka client streamscore uses is built here, from :class:`Settings`.

One place maps the settings (bootstrap servers, security, ``STREAMSCORE_BROKER_TIMEOUT``)
onto each library's names, so every producer, consumer and admin client
connects the same way and no wait for an unreachable broker lasts longer than
the broker timeout. Client libraries are imported when a client is built, so
modules that only name these functions stay quick to import.

>>> from streamscore.ground.config import Settings
>>> opts = kafka_python_options(Settings(bootstrap_servers="a:9092,b:9092", broker_timeout=5))
>>> opts["bootstrap_servers"], opts["bootstrap_timeout_ms"], opts["request_timeout_ms"]
(['a:9092', 'b:9092'], 5000, 5000)
"""

from __future__ import annotations

import ssl
from typing import TYPE_CHECKING, Any

from streamscore.ground.config import Settings
from streamscore.ground.errors import BrokerError, ConfigError

if TYPE_CHECKING:
    from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer


def _check_files(settings: Settings) -> None:
    for name in ("ssl_cafile", "ssl_certfile", "ssl_keyfile"):
        path = getattr(settings, name)
        if path is not None and not path.is_file():
            raise ConfigError(f"{Settings.env_name(name)}={path}: no such file")


def ssl_context(settings: Settings) -> ssl.SSLContext | None:
    """The TLS context of SSL and SASL_SSL connections (None for plaintext)."""
    if settings.security_protocol not in ("SSL", "SASL_SSL"):
        return None
    _check_files(settings)
    try:
        ctx = ssl.create_default_context(
            cafile=str(settings.ssl_cafile) if settings.ssl_cafile else None
        )
        if settings.ssl_certfile:
            ctx.load_cert_chain(
                str(settings.ssl_certfile),
                str(settings.ssl_keyfile) if settings.ssl_keyfile else None,
            )
    except (ssl.SSLError, OSError) as exc:
        raise ConfigError(f"the TLS files in the settings cannot be used: {exc}") from None
    return ctx


def _sasl(settings: Settings) -> dict[str, Any]:
    if not settings.sasl_mechanism:
        return {}
    password = settings.sasl_password.get_secret_value() if settings.sasl_password else None
    return {
        "sasl_mechanism": settings.sasl_mechanism,
        "sasl_plain_username": settings.sasl_username,
        "sasl_plain_password": password,
    }


def kafka_python_options(settings: Settings) -> dict[str, Any]:
    """Connection keyword arguments for kafka-python's clients."""
    timeout_ms = int(settings.broker_timeout * 1000)
    opts: dict[str, Any] = {
        "bootstrap_servers": settings.bootstrap.split(","),
        "security_protocol": settings.security_protocol,
        "bootstrap_timeout_ms": timeout_ms,
        "request_timeout_ms": timeout_ms,
        **_sasl(settings),
    }
    ctx = ssl_context(settings)
    if ctx is not None:
        opts["ssl_context"] = ctx
    return opts


def aiokafka_options(settings: Settings) -> dict[str, Any]:
    """Connection keyword arguments for aiokafka's clients."""
    opts: dict[str, Any] = {
        "bootstrap_servers": settings.bootstrap.split(","),
        "security_protocol": settings.security_protocol,
        **_sasl(settings),
    }
    ctx = ssl_context(settings)
    if ctx is not None:
        opts["ssl_context"] = ctx
    return opts


def faust_credentials(settings: Settings) -> Any:
    """``broker_credentials`` for a Faust app, or None for PLAINTEXT."""
    import faust

    ctx = ssl_context(settings)
    if settings.sasl_mechanism:
        password = settings.sasl_password.get_secret_value() if settings.sasl_password else ""
        return faust.SASLCredentials(
            username=settings.sasl_username,
            password=password,
            mechanism=settings.sasl_mechanism,
            ssl_context=ctx,
        )
    if ctx is not None:
        return faust.SSLCredentials(ctx)
    return None


def advice(settings: Settings) -> str:
    """What to do about a broker that does not answer: start the local one, or check the
    configured cluster (never "kafka up" for a cluster someone else runs).

    >>> advice(Settings(bootstrap_servers="kafka:9092"))
    'check STREAMSCORE_BOOTSTRAP_SERVERS, the network and the security settings'
    """
    if settings.bootstrap_servers:
        return "check STREAMSCORE_BOOTSTRAP_SERVERS, the network and the security settings"
    return "start one with `streamscore kafka up` or set STREAMSCORE_BOOTSTRAP_SERVERS"


def security_hint(settings: Settings) -> str:
    """What else to check when a secured broker does not answer: kafka-python reports a
    refused login or an untrusted certificate as no answer at all (it only logs why).

    >>> security_hint(Settings(security_protocol="SASL_SSL", sasl_mechanism="SCRAM-SHA-512"))
    '; with SASL_SSL a refused login or an untrusted broker certificate looks the same: check STREAMSCORE_SASL_MECHANISM (SCRAM-SHA-512), _SASL_USERNAME, _SASL_PASSWORD and STREAMSCORE_SSL_CAFILE'
    """  # noqa: E501
    protocol = settings.security_protocol
    checks = []
    if protocol.startswith("SASL"):
        checks.append(
            f"STREAMSCORE_SASL_MECHANISM ({settings.sasl_mechanism}), _SASL_USERNAME, "
            "_SASL_PASSWORD"
        )
    if protocol.endswith("SSL"):
        checks.append("STREAMSCORE_SSL_CAFILE")
    if not checks:
        return ""
    return (
        f"; with {protocol} a refused login or an untrusted broker certificate looks the "
        f"same: check {' and '.join(checks)}"
    )


def _unreachable(settings: Settings, exc: BaseException) -> BrokerError:
    text, kind = str(exc), type(exc).__name__
    reason = text if text.startswith(kind) else f"{kind}: {text}"  # kafka-python's carry it
    return BrokerError(
        f"no Kafka broker answered at {settings.bootstrap} within "
        f"{settings.broker_timeout:g} s ({reason}); {advice(settings)}{security_hint(settings)}"
    )


def producer(settings: Settings, **config: Any) -> KafkaProducer:
    """A kafka-python producer (``acks=all`` and idempotent by kafka-python 3's default)."""
    from kafka import KafkaProducer
    from kafka.errors import KafkaError

    config.setdefault("max_block_ms", int(settings.broker_timeout * 1000))
    try:
        return KafkaProducer(**{**kafka_python_options(settings), **config})
    except KafkaError as exc:
        raise _unreachable(settings, exc) from None


def consumer(settings: Settings, *topics: str, **config: Any) -> KafkaConsumer:
    """A kafka-python consumer; without ``group_id`` it belongs to no group and commits nothing."""
    from kafka import KafkaConsumer
    from kafka.errors import KafkaError

    config.setdefault("group_id", None)
    config.setdefault("enable_auto_commit", False)
    try:
        return KafkaConsumer(*topics, **{**kafka_python_options(settings), **config})
    except KafkaError as exc:
        raise _unreachable(settings, exc) from None


def admin(settings: Settings) -> KafkaAdminClient:
    """A kafka-python admin client."""
    from kafka import KafkaAdminClient
    from kafka.errors import KafkaError

    try:
        return KafkaAdminClient(**kafka_python_options(settings), client_id="streamscore-admin")
    except KafkaError as exc:
        raise _unreachable(settings, exc) from None


def aiokafka_consumer(settings: Settings, *topics: str, **config: Any) -> Any:
    """An aiokafka consumer (not started); no group unless ``group_id`` is given."""
    from aiokafka import AIOKafkaConsumer

    config.setdefault("group_id", None)
    config.setdefault("enable_auto_commit", False)
    return AIOKafkaConsumer(*topics, **{**aiokafka_options(settings), **config})


def aiokafka_producer(settings: Settings, **config: Any) -> Any:
    """An aiokafka producer (not started)."""
    from aiokafka import AIOKafkaProducer

    return AIOKafkaProducer(**{**aiokafka_options(settings), **config})
