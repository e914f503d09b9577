"""``streamscore status``: the group's workers, their partitions and lag, their model versions.

Two sources, both on Kafka, so workers on every machine are seen: the group
description and committed offsets (:mod:`streamscore.ground.kafka.groups`), and
the workers' own status records on ``<group>-workers``
(:mod:`streamscore.streams.heartbeat`), joined by the worker id that is each
member's Kafka client id. A record whose worker is not (or no longer) in the
group is shown while it is fresh (a worker starting or stopping), then ignored.
Faust's own ``<group>-__assignor-__leader`` topic, which every member is given,
is left out: it carries no events.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from rich.table import Table

from streamscore.cli.output import print_json, print_line, print_table
from streamscore.ground.config import Settings
from streamscore.ground.kafka.admin import TopicSpec, worker_status_spec
from streamscore.ground.kafka.groups import Group, describe_group
from streamscore.ground.kafka.reading import POLL_MS, open_topic
from streamscore.ground.times import Deadline, now_ms

FRESH_MS = 90_000  # three status intervals: a record this old comes from a live worker
FAUST_LEADER = "-__assignor-__leader"


@dataclass
class WorkerRow:
    worker: str
    in_group: bool
    member_id: str | None = None
    host: str | None = None
    pid: int | None = None
    model: str | None = None
    version: str | None = None
    web: str | None = None
    started_ts: int | None = None
    updated_ts: int | None = None
    partitions: dict[str, list[int]] = field(default_factory=dict)
    lag: int = 0


@dataclass
class Status:
    group: str
    state: str
    bootstrap: str
    status_topic: str
    workers: list[WorkerRow]
    partitions: list[dict[str, Any]]

    @property
    def lag(self) -> int:
        return sum(p["lag"] for p in self.partitions)

    def as_dict(self) -> dict[str, Any]:
        body = asdict(self)
        body["lag"] = self.lag
        return body


def worker_records(settings: Settings, spec: TopicSpec) -> dict[str, dict[str, Any]]:
    """The live status record of each worker (the last per key; a tombstone removes it)."""
    records: dict[str, dict[str, Any]] = {}
    deadline = Deadline(max(settings.broker_timeout, 5.0))
    with open_topic(settings, spec.name, metadata_timeout=2.0) as reader:
        while reader is not None and not reader.caught_up() and not deadline.expired:
            for record in reader.poll(POLL_MS):
                if record.key is None:
                    continue
                if isinstance(record.value, dict):
                    records[record.key] = record.value
                else:
                    records.pop(record.key, None)
    return records


def read_status(settings: Settings, group_id: str) -> Status:
    group = describe_group(settings, group_id)
    spec = worker_status_spec(settings.model_copy(update={"app_id": group_id}))
    return join(group, worker_records(settings, spec), settings.bootstrap, spec.name, now_ms())


def join(
    group: Group, records: dict[str, dict[str, Any]], bootstrap: str, topic: str, now: int
) -> Status:
    """Members and status records side by side; partitions with their owner's worker id."""
    lag_of = {(p.topic, p.partition): p.lag for p in group.partitions}
    workers: list[WorkerRow] = []
    for member in sorted(group.members, key=lambda m: m.client_id):
        record = records.get(member.client_id, {})
        row = _row(member.client_id, True, record)
        row.member_id = member.member_id
        row.partitions = {t: ps for t, ps in member.partitions.items() if FAUST_LEADER not in t}
        row.host = row.host or member.host
        row.lag = sum(lag_of.get((t, p), 0) for t, ps in row.partitions.items() for p in ps)
        workers.append(row)
    members = {m.client_id for m in group.members}
    for worker, record in sorted(records.items()):
        if worker not in members and now - int(record.get("updated_ts") or 0) < FRESH_MS:
            workers.append(_row(worker, False, record))
    by_member = {m.member_id: m.client_id for m in group.members}
    partitions = [
        {
            "topic": p.topic,
            "partition": p.partition,
            "worker": by_member.get(p.member_id or ""),
            "committed": p.committed,
            "end": p.end,
            "lag": p.lag,
        }
        for p in group.partitions
        if FAUST_LEADER not in p.topic
    ]
    return Status(group.group_id, group.state, bootstrap, topic, workers, partitions)


def _row(worker: str, in_group: bool, record: dict[str, Any]) -> WorkerRow:
    return WorkerRow(
        worker,
        in_group,
        host=record.get("host"),
        pid=record.get("pid"),
        model=record.get("model"),
        version=record.get("version"),
        web=record.get("web"),
        started_ts=record.get("started_ts"),
        updated_ts=record.get("updated_ts"),
    )


def print_status(status: Status, as_json: bool) -> None:
    if as_json:
        print_json(status.as_dict())
        return
    members = sum(w.in_group for w in status.workers)
    state = status.state + (" (no worker has joined it)" if status.state == "Dead" else "")
    print_line(
        f"group {status.group} on {status.bootstrap}: {state}, {members} "
        f"worker{'s' if members != 1 else ''}, lag {status.lag:,}"
    )
    if status.workers:
        table = Table("worker", "host", "pid", "model", "partitions", "lag", "web", "updated")
        for w in status.workers:
            table.add_row(
                w.worker + ("" if w.in_group else " (not in the group)"),
                w.host or "",
                str(w.pid or ""),
                f"{w.model}/{w.version}" if w.model else "? (no status record)",
                _partitions(w.partitions),
                f"{w.lag:,}",
                w.web or "",
                _age(w.updated_ts),
            )
        print_table(table)
    if status.partitions:
        table = Table("topic", "partition", "worker", "committed", "end", "lag")
        for p in status.partitions:
            committed = "-" if p["committed"] is None else f"{p['committed']:,}"
            table.add_row(
                p["topic"], str(p["partition"]), p["worker"] or "(unassigned)", committed,
                f"{p['end']:,}", f"{p['lag']:,}",
            )  # fmt: skip
        print_table(table)


def _partitions(partitions: dict[str, list[int]]) -> str:
    return "; ".join(f"{t}: {','.join(map(str, ps))}" for t, ps in sorted(partitions.items()))


def _age(ts: int | None) -> str:
    if not ts:
        return ""
    seconds = max(0, (now_ms() - ts) // 1000)
    return f"{seconds} s ago" if seconds < 120 else f"{seconds // 60} min ago"
