"""The file formats users bring: one reader and writer for train, predict, replay, synth."""

from __future__ import annotations

import gzip

import numpy as np
import pandas as pd
import pytest

from streamscore.ground.errors import DataError
from streamscore.ground.tables import (
    columns,
    file_sha256,
    read_chunks,
    read_table,
    table_format,
    write_table,
)

FRAME = pd.DataFrame(
    {
        "a b": [0.1 + 0.2, 1 / 3, np.nan],
        "7": [1, 2, 3],
        "s": ["x", None, "z"],
        "f": [True, False, True],
    }
)


SUFFIXES = [
    "t.csv", "t.csv.gz", "t.tsv", "t.tsv.gz", "t.parquet", "t.pq", "t.parquet.gz",
    "t.jsonl", "t.jsonl.gz", "t.ndjson", "t.ndjson.gz", "t.json", "t.json.gz",
]  # fmt: skip


@pytest.mark.parametrize("name", SUFFIXES)
def test_round_trip_keeps_every_float_bit(tmp_path, name):
    path = tmp_path / name
    write_table(FRAME, path)
    back = read_table(path)
    assert list(back.columns) == ["a b", "7", "s", "f"]
    np.testing.assert_array_equal(back["a b"].to_numpy(float), FRAME["a b"].to_numpy())
    assert back["7"].tolist() == [1, 2, 3] and back["f"].tolist() == [True, False, True]


def test_jsonl_keeps_json_types(tmp_path):
    path = tmp_path / "e.jsonl.gz"
    with gzip.open(path, "wb") as out:
        out.write(b'{"id": "007", "n": 1, "ok": true}\n\n{"id": "008", "n": 2.5}\n')
    frame = read_table(path)
    assert frame["id"].tolist() == ["007", "008"] and frame["ok"].isna().tolist() == [False, True]


def test_errors(tmp_path):
    (tmp_path / "empty.jsonl").write_text("\n")
    with pytest.raises(DataError, match="has no rows"):
        read_table(tmp_path / "empty.jsonl")
    (tmp_path / "list.jsonl").write_text("[1, 2]\n")
    with pytest.raises(DataError, match="line 1 is not a JSON object"):
        read_table(tmp_path / "list.jsonl")
    (tmp_path / "dup.csv").write_text("a,a\n1,2\n")
    frame = read_table(tmp_path / "dup.csv")  # pandas renames the second to a.1
    assert list(frame.columns) == ["a", "a.1"]
    write_table(FRAME, tmp_path / "new" / "folder" / "out.csv")  # folders are created
    assert len(read_table(tmp_path / "new" / "folder" / "out.csv")) == 3


def test_sha256(tmp_path):
    (tmp_path / "x").write_bytes(b"abc")
    assert file_sha256(tmp_path / "x").startswith("ba7816bf")


@pytest.mark.parametrize("name", SUFFIXES)
def test_chunks_of_any_format_are_the_whole_file_with_row_numbers(tmp_path, name):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=25), "s": [f"v{i}" for i in range(25)]})
    path = tmp_path / name
    write_table(frame, path)
    got = pd.concat(read_chunks(path, chunk_rows=4, skip=3, limit=15))
    assert list(got.index) == list(range(3, 18))
    assert got["a"].tolist() == frame["a"].iloc[3:18].tolist()  # floats exact
    assert got["s"].tolist() == frame["s"].iloc[3:18].tolist()
    assert columns(path) == ["a", "s"]


def test_tsv_is_written_with_tabs(tmp_path):
    write_table(pd.DataFrame({"a": [1], "b": ["x,y"]}), tmp_path / "t.tsv")
    assert (tmp_path / "t.tsv").read_text().splitlines() == ["a\tb", "1\tx,y"]


def test_missing_file_and_unknown_format(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        list(read_chunks(tmp_path / "none.csv"))
    with pytest.raises(DataError, match="cannot tell the format"):
        table_format(tmp_path / "x.xlsx")
