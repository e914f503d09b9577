"""The learner: test-then-train the online model on joined examples, each label once.

Pure and synchronous: the learn agent decodes a batch from the single-partition
examples topic, calls :meth:`Learner.learn`, produces the records it returns to
``drift``, and now and then publishes :meth:`Learner.snapshot`. An example is a JSON
object:

===============  ===========================================================
``id``           the event id
``x``            the validated features, ``{name: value or null}``
``y``            the label, one of the classes (bool, int or str; ``1`` == ``"1"``)
``proba``        the batch model's ``{class as string: p}`` (or a list in class order)
``version``      the batch model version that scored the event
``event_ts``     when the event happened, epoch ms; ``label_ts``: when its label did
``delay_ms``     the label's delay (default ``label_ts - event_ts``)
``source``       ``[labels partition, labels offset]`` of the label
``offset``       its own examples-topic offset (set by the wiring; optional)
===============  ===========================================================

**Each label is learned once.** The learner keeps the highest labels offset learned
per labels partition and skips an example at or below it (a duplicate, or a label
re-joined after a crash). This needs the join to produce each labels partition's
examples in label-offset order (a label that cannot be joined is counted there, not
held back). A snapshot carries these offsets and the examples offset it covers; a
restarted learner restores it and reads the examples topic from ``examples_offset
+ 1``, reaching exactly the state of an uninterrupted run (tests/models/test_learner.py).

**Cost**, measured on this machine (2 shared cores), default model, 10 numeric
features, all metrics, detectors and the challenger window: ~69 µs per example,
~14,500 examples/s on one core (``make bench-parts``; aim 5,000/s). River's scaler
and logistic regression (predict, then learn) take about a third, the two
detectors per model a seventh, the metrics (plain counts, :mod:`.performance`) a
tenth, the example's checks the rest. With ``"hat"``: ~206 µs (~4,900/s).

>>> from streamscore.models.schema import Feature, FeatureSchema
>>> learner = Learner(FeatureSchema((Feature("x", "numeric"),)), [0, 1], report_every=2)
>>> examples = [{"x": {"x": float(i % 2)}, "y": i % 2, "proba": {"0": 0.5, "1": 0.5},
...              "event_ts": 0, "label_ts": 1500, "source": [0, i], "offset": i}
...             for i in range(4)]
>>> records = learner.learn(examples + examples[:2])  # the last two are duplicates
>>> learner.n_learned, learner.examples_offset, learner.labels_offsets
(4, 3, {0: 3})
>>> learner.counters["duplicates"]
2
>>> sorted({(r["kind"], r["name"]) for r in records})  # doctest: +NORMALIZE_WHITESPACE
[('challenger', 'online'), ('performance', 'batch'), ('performance', 'labels'),
 ('performance', 'online')]
>>> restored = Learner.restore(learner.snapshot())
>>> restored.model.predict_proba_one({"x": 1.0}) == learner.model.predict_proba_one({"x": 1.0})
True
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from streamscore.ground.errors import DataError, ModelError
from streamscore.models import snapshot
from streamscore.models.challenger import PairedWindow
from streamscore.models.delay import DelayHistogram
from streamscore.models.detectors import ErrorDetectors
from streamscore.models.offsets import SeenOffsets
from streamscore.models.online import OnlineModel, default_online_model
from streamscore.models.performance import Prequential
from streamscore.models.reports import challenger_record, detection_record, label_records
from streamscore.models.schema import FeatureSchema

# What the learner counts besides learning: examples it had already learned
# (``duplicates``, re-sent after a crash), unreadable ones, and the join's outcomes.
# The layout of a snapshot's learner state (metrics, detectors, challenger). Raise it
# when that layout changes: a worker then learns anew from an older snapshot instead
# of restoring objects that lack what the code now expects (format 1, before the
# metrics became plain counts, crashed the learner on its first label).
STATE_FORMAT = 2
COUNTERS = ("duplicates", "invalid", "unknown", "expired", "duplicate_labels", "unlabelled")
DROPPED = {"unknown": "unknown", "expired": "expired", "duplicate": "duplicate_labels"}


class Learner:
    """The one place the online model learns; see the module docstring."""

    def __init__(
        self,
        schema: FeatureSchema,
        classes: list,
        *,
        kind: str = "logreg",
        window: int = 1000,
        report_every: int = 1000,
        alpha: float = 0.05,
        seed: int = 0,
    ) -> None:
        self.model = default_online_model(schema, classes, kind, seed)
        self.settings: dict[str, Any] = {
            "kind": kind,
            "window": window,
            "report_every": report_every,
            "alpha": alpha,
            "seed": seed,
        }
        self.keys = [str(c) for c in self.model.classes]
        self.n_learned = 0
        self.examples_offset: int | None = None
        self.labels_seen = SeenOffsets()  # labels offsets taken (learned or counted)
        self.counters = dict.fromkeys(COUNTERS, 0)
        self.since_report = 0
        self.perf = Prequential(len(self.keys), window)
        self.detectors = ErrorDetectors()
        self.challenger = PairedWindow(window, alpha)
        self.delay = DelayHistogram()

    def learn(self, examples: Iterable[Mapping]) -> list[dict]:
        """Test then train on each new example; the records due (detections, reports)."""
        records: list[dict] = []
        for example in examples:
            offset = example.get("offset")
            if offset is not None and (
                self.examples_offset is None or offset > self.examples_offset
            ):
                self.examples_offset = offset
            if self._counted(example):
                continue
            try:
                parsed = self._parse(example)
            except (KeyError, IndexError, TypeError, ValueError, DataError):
                self.counters["invalid"] += 1  # our own join wrote it: count, never stop
                continue
            if parsed is None:
                self.counters["duplicates"] += 1
                continue
            records += self._learn_one(offset, *parsed)
            self.since_report += 1
            if self.since_report >= self.settings["report_every"]:
                records += self.report()
        return records

    def _counted(self, example: Mapping) -> bool:
        """A join outcome that is not an example: a label dropped (unknown, expired,
        duplicate id) or events forgotten unlabelled; counted, once per labels offset."""
        if "unlabelled" in example:
            self.counters["unlabelled"] += int(example["unlabelled"])
            return True
        reason = example.get("dropped")
        if reason is None:
            return False
        partition, label_offset = (int(v) for v in example["source"])
        if self.labels_seen.add(partition, label_offset):
            self.counters[DROPPED.get(reason, "invalid")] += 1
        else:
            self.counters["duplicates"] += 1
        return True

    def _parse(self, example: Mapping) -> tuple | None:
        partition, label_offset = (int(v) for v in example["source"])
        if self.labels_seen.seen(partition, label_offset):
            return None
        k = self.model.class_index(example["y"])
        if k is None:
            raise DataError(f"label {example['y']!r} is not a class")
        x = example["x"]
        if not isinstance(x, Mapping):
            raise TypeError("x must be an object")
        self.model.check_row(x)
        proba = example["proba"]
        if isinstance(proba, Mapping):
            batch = tuple(float(proba.get(key, 0.0)) for key in self.keys)
        elif len(proba) == len(self.keys):
            batch = tuple(float(p) for p in proba)
        else:
            raise ValueError(f"proba has {len(proba)} values for {len(self.keys)} classes")
        event_ts = example.get("event_ts")
        delay = example.get("delay_ms")
        if delay is None and event_ts is not None and example.get("label_ts") is not None:
            delay = example["label_ts"] - event_ts
        return (partition, label_offset, k, x, batch, event_ts, delay)

    def _learn_one(self, offset, partition, label_offset, k, x, batch, event_ts, delay):
        online = tuple(self.model.predict_proba_one(x))  # test ...
        self.model.learn_one(x, self.model.classes[k])  # ... then train
        self.labels_seen.add(partition, label_offset)
        self.n_learned += 1
        self.perf.update(k, batch, online, offset, event_ts)
        if delay is not None:
            self.delay.update(delay)
        records = []
        rights = {}
        for name, proba in (("batch", batch), ("online", online)):
            rights[name] = max(range(len(proba)), key=proba.__getitem__) == k
            for detector in self.detectors.update(name, 0.0 if rights[name] else 1.0):
                records.append(self._detection(name, detector, offset, event_ts))
        self.challenger.update(rights["batch"], rights["online"])
        return records

    def _detection(self, name: str, detector: str, offset, event_ts) -> dict:
        error = 1.0 - self.perf.rolling_accuracy(name)
        threshold = self.detectors.thresholds()[detector]
        return detection_record(
            name, detector, error, threshold, self.n_learned - 1, offset, event_ts, self.perf.end
        )

    def report(self) -> list[dict]:
        """Every performance, label and challenger record as of now (also called by a timer);
        shapes in :mod:`.reports`."""
        self.since_report = 0
        if not self.n_learned:
            return []
        windows = self.perf.windows()
        counts = {"learned": self.n_learned, **self.counters}
        return [
            *self.perf.records(),
            *label_records(self.delay.summary(), counts, windows["cumulative"]),
            challenger_record(self.challenger.test(), windows["rolling"]),
        ]

    @property
    def labels_offsets(self) -> dict[int, int]:
        """The highest labels offset taken, per labels partition."""
        return self.labels_seen.tops()

    # --- snapshots --------------------------------------------------------------
    def header(self) -> dict:
        """What a snapshot says in plain JSON (readable without unpickling)."""
        return {
            "state_format": STATE_FORMAT,
            "kind": self.model.kind,
            "classes": self.model.classes,
            "schema": self.model.schema.to_dict(),
            "settings": self.settings,
            "n_learned": self.n_learned,
            "examples_offset": self.examples_offset,
            "labels_offsets": {str(p): o for p, o in self.labels_offsets.items()},
            "labels_seen": self.labels_seen.state(),
            "counters": self.counters,
        }

    def snapshot(self) -> bytes:
        """The whole learner state as bytes (see :mod:`.snapshot`)."""
        state = {
            "perf": self.perf.state(),
            "detectors": self.detectors.state(),
            "challenger": dict(vars(self.challenger)),
            "delay": self.delay.to_dict(),
            "since_report": self.since_report,
        }
        return snapshot.dumps(self.header(), self.model.parts, state)

    @classmethod
    def restore(cls, blob: bytes, expected_sha256: str | None = None) -> Learner:
        """The learner a snapshot was taken of, or :class:`ModelError`."""
        header, parts, state = snapshot.loads(blob, expected_sha256)
        if header.get("state_format", 1) != STATE_FORMAT:
            raise ModelError(
                f"the snapshot's learner state has format {header.get('state_format', 1)}; this "
                f"version reads format {STATE_FORMAT}"
            )
        try:
            learner = cls(
                FeatureSchema.from_dict(header["schema"]), header["classes"], **header["settings"]
            )
            learner.model = _model(header, parts)
            learner.n_learned = header["n_learned"]
            learner.examples_offset = header["examples_offset"]
            tops = {int(p): o for p, o in header["labels_offsets"].items()}
            learner.labels_seen = (
                SeenOffsets.from_state(header["labels_seen"])
                if "labels_seen" in header
                else SeenOffsets.up_to(tops)  # a snapshot of an earlier version
            )
            learner.counters = {**learner.counters, **header["counters"]}
            learner.perf = Prequential.from_state(state["perf"])
            learner.detectors = ErrorDetectors.from_state(state["detectors"])
            vars(learner.challenger).update(state["challenger"])
            learner.delay = DelayHistogram.from_dict(state["delay"])
            learner.since_report = state["since_report"]
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ModelError(
                f"snapshot state is incomplete ({type(exc).__name__}: {exc})"
            ) from None
        return learner


def load_model(blob: bytes, expected_sha256: str | None = None) -> tuple[OnlineModel, dict]:
    """``(model, header)`` of a snapshot: what a scoring worker needs (no metrics)."""
    header, parts = snapshot.load_parts(blob, expected_sha256)
    try:
        return _model(header, parts), header
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelError(f"snapshot model is incomplete ({type(exc).__name__}: {exc})") from None


def _model(header: dict, parts: object) -> OnlineModel:
    if not isinstance(parts, dict) or "head" not in parts:
        raise ModelError("snapshot holds no online model")
    schema = FeatureSchema.from_dict(header["schema"])
    return OnlineModel(schema, header["classes"], header["kind"], parts)
