"""Exceptions. One base class; every message says what was wrong, with which
value, and what to do. The CLI prints ``error: <message>`` on one line and exits 1."""


class StreamscoreError(Exception):
    """Base of every error streamscore raises on purpose."""


class ConfigError(StreamscoreError):
    """A setting or option has a value that cannot work."""


class BrokerError(StreamscoreError):
    """The Kafka broker cannot be started, reached or used."""


class DataError(StreamscoreError):
    """An input file or its columns cannot be used."""


class ModelError(StreamscoreError):
    """A model artifact is missing, invalid, tampered with, or incompatible."""
