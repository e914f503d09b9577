"""faust-streaming's own exactly-once mode (Kafka transactions) under ``kill -9``.

streamscore writes its outputs outside Faust's transaction manager and is at-least-once
(README, "Delivery guarantees"). This scenario measures what Faust's
``processing_guarantee="exactly_once"`` gives on the real broker instead: a minimal app
(``tests/faults/eos_app.py``, one plain agent copying each input to an output topic with
``await topic.send(...)``) runs as a separate process; ids are fed at a steady rate
(kafka-python, ``acks=all``); the worker is killed with SIGKILL at random moments and
restarted each time; then the output topic is read with ``read_committed`` and with
``read_uncommitted`` and every id is counted.

Run: ``pytest -m faults tests/faults/test_exactly_once.py -s`` (``EOS_SEED`` repeats a run's
kill moments).

Measured (faust-streaming 0.15.3, aiokafka 0.14.0, Kafka 4.3.1, one broker; 20,000 ids at
1,000/s, 3 kills, 6 runs; the first an earlier draft with 24,000 ids and a 10 s session
timeout):

* ``plain`` (the app as anyone would write it): ``await topic.send()`` from the agent is
  NOT transactional. ``TransactionManager.send`` picks the transactional producer by
  ``consumer.key_partition(topic, key)``, which is None for a topic the app does not
  consume, so the record goes to the plain idempotent producer. No transaction markers
  in the output; read_committed == read_uncommitted; 0 lost, 645-1,433 duplicates.
* ``output_subscribed`` (the app also subscribes to its output topic): outputs and input
  offsets are committed in the same per-partition transaction; read_committed hides the
  aborted outputs (321-1,634 duplicates under read_uncommitted), 0 lost, but still 4-9
  duplicates: ids whose input offset is exactly at (0-2 past) the offset committed when
  the kill struck. Faust takes the offsets to commit, then commits the transaction while
  the agent keeps sending into it, so a few outputs commit in transaction N while their
  offsets wait for transaction N+1, which the kill aborts.
* Both: the worker always came back (first committed transaction 5.7-8.1 s after the kill
  with a 6 s session timeout, 10-12 s with 10 s); no ProducerFenced, InvalidProducerEpoch or stuck
  transaction was logged. A clean SIGTERM stop of the ``output_subscribed`` worker logs
  ``IllegalOperation('Not in the middle of a transaction')``.
"""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import orjson
import pytest

from streamscore.ground.config import Settings
from streamscore.ground.kafka import clients
from streamscore.ground.kafka.admin import create_topics
from streamscore.ground.kafka.reading import end_offsets, read_topic
from tests.faults.harness import ROWS, Row

pytestmark = [pytest.mark.integration, pytest.mark.faults]

N = 20_000
RATE = 1_000  # ids per second: the feed lasts ~20 s, the kills fall inside it
KILLS = 3
PARTITIONS = 4
ROOT = Path(__file__).resolve().parents[2]
# what a worker logs when transactions go wrong (#323, #517, #177, aiokafka #844)
NOTABLE = re.compile(
    r"ProducerFenced|InvalidProducerEpoch|InvalidTxnState|Invalid state transition|"
    r"Exception in (begin|commit|abort)_transaction|Commit invoked for unknown|"
    r"No transaction producer|Has not committed|Crashed|Traceback|KafkaError|"
    r"ConcurrentTransactions|OutOfOrderSequence|UnknownProducerId|IllegalOperation",
)


