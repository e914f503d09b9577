"""Score a micro-batch of raw events: decode, validate by column, one ``predict_proba`` call.

Pure and synchronous (no Kafka, no event loop), so the score agent stays a thin
loop and this logic is tested directly. A failure is routed, not raised: each
event ends as exactly one prediction or one dead letter. Per event only what
must be per event runs in Python (decoding the JSON, reading the id and ``ts``);
validation, preprocessing, the model and the encoding of the predictions work
on whole columns (:mod:`streamscore.models.batch`, :mod:`streamscore.models.compiled`,
:mod:`streamscore.ground.jsonrows`).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import orjson

from streamscore.ground.jsonrows import each_text, json_objects, number_texts
from streamscore.ground.times import now_ms, parse_ms
from streamscore.models.artifact import LoadedModel
from streamscore.models.batch import FeatureBatch, validate_batch
from streamscore.models.online import OnlineModel
from streamscore.streams.records import dead_letter

log = logging.getLogger(__name__)
NOT_FINITE = "the model gave no finite probability (a feature value too large for it?)"
PREDICTION_FIELDS = (
    "id", "model", "version", "prediction", "proba", "online", "event_ts", "scored_ts",
)  # fmt: skip


class Record(Protocol):
    """A consumed record (aiokafka's ``ConsumerRecord`` has these attributes)."""

    @property
    def key(self) -> bytes | None: ...
    @property
    def value(self) -> bytes | None: ...
    @property
    def topic(self) -> str: ...
    @property
    def partition(self) -> int: ...
    @property
    def offset(self) -> int: ...
    @property
    def timestamp(self) -> int: ...  # epoch ms


@dataclass(frozen=True, slots=True)
class RawEvent:
    """A record built by hand (tests, dead-letter replays), shaped like a consumed one."""

    key: bytes | None
    value: bytes | None
    topic: str
    partition: int
    offset: int
    timestamp: int


@dataclass
class Scored:
    """The accepted events of a batch, row-aligned, for the stages after scoring."""

    features: FeatureBatch
    ids: list[str]
    event_ts: np.ndarray
    record_ts: np.ndarray  # Kafka record timestamps (when each event reached Kafka)
    partitions: np.ndarray
    offsets: np.ndarray
    proba: np.ndarray
    version: str  # the batch model version that scored them


@dataclass
class Outcome:
    """What a batch became: outputs grouped by the partition their event came from."""

    model: LoadedModel  # the version that scored this batch (a swap may follow at once)
    events: int = 0
    predictions: dict[int, list[tuple[bytes, bytes]]] = field(default_factory=dict)
    dead_letters: dict[int, list[tuple[bytes | None, bytes]]] = field(default_factory=dict)
    dead_by_stage: Counter[str] = field(default_factory=Counter)
    scored: Scored | None = None

    @property
    def n_predictions(self) -> int:
        return sum(len(v) for v in self.predictions.values())


@dataclass(frozen=True)
class OnlineView:
    """The learner's latest snapshot, as a scoring worker holds it."""

    model: OnlineModel
    n_learned: int
    snapshot: str  # the snapshot's id (the start of its sha256)

    def texts(self, batch: FeatureBatch) -> list[bytes]:
        """The ``online`` field of each row of ``batch``, as JSON text."""
        with np.errstate(over="ignore", invalid="ignore"):  # handled below: online null
            proba = self.model.predict_proba_many(batch.columns, len(batch))
        classes = self.model.classes
        labels = [orjson.dumps(c) for c in classes]
        n = len(batch)
        columns = [
            [labels[w] for w in proba.argmax(axis=1).tolist()],
            json_objects([str(c) for c in classes],
                         [number_texts(proba[:, j].tolist()) for j in range(len(classes))]),
            [str(self.n_learned).encode()] * n,
            [orjson.dumps(self.snapshot)] * n,
        ]  # fmt: skip
        texts = json_objects(("prediction", "proba", "n_learned", "snapshot"), columns)
        finite = np.isfinite(proba).all(axis=1)
        if not finite.all():
            # A value the batch model took but the online one cannot (|x| near 1e308 makes
            # its logit inf - inf): that row's online view is null, its prediction still goes.
            for i in np.flatnonzero(~finite).tolist():
                texts[i] = b"null"
        return texts


class Rejected(Exception):
    def __init__(self, stage: str, reason: str) -> None:
        super().__init__(reason)
        self.stage = stage


class Scorer:
    """Holds the current model; :meth:`swap` replaces it between batches."""

    def __init__(self, model: LoadedModel, max_event_bytes: int = 1_000_000) -> None:
        self.model = model
        self.max_event_bytes = max_event_bytes
        self.online: OnlineView | None = None  # set when a snapshot of this schema arrives

    def swap(self, model: LoadedModel) -> None:
        # One reference assignment: a batch in progress keeps the model it started with.
        self.model = model

    def score(self, events: Sequence[Record]) -> Outcome:
        model = self.model  # the same version for the whole batch
        outcome = Outcome(model=model, events=len(events))
        kept, payloads, ids, times = self._decode(events, outcome)
        batch, refused = validate_batch(payloads, model.schema)
        for position, reason in refused:
            self._reject(outcome, kept[position], "validate", reason)
        if len(batch):
            rows = batch.rows
            accepted = [kept[i] for i in rows]
            self._predict(model, batch, accepted, [ids[i] for i in rows],
                          [times[i] for i in rows], outcome)  # fmt: skip
        return outcome

    # --- stages ---------------------------------------------------------------
    def _decode(
        self, events: Sequence[Record], outcome: Outcome
    ) -> tuple[list[Record], list[dict[str, Any]], list[str], list[int]]:
        kept: list[Record] = []
        payloads: list[dict[str, Any]] = []
        ids: list[str] = []
        times: list[int] = []
        loads, limit = orjson.loads, self.max_event_bytes
        for event in events:
            try:
                raw = event.value
                if raw is None:
                    raise Rejected("decode", "event has no value (a tombstone)")
                # the key counts too: a prediction carries it twice (key and id)
                size = len(raw) + (len(event.key) if event.key is not None else 0)
                if size > limit:
                    raise Rejected(
                        "decode",
                        f"event is {size} bytes (key and value), over the limit of {limit} "
                        "(STREAMSCORE_MAX_EVENT_BYTES)",
                    )
                try:
                    payload = loads(raw)
                except orjson.JSONDecodeError as exc:
                    raise Rejected("decode", f"not UTF-8 JSON: {exc}") from None
                if type(payload) is not dict:
                    kind = type(payload).__name__
                    raise Rejected("decode", f"event must be a JSON object, got {kind}")
                event_id = _event_id(event, payload)
                ts = payload.get("ts")
                try:
                    event_ts = event.timestamp if ts is None else parse_ms(ts)
                except ValueError as exc:
                    raise Rejected("validate", str(exc)) from None
            except Rejected as exc:
                self._reject(outcome, event, exc.stage, str(exc))
                continue
            kept.append(event)
            payloads.append(payload)
            ids.append(event_id)
            times.append(event_ts)
        return kept, payloads, ids, times

    def _predict(
        self,
        model: LoadedModel,
        batch: FeatureBatch,
        accepted: list[Record],
        ids: list[str],
        times: list[int],
        outcome: Outcome,
    ) -> None:
        failed: set[int] = set()
        try:
            # a value near 1e308 can overflow a linear model to inf or NaN: such rows
            # are dead letters (below), so numpy's warning would only be noise in the log
            with np.errstate(over="ignore", invalid="ignore"):
                proba = model.predict_proba_batch(batch)
        except Exception:
            # One row the model cannot take must not cost the batch: score row by row.
            rows = []
            for i in range(len(batch)):
                try:
                    rows.append(model.predict_proba_batch(batch.take([i]))[0])
                except Exception as exc:  # noqa: BLE001 - routed to the dead-letter topic
                    self._reject(outcome, accepted[i], "score", f"model failed: {exc!r}")
                    failed.add(i)
                    rows.append(np.full(len(model.classes), np.nan))
            proba = np.vstack(rows)
        finite = np.isfinite(proba).all(axis=1)
        if not finite.all():
            # e.g. a linear model on a value near 1e308: its scores overflow to inf - inf
            for i in np.flatnonzero(~finite).tolist():
                if i not in failed:
                    self._reject(outcome, accepted[i], "score", NOT_FINITE)
            good = np.flatnonzero(finite).tolist()
            if not good:
                return
            batch, proba = batch.take(good), proba[good]
            accepted = [accepted[i] for i in good]
            ids, times = [ids[i] for i in good], [times[i] for i in good]
        outcome.scored = Scored(
            features=batch,
            ids=ids,
            event_ts=np.asarray(times, dtype=np.int64),
            record_ts=np.fromiter((e.timestamp for e in accepted), np.int64, len(accepted)),
            partitions=np.fromiter((e.partition for e in accepted), np.int64, len(accepted)),
            offsets=np.fromiter((e.offset for e in accepted), np.int64, len(accepted)),
            proba=proba,
            version=model.version,
        )
        online = self.online
        texts = None
        if online is not None and online.model.schema == model.schema:
            try:
                texts = online.texts(batch)
            except Exception as exc:  # noqa: BLE001 - the batch model's answer still goes out
                log.warning("online model failed on a batch, online: null (%r)", exc)
        values = prediction_records(model, ids, proba, times, online=texts)
        by_partition = outcome.predictions
        for event, event_id, value in zip(accepted, ids, values, strict=True):
            by_partition.setdefault(event.partition, []).append((event_id.encode(), value))

    @staticmethod
    def _reject(outcome: Outcome, event: Record, stage: str, reason: str) -> None:
        letter = dead_letter(
            event.value,
            key=event.key,
            error=reason,
            stage=stage,
            topic=event.topic,
            partition=event.partition,
            offset=event.offset,
        )
        outcome.dead_letters.setdefault(event.partition, []).append((event.key, letter))
        outcome.dead_by_stage[stage] += 1


def _event_id(event: Record, payload: dict[str, Any]) -> str:
    # The key is the id (it decides the partition); the payload's id is a fallback,
    # and an event with neither gets its coordinates, which are unique and stable.
    if event.key is not None:
        try:
            return event.key.decode("utf-8")
        except UnicodeDecodeError:
            raise Rejected("decode", "key is not UTF-8") from None
    if payload.get("id") is not None:
        return str(payload["id"])
    return f"{event.topic}:{event.partition}:{event.offset}"


def prediction_records(
    model: LoadedModel,
    ids: list[str],
    proba: np.ndarray,
    event_ts: list[int],
    online: list[bytes] | None,
) -> list[bytes]:
    """The ``predictions`` values (README, "Topics"), encoded a column at a time.

    ``online`` holds each row's ``online`` object as JSON text (None: ``null`` for all).
    """
    n = len(ids)
    labels = [c.item() if hasattr(c, "item") else c for c in model.classes]
    label_texts = [orjson.dumps(label) for label in labels]
    winners = proba.argmax(axis=1).tolist()
    probas = json_objects(
        [str(c) for c in labels], [number_texts(proba[:, j].tolist()) for j in range(len(labels))]
    )
    columns = [
        each_text(ids),
        [orjson.dumps(model.name)] * n,
        [orjson.dumps(model.version)] * n,
        [label_texts[w] for w in winners],
        probas,
        online if online is not None else [b"null"] * n,
        number_texts(event_ts),
        [str(now_ms()).encode()] * n,
    ]
    return json_objects(PREDICTION_FIELDS, columns)
