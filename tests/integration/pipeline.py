"""Helpers for end-to-end tests of the pipeline (score, join, learn, drift) on a real broker."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pandas as pd

from streamscore.ground.config import Settings
from streamscore.ground.kafka.reading import Record, read_topic
from streamscore.models.registry import Registry
from streamscore.models.training import train


def train_on(settings: Settings, frame: pd.DataFrame, name: str = "m", **kwargs: Any):
    """Train and promote a model on ``frame`` (columns id, ts, features, label)."""
    return train(frame, "label", name=name, registry=Registry(settings.registry_path),
                 id_col="id", ts_col="ts" if "ts" in frame else None, **kwargs)  # fmt: skip


def drift_records(settings: Settings, timeout: float = 5.0) -> list[dict]:
    """Every record on the drift topic, in each partition's order."""
    return [r.value for r in read_topic(settings, settings.drift_topic, timeout=timeout)]


def wait_for_drift(
    settings: Settings, condition: Callable[[list[dict]], bool], timeout: float, what: str
) -> list[dict]:
    """Poll the drift topic until ``condition(records)`` holds; AssertionError after ``timeout``."""
    deadline = time.monotonic() + timeout
    records: list[dict] = []
    while time.monotonic() < deadline:
        records = drift_records(settings)
        if condition(records):
            return records
        time.sleep(0.5)
    raise AssertionError(f"{what} not seen on {settings.drift_topic} within {timeout:.0f} s")


def latest(records: list[dict], kind: str, name: str, metric: str, **match: Any) -> Any:
    """The value of the newest record of a kind/name/metric (by ``ts``), or None."""
    found = [
        r for r in records
        if (r["kind"], r["name"], r["metric"]) == (kind, name, metric)
        and all(r.get(k) == v for k, v in match.items())
    ]  # fmt: skip
    return max(found, key=lambda r: r["ts"])["value"] if found else None


def learned(records: list[dict]) -> int:
    return latest(records, "performance", "labels", "learned") or 0


def snapshots(settings: Settings) -> list[Record]:
    """The online-model snapshots on the snapshots topic, in order."""
    from streamscore.models.snapshot import load_header

    out = read_topic(settings, settings.snapshots_topic, timeout=10, parse=False)
    return [r for r in out if (r.key or "").startswith("online/") and load_header(r.raw)]


def wait_assigned(ports: list[int], partitions: int, timeout: float = 120.0) -> None:
    """Wait until the workers on ``ports`` hold all ``partitions`` of the events topic
    between them, each at least one (so no rebalance comes in the middle of a test)."""
    from streamscore.cli.processes import worker_metric

    deadline = time.monotonic() + timeout
    assigned: list[float | None] = []
    while time.monotonic() < deadline:
        assigned = [worker_metric(port, "streamscore_assigned_partitions") for port in ports]
        if all(a for a in assigned) and sum(a or 0 for a in assigned) == partitions:
            return
        time.sleep(0.3)
    raise AssertionError(f"partitions assigned {assigned}, expected {partitions} in all")
