"""Offline batch scoring: the file twin of the stream's score agent.

Rows take the stream's path exactly: file -> records -> :func:`validate_row` ->
:func:`rows_to_frame` -> :meth:`LoadedModel.predict_proba`, so a row scored here and
the same row sent as a JSON event get bit-identical probabilities.
"""

from __future__ import annotations

import pandas as pd

from streamscore.models.artifact import LoadedModel
from streamscore.models.features import to_model_frame


def proba_column(label: object) -> str:
    """Name of the output column holding P(``label``).

    >>> proba_column(True), proba_column("cat")
    ('proba_True', 'proba_cat')
    """
    return f"proba_{label}"


def score_frame(model: LoadedModel, data: pd.DataFrame) -> pd.DataFrame:
    """One output row per input row, in input order.

    Columns: ``id`` (the model's id column, or an ``id`` column, when the data has
    one), ``prediction``, ``proba_<class>`` per class (in the order of
    ``model.classes``), ``model`` and ``version``.
    """
    proba = model.predict_proba(to_model_frame(data, model.schema))
    out = pd.DataFrame(index=pd.RangeIndex(len(data)))
    id_col = model.manifest.get("id_col")
    for column in (id_col, "id"):
        if column and column in data.columns:
            out["id"] = data[column].to_numpy()
            break
    out["prediction"] = pd.Series([model.classes[i] for i in proba.argmax(axis=1)], index=out.index)
    for position, label in enumerate(model.classes):
        out[proba_column(label)] = proba[:, position]
    out["model"] = model.name
    out["version"] = model.version
    return out
