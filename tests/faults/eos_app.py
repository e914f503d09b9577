"""A minimal Faust app in faust-streaming's own exactly-once mode, for
``tests/faults/test_exactly_once.py``: one plain per-message agent reads ``EOS_IN`` and
sends one record per input (same key, ``{"id": key}``) to ``EOS_OUT`` with
``await topic.send(...)``, which in ``processing_guarantee="exactly_once"`` goes through
Faust's TransactionManager (one transactional producer per partition, offsets sent to
the transaction and committed with it).

Configured from the environment (the test starts it as a separate process)::

    EOS_BROKER=kafka://127.0.0.1:9092 EOS_APP_ID=eos-x EOS_IN=in-x EOS_OUT=out-x \
    EOS_DATA_DIR=/tmp/eos EOS_PARTITIONS=4 python -m tests.faults.eos_app worker -l info

Nothing of streamscore's pipeline is used here (only its security settings, read from the
``STREAMSCORE_*`` environment like every Faust app of the project): this measures Faust's
mode, not streamscore's.

Measured (``test_exactly_once.py``): Faust puts a send in a transaction only when its
*consumer's* metadata knows the destination topic (``TransactionManager.send`` asks
``consumer.key_partition``, which returns None for a topic the app does not subscribe
to, and a send without a partition goes to the plain, non-transactional producer). So
with ``EOS_SUBSCRIBE_OUTPUT=1`` the app also subscribes to the output topic (a second
agent that reads it and does nothing): then the outputs are written in the per-partition
transactions, together with the input offsets.
"""

from __future__ import annotations

import os

import faust

from streamscore.ground.config import Settings
from streamscore.ground.kafka import clients

PARTITIONS = int(os.environ.get("EOS_PARTITIONS", "4"))

app = faust.App(
    os.environ.get("EOS_APP_ID", "eos-app"),
    broker=os.environ.get("EOS_BROKER", "kafka://127.0.0.1:9092"),
    broker_credentials=clients.faust_credentials(Settings()),
    processing_guarantee="exactly_once",
    datadir=os.environ.get("EOS_DATA_DIR", "/tmp/eos-app-data"),
    web_enabled=False,
    store="memory://",
    topic_partitions=PARTITIONS,
    topic_replication_factor=1,
    # commit (= commit the transaction with the offsets) every 1,000 events or 1 s
    broker_commit_every=int(os.environ.get("EOS_COMMIT_EVERY", "1000")),
    broker_commit_interval=float(os.environ.get("EOS_COMMIT_INTERVAL", "1.0")),
    broker_session_timeout=6.0,
    broker_heartbeat_interval=1.0,
)


def _topic(name: str) -> faust.TopicT:
    return app.topic(name, key_type=bytes, key_serializer="raw", value_serializer="json",
                     partitions=PARTITIONS)  # fmt: skip


source = _topic(os.environ.get("EOS_IN", "eos-in"))
sink = _topic(os.environ.get("EOS_OUT", "eos-out"))


@app.agent(source)
async def copy(stream: faust.StreamT) -> None:
    async for key, value in stream.items():
        await sink.send(key=key, value={"id": key.decode(), "n": value.get("n")})


if os.environ.get("EOS_SUBSCRIBE_OUTPUT") == "1":

    @app.agent(sink)
    async def watch(stream: faust.StreamT) -> None:
        async for _ in stream:  # subscribing is the point: see the module's docstring
            pass


if __name__ == "__main__":
    app.main()
