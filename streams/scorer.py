"""Score a micro-batch of raw events: decode, validate, one ``predict_proba`` call.

Pure and synchronous (no Kafka, no event loop), so the score agent stays a thin
loop and this logic is tested directly. A failure is routed, not raised: each
event ends as exactly one prediction or one dead letter.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import orjson

from streamscore.ground.times import now_ms, parse_ms
from streamscore.models.features import FeatureError, rows_to_frame, validate_row
from streamscore.streams.records import dead_letter


@dataclass(frozen=True, slots=True)
class RawEvent:
    """One record as it came off the events topic."""

    key: bytes | None
    value: bytes | None
    topic: str
    partition: int
    offset: int
    timestamp_ms: int


@dataclass
class Outcome:
    """What a batch became: ``(key, value)`` pairs for each output topic."""

    model: Any = None  # the version that scored this batch (a swap may follow at once)
    predictions: list[tuple[bytes, bytes]] = field(default_factory=list)
    dead_letters: list[tuple[bytes | None, bytes]] = field(default_factory=list)
    dead_by_stage: dict[str, int] = field(default_factory=dict)


class Rejected(Exception):
    def __init__(self, stage: str, reason: str) -> None:
        super().__init__(reason)
        self.stage = stage


class Scorer:
    """Holds the current model; :meth:`swap` replaces it between batches."""

    def __init__(self, model: Any, max_event_bytes: int = 1_000_000) -> None:
        self.model = model
        self.max_event_bytes = max_event_bytes

    def swap(self, model: Any) -> None:
        # One reference assignment: a batch in progress keeps the model it started with.
        self.model = model

    def score(self, events: Sequence[RawEvent]) -> Outcome:
        model = self.model  # the same version for the whole batch
        outcome = Outcome(model=model)
        accepted: list[tuple[RawEvent, str, int, dict[str, Any]]] = []
        for event in events:
            try:
                accepted.append((event, *self._admit(event, model)))
            except Rejected as exc:
                self._reject(outcome, event, exc.stage, str(exc))
        if accepted:
            self._predict(model, accepted, outcome)
        return outcome

    # --- stages ---------------------------------------------------------------
    def _admit(self, event: RawEvent, model: Any) -> tuple[str, int, dict[str, Any]]:
        """Decode and validate one event: ``(id, event_ts, features)`` or Rejected."""
        raw = event.value
        if raw is None:
            raise Rejected("decode", "event has no value (a tombstone)")
        if len(raw) > self.max_event_bytes:
            raise Rejected(
                "decode",
                f"event is {len(raw)} bytes, over the limit of {self.max_event_bytes} "
                "(STREAMSCORE_MAX_EVENT_BYTES)",
            )
        try:
            payload = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise Rejected("decode", f"not UTF-8 JSON: {exc}") from None
        if not isinstance(payload, dict):
            raise Rejected("decode", f"event must be a JSON object, got {type(payload).__name__}")
        event_id = self._event_id(event, payload)
        ts = payload.get("ts")
        try:
            event_ts = event.timestamp_ms if ts is None else parse_ms(ts)
        except ValueError as exc:
            raise Rejected("validate", str(exc)) from None
        try:
            features = validate_row(payload, model.schema)
        except FeatureError as exc:
            raise Rejected("validate", str(exc)) from None
        return event_id, event_ts, features

    @staticmethod
    def _event_id(event: RawEvent, payload: dict[str, Any]) -> str:
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

    def _predict(
        self,
        model: Any,
        accepted: list[tuple[RawEvent, str, int, dict[str, Any]]],
        outcome: Outcome,
    ) -> None:
        try:
            proba = model.predict_proba(rows_to_frame([a[3] for a in accepted], model.schema))
        except Exception:
            # One row the model cannot take must not cost the batch: score row by row.
            for item in accepted:
                try:
                    proba = model.predict_proba(rows_to_frame([item[3]], model.schema))
                except Exception as exc:  # noqa: BLE001 - routed to the dead-letter topic
                    self._reject(outcome, item[0], "score", f"model failed: {exc!r}")
                else:
                    self._emit(model, [item], proba, outcome)
            return
        self._emit(model, accepted, proba, outcome)

    @staticmethod
    def _emit(
        model: Any,
        accepted: list[tuple[RawEvent, str, int, dict[str, Any]]],
        proba: np.ndarray,
        outcome: Outcome,
    ) -> None:
        labels = [c.item() if hasattr(c, "item") else c for c in model.classes]
        classes = [str(c) for c in labels]
        winners = proba.argmax(axis=1)
        scored_ts = now_ms()
        for (_event, event_id, event_ts, _), row, best in zip(
            accepted, proba.tolist(), winners.tolist(), strict=True
        ):
            record = {
                "id": event_id,
                "model": model.name,
                "version": model.version,
                "prediction": labels[best],
                "proba": dict(zip(classes, row, strict=True)),
                "online": None,
                "event_ts": event_ts,
                "scored_ts": scored_ts,
            }
            outcome.predictions.append((event_id.encode(), orjson.dumps(record)))

    @staticmethod
    def _reject(outcome: Outcome, event: RawEvent, stage: str, reason: str) -> None:
        letter = dead_letter(
            event.value,
            key=event.key,
            error=reason,
            stage=stage,
            topic=event.topic,
            partition=event.partition,
            offset=event.offset,
        )
        outcome.dead_letters.append((event.key, letter))
        outcome.dead_by_stage[stage] = outcome.dead_by_stage.get(stage, 0) + 1