class EosWorker:
    """``python -m tests.faults.eos_app worker`` with its own log file."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.log = log
        with open(log, "wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "tests.faults.eos_app", "worker", "-l", "info"],
                env=env,
                cwd=ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def alive(self) -> bool:
        return self.proc.poll() is None

    def wait_ready(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while "[^Worker]: Ready" not in self.output():
            assert self.alive(), self.output()[-3000:]
            assert time.monotonic() < deadline, "worker not ready: " + self.output()[-2000:]
            time.sleep(0.2)

    def kill(self) -> None:
        """SIGKILL by pid: no clean shutdown, no transaction committed or aborted."""
        if self.alive():
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.alive():
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()


class Feed:
    """N unique ids at a steady rate from a background thread (kafka-python, acks=all);
    remembers the partition each id went to."""

    def __init__(self, settings: Settings, topic: str, ids: list[str], rate: float) -> None:
        self.position: dict[str, tuple[int, int]] = {}  # id -> (partition, offset)
        self.errors: list[BaseException] = []
        self.thread = threading.Thread(
            target=self._run, args=(settings, topic, ids, rate), daemon=True
        )
        self.thread.start()

    def _run(self, settings: Settings, topic: str, ids: list[str], rate: float) -> None:
        producer = clients.producer(settings, acks="all", linger_ms=5)
        try:
            started, step = time.monotonic(), max(1, int(rate / 100))
            for i in range(0, len(ids), step):
                for n, key in enumerate(ids[i : i + step], start=i):
                    future = producer.send(topic, key=key.encode(), value=orjson.dumps({"n": n}))
                    future.add_callback(self._sent, key)
                    future.add_errback(self.errors.append)
                pause = started + (i + step) / rate - time.monotonic()
                if pause > 0:
                    time.sleep(pause)
            producer.flush(timeout=60)
        except BaseException as exc:  # noqa: BLE001 - reported by join()
            self.errors.append(exc)
        finally:
            producer.close(timeout=10)

    def _sent(self, key: str, metadata) -> None:
        self.position[key] = (metadata.partition, metadata.offset)

    def join(self, timeout: float = 120) -> None:
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "the feed did not finish"
        assert not self.errors, self.errors[:3]


class Progress:
    """The app's consumer group offsets on the input: they move only when a transaction
    (outputs + offsets) commits, so they measure committed progress."""

    def __init__(self, settings: Settings, group: str, topic: str) -> None:
        from kafka import TopicPartition

        self.consumer = clients.consumer(settings, group_id=group)  # never subscribes
        self.tps = [TopicPartition(topic, p) for p in range(PARTITIONS)]

    def committed(self) -> int:
        return sum(self.by_partition().values())

    def by_partition(self) -> dict[int, int]:
        return {tp.partition: self.consumer.committed(tp) or 0 for tp in self.tps}

    def wait(self, n: int, timeout: float) -> float:
        """Seconds until ``n`` input offsets are committed; AssertionError after ``timeout``."""
        started = time.monotonic()
        while (got := self.committed()) < n:
            assert time.monotonic() - started < timeout, f"{got:,} of {n:,} committed"
            time.sleep(0.1)
        return time.monotonic() - started

    def close(self) -> None:
        self.consumer.close()


def _settle(settings: Settings, topic: str, quiet: float = 3, timeout: float = 60) -> None:
    """Wait until ``topic``'s end offsets stop moving for ``quiet`` seconds (bounded)."""
    deadline = time.monotonic() + timeout
    last, since = end_offsets(settings, topic), time.monotonic()
    while time.monotonic() < deadline and time.monotonic() - since < quiet:
        time.sleep(0.5)
        now = end_offsets(settings, topic)
        if now != last:
            last, since = now, time.monotonic()


def _notable(workers: list[EosWorker]) -> Counter[str]:
    """Notable log lines of every worker, counted by their text without timestamps/pids."""
    found: Counter[str] = Counter()
    for worker in workers:
        for line in worker.output().splitlines():
            if NOTABLE.search(line):
                text = re.sub(r"^\[[^]]*\] \[\d+\] ", "", line)
                found[re.sub(r"\d{3,}", "N", text)[:160]] += 1
    return found


