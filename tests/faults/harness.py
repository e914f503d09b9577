"""The fault harness: feed a stream, break things, then count what came out.

Each scenario uses its own topics and ids, feeds events (and their labels, late) with
the project's replay in a background thread, breaks workers or the broker by their
pid, and then a separate consumer reads ``predictions``, ``events-dlq`` and the
learner's snapshots to count: events lost (no prediction and no dead letter),
duplicate predictions, how long the stream stood still, and ``n_learned`` against the
distinct labelled ids. Every scenario adds a :class:`Row` to :data:`ROWS`, printed as
one table at the end of the run (``make faults``).
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field

import pandas as pd

from streamscore.ground.config import Settings
from streamscore.ground.kafka.reading import end_offsets, read_topic
from streamscore.models.snapshot import load_header
from streamscore.producers.replay import replay


@dataclass
class Row:
    scenario: str
    events: int = 0
    kills: int = 0
    lost: int = 0
    duplicates: int = 0
    dead_letters: int = 0
    recovery_s: list[float] = field(default_factory=list)
    learned: int | None = None
    labelled: int | None = None
    note: str = ""


ROWS: list[Row] = []


class Feed:
    """Replay a frame (id, ts, features, label) into Kafka from a background thread."""

    def __init__(self, settings: Settings, frame: pd.DataFrame, rate: float,
                 label_delay: str | None = "uniform:0.2:1.0") -> None:  # fmt: skip
        self.error: BaseException | None = None
        labels = label_delay is not None

        def run() -> None:
            try:
                replay(settings, frame, id_col="id", ts_col="ts", rate=rate, progress=False,
                       label_col="label" if labels else None,
                       label_delay=label_delay or "0")  # fmt: skip
            except BaseException as exc:  # noqa: BLE001 - reported by join()
                self.error = exc

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()

    def join(self, timeout: float = 300) -> None:
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "the feed did not finish"
        if self.error is not None:
            raise self.error


def count(settings: Settings, topic: str) -> int:
    return sum(end_offsets(settings, topic).values())


def wait_count(settings: Settings, topic: str, n: int, timeout: float) -> float:
    """Seconds until ``topic`` holds ``n`` records; AssertionError after ``timeout``."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if count(settings, topic) >= n:
            return time.monotonic() - started
        time.sleep(0.2)
    raise AssertionError(f"{topic} holds {count(settings, topic)} of {n} after {timeout:.0f} s")


def stalled_for(settings: Settings, since: float, timeout: float = 180) -> float:
    """Seconds from ``since`` (a monotonic time) until predictions move again."""
    start = count(settings, settings.predictions_topic)
    while time.monotonic() - since < timeout:
        if count(settings, settings.predictions_topic) > start:
            return time.monotonic() - since
        time.sleep(0.1)
    raise AssertionError(f"predictions did not move for {timeout:.0f} s")


def outcome(settings: Settings, ids: set[str], timeout: float = 240) -> tuple[int, int, int]:
    """``(lost, duplicates, dead letters)``: waits until every id has an answer (or timeout)."""
    deadline = time.monotonic() + timeout
    lost = len(ids)
    while time.monotonic() < deadline:
        predicted = Counter(r.key for r in read_topic(settings, settings.predictions_topic,
                                                      timeout=120, parse=False))  # fmt: skip
        letters = {r.key for r in read_topic(settings, settings.dlq_topic, timeout=60,
                                             parse=False)}  # fmt: skip
        lost = len(ids - set(predicted) - letters)
        if not lost:
            break
        time.sleep(2)
    duplicates = sum(n - 1 for key, n in predicted.items() if key in ids)
    return lost, duplicates, len(letters & ids)


def drift_counted(settings: Settings, timeout: float = 30) -> int:
    """Events the drift windows counted: the ``n`` of every window's prediction-drift
    (PSI of the score) record, waiting until the count stops growing (windows close
    up to the merger's grace period after the stream ends)."""
    deadline, last = time.monotonic() + timeout, -1
    while True:
        records = read_topic(settings, settings.drift_topic, timeout=30)
        psi = [r.value for r in records if r.value.get("kind") == "prediction"]
        total = sum(v["window"]["n"] for v in psi if v.get("metric") == "psi")
        if total == last or time.monotonic() > deadline:
            return total
        last = total
        time.sleep(7)


def learned_history(settings: Settings) -> list[int]:
    """``n_learned`` of every online-model snapshot published, in order."""
    out = read_topic(settings, settings.snapshots_topic, timeout=30, parse=False)
    return [load_header(r.raw)["n_learned"] for r in out if (r.key or "").startswith("online/")]


def wait_learned(settings: Settings, n: int, timeout: float = 240) -> list[int]:
    deadline = time.monotonic() + timeout
    history: list[int] = []
    while time.monotonic() < deadline:
        history = learned_history(settings)
        if history and history[-1] >= n:
            break
        time.sleep(1)
    return history


def table(rows: list[Row]) -> str:
    head = ("scenario", "events", "kills", "lost", "duplicates", "dead letters",
            "recovery s", "n_learned / labelled", "note")  # fmt: skip
    lines = [head]
    for r in rows:
        recovery = ", ".join(f"{s:.1f}" for s in r.recovery_s) or "-"
        learned = "-" if r.learned is None else f"{r.learned:,} / {r.labelled:,}"
        counts = (str(r.kills), str(r.lost), str(r.duplicates), str(r.dead_letters))
        lines.append((r.scenario, f"{r.events:,}", *counts, recovery, learned, r.note))
    widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
    out = [" | ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)) for line in lines]
    out.insert(1, "-+-".join("-" * w for w in widths))
    return "\n".join(out)
