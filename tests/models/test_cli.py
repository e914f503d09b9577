"""``streamscore train | predict | models`` as a user runs them."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import orjson
import pandas as pd
import pytest

from streamscore.ground.config import get_settings
from streamscore.ground.tables import read_table
from streamscore.models.registry import Registry


@pytest.fixture
def bc_csv(tmp_path, breast_cancer):
    path = tmp_path / "breast cancer.csv"
    breast_cancer.to_csv(path, index=False)
    return path


def test_train_prints_summary_and_the_version_dir_last(cli, bc_csv, tmp_path):
    result = cli("train", bc_csv, "--target", "target", "--model", "bc", "-e", "logreg")
    assert result.code == 0, result.err
    assert result.last_line == str(tmp_path / "registry" / "bc" / "1")
    assert "accuracy" in result.err and "saved in" in result.err
    assert Registry(tmp_path / "registry").current("bc") == "1"


def test_default_model_name_from_the_file(cli, bc_csv):
    result = cli("train", bc_csv, "--target", "target", "-e", "logreg")
    assert result.code == 0 and result.last_line.endswith("breast-cancer/1")


def test_list_show_promote(cli, bc_csv, monkeypatch):
    cli("train", bc_csv, "--target", "target", "--model", "bc", "-e", "logreg")
    cli("train", bc_csv, "--target", "target", "--model", "bc", "-e", "rf")
    listing = cli("models", "list")
    assert listing.code == 0
    rows = [line for line in listing.out.splitlines() if " bc " in line]
    assert len(rows) == 2 and "*" in rows[0] and "*" not in rows[1]

    promoted = cli("models", "promote", "bc", "2", "--local")
    assert promoted.code == 0 and "current version 2 (was 1)" in promoted.out
    assert "local registry only" in promoted.err
    assert "*" in [line for line in cli("models", "list").out.splitlines() if " 2 " in line][0]

    shown = cli("models", "show", "bc")
    assert shown.code == 0 and "version 2 (current)" in shown.out and "mean radius" in shown.out
    manifest = orjson.loads(cli("models", "show", "bc", "1", "--json").out)
    assert manifest["version"] == "1" and manifest["estimator"] == "logreg"


def test_predict_is_the_offline_twin(cli, bc_csv, tmp_path, breast_cancer):
    cli("train", bc_csv, "--target", "target", "--model", "bc")
    out = tmp_path / "scores.parquet"
    result = cli("predict", bc_csv, "--model", "bc", "--out", out)
    assert result.code == 0 and result.last_line == str(out)
    scored = read_table(out)
    assert list(scored.columns) == ["prediction", "proba_0", "proba_1", "model", "version"]
    assert len(scored) == len(breast_cancer)
    model = Registry(tmp_path / "registry").load("bc")
    expected = model.predict_proba(breast_cancer.drop(columns="target"))
    assert np.array_equal(scored[["proba_0", "proba_1"]].to_numpy(), expected)


def test_predict_keeps_ids_and_writes_jsonl(cli, tmp_path, agrawal):
    path = tmp_path / "agrawal.parquet"
    agrawal.to_parquet(path)
    cli("train", path, "--target", "label", "--id-col", "event id", "-e", "rf")
    out = tmp_path / "scores.jsonl"
    assert cli("predict", path, "--model", "agrawal", "--version", "1", "--out", out).code == 0
    lines = [orjson.loads(line) for line in out.read_bytes().splitlines()]
    assert [row["id"] for row in lines] == agrawal["event id"].tolist()
    assert all(abs(row["proba_0"] + row["proba_1"] - 1) < 1e-9 for row in lines)


@pytest.mark.parametrize(
    ("content", "args", "message"),
    [
        ("x,y\n1,0\n2,1\n", ["--target", "nope"], "error: unknown target column 'nope'"),
        ("x,y\n", ["--target", "y"], "has no rows"),
        ("x,gone,y\n1,,0\n2,,1\n3,,0\n4,,1\n", ["--target", "y"], "column 'gone' is all missing"),
        ("x,y\n1,a\n2,a\n3,a\n4,a\n", ["--target", "y"], "has a single class ('a')"),
        ("x,y\n1,0\n2,1\n", ["--target", "y", "--estimator", "svm"], "unknown estimator 'svm'"),
    ],
)
def test_train_errors_are_one_line(cli, tmp_path, content, args, message):
    path = tmp_path / "data.csv"
    path.write_text(content)
    result = cli("train", path, *args)
    assert result.code == 1
    assert result.err.strip().startswith("error: ") and message in result.err
    assert len(result.err.strip().splitlines()) == 1


def test_unreadable_and_missing_files(cli, tmp_path):
    (tmp_path / "bad.parquet").write_bytes(b"\x00garbage")
    (tmp_path / "bad.jsonl").write_text('{"x": 1}\n{oops\n')
    for name, message in [
        ("bad.parquet", "cannot read"),
        ("bad.jsonl", "line 2"),
        ("none.csv", "no such file"),
        ("data.xlsx", "cannot tell the format"),
    ]:
        result = cli("train", tmp_path / name, "--target", "y")
        assert result.code == 1 and message in result.err, (name, result.err)
        assert len(result.err.strip().splitlines()) == 1


def test_predict_errors(cli, bc_csv, tmp_path):
    assert "no model 'bc'" in cli("predict", bc_csv, "--model", "bc", "--out", "o.csv").err
    cli("train", bc_csv, "--target", "target", "--model", "bc", "-e", "logreg")
    bad = tmp_path / "bad.csv"
    pd.DataFrame({"mean radius": ["x"]}).to_csv(bad, index=False)
    result = cli("predict", bad, "--model", "bc", "--out", "o.csv")
    assert result.code == 1 and "lacks the model's feature column(s)" in result.err
    result = cli("models", "promote", "bc", "3")
    assert result.code == 1 and "has no version '3'" in result.err


def test_real_process_prints_no_traceback(tmp_path):
    (tmp_path / "one.csv").write_text("x,y\n1,a\n2,a\n")
    proc = subprocess.run(
        [sys.executable, "-m", "streamscore", "train", "one.csv", "--target", "y"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={"STREAMSCORE_REGISTRY_PATH": str(tmp_path / "reg"), "PATH": ""},
        timeout=120,
    )
    assert proc.returncode == 1
    assert proc.stderr.strip() == (
        "error: target column 'y' has a single class ('a'): a classifier needs at least two"
    )


def test_promote_without_a_broker_changes_nothing_and_says_so(cli, bc_csv, tmp_path, monkeypatch):
    from streamscore.ground.kafka.local import free_port

    cli("train", bc_csv, "--target", "target", "--model", "bc", "-e", "logreg")
    cli("train", bc_csv, "--target", "target", "--model", "bc", "-e", "logreg")
    monkeypatch.setenv("STREAMSCORE_BOOTSTRAP_SERVERS", f"127.0.0.1:{free_port()}")
    monkeypatch.setenv("STREAMSCORE_BROKER_TIMEOUT", "1")
    get_settings.cache_clear()
    result = cli("models", "promote", "bc", "2")
    assert result.code == 1
    assert result.err.startswith("error: nothing was promoted: no Kafka broker answered")
    assert len(result.err.strip().splitlines()) == 1
    assert Registry(tmp_path / "registry").current("bc") == "1"
