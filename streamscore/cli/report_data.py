"""The report's data: drift records read (topic or JSON Lines), chosen, and arranged in series.

Pure: no Kafka, no plotting. :func:`arrange` keeps one model's records between two
times (by the record's ``ts``, when the worker wrote it) and builds every series the
page plots, plus the summary table. Records that cannot be read are skipped and
counted (:class:`~streamscore.cli.drift_feed.Skipped`), never fatal.

>>> skipped = Skipped()
>>> records = [{"ts": 1000 * i, "model": "m", "version": "1", "kind": "feature", "name": "age",
...             "metric": "psi", "value": 0.1 * i, "threshold": 0.25, "alert": i > 2}
...            for i in range(5)]
>>> records.append({**records[3], "kind": "alert", "state": "raise"})
>>> data = arrange([check(r, skipped) for r in records], model=None)
>>> row = data.summary[0]
>>> row.name, row.metric, round(row.last, 2), row.threshold, row.alerts, row.first_alert
('age', 'psi', 0.4, 0.25, 1, 3000)
"""

from __future__ import annotations

import gzip
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from streamscore.cli.drift_feed import STATISTICS, Skipped, check
from streamscore.ground.errors import DataError


@dataclass
class Series:
    """Points over time: ``ts`` (epoch ms) and the values, thresholds and versions."""

    ts: list[int] = field(default_factory=list)
    values: list[float | None] = field(default_factory=list)
    thresholds: list[float | None] = field(default_factory=list)

    def add(self, record: dict) -> None:
        self.ts.append(record["ts"])
        self.values.append(record["value"])
        self.thresholds.append(record["threshold"])


@dataclass
class SummaryRow:
    """One line of the summary table: a statistic's last value and its alerts."""

    kind: str
    name: str
    metric: str
    last: float | None
    threshold: float | None
    alerts: int
    first_alert: int | None
    alerting: bool


@dataclass
class ReportData:
    """Everything the page shows for one model."""

    model: str
    versions: dict[str, tuple[int, int]]  # version -> first and last ts
    start: int
    end: int
    n_records: int
    kinds: dict[str, str]  # statistic name -> feature | prediction
    statistics: dict[tuple[str, str], Series]
    alerts: dict[tuple[str, str], list[dict]]
    performance: dict[tuple[str, str, str], Series]
    labels: dict[str, Series]
    detectors: list[dict]
    challenger: list[dict]
    summary: list[SummaryRow]
    models_seen: list[str]
    retrains: list[dict] = field(default_factory=list)  # retraining steps (challenger "retrain")


def read_jsonl(path: Path, skipped: Skipped) -> Iterator[dict]:
    """Drift records of a JSON Lines file (``.gz`` too): one record a line, or one Kafka
    record a line with the record under ``value`` (what ``tail --json`` may write)."""
    if not path.is_file():
        raise DataError(f"--input {path}: no such file")
    opener: Any = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as lines:
            for line in lines:
                if not line.strip():
                    continue
                try:
                    value = orjson.loads(line)
                except orjson.JSONDecodeError:
                    skipped.add("a line is not JSON")
                    continue
                record = _unwrap(value, skipped)
                if record is not None:
                    yield record
    except (OSError, EOFError) as exc:
        raise DataError(f"cannot read {path}: {exc}") from None


def _unwrap(value: Any, skipped: Skipped) -> dict | None:
    fallback = None
    if isinstance(value, dict) and "kind" not in value and isinstance(value.get("value"), dict):
        fallback = value.get("timestamp_ms", value.get("timestamp"))
        value = value["value"]
    return check(value, skipped, fallback)


def arrange(
    records: Iterable[dict | None],
    model: str | None,
    since: int | None = None,
    until: int | None = None,
) -> ReportData | None:
    """The report of ``model`` (None: the only model, or the one with most records)
    from ``since`` to ``until`` (epoch ms, inclusive); None when no record is left."""
    kept = [r for r in records if r is not None]
    counts = Counter(r["model"] for r in kept)
    chosen = model or (counts.most_common(1)[0][0] if counts else None)
    mine = sorted(
        (
            r
            for r in kept
            if r["model"] == chosen
            and (since is None or r["ts"] >= since)
            and (until is None or r["ts"] <= until)
        ),
        key=lambda r: r["ts"],
    )
    if not mine or chosen is None:
        return None
    data = ReportData(
        chosen, {}, mine[0]["ts"], mine[-1]["ts"], len(mine), {}, {}, defaultdict(list),
        {}, {}, [], [], [], sorted(counts),
    )  # fmt: skip
    for record in mine:
        first, last = data.versions.get(record["version"], (record["ts"], record["ts"]))
        data.versions[record["version"]] = (first, record["ts"])
        _place(data, record)
    data.summary = _summary(data)
    return data


def _place(data: ReportData, record: dict) -> None:
    kind, key = record["kind"], (record["name"], record["metric"])
    if kind in STATISTICS:
        data.kinds[record["name"]] = kind
        data.statistics.setdefault(key, Series()).add(record)
    elif kind == "alert":
        data.alerts[key].append(record)
    elif kind == "performance" and record["name"] == "labels":
        data.labels.setdefault(record["metric"], Series()).add(record)
    elif kind == "performance":
        scope = str(record.get("scope", "rolling"))
        data.performance.setdefault((record["name"], record["metric"], scope), Series()).add(record)
    elif kind == "detector":
        data.detectors.append(record)
    elif kind == "challenger" and record["metric"] == "mcnemar_p":
        data.challenger.append(record)
    elif kind == "challenger":  # a retraining step: started, promoted, rejected, failed
        data.retrains.append(record)


def _raises(data: ReportData, key: tuple[str, str], series: Series) -> list[int]:
    """When alerts rose: the alert records, or (none written) the statistic's crossings."""
    alerts = data.alerts.get(key)
    if alerts:
        return [a["ts"] for a in alerts if a.get("state", "raise" if a["alert"] else "") == "raise"]
    rises, above = [], False
    for ts, value, threshold in zip(series.ts, series.values, series.thresholds, strict=True):
        now = value is not None and threshold is not None and value > threshold
        if now and not above:
            rises.append(ts)
        above = now
    return rises


def _summary(data: ReportData) -> list[SummaryRow]:
    rows = []
    for (name, metric), series in data.statistics.items():
        raises = _raises(data, (name, metric), series)
        alerts = data.alerts.get((name, metric))
        alerting = (
            alerts[-1].get("state", "raise" if alerts[-1]["alert"] else "clear") == "raise"
            if alerts
            else bool(raises and _above(series))
        )
        rows.append(
            SummaryRow(
                data.kinds[name], name, metric, series.values[-1], series.thresholds[-1],
                len(raises), raises[0] if raises else None, alerting,
            )
        )  # fmt: skip
    return sorted(rows, key=lambda r: (r.kind != "prediction", r.first_alert is None, r.name))


def _above(series: Series) -> bool:
    value, threshold = series.values[-1], series.thresholds[-1]
    return value is not None and threshold is not None and value > threshold