@pytest.mark.timeout(200)
@pytest.mark.parametrize("variant", ["plain", "output_subscribed"])
def test_faust_exactly_once_under_kill_9(variant, settings_factory, tmp_path):
    settings = settings_factory(partitions=PARTITIONS)
    source, sink, app_id = settings.events_topic, settings.predictions_topic, settings.app_id
    create_topics(settings, [source, sink])
    seed = int(os.environ.get("EOS_SEED") or random.SystemRandom().randrange(10**6))
    rng = random.Random(seed)
    env = {
        **os.environ,
        **settings.to_env(),  # the security settings reach the app's broker_credentials
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
        "EOS_BROKER": f"kafka://{settings.bootstrap}",
        "EOS_APP_ID": app_id,
        "EOS_IN": source,
        "EOS_OUT": sink,
        "EOS_PARTITIONS": str(PARTITIONS),
        "EOS_DATA_DIR": str(tmp_path / "eos-data"),
        "EOS_SUBSCRIBE_OUTPUT": "1" if variant == "output_subscribed" else "0",
    }
    workers = [EosWorker(env, tmp_path / "eos-worker-0.log")]
    progress = Progress(settings, app_id, source)
    try:
        workers[0].wait_ready()
        ids = [f"{app_id}-{i:06d}" for i in range(N)]
        feed = Feed(settings, source, ids, RATE)
        marks = sorted(int(rng.uniform(0.1, 0.8) * N) for _ in range(KILLS))
        recovery: list[float] = []
        at_kill: list[dict[int, int]] = []  # the input offsets committed when each kill struck
        for mark in marks:
            progress.wait(max(mark, progress.committed() + 1), timeout=120)
            time.sleep(rng.uniform(0, 1.5))  # anywhere in the 1 s commit cycle
            workers[-1].kill()
            killed = time.monotonic()
            offsets = progress.by_partition()  # after the kill: nothing commits in between
            at_kill.append(offsets)
            workers.append(EosWorker(env, tmp_path / f"eos-worker-{len(workers)}.log"))
            progress.wait(sum(offsets.values()) + 1, timeout=120)  # committed progress again
            recovery.append(time.monotonic() - killed)
        feed.join()
        done = progress.wait(N, timeout=120)
        _settle(settings, sink)
        last = workers[-1]
        alive = last.alive()
    finally:
        progress.close()
        for worker in workers:
            worker.stop()

    committed = read_topic(settings, sink, timeout=90, parse=False,
                           isolation_level="read_committed")  # fmt: skip
    everything = read_topic(settings, sink, timeout=90, parse=False)
    high = sum(end_offsets(settings, sink).values())
    wanted = set(ids)
    seen_c, seen_u = Counter(r.key for r in committed), Counter(r.key for r in everything)
    lost = len(wanted - set(seen_c))
    dup_c = sum(n - 1 for n in seen_c.values())
    dup_u = sum(n - 1 for n in seen_u.values())
    markers = high - len(everything)  # offsets taken by transaction markers
    strangers = len(set(seen_u) - wanted)
    moved = sum(1 for r in committed if r.partition != feed.position[r.key][0])
    notable = _notable(workers)
    # the row: events, kills, lost and duplicates under read_committed, duplicates under
    # read_uncommitted, recovery seconds (kill -> next committed transaction)
    times = ", ".join(f"{s:.1f}" for s in recovery)
    print(
        f"\nEOS {variant} | events {N:,} | kills {len(recovery)} | lost (read_committed) {lost} | "
        f"duplicates (read_committed) {dup_c} | duplicates (read_uncommitted) {dup_u} | "
        f"recovery s {times} | seed {seed}"
    )
    print(
        f"EOS {variant} detail: transaction markers {markers:,}; output records "
        f"read_committed {len(committed):,}, read_uncommitted {len(everything):,}, "
        f"end offsets {high:,}; "
        f"all input committed {done:.1f} s after the feed; unknown keys {strangers}; "
        f"outputs on another partition than their input {moved}; last worker alive {alive}"
    )
    where: dict[str, list[str]] = {}
    for r in committed:
        if seen_c[r.key] > 1:
            where.setdefault(r.key, []).append(r.ref)
    for key, refs in list(where.items())[:8]:
        # where its input stood against the committed offsets when each kill struck
        p, offset = feed.position[key]
        ahead = [offset - k[p] for k in at_kill]
        print(f"EOS {variant} duplicate under read_committed: {key} at {', '.join(refs)}; "
              f"input {p}:{offset}, offset - committed offset at each kill {ahead}")  # fmt: skip
    for line, n in notable.most_common(15):
        print(f"EOS log x{n}: {line}")
    note = f"read_uncommitted duplicates {dup_u}; markers {markers}; seed {seed}"
    ROWS.append(Row(f"faust exactly_once ({variant}), kill -9", N, len(recovery), lost, dup_c, 0,
                    recovery, note=note))  # fmt: skip
    assert strangers == 0 and moved == 0
    assert alive, last.output()[-3000:]  # the worker recovered after every kill
    assert lost == 0  # held in every run, in both variants
    if variant == "plain":
        # Measured every run (6 of 6): the outputs are not written in any transaction
        # (no transaction markers at all), so read_committed hides nothing and shows
        # every repeat of at-least-once (645-1,433 duplicates for 3 kills at 1,000/s).
        assert markers == 0
        assert seen_c == seen_u
        assert dup_c > 0
    else:
        # The outputs are transactional and read_committed hides the aborted ones (the
        # hundreds read_uncommitted shows), but not all: a few ids came out twice under
        # read_committed (4, 6, 7, 7, 5, 9 in 6 runs). Not asserted to be > 0 (a kill may repeat
        # none); bounded, with room, so a regression to at-least-once fails.
        assert markers > 0
        assert dup_c < dup_u
        assert dup_c <= 100
