"""The batch transport (streams/batching.py): the Faust internals it extends are still
where it expects them."""

from __future__ import annotations

import inspect

import faust
from faust.transport.drivers import aiokafka as faust_aiokafka


def test_the_faust_internals_the_transport_extends_are_there():
    """An upgrade of faust-streaming that moves one of these breaks the worker: this
    test names which (pyproject pins the tested range)."""
    consumer = faust_aiokafka.Consumer
    for name in ("_wait_next_records", "_new_offset", "_drain_messages", "wait_empty",
                 "on_partitions_revoked", "_new_consumer_thread"):  # fmt: skip
        assert callable(getattr(consumer, name, None)), f"faust's Consumer has no {name}"
    assert "_acked" in inspect.getsource(consumer._new_offset)
    thread = faust_aiokafka.AIOKafkaConsumerThread
    assert callable(getattr(thread, "_create_worker_consumer", None))
    source = inspect.getsource(thread._create_worker_consumer)
    assert "fetch_max_wait_ms" in source  # the field BatchConsumerThread shortens
    assert faust.__version__.startswith("0.15."), faust.__version__
