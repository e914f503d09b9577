"""streamscore: real-time ML inference on Kafka event streams.

Packages: ``producers`` put data on topics, ``streams`` is the Faust app,
``models`` is the pure-ML part (no Kafka). This package holds what they share:
settings, errors, Kafka client options, the local broker, and the CLI.
"""

__version__ = "0.1.0"
