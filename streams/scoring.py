"""The score agent: events in, one prediction per event out.

Foundation seed: each event is decoded and answered with one record on the
predictions topic. The batch model is wired in by the scoring-service issue.
"""

from __future__ import annotations

import time

import faust
import orjson

from streamscore.config import Settings


def now_ms() -> int:
    return int(time.time() * 1000)


def install(app: faust.App, settings: Settings) -> None:
    """Declare the topics and the ``score_events`` agent on ``app``."""
    events_topic = app.topic(settings.events_topic, partitions=settings.partitions)
    predictions_topic = app.topic(settings.predictions_topic, partitions=settings.partitions)

    @app.agent(events_topic, name="score_events")
    async def score_events(stream: faust.Stream) -> None:
        async for batch in stream.take_events(settings.batch_size, within=settings.batch_timeout):
            scored_ts = now_ms()
            pending = []
            for event in batch:
                payload = orjson.loads(event.value)
                key = event.key or str(payload.get("id", "")).encode()
                record = {"id": key.decode(), "event_ts": payload.get("ts"), "scored_ts": scored_ts}
                pending.append(await predictions_topic.send(key=key, value=orjson.dumps(record)))
            for fut in pending:  # delivered before the batch is acknowledged
                await fut
