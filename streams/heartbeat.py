"""Each worker says who it is and what it serves on ``<app id>-workers`` (compacted).

Kafka's group description names a group's members and their partitions, but not
the model version a worker scores with, nor where its web endpoint is. So every
worker keeps one status record on that topic (key = its worker id), written when
it starts, as soon as its model version changes, and every :data:`INTERVAL`
seconds; a clean stop deletes it (a tombstone). The worker id is also the Kafka
client id of its consumer, so ``streamscore status`` joins the two by it, for
workers on any machine.

>>> record = status_record("h-1", "h", 1, ("m", "3"), "http://h:6066", 1000, now=2000)
>>> record["worker"], record["model"], record["version"], record["updated_ts"]
('h-1', 'm', '3', 2000)
"""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from collections.abc import Callable
from typing import Any

import faust
import orjson

from streamscore import __version__
from streamscore.ground.config import Settings
from streamscore.ground.kafka.admin import create_topics, worker_status_spec
from streamscore.ground.times import now_ms

INTERVAL = 30.0
CHECK_EVERY = 1.0  # how soon a model swap shows in `streamscore status`
log = logging.getLogger(__name__)


def worker_id() -> str:
    """``<host>-<pid>-<4 hex>``: unique per process, readable in `status` and broker logs."""
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:4]}"


def status_record(
    worker: str,
    host: str,
    pid: int,
    model: tuple[str, str],
    web: str,
    started_ts: int,
    now: int | None = None,
) -> dict[str, Any]:
    """The record ``streamscore status`` reads (README, "Worker status")."""
    return {
        "worker": worker,
        "host": host,
        "pid": pid,
        "model": model[0],
        "version": model[1],
        "web": web,
        "started_ts": started_ts,
        "updated_ts": now_ms() if now is None else now,
        "streamscore": __version__,
    }


def web_url(settings: Settings) -> str:
    host = settings.web_host
    if host in ("0.0.0.0", "::", ""):
        host = socket.getfqdn()
    return f"http://{host}:{settings.web_port}"


def install(app: faust.App, settings: Settings, model: Callable[[], tuple[str, str]]) -> str:
    """Name the worker's Kafka client after its worker id and keep its status record.

    ``model()`` gives the ``(name, version)`` being served now. Returns the worker id.
    """
    spec = worker_status_spec(settings)
    create_topics(settings, [spec.name])  # one of topic_specs: made as it says
    me = worker_id()
    app.conf.broker_client_id = me  # the member's client id in the group description
    host, pid, started, url = socket.gethostname(), os.getpid(), now_ms(), web_url(settings)
    said: dict[str, Any] = {"model": None, "at": 0.0}

    async def send(value: bytes | None) -> None:
        await app.producer.send_and_wait(spec.name, me.encode(), value, None, None, None)

    @app.timer(CHECK_EVERY)
    async def report_status() -> None:
        current = model()
        if current == said["model"] and time.monotonic() - said["at"] < INTERVAL:
            return
        record = status_record(me, host, pid, current, url, started)
        try:
            await send(orjson.dumps(record))
        except Exception as exc:  # status is advisory: never stop scoring for it
            log.warning("could not write the status record to %s: %s", spec.name, exc)
            return
        said.update(model=current, at=time.monotonic())

    @app.on_before_shutdown.connect
    async def forget_me(sender: Any, /, *args: Any, signal: Any, **kwargs: Any) -> None:
        try:
            await send(None)
        except Exception as exc:
            log.warning("could not delete the status record on %s: %s", spec.name, exc)

    return me
