"""Probe Faust's ``confluent://`` transport against ``kafka://`` (aiokafka) — issue 9.

A throw-away measurement, not part of the product. It needs ``confluent-kafka``
installed beside streamscore (the project does not depend on it) and a broker with
no credentials (PLAINTEXT): start a throw-away one, never a shared one.

    python scripts/confluent_probe.py run --bootstrap 127.0.0.1:PORT \\
        --transport confluent --scenario plain [--events 100000] [--json-out FILE]

``run`` makes two fresh topics (input: 4 partitions; output: 4 partitions with
``message.timestamp.type=LogAppendTime``), produces a backlog of ``--events`` small
JSON events (id and 10 float features, key = the id) with confluent-kafka, starts the
worker process(es) and reads the output topic from the beginning until every id came
back (or ``--timeout``). Each worker is ``python confluent_probe.py worker ...``: a
minimal Faust app with one plain agent forwarding each event's key and value to the
output topic (``stream.events()``, raw serializers, no web server).

Measured: events/s between the broker append times of the first and the last output
record; CPU µs per event of the worker process (``/proc/PID/stat`` utime + stime, all
threads, sampled every 50 ms and interpolated at those two append times); ids lost
and duplicated; whether output key and value came back swapped; exit codes, time to
stop and the error lines and tracebacks of each worker's log.

Scenarios (``--scenario``):

* ``plain``: one worker, the whole backlog (the only one timed for CPU).
* ``rebalance``: worker A alone; worker B joins the group once 10 % came out.
* ``kill``: A and B; once both process and 30 % came out, ``kill -9`` A; B must take
  over A's partitions after the session timeout (10 s here) and finish.
* ``term``: as ``kill`` but SIGTERM: A must stop cleanly (exit 0) and B take over.

In the three fault scenarios each worker is throttled (``--throttle`` events/s each)
so the backlog lasts long enough for the fault to land mid-stream.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

TICK = os.sysconf("SC_CLK_TCK")
PARTITIONS = 4


# --- the worker ----------------------------------------------------------------
def worker(args: argparse.Namespace) -> None:
    import faust

    datadir = Path(args.datadir)
    datadir.mkdir(parents=True, exist_ok=True)
    app = faust.App(
        args.group,
        broker=args.broker,
        value_serializer="raw",
        key_serializer="raw",
        web_enabled=False,
        store="memory://",
        datadir=str(datadir),
        consumer_auto_offset_reset="earliest",
        topic_partitions=PARTITIONS,
        broker_session_timeout=args.session_timeout,
        broker_heartbeat_interval=1.0,
        broker_credentials=None,  # a PLAINTEXT throw-away broker
    )
    source = app.topic(args.inp, partitions=PARTITIONS)
    sink = app.topic(args.out, partitions=PARTITIONS)
    status = Path(args.status)
    done = [0]
    pause_every = max(1, args.throttle // 100) if args.throttle else 0

    @app.agent(source)
    async def forward(stream: Any) -> None:
        async for event in stream.events():
            await sink.send(key=event.key, value=event.value)
            done[0] += 1
            if pause_every and done[0] % pause_every == 0:
                await asyncio.sleep(0.01)

    @app.timer(0.5)
    async def report() -> None:
        status.write_text(str(done[0]))

    if args.diagnose_pump:
        pump_rebalance_callbacks()
    w = faust.Worker(app, loglevel="info")
    w.spinner = None
    w.execute_from_commandline()


def pump_rebalance_callbacks() -> None:
    """Diagnostic only (``--diagnose-pump``), not a fix: poll the confluent consumer on
    its thread until librdkafka has served the first assignment callback.

    librdkafka runs ``on_assign`` only inside ``poll()``/``consume()``; Faust calls
    ``consume()`` only from its Fetcher, which runs only for partitions Faust already
    knows of, i.e. after ``on_assign``. This breaks that circle once, to see what
    breaks next. A record ``poll()`` returns here is dropped (logged).
    """
    from faust.transport.drivers import confluent as fc

    original = fc.ConfluentConsumerThread.subscribe

    async def subscribe(self: Any, topics: Any) -> None:
        await original(self, topics)

        async def pump() -> None:
            consumer = self._ensure_consumer().consumer
            while not self._assigned and not self.should_stop:
                msg = consumer.poll(0)
                if msg is not None:
                    self.log.warning("diagnose-pump dropped a record: %r %r",
                                     msg.topic(), msg.error() or msg.offset())  # fmt: skip
                await asyncio.sleep(0.05)
            self.log.warning("diagnose-pump: on_assign served (assigned=%s)", self._assigned)

        asyncio.run_coroutine_threadsafe(pump(), self.thread_loop)

    fc.ConfluentConsumerThread.subscribe = subscribe


# --- the controller --------------------------------------------------------------
def cpu_seconds(pid: int) -> float | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / TICK


class Sampler(threading.Thread):
    """(wall time, CPU seconds) of one process every 50 ms."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.samples, self.stop = pid, [], threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            cpu = cpu_seconds(self.pid)
            if cpu is None:
                return
            self.samples.append((time.time(), cpu))
            time.sleep(0.05)

    def at(self, t: float) -> float | None:
        s = self.samples
        for (t0, c0), (t1, c1) in zip(s, s[1:], strict=False):
            if t0 <= t <= t1:
                return c0 + (c1 - c0) * (t - t0) / (t1 - t0) if t1 > t0 else c0
        return None


