"""The drift topic's records: one per (feature, metric) per window, alerts on transitions."""

from __future__ import annotations

import math

import numpy as np
import orjson

from streamscore.models.drift.records import DriftMonitor, record_key
from tests.models.drift import streams
from tests.models.drift.test_counts import counted

FIELDS = {
    "ts",
    "model",
    "version",
    "kind",
    "name",
    "metric",
    "value",
    "threshold",
    "alert",
    "window",
}


def test_records_of_a_window():
    rng = np.random.default_rng(31)
    ref = streams.reference(rng)
    columns, scores = streams.rows(rng, 1_000, {"x0": 2.0})
    window = counted(ref, columns, scores, first=100)
    records = DriftMonitor(ref).update(window, ts=1_700_000_999_000)
    assert orjson.loads(orjson.dumps(records)) == records  # plain JSON
    measured = [r for r in records if r["kind"] != "alert"]
    assert len(measured) == ref.n_tests == len({(r["name"], r["metric"]) for r in measured})
    assert {r["kind"] for r in measured if r["name"] == "score"} == {"prediction"}
    assert {r["kind"] for r in measured if r["name"] != "score"} == {"feature"}
    for record in records:
        assert set(record) >= FIELDS and record["model"] == "synthetic" and record["version"] == "1"
        assert record["window"] == {
            "start": 1_700_000_000_000,
            "end": 1_700_000_009_990,
            "n": 1_000,
            "offsets": {"0": [100, 433], "1": [100, 432], "2": [100, 432]},
        }
        assert math.isfinite(record["value"]) and record["threshold"] >= 0
    psi = next(r for r in measured if (r["name"], r["metric"]) == ("x0", "psi"))
    assert psi["conventional"] == {"moderate": 0.1, "major": 0.25} and psi["level"] == "major"
    assert psi["alert"] and psi["value"] > psi["threshold"]
    raised = [r for r in records if r["kind"] == "alert"]
    assert {(r["name"], r["metric"]) for r in raised} >= {("x0", "psi"), ("x0", "ks")}
    assert all(r["alert"] is True and r["state"] == "raise" for r in raised)
    assert record_key(raised[0]) == f"synthetic/{raised[0]['name']}"


def test_an_untestable_statistic_has_a_null_threshold():
    from streamscore.models.drift.bins import DriftReference
    from streamscore.models.drift.counting import count

    ref = DriftReference.from_manifest(
        {
            "name": "m",
            "version": "1",
            "reference": {
                "numeric": {
                    "k": {"edges": [3.0, 3.0], "proportions": [1.0], "missing": 0.0, "count": 9}
                },
                "score": {"edges": [0.0, 0.5, 1.0], "proportions": [0.5, 0.5], "count": 9},
            },
        }
    )
    records = DriftMonitor(ref).update(count(ref, {"k": np.full(5, 3.0)}, np.full(5, 0.4)), ts=0)
    psi = next(r for r in records if r["name"] == "k" and r["metric"] == "psi")
    assert psi["threshold"] is None and psi["alert"] is False
