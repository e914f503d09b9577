"""The fitted preprocessing of a batch model, applied to a :class:`FeatureBatch` with numpy.

Through scikit-learn, a micro-batch becomes a pandas frame and goes through the
ColumnTransformer: measured on 10 numeric features, 23.7 µs per row to build the
frame and 58.8 µs per row to transform it at a batch of 50 (2.1 and 3.0 µs at
1,000), against 22.8 µs per row for the HistGradientBoosting model itself. Here the
numeric block (median imputation, standard scaling) and the boolean block
(most-frequent imputation) are the same float64 operations in numpy, read from the
fitted transformers; the categorical block still runs the fitted imputer and
one-hot encoder (on a frame of the categorical columns only). The blocks are
stacked in the ColumnTransformer's order, so the model sees the very matrix it
would through scikit-learn, bit for bit.

:func:`compile_pipeline` checks that on probe rows when the model loads; if the
pipeline has a shape it does not know, or the check fails, it returns None and
the caller keeps scikit-learn's path (slower, never different).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from streamscore.models.batch import FeatureBatch, validate_batch
from streamscore.models.schema import FeatureSchema

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline

Block = Callable[[FeatureBatch], np.ndarray]


class CompiledPreprocessing:
    """``transform(batch)`` -> the matrix the pipeline's final estimator reads."""

    def __init__(self, blocks: list[Block]) -> None:
        self.blocks = blocks

    def transform(self, batch: FeatureBatch) -> np.ndarray:
        if len(self.blocks) == 1:
            return self.blocks[0](batch)
        return np.hstack([block(batch) for block in self.blocks])


def _stack(batch: FeatureBatch, names: list[str]) -> np.ndarray:
    out = np.empty((len(batch), len(names)), dtype=np.float64)
    for j, name in enumerate(names):
        out[:, j] = batch.columns[name]
    return out


def _numeric_block(transformer: Any, names: list[str]) -> Block | None:
    steps: dict[str, Any] = dict(getattr(transformer, "steps", []))
    impute: Any = steps.get("impute")
    scale: Any = steps.get("scale")
    if len(steps) != 2 or type(impute).__name__ != "SimpleImputer":
        return None
    if type(scale).__name__ != "StandardScaler" or scale.with_mean is not True:
        return None
    fill, mean, divisor = impute.statistics_, scale.mean_, scale.scale_
    if divisor is None:
        return None

    def block(batch: FeatureBatch) -> np.ndarray:
        x = _stack(batch, names)
        missing = np.isnan(x)
        if missing.any():
            x[missing] = np.broadcast_to(fill, x.shape)[missing]
        x -= mean  # StandardScaler.transform: the same in-place float64 operations
        x /= divisor
        return x

    return block


def _boolean_block(transformer: Any, names: list[str]) -> Block | None:
    if type(transformer).__name__ != "SimpleImputer":
        return None
    fill = transformer.statistics_.astype(np.float64)

    def block(batch: FeatureBatch) -> np.ndarray:
        x = _stack(batch, names)
        missing = np.isnan(x)
        if missing.any():
            x[missing] = np.broadcast_to(fill, x.shape)[missing]
        return x

    return block


def _categorical_block(transformer: Any, names: list[str]) -> Block:
    import pandas as pd

    def block(batch: FeatureBatch) -> np.ndarray:
        frame = pd.DataFrame(
            {name: pd.Series(batch.columns[name], dtype=object) for name in names},
            columns=names,
        )
        frame = frame.where(frame.notna(), np.nan)  # None -> NaN, as in a model frame
        return np.asarray(transformer.transform(frame), dtype=np.float64)

    return block


_BUILDERS: dict[str, Callable[[Any, list[str]], Block | None]] = {
    "numeric": _numeric_block,
    "boolean": _boolean_block,
    "categorical": _categorical_block,
}


def compile_pipeline(pipeline: Pipeline, schema: FeatureSchema) -> CompiledPreprocessing | None:
    """The numpy twin of ``pipeline[:-1]``, checked bit for bit on probe rows; None if unknown."""
    try:
        features = pipeline.named_steps["features"]
        blocks: list[Block] = []
        for name, transformer, columns in features.transformers_:
            if name == "remainder":
                continue
            builder = _BUILDERS.get(name)
            block = builder(transformer, list(columns)) if builder else None
            if block is None:
                return None
            blocks.append(block)
        compiled = CompiledPreprocessing(blocks)
        return compiled if _agrees(compiled, pipeline, schema) else None
    except Exception:  # noqa: BLE001 - any surprise means: use scikit-learn's own path
        return None


def _agrees(compiled: CompiledPreprocessing, pipeline: Pipeline, schema: FeatureSchema) -> bool:
    from streamscore.models.features import rows_to_frame

    rows = _probe_rows(schema)
    batch, refused = validate_batch(rows, schema)
    if refused:
        return False
    expected = np.asarray(pipeline[:-1].transform(rows_to_frame(rows, schema)), dtype=np.float64)
    got = compiled.transform(batch)
    return got.shape == expected.shape and np.array_equal(got, expected, equal_nan=True)


def _probe_rows(schema: FeatureSchema) -> list[dict[str, Any]]:
    """Rows with missing values, seen and unseen categories, and awkward numbers."""
    numbers = [0.0, -1.5, 1e-12, 3.0e9, None, 7.25, -0.0, 123456.789]
    flags = [0.0, 1.0, None, 1.0, 0.0, None, 1.0, 0.0]
    rows = []
    for i in range(len(numbers)):
        row: dict[str, Any] = {}
        for feature in schema.features:
            if feature.kind == "numeric":
                row[feature.name] = numbers[i]
            elif feature.kind == "boolean":
                row[feature.name] = flags[i]
            else:
                known = list(feature.categories) or ["a"]
                row[feature.name] = [known[i % len(known)], None, "never-seen"][i % 3]
        rows.append(row)
    return rows
