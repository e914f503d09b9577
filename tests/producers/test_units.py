"""Producers without a broker: reading files, encoding events, pacing, delays, synthetic streams."""

from __future__ import annotations

import json

import numpy as np
import orjson
import pandas as pd
import pytest

from streamscore.ground import tables
from streamscore.ground.errors import ConfigError, DataError
from streamscore.ground.times import column_ms
from streamscore.producers import synthetic
from streamscore.producers.events import Layout, encode
from streamscore.producers.labels import parse_delay
from streamscore.producers.pacing import Pace
from streamscore.producers.replay import choose_pace, resolve_layout


@pytest.fixture
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "a": rng.normal(size=25),
            "b": rng.integers(0, 100, size=25),
            "s": [f"v{i}" for i in range(25)],
            "label": rng.integers(0, 2, size=25),
        }
    )


def test_events_are_plain_json_without_the_label(frame):
    frame.loc[2, "a"] = np.nan
    layout = resolve_layout(frame, None, None, "label")
    chunk = encode(frame, layout, "f")
    first = orjson.loads(chunk.values[0])
    assert set(first) == {"a", "b", "s", "id"}
    assert first["a"] == frame["a"][0] and isinstance(first["b"], int)
    assert orjson.loads(chunk.values[2])["a"] is None
    assert chunk.keys[:2] == [b"f-0", b"f-1"]
    assert chunk.labels == frame["label"].tolist()


def test_generated_ids_keep_file_row_numbers(frame):
    layout = Layout(list(frame.columns))
    chunk = next(tables.read_chunks(frame, chunk_rows=10, skip=12))
    assert encode(chunk, layout, "rides").keys[0] == b"rides-12"


def test_native_timestamps_and_nullable_ints_become_json():
    frame = pd.DataFrame(
        {
            "id": [1, 2],
            "ts": pd.to_datetime(["2026-01-01T00:00:00.001Z", "2026-01-01T00:00:01.000Z"]),
            "n": pd.array([5, None], dtype="Int64"),
            "when": pd.to_datetime(["2026-01-01", None]),
        }
    )
    chunk = encode(frame, resolve_layout(frame, None, None, None), "x")
    assert orjson.loads(chunk.values[0]) == {
        "n": 5,
        "when": 1767225600000,
        "id": "1",
        "ts": 1767225600001,
    }
    assert orjson.loads(chunk.values[1])["n"] is None
    assert orjson.loads(chunk.values[1])["when"] is None


def test_unknown_and_clashing_columns(frame):
    with pytest.raises(DataError, match="unknown column 'nope'"):
        resolve_layout(frame, None, "nope", None)
    with pytest.raises(DataError, match="clash"):
        resolve_layout(frame.assign(id=1, key=2), "key", None, None)


def test_unparsable_timestamp_names_value_and_row():
    values = pd.Series(["2026-01-01T00:00:00Z", "yesterday"], index=[40, 41])
    with pytest.raises(DataError, match=r"'yesterday' in column 'ts' at row 41"):
        column_ms(values, "ts")


def test_pacing_by_speed_and_rate():
    pace = Pace(speed=2.0)
    assert pace.due_seconds(pd.RangeIndex(0, 3), np.array([1000.0, 2000.0, 5000.0])) == [
        0.0,
        0.5,
        2.0,
    ]
    assert Pace(rate=10).due_seconds(pd.RangeIndex(5, 7), None) == [0.0, 0.1]
    assert choose_pace(None, None, None, True).paced is False
    with pytest.raises(ConfigError):
        choose_pace("ts", 10.0, None, True)
    with pytest.raises(ConfigError, match="--speed needs"):
        choose_pace(None, None, 2.0, False)


def test_label_delays():
    rng = np.random.default_rng(1)
    assert parse_delay("0.5").draw(rng, 3).tolist() == [0.5] * 3
    exp = parse_delay("exp:2").draw(rng, 20_000)
    assert 1.9 < exp.mean() < 2.1 and exp.min() >= 0
    assert parse_delay("normal:1:5").draw(rng, 1000).min() >= 0
    for bad in ("x", "exp", "uniform:5:1", "-1", "exp:-2", "beta:1:2"):
        with pytest.raises(ConfigError, match="bad --label-delay"):
            parse_delay(bad)


@pytest.mark.parametrize("kind", synthetic.KINDS)
def test_synthetic_streams_are_deterministic_with_sidecar(kind):
    frame, sidecar = synthetic.generate(kind, 400, drift_at=0.25, drift_width=20, seed=7)
    again, _ = synthetic.generate(kind, 400, drift_at=0.25, drift_width=20, seed=7)
    other, _ = synthetic.generate(kind, 400, drift_at=0.25, drift_width=20, seed=8)
    pd.testing.assert_frame_equal(frame, again)
    assert not frame.drop(columns="id").equals(other.drop(columns="id"))
    assert list(frame.columns[:2]) == ["id", "ts"] and frame.columns[-1] == "label"
    assert frame["ts"].diff().iloc[1:].eq(1).all()
    assert sidecar["drift_at"] == 100 and sidecar["kind"] == kind
    assert sidecar["features"] == list(frame.columns[2:-1])


def test_abrupt_drift_in_a_long_stream():
    # River's ConceptDriftStream overflows here; ours switches at the row asked for.
    frame, sidecar = synthetic.generate("sea", 5000, drift_at=3000, drift_width=1, seed=0)
    assert sidecar["drift_at"] == 3000 and len(frame) == 5000


