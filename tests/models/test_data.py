"""Reading and writing the file formats users bring."""

from __future__ import annotations

import gzip

import numpy as np
import pandas as pd
import pytest

from streamscore.ground.errors import DataError
from streamscore.models.data import file_sha256, read_table, write_table

FRAME = pd.DataFrame(
    {
        "a b": [0.1 + 0.2, 1 / 3, np.nan],
        "7": [1, 2, 3],
        "s": ["x", None, "z"],
        "f": [True, False, True],
    }
)


@pytest.mark.parametrize(
    "name", ["t.csv", "t.csv.gz", "t.tsv", "t.parquet", "t.jsonl", "t.jsonl.gz"]
)
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
    with pytest.raises(DataError, match="no directory"):
        write_table(FRAME, tmp_path / "missing" / "out.csv")


def test_sha256(tmp_path):
    (tmp_path / "x").write_bytes(b"abc")
    assert file_sha256(tmp_path / "x").startswith("ba7816bf")