class Reader(threading.Thread):
    """Reads the output topic from the beginning: ids, append times, swaps."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        super().__init__(daemon=True)
        self.bootstrap, self.topic = bootstrap, topic
        self.times: dict[int, int] = {}  # id -> first LogAppendTime (ms)
        self.count = 0
        self.swapped = 0
        self.bad = 0
        self.ts_types: set[int] = set()
        self.last_new = time.monotonic()
        self.stop = threading.Event()

    def run(self) -> None:
        from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

        c = Consumer(
            {"bootstrap.servers": self.bootstrap, "group.id": "probe-reader-" + uuid.uuid4().hex,
             "enable.auto.commit": False}
        )  # fmt: skip
        c.assign([TopicPartition(self.topic, p, OFFSET_BEGINNING) for p in range(PARTITIONS)])
        try:
            while not self.stop.is_set():
                for m in c.consume(num_messages=10000, timeout=0.2):
                    if m.error():
                        continue
                    self.count += 1
                    key, value = m.key() or b"", m.value() or b""
                    if value.startswith(b"{"):
                        doc = value
                    elif key.startswith(b"{"):
                        doc, self.swapped = key, self.swapped + 1
                    else:
                        self.bad += 1
                        continue
                    ts_type, ts = m.timestamp()
                    self.ts_types.add(ts_type)
                    i = json.loads(doc)["id"]
                    if i not in self.times:
                        self.times[i] = ts
                        self.last_new = time.monotonic()
        finally:
            c.close()


def make_topics(bootstrap: str, inp: str, out: str) -> None:
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient({"bootstrap.servers": bootstrap})
    fs = admin.create_topics(
        [
            NewTopic(inp, PARTITIONS, 1),
            NewTopic(out, PARTITIONS, 1, config={"message.timestamp.type": "LogAppendTime"}),
        ]
    )
    for f in fs.values():
        f.result(30)


def describe_group(bootstrap: str, group: str) -> dict[str, Any]:
    """The broker's view of the group: state and each member's assignment."""
    from confluent_kafka.admin import AdminClient

    try:
        d = AdminClient({"bootstrap.servers": bootstrap}).describe_consumer_groups([group])
        g = d[group].result(20)
    except Exception as exc:  # noqa: BLE001 - a report, not a check
        return {"error": repr(exc)}
    return {"state": str(g.state).rsplit(".", 1)[-1], "members": [
        sorted(f"{tp.topic}[{tp.partition}]" for tp in m.assignment.topic_partitions)
        for m in g.members]}  # fmt: skip


def delete_topics(bootstrap: str, names: list[str]) -> None:
    from confluent_kafka.admin import AdminClient

    admin = AdminClient({"bootstrap.servers": bootstrap})
    existing = set(admin.list_topics(timeout=10).topics)
    names = [n for n in names if n in existing]
    if names:
        for f in admin.delete_topics(names).values():
            try:
                f.result(30)
            except Exception as exc:  # noqa: BLE001 - best effort cleanup
                print("delete:", exc, file=sys.stderr)


def produce_backlog(bootstrap: str, topic: str, n: int) -> float:
    import random

    from confluent_kafka import Producer

    rnd = random.Random(7)
    p = Producer({"bootstrap.servers": bootstrap, "linger.ms": 20, "acks": "all"})
    t0 = time.monotonic()
    for i in range(n):
        doc = {"id": i, **{f"f{j}": round(rnd.random(), 6) for j in range(10)}}
        while True:
            try:
                p.produce(topic, key=str(i).encode(), value=json.dumps(doc).encode())
                break
            except BufferError:
                p.poll(0.05)
        if i % 1000 == 0:
            p.poll(0)
    left = p.flush(60)
    if left:
        raise SystemExit(f"{left} events not delivered to {topic}")
    return time.monotonic() - t0


class Proc:
    def __init__(self, name: str, cmd: list[str], log: Path, status: Path) -> None:
        self.name, self.log, self.status = name, log, status
        with open(log, "wb") as fh:
            self.p = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT,
                                      stdin=subprocess.DEVNULL, start_new_session=True)  # fmt: skip
        self.started = time.monotonic()
        self.exit_code: int | None = None
        self.stop_seconds: float | None = None
        self.signal: str | None = None

    @property
    def processed(self) -> int:
        try:
            return int(self.status.read_text() or 0)
        except (OSError, ValueError):
            return 0

    def send(self, sig: signal.Signals, wait: float = 60.0) -> None:
        self.signal = self.signal or sig.name
        if self.p.poll() is not None:
            return
        t0 = time.monotonic()
        os.kill(self.p.pid, sig)
        try:
            self.exit_code = self.p.wait(wait)
            self.stop_seconds = round(time.monotonic() - t0, 2)
        except subprocess.TimeoutExpired:
            os.kill(self.p.pid, signal.SIGKILL)
            self.exit_code = self.p.wait(10)
            self.stop_seconds = None  # did not stop by itself
            self.signal += "+SIGKILL"

    def errors(self) -> dict[str, Any]:
        text = self.log.read_text(errors="replace")
        lines = text.splitlines()
        pat = re.compile(r"\b(ERROR|CRITICAL|Traceback|Exception|Error)\b")
        err = [ln for ln in lines if pat.search(ln)]
        tracebacks = []
        for m in re.finditer(r"Traceback \(most recent call last\):\n(?:[ \t].*\n)*.*", text):
            tb = m.group(0)
            if tb not in tracebacks:
                tracebacks.append(tb)
        ready = "[^Worker]: Ready" in text
        return {"ready": ready, "error_lines": len(err), "first_error_lines": err[:8],
                "tracebacks": len(tracebacks), "distinct_tracebacks": tracebacks[:3]}  # fmt: skip


def run(args: argparse.Namespace) -> dict[str, Any]:
    token = uuid.uuid4().hex[:8]
    inp, out, group = f"probe-in-{token}", f"probe-out-{token}", f"probe-{args.transport}-{token}"
    work = Path(args.workdir) / f"{args.transport}-{args.scenario}-{token}"
    work.mkdir(parents=True, exist_ok=True)
    n = args.events
    result: dict[str, Any] = {"transport": args.transport, "scenario": args.scenario,
                              "events": n, "topics": [inp, out], "workdir": str(work)}  # fmt: skip
    make_topics(args.bootstrap, inp, out)
    result["produce_s"] = round(produce_backlog(args.bootstrap, inp, n), 2)
    reader = Reader(args.bootstrap, out)
    reader.start()

    throttle = 0 if args.scenario == "plain" else args.throttle
    procs: dict[str, Proc] = {}

    def start(name: str) -> Proc:
        cmd = [sys.executable, __file__, "worker", "--broker",
               f"{args.transport}://{args.bootstrap}", "--group", group, "--inp", inp,
               "--out", out, "--datadir", str(work / f"data-{name}"),
               "--status", str(work / f"{name}.count"), "--throttle", str(throttle),
               "--session-timeout", str(args.session_timeout),
               *(["--diagnose-pump"] if args.diagnose_pump else [])]  # fmt: skip
        procs[name] = Proc(name, cmd, work / f"{name}.log", work / f"{name}.count")
        return procs[name]

    t_start = time.monotonic()
    deadline = t_start + args.timeout
    a = start("A")
    sampler = Sampler(a.p.pid)
    sampler.start()
    events: list[str] = []
    fault_at: float | None = None

    def note(what: str) -> None:
        events.append(f"{time.monotonic() - t_start:6.1f}s out={len(reader.times)} {what}")

    if args.scenario in ("kill", "term"):
        start("B")
        note("started A and B")
    while time.monotonic() < deadline:
        got = len(reader.times)
        if got >= n:
            note("all ids out")
            break
        alive = [p for p in procs.values() if p.p.poll() is None and p.signal is None]
        if not alive:
            note("no worker left running")
            break
        if (
            got and time.monotonic() - reader.last_new > args.idle
            and (fault_at is None or time.monotonic() - fault_at > args.idle)
        ):  # fmt: skip
            note(f"no new id for {args.idle:.0f} s")
            break
        if args.scenario == "rebalance" and "B" not in procs and got >= n // 10:
            start("B")
            note("started B")
        if args.scenario in ("kill", "term") and fault_at is None and got >= 3 * n // 10:
            if a.processed > 0 and procs["B"].processed > 0:
                sig = signal.SIGKILL if args.scenario == "kill" else signal.SIGTERM
                note(f"{sig.name} to A (A processed {a.processed}, B {procs['B'].processed})")
                fault_at = time.monotonic()
                threading.Thread(target=a.send, args=(sig,), daemon=True).start()
            elif got >= 6 * n // 10:
                fault_at = time.monotonic()
                note(f"B never processed (A {a.processed}, B {procs['B'].processed}): no fault")
        time.sleep(0.1)
    else:
        note(f"timeout {args.timeout:.0f} s")
    time.sleep(1.0)  # let the reader catch the tail
    result["timeline"] = events
    result["group"] = describe_group(args.bootstrap, group)
    result["processed_per_worker"] = {k: p.processed for k, p in procs.items()}
    for p in procs.values():
        if p.p.poll() is None:
            p.send(signal.SIGTERM)
        elif p.exit_code is None:
            p.exit_code = p.p.returncode
    sampler.stop.set()
    reader.stop.set()
    reader.join(10)

    ids = reader.times
    result.update(
        out_records=reader.count, unique_ids=len(ids), lost=n - len(set(ids) & set(range(n))),
        duplicates=reader.count - reader.bad - len(ids), unparsable=reader.bad,
        key_value_swapped=reader.swapped, timestamp_types=sorted(reader.ts_types),
    )  # fmt: skip
    if len(ids) > 1:
        t0, t1 = min(ids.values()) / 1000, max(ids.values()) / 1000
        result["span_s"] = round(t1 - t0, 3)
        result["events_per_s"] = round((len(ids) - 1) / (t1 - t0)) if t1 > t0 else None
        if args.scenario == "plain":
            c0, c1 = sampler.at(t0), sampler.at(t1)
            if c0 is not None and c1 is not None:
                result["cpu_s"] = round(c1 - c0, 3)
                result["cpu_us_per_event"] = round((c1 - c0) / len(ids) * 1e6, 1)
                result["cpu_share_of_a_core"] = round((c1 - c0) / (t1 - t0), 2)
    result["workers"] = {
        k: {"exit_code": p.exit_code, "signal": p.signal, "stop_s": p.stop_seconds, **p.errors()}
        for k, p in procs.items()
    }
    if not args.keep_topics:
        delete_topics(args.bootstrap, [inp, out])
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    w = sub.add_parser("worker")
    w.add_argument("--broker", required=True)
    w.add_argument("--group", required=True)
    w.add_argument("--inp", required=True)
    w.add_argument("--out", required=True)
    w.add_argument("--datadir", required=True)
    w.add_argument("--status", required=True)
    w.add_argument("--throttle", type=int, default=0)
    w.add_argument("--session-timeout", type=float, default=10.0)
    w.add_argument("--diagnose-pump", action="store_true")
    r = sub.add_parser("run")
    r.add_argument("--bootstrap", required=True, help="host:port of a throw-away broker")
    r.add_argument("--transport", choices=["kafka", "confluent"], required=True)
    r.add_argument("--scenario", choices=["plain", "rebalance", "kill", "term"],
                   default="plain")  # fmt: skip
    r.add_argument("--events", type=int, default=100_000)
    r.add_argument("--throttle", type=int, default=2000, help="events/s per worker (faults)")
    r.add_argument("--session-timeout", type=float, default=10.0)
    r.add_argument("--timeout", type=float, default=240.0, help="bound of one run (s)")
    r.add_argument("--idle", type=float, default=45.0, help="give up after no new id (s)")
    r.add_argument("--workdir", default="/tmp/confluent-probe")
    r.add_argument("--keep-topics", action="store_true")
    r.add_argument("--json-out")
    r.add_argument(
        "--diagnose-pump",
        action="store_true",
        help="confluent only: serve the first on_assign (a diagnostic, not a fix)",
    )
    args = ap.parse_args()
    if args.cmd == "worker":
        worker(args)
        return
    result = run(args)
    text = json.dumps(result, indent=1)
    print(text)
    if args.json_out:
        with open(args.json_out, "a") as fh:
            fh.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
