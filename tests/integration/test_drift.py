"""Drift on the stream, end to end on a real broker: shifted features alert in time, a
stationary stream stays within its false-alarm budget, and windows merged from two
workers give the statistics of one."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from streamscore.ground.kafka.admin import create_topics
from streamscore.ground.kafka.local import free_port
from streamscore.producers.replay import replay
from tests.integration.pipeline import train_on, wait_assigned, wait_for_drift

pytestmark = pytest.mark.integration
START_MS = 1_767_225_600_000


def stream(n: int, seed: int, shift_at: int | None = None) -> pd.DataFrame:
    """10 numeric features and a categorical one; the label depends on x1, x2, x3 only.

    From ``shift_at`` on, x0 moves by one standard deviation and the category ``a``
    becomes three times as common: the inputs drift, P(label | features) does not.
    """
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 10))
    shifted = np.arange(n) >= (n if shift_at is None else shift_at)
    x[shifted, 0] += 1.0
    color = rng.choice(list("abcd"), size=n)
    rare = shifted & (rng.random(n) < 0.5)
    color[rare] = "a"
    frame = pd.DataFrame(x, columns=[f"x{i}" for i in range(10)])
    frame["color"] = color
    frame["label"] = (x[:, 1] + x[:, 2] - x[:, 3] > 0).astype(int)
    frame.insert(0, "ts", START_MS + np.arange(n))
    frame.insert(0, "id", [f"s{seed}-{i}" for i in range(n)])
    return frame


def send(settings, frame: pd.DataFrame, labels: bool = False) -> None:
    replay(settings, frame, id_col="id", ts_col="ts", max_speed=not labels,
           rate=20_000 if labels else None, label_col="label" if labels else None,
           label_delay="0.1", progress=False)  # fmt: skip


def features_of(records):
    return [r for r in records if r["kind"] in ("feature", "prediction")]


def test_shifted_features_alert_within_two_thousand_events_and_nothing_else_does(
    settings_factory, worker_factory
):
    settings = settings_factory(partitions=2, drift_window=1000)
    create_topics(settings)
    train_on(settings, stream(4000, seed=1), estimator="logreg")
    live = stream(8000, seed=2, shift_at=4000)
    shift_ts = START_MS + 4000
    worker_factory(settings, "--model", "m")
    send(settings, live, labels=True)
    records = wait_for_drift(
        settings,
        lambda r: sum(x["window"]["n"] for x in r if x["kind"] == "feature"
                      and x["name"] == "x5" and x["metric"] == "psi") >= 7000,
        180, "the drift windows of 7,000 events",
    )  # fmt: skip
    alerts = [r for r in records if r["kind"] == "alert" and r["state"] == "raise"]
    assert {r["name"] for r in alerts} == {"x0", "color"}, alerts
    for name in ("x0", "color"):
        first = min(r["window"]["end"] for r in alerts if r["name"] == name)
        assert shift_ts <= first <= shift_ts + 2000, (name, first - shift_ts)
    assert not [r for r in records if r["kind"] == "detector"]  # the concept did not change
    windows = {(r["window"]["start"], r["window"]["n"]) for r in features_of(records)}
    assert all(n > 900 for _, n in windows if _ < START_MS + 7000)  # whole windows
    psi = [r for r in records if r["metric"] == "psi" and r["kind"] == "feature"]
    assert all(r["conventional"] == {"moderate": 0.1, "major": 0.25} for r in psi)


def test_a_stationary_stream_stays_within_its_false_alarm_budget(settings_factory, worker_factory):
    settings = settings_factory(partitions=4, drift_window=2000, online_model="off")
    create_topics(settings)
    train_on(settings, stream(4000, seed=3), estimator="logreg")
    worker_factory(settings, "--model", "m")
    send(settings, stream(100_000, seed=4))
    records = wait_for_drift(
        settings,
        lambda r: sum(x["window"]["n"] for x in r if x["kind"] == "prediction"
                      and x["metric"] == "psi") >= 100_000,
        240, "the drift windows of 100,000 events",
    )  # fmt: skip
    alarms = [r for r in records if r["kind"] == "alert"]
    # budget: one false alarm per 1,000,000 events over all statistics -> 0.1 expected
    assert len(alarms) == 0, alarms
    assert len({r["name"] for r in features_of(records)}) == 12  # 11 features and the score


def test_one_worker_and_two_workers_give_the_same_window_statistics(
    settings_factory, worker_factory
):
    frame = stream(6000, seed=5, shift_at=3000)
    results = []
    for workers in (1, 2):
        names = ("events_topic", "labels_topic", "predictions_topic", "drift_topic",
                 "dlq_topic", "model_updates_topic", "app_id")  # fmt: skip
        base = settings_factory()
        run = {name: f"{getattr(base, name)}-{workers}" for name in names}
        settings = settings_factory(partitions=4, drift_window=1000, online_model="off", **run)
        create_topics(settings)
        train_on(settings, stream(3000, seed=6), estimator="logreg")
        ports = [free_port() for _ in range(workers)]
        for i, port in enumerate(ports):
            worker_factory(settings, "--model", "m", "--web-port", str(port),
                           name=f"w{workers}-{i}")  # fmt: skip
        wait_assigned(ports, settings.partitions)
        send(settings, frame)
        records = wait_for_drift(
            settings,
            lambda r: sum(x["window"]["n"] for x in r if x["kind"] == "prediction"
                          and x["metric"] == "psi") >= 6000,
            180, f"6,000 events of windows with {workers} worker(s)",
        )  # fmt: skip
        results.append(
            sorted(
                (
                    r["name"],
                    r["metric"],
                    r["window"]["start"],
                    r["window"]["end"],
                    r["window"]["n"],
                    r["value"],
                    r["alert"],
                )
                for r in features_of(records)
            )  # fmt: skip
        )
    assert results[0] == results[1]
