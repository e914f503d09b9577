"""The monitor's state and views fed by hand (no broker, no terminal): what the screen
and the compact line say in each situation."""

from __future__ import annotations

import functools
import time

from rich.console import Console

from streamscore.cli.dashboard import FEATURES_WIDTH, dashboard, summary_line
from streamscore.cli.monitor_state import MonitorState
from streamscore.ground.kafka.offsets import GroupLag
from tests.cli.drift_history import history, predictions

NOW = 1_767_225_600.0  # 2026-01-01T00:00:00Z, in seconds


@functools.cache
def records() -> tuple[dict, ...]:
    return tuple(history(int(NOW * 1000) - 24 * 5_000, drift_until=99))


def _screen(state: MonitorState, now: float = NOW) -> str:
    console = Console(width=160, height=50, record=True, file=open("/dev/null", "w"))  # noqa: SIM115
    console.print(dashboard(state, now, height=50))
    return console.export_text()


def test_before_any_record_the_screen_says_no_data_yet():
    state = MonitorState()
    screen = _screen(state)
    assert screen.count("no data yet") == 3  # the model, the features and the models panels
    assert "events/s ?" in screen and "lag ?" in screen
    assert summary_line(state, NOW).endswith("| model ? | no data yet")


def test_rates_fall_to_zero_when_nothing_comes_and_are_unknown_when_kafka_is_silent():
    state = MonitorState()
    state.sample(0, 0, GroupLag(0, {}, 0), now=NOW)
    state.sample(1_000, 10, GroupLag(5, {0: 5}, 1), now=NOW + 1)
    assert state.rates(NOW + 1) == (1_000.0, 10.0)
    for second in range(2, 6):
        state.sample(1_000, 10, GroupLag(5, {0: 5}, 1), now=NOW + second)
    assert state.rates(NOW + 5) == (0.0, 0.0)
    assert "events/s 0.0" in _screen(state, NOW + 5)
    state.failed("no Kafka broker answered")
    assert state.rates(NOW + 20) == (None, None)
    screen = _screen(state, NOW + 20)
    assert "events/s ?" in screen and "broker: no Kafka broker answered" in screen


def test_features_in_alert_are_flagged_and_the_rest_are_ok():
    state = MonitorState()
    for record in records():
        state.add_drift(record)
    for _, value in predictions(3, version="7"):
        state.add_prediction(value)
    lines = {  # the features panel: the left FEATURES_WIDTH columns
        line.split()[1]: line[:FEATURES_WIDTH]
        for line in _screen(state).splitlines()
        if line.startswith("│  ")
    }
    assert "ALERT psi,ks" in lines["x0"] and "ALERT psi,chi2" in lines["c0"]
    assert all("ok" in lines[f"x{i}"] and "ALERT" not in lines[f"x{i}"] for i in range(1, 10))
    line = summary_line(state, NOW)
    assert "model synthetic v7" in line
    assert "alerts: c0 psi,chi2; x0 psi,ks; score psi,ks" in line
    assert "challenger winner online" in line


def test_a_cleared_alert_is_no_longer_flagged_even_while_the_statistic_wobbles():
    state = MonitorState()
    raised = {"ts": 1, "model": "m", "version": "1", "kind": "alert", "name": "age",
              "metric": "psi", "value": 0.5, "threshold": 0.1, "alert": True,
              "state": "raise"}  # fmt: skip
    state.add_drift(raised)
    state.add_drift({**raised, "ts": 2, "kind": "feature", "value": 0.05, "alert": False})
    assert state.active_alerts() == [("age", "psi")]  # under the threshold, not cleared yet
    state.add_drift({**raised, "ts": 3, "alert": False, "state": "clear"})
    assert state.active_alerts() == []
    assert [h.text for h in state.recent(5)] == [
        "ALERT age psi 0.5 > 0.1", "cleared age psi 0.5 <= 0.1",
    ]  # fmt: skip


def test_unknown_kinds_and_broken_records_are_counted_not_fatal():
    state = MonitorState()
    state.add_drift({"kind": "forecast", "name": "x", "metric": "y", "ts": 0})
    state.add_drift("not an object")
    state.add_drift({**records()[0], "extra": {"nested": [1, 2]}})
    state.add_prediction({"no": "model"})
    assert state.skipped.total == 2 and state.drift_read == 1
    assert "2 records skipped: unknown kind 'forecast' (1), not a JSON object (1)" in _screen(state)


def test_the_model_shown_is_the_one_asked_for():
    state = MonitorState(model="other")
    for record in records()[:50]:
        state.add_drift(record)
    state.add_drift({**records()[0], "model": "other", "name": "z"})
    assert list(state.features()) == ["z"]
    assert time.time() >= state.started


def test_retraining_steps_are_logged_apart_from_the_challenger_test():
    state = MonitorState()
    for record in records():
        state.add_drift(record)
    step = {"ts": int(NOW * 1000), "model": "synthetic", "version": "1", "kind": "challenger",
            "name": "retrain", "metric": "accuracy", "value": 0.91, "threshold": 0.62,
            "alert": True, "state": "promoted", "champion": "1", "candidate": "2",
            "window": {"start": 0, "end": 1, "n": 2000, "offsets": {}}}  # fmt: skip
    state.add_drift({**step, "ts": step["ts"] - 1, "state": "started", "value": None,
                     "threshold": None, "alert": False, "candidate": None})  # fmt: skip
    state.add_drift(step)
    texts = [h.text for h in state.recent(2)]
    assert texts == ["retrain started", "retrain promoted v2 (accuracy 0.91 vs v1 0.62)"]
    assert state.model_drift().challenger["metric"] == "mcnemar_p"
    screen = _screen(state)
    assert "retrain promoted v2 (accuracy 0.91 vs v1 0.62)" in screen
    assert "challenger winner online" in screen
