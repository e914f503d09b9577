"""Data sets shipped with river and scikit-learn (no download), registries in tmp_path,
and a CLI runner that goes through ``streamscore.cli.main`` like a user's shell."""

from __future__ import annotations

import itertools
import sys
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd
import pytest
from river import datasets
from river.datasets import synth
from sklearn.datasets import load_breast_cancer

from streamscore.ground.config import get_settings
from streamscore.models.registry import Registry


def river_frame(dataset, n: int | None = None, target: str = "label") -> pd.DataFrame:
    rows = [{**x, target: y} for x, y in itertools.islice(dataset, n)]
    return pd.DataFrame(rows)


@pytest.fixture(scope="session")
def phishing() -> pd.DataFrame:
    """1250 rows, 9 numeric features, boolean target."""
    return river_frame(datasets.Phishing())


@pytest.fixture(scope="session")
def bananas() -> pd.DataFrame:
    """2 numeric features named '1' and '2' (digit names), boolean target."""
    return river_frame(datasets.Bananas(), n=1500)


@pytest.fixture(scope="session")
def segments() -> pd.DataFrame:
    """Multiclass: 7 string classes, 18 numeric features with dashes in their names."""
    return river_frame(datasets.ImageSegments(), n=1000, target="class")


@pytest.fixture(scope="session")
def agrawal() -> pd.DataFrame:
    """A river synthetic stream with categorical features (strings) and missing values."""
    frame = river_frame(synth.Agrawal(classification_function=2, seed=7), n=1000)
    frame["elevel"] = frame["elevel"].map(str)
    frame["car"] = frame["car"].map(str)
    frame["zipcode"] = frame["zipcode"].map(lambda v: f"z{v}")
    frame.loc[::17, "car"] = None
    frame.loc[::23, "salary"] = None
    frame.insert(0, "event id", [f"e{i}" for i in range(len(frame))])
    return frame


@pytest.fixture(scope="session")
def breast_cancer() -> pd.DataFrame:
    """scikit-learn's breast cancer: 30 numeric features with spaces, int target."""
    return load_breast_cancer(as_frame=True).frame


@pytest.fixture
def registry(tmp_path) -> Registry:
    return Registry(tmp_path / "registry")


@dataclass
class Result:
    code: int
    out: str
    err: str

    @property
    def last_line(self) -> str:
        return self.out.strip().splitlines()[-1]


@pytest.fixture
def cli(tmp_path, monkeypatch, capsys) -> Callable[..., Result]:
    """Run ``streamscore ARGS`` in-process with the registry in ``tmp_path/registry``."""
    from streamscore.cli.main import main

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("STREAMSCORE_REGISTRY_PATH", str(tmp_path / "registry"))
    get_settings.cache_clear()

    def run(*args: str) -> Result:
        capsys.readouterr()
        monkeypatch.setattr(sys, "argv", ["streamscore", *map(str, args)])
        try:
            main()
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    yield run
    get_settings.cache_clear()
