"""Validated rows and joined examples for the online-learning tests (seeded, no files)."""

from __future__ import annotations

import random

from streamscore.models.schema import Feature, FeatureSchema

SCHEMA = FeatureSchema(
    (
        Feature("x1", "numeric"),
        Feature("x2", "numeric"),
        Feature("color", "categorical"),
        Feature("flag", "boolean"),
    )
)
NUMERIC_10 = FeatureSchema(tuple(Feature(f"f{i}", "numeric") for i in range(10)))


def rows(n: int, classes: list, seed: int = 0, missing: float = 0.1) -> list[tuple[dict, object]]:
    """``(validated row, label)`` pairs over :data:`SCHEMA`; about ``missing`` of values None."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        x = {
            "x1": rng.gauss(0, 1),
            "x2": rng.uniform(-1, 1) * 50 + 100,  # needs scaling
            "color": rng.choice(["red", "green", "blue"]),
            "flag": float(rng.random() < 0.3),
        }
        score = x["x1"] + (x["x2"] - 100) / 50 + (x["color"] == "red") - 0.5 * x["flag"]
        score += rng.gauss(0, 0.3)
        k = min(len(classes) - 1, max(0, int((score + 1.0) * len(classes) / 2)))
        for name in x:
            if rng.random() < missing:
                x[name] = None
        out.append((x, classes[k]))
    return out


def numeric_rows(n: int, seed: int = 0) -> list[tuple[dict, int]]:
    """Rows over :data:`NUMERIC_10` with a linear 0/1 label."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        x = {f"f{i}": rng.gauss(0, 1) for i in range(10)}
        out.append((x, int(x["f0"] + 0.5 * x["f1"] + rng.gauss(0, 0.5) > 0)))
    return out


def examples(
    pairs: list[tuple[dict, object]], classes: list, partitions: int = 3, seed: int = 0
) -> list[dict]:
    """Joined examples as the join writes them: labels spread over ``partitions``,
    each partition's labels in offset order, batch probabilities that are often right."""
    rng = random.Random(seed)
    next_offset = [0] * partitions
    out = []
    for i, (x, y) in enumerate(pairs):
        partition = rng.randrange(partitions)
        right = rng.random() < 0.8
        k = classes.index(y) if right else (classes.index(y) + 1) % len(classes)
        proba = {
            str(c): (0.7 if j == k else 0.3 / (len(classes) - 1)) for j, c in enumerate(classes)
        }
        event_ts = 1_700_000_000_000 + 100 * i
        out.append(
            {
                "id": f"e{i}",
                "x": x,
                "y": y,
                "proba": proba,
                "version": "1",
                "event_ts": event_ts,
                "label_ts": event_ts + rng.randrange(50, 5000),
                "source": [partition, next_offset[partition]],
                "offset": i,
            }
        )
        next_offset[partition] += 1
    return out