def test_data_drift_shifts_one_feature_and_keeps_the_concept():
    frame, sidecar = synthetic.generate("data-drift", 20_000, drift_at=0.5, seed=3)
    before, after = frame.iloc[:10_000], frame.iloc[10_000:]
    assert sidecar["shifted_features"] == ["x0"]
    assert after["x0"].mean() - before["x0"].mean() == pytest.approx(2.0, abs=0.1)
    assert abs(after["x1"].mean() - before["x1"].mean()) < 0.1
    w = np.array(sidecar["generator"]["weights"])
    features = frame[[f"x{i}" for i in range(10)]].to_numpy()
    assert ((features @ w > 0).astype(int) == frame["label"]).all()


@pytest.mark.parametrize("ext", ["parquet", "csv", "jsonl"])
def test_write_round_trips_with_sidecar(tmp_path, ext):
    frame, sidecar = synthetic.generate("hyperplane", 50, seed=1)
    side = synthetic.write(frame, sidecar, tmp_path / f"s.{ext}")
    back = pd.concat(tables.read_chunks(tmp_path / f"s.{ext}"))
    assert back["x3"].tolist() == frame["x3"].tolist()
    assert back["id"].tolist() == frame["id"].tolist()
    assert json.loads(side.read_text())["drift_at"] == 25


def test_drift_at_fraction_or_index():
    assert synthetic.drift_index(0.5, 100) == 50
    assert synthetic.drift_index(70, 100) == 70
    with pytest.raises(ConfigError):
        synthetic.drift_index(500, 100)


def test_synth_command_writes_the_file_and_its_sidecar(tmp_path):
    from typer.testing import CliRunner

    from streamscore.cli.main import app

    out = tmp_path / "runs" / "agrawal.csv"
    args = ["synth", "agrawal", "--n", "300", "--drift-at", "120", "--seed", "4", "--out", str(out)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    sidecar = json.loads((tmp_path / "runs" / "agrawal.csv.drift.json").read_text())
    assert (sidecar["kind"], sidecar["n"], sidecar["drift_at"], sidecar["seed"]) == (
        "agrawal",
        300,
        120,
        4,
    )
    frame = pd.read_csv(out)
    assert len(frame) == 300 and frame["id"].iloc[-1] == "agrawal-4-299"


def test_fast_json_equals_orjson_of_each_row_dict():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "a": rng.normal(size=40),
            "b": rng.integers(-5, 5, 40),
            "c": [f'x,"y"%s é{i}' for i in range(40)],
            "d": rng.random(40) > 0.5,
            "e": pd.array([1, None] * 20, dtype="Int64"),
            "g": [None, 1.5, "s", {"k": 1}, [1, 2]] * 8,
            "ts": np.arange(40) * 1000,
        }
    )
    frame.loc[3, "a"] = np.nan
    values = encode(frame, resolve_layout(frame, None, None, None), "p").values
    for i, value in enumerate(values):
        row = {k: frame[k][i] for k in "abcdeg"}
        row = {k: (None if k in "ae" and pd.isna(v) else v) for k, v in row.items()}
        expected = {**row, "id": f"p-{i}", "ts": i * 1000}
        assert orjson.loads(value) == orjson.loads(
            orjson.dumps(expected, option=orjson.OPT_SERIALIZE_NUMPY)
        )


def test_a_label_column_is_withheld_unless_asked(frame):
    assert "label" not in resolve_layout(frame, None, None, None).features
    assert resolve_layout(frame, None, None, None).withheld == ("label",)
    assert "label" in resolve_layout(frame, None, None, None, keep_label=True).features
    kept = resolve_layout(frame, None, None, "label", keep_label=True)
    assert "label" in kept.features and kept.label_col == "label"
    first = orjson.loads(encode(frame, resolve_layout(frame, None, None, None), "f").values[0])
    assert set(first) == {"a", "b", "s", "id"}


def test_missing_codecs_name_the_extra(monkeypatch):
    from streamscore.producers import sender

    monkeypatch.setitem(sender.CODECS, "zstd", lambda: False)
    monkeypatch.setitem(sender.CODECS, "snappy", lambda: False)
    with pytest.raises(ConfigError, match=r"pip install 'streamscore\[zstd\]'"):
        sender.compression_type("zstd")
    with pytest.raises(ConfigError, match=r"pip install 'streamscore\[snappy\]'"):
        sender.compression_type("snappy")


def test_the_declared_codecs_are_installed():
    from streamscore.producers.sender import compression_type

    assert [compression_type(c) for c in ("zstd", "snappy", "lz4")] == ["zstd", "snappy", "lz4"]


def test_hourly_timestamps_are_refused_in_real_time_but_not_with_a_pace():
    from streamscore.producers.pacing import check_realtime, realtime_seconds

    hourly = pd.DataFrame({"ts": pd.date_range("2025-01-01", periods=48, freq="h")})
    seconds = realtime_seconds(hourly, "ts")
    assert seconds == 47 * 3600
    with pytest.raises(ConfigError, match=r"would take 1 d 23 h: pass --speed X \(--speed 500"):
        check_realtime(seconds, realtime=False)
    assert check_realtime(seconds, realtime=True) == (
        "replaying in real time (the timestamps' own pace): about 1 d 23 h; "
        "--speed, --rate or --max go faster"
    )
    assert check_realtime(42.0, realtime=False).endswith("about 42 s")
