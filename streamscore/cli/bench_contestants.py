"""The bench's yardsticks, each run as its own process by ``streamscore bench``:

* ``raw``: an aiokafka consumer forwarding every event to another topic, a producer
  batch per partition, no decoding: what any Python Kafka-to-Kafka process costs;
* ``limit``: a hand-written batch scorer with no framework: consume a batch, decode
  each event with orjson, stack the features into a NumPy array, apply the fitted
  scaler, one ``predict_proba`` of the bare estimator, encode each prediction with
  orjson, produce a batch per partition;
* ``naive``: a plain Faust agent that scores each event with one ``predict_proba``
  call through the model's pipeline and sends each prediction (how Faust is usually used).

Usage: ``python -m streamscore.cli.bench_contestants KIND OUT_TOPIC GROUP MODEL`` with
the connection settings in the environment (``STREAMSCORE_*``).
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any

import numpy as np
import orjson

from streamscore.ground.config import Settings, get_settings
from streamscore.ground.kafka import clients
from streamscore.models.registry import Registry


async def _forward(settings: Settings, out: str, group: str, transform: Any) -> None:
    consumer = clients.aiokafka_consumer(
        settings, settings.events_topic, group_id=group, auto_offset_reset="earliest",
        max_poll_records=settings.batch_size, fetch_max_wait_ms=10,
    )  # fmt: skip
    producer = clients.aiokafka_producer(settings, acks="all", linger_ms=0,
                                         max_batch_size=1024 * 1024)  # fmt: skip
    await consumer.start()
    await producer.start()
    try:
        while True:
            batches = await consumer.getmany(timeout_ms=1000)
            futures = []
            for tp, records in batches.items():
                batch = producer.create_batch()
                for key, value in transform(records):
                    if batch.append(key=key, value=value, timestamp=None) is None:
                        batch.close()
                        futures.append(
                            await producer.send_batch(batch, out, partition=tp.partition)
                        )
                        batch = producer.create_batch()
                        batch.append(key=key, value=value, timestamp=None)
                batch.close()
                futures.append(await producer.send_batch(batch, out, partition=tp.partition))
            if futures:
                await asyncio.gather(*futures)
    finally:
        await consumer.stop()
        await producer.stop()


def _passthrough(records: list[Any]) -> list[tuple[bytes, bytes]]:
    return [(r.key, r.value) for r in records]


def _limit_scorer(settings: Settings, model_name: str) -> Any:
    model = Registry(settings.registry_path).load(model_name)
    names = model.schema.names
    scaler = model.pipeline.named_steps["features"].named_transformers_["numeric"][-1]
    mean, scale = scaler.mean_, scaler.scale_
    estimator = model.pipeline[-1]
    classes = [str(c) for c in model.classes]
    loads, dumps = orjson.loads, orjson.dumps

    def score(records: list[Any]) -> list[tuple[bytes, bytes]]:
        rows = [loads(r.value) for r in records]
        x = np.array([[row[n] for n in names] for row in rows], dtype=np.float64)
        proba = estimator.predict_proba((x - mean) / scale)
        best = proba.argmax(axis=1).tolist()
        return [
            (r.key, dumps({"id": row["id"], "prediction": classes[b],
                           "proba": dict(zip(classes, p, strict=True))}))
            for r, row, p, b in zip(records, rows, proba.tolist(), best, strict=True)
        ]  # fmt: skip

    return score


def _naive(settings: Settings, out: str, group: str, model_name: str) -> None:
    import faust

    from streamscore.models.features import rows_to_frame, validate_row

    model = Registry(settings.registry_path).load(model_name)
    datadir = settings.data_dir / group
    datadir.mkdir(parents=True, exist_ok=True)
    app = faust.App(
        group, broker=[f"kafka://{s}" for s in settings.bootstrap.split(",")],
        broker_credentials=clients.faust_credentials(settings),
        value_serializer="raw", key_serializer="raw", web_enabled=False,
        consumer_auto_offset_reset="earliest", store="memory://", topic_allow_declare=False,
        datadir=str(datadir),
    )  # fmt: skip
    events, predictions = app.topic(settings.events_topic), app.topic(out)

    @app.agent(events)
    async def score_each(stream: Any) -> None:
        async for event in stream.events():
            row = orjson.loads(event.value)
            frame = rows_to_frame([validate_row(row, model.schema)], model.schema)
            proba = model.predict_proba(frame)[0]
            classes = map(str, model.classes)
            value = {"id": row["id"], "proba": dict(zip(classes, proba.tolist(), strict=True))}
            await predictions.send(key=event.key, value=orjson.dumps(value))

    worker = faust.Worker(app, loglevel="warn", quiet=True)
    worker.spinner = None
    worker.execute_from_commandline()


def main(argv: list[str]) -> None:
    from streamscore.models.threads import limit_native_threads

    kind, out, group, model = argv
    settings = get_settings()
    limit_native_threads(1)  # as the worker (STREAMSCORE_MODEL_THREADS=1)
    if kind == "raw":
        asyncio.run(_forward(settings, out, group, _passthrough))
    elif kind == "limit":
        asyncio.run(_forward(settings, out, group, _limit_scorer(settings, model)))
    elif kind == "naive":
        _naive(settings, out, group, model)
    else:
        raise SystemExit(f"unknown contestant {kind!r}: raw, limit or naive")


if __name__ == "__main__":
    main(sys.argv[1:])
