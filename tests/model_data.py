"""Small training data for tests of the streaming side: numeric, categorical, boolean."""

from __future__ import annotations

import numpy as np
import pandas as pd

from streamscore.models.registry import Registry
from streamscore.models.training import train


def frame(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x1 = rng.normal(size=n)
    x2 = rng.uniform(-1, 1, size=n)
    color = rng.choice(["red", "green", "blue"], size=n)
    flag = rng.random(n) < 0.3
    score = x1 + 0.8 * x2 + (color == "red") * 0.7 - flag * 0.5
    label = np.where(score > 0.2, "yes", "no")
    return pd.DataFrame(
        {"id": [f"r{i}" for i in range(n)], "x1": x1, "x2": x2, "color": color,
         "flag": flag, "label": label}
    )  # fmt: skip


def events(n: int, seed: int = 1, prefix: str = "e") -> list[dict]:
    """Events as a producer sends them: features by name plus ``id``, no label."""
    rows = frame(n, seed).drop(columns=["label"])
    rows["id"] = [f"{prefix}{i}" for i in range(n)]
    return [
        {k: (v.item() if hasattr(v, "item") else v) for k, v in r.items()}
        for r in rows.to_dict("records")
    ]


def train_model(registry_path, name: str = "m", seed: int = 0, estimator: str = "hgb"):
    return train(
        frame(600, seed), "label", name=name, registry=Registry(registry_path),
        id_col="id", seed=seed, estimator=estimator,
    )  # fmt: skip
