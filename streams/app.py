"""The Faust application, configured from :class:`~streamscore.ground.config.Settings`."""

from __future__ import annotations

import faust

from streamscore.ground.config import Settings
from streamscore.ground.kafka.clients import faust_credentials


def create_app(settings: Settings) -> faust.App:
    """A Faust app whose consumer group is ``settings.app_id``.

    The broker URL scheme ``streamscore://`` selects Faust's aiokafka transport with
    the batching consumer of :mod:`streamscore.streams.batching`. Values travel as
    raw bytes: decoding is ours (per micro-batch), so a payload that is not JSON
    becomes a dead letter instead of a crashed agent.
    """
    brokers = [f"streamscore://{server}" for server in settings.bootstrap.split(",")]
    return faust.App(
        settings.app_id,
        broker=brokers,
        broker_credentials=faust_credentials(settings),
        store="memory://",
        datadir=str(settings.data_dir),
        topic_partitions=settings.partitions,
        topic_replication_factor=settings.replication_factor,
        topic_allow_declare=True,
        consumer_auto_offset_reset="earliest",
        web_enabled=True,
        web_bind=settings.web_host,
        web_host=settings.web_host,
        web_port=settings.web_port,
        web_in_thread=False,
        key_serializer="raw",
        value_serializer="raw",
        # a fetch is a micro-batch: its size bounds the batch (and its latency)
        broker_max_poll_records=settings.batch_size,
        stream_buffer_maxsize=4,
        producer_linger=0.0,  # a batch is sent whole as soon as it is scored
        producer_max_batch_size=1024 * 1024,
        producer_max_request_size=4 * 1024 * 1024,
        broker_commit_every=max(settings.batch_size, 1000),
        broker_commit_interval=settings.commit_interval,
        broker_session_timeout=settings.session_timeout,
        broker_heartbeat_interval=min(3.0, settings.session_timeout / 3),
    )
