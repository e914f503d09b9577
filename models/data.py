"""Reading tabular files into pandas, and fingerprints of what was read.

Every failure is a :class:`~streamscore.ground.errors.DataError` with a one-line message:
the CLI turns it into ``error: <message>`` and exit code 1, never a traceback.

>>> suffix_kind("events.csv.gz"), suffix_kind("x.parquet"), suffix_kind("a.ndjson")
('csv', 'parquet', 'jsonl')
"""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

import orjson
import pandas as pd

from streamscore.ground.errors import DataError

KINDS = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
}


def suffix_kind(path: str | Path) -> str:
    """The file format named by the suffix (``.gz`` is looked through)."""
    suffixes = [s.lower() for s in Path(path).suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    kind = KINDS.get(suffixes[-1]) if suffixes else None
    if kind is None:
        known = ", ".join(sorted(KINDS)) + " (optionally .gz)"
        raise DataError(f"cannot tell the format of {path}: use one of {known}")
    return kind


def read_table(path: str | Path) -> pd.DataFrame:
    """Read CSV, TSV, Parquet or JSON Lines (each optionally gzipped) into a frame.

    Column names become strings. A missing, unreadable or empty file raises
    :class:`DataError`.
    """
    path = Path(path)
    kind = suffix_kind(path)
    if not path.is_file():
        raise DataError(f"cannot read {path}: no such file")
    try:
        frame = _READERS[kind](path)
    except DataError:
        raise
    except pd.errors.EmptyDataError:
        raise DataError(f"{path} has no rows") from None
    except Exception as exc:  # every parser has its own errors; the user needs one line
        raise DataError(f"cannot read {path} as {kind}: {_one_line(exc)}") from None
    if len(frame) == 0:
        raise DataError(f"{path} has no rows")
    return _string_columns(frame, path)


def _read_csv(path: Path, sep: str = ",") -> pd.DataFrame:
    # pandas 3 parses floats to the nearest double, like float() and orjson, so a
    # value read here equals the same value sent as JSON to the stream, bit for bit.
    return pd.read_csv(path, sep=sep, compression="infer")


def _read_jsonl(path: Path) -> pd.DataFrame:
    # orjson keeps JSON's own types (pd.read_json would guess dates and cast ints).
    opener = gzip.open if path.suffix.lower() == ".gz" else open
    records = []
    with opener(path, "rb") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                record = orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                raise DataError(f"cannot read {path}: line {number}: {exc}") from None
            if not isinstance(record, dict):
                raise DataError(f"cannot read {path}: line {number} is not a JSON object")
            records.append(record)
    return pd.DataFrame.from_records(records)


_READERS = {
    "csv": _read_csv,
    "tsv": lambda path: _read_csv(path, sep="\t"),
    "parquet": pd.read_parquet,
    "jsonl": _read_jsonl,
}


def _string_columns(frame: pd.DataFrame, path: Path) -> pd.DataFrame:
    names = [str(c) for c in frame.columns]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise DataError(f"{path} has duplicated column names: {duplicated}")
    frame.columns = names
    return frame


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def file_sha256(path: str | Path) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def frame_sha256(frame: pd.DataFrame) -> str:
    """Hex sha256 of a frame's contents (for training data given as a frame, not a file).

    >>> a = pd.DataFrame({"x": [1, 2]})
    >>> frame_sha256(a) == frame_sha256(a.copy()) != frame_sha256(a.iloc[::-1])
    True
    """
    digest = hashlib.sha256(orjson.dumps([str(c) for c in frame.columns]))
    digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return digest.hexdigest()


def write_table(frame: pd.DataFrame, path: str | Path) -> None:
    """Write ``frame`` as CSV, TSV, Parquet or JSON Lines (by suffix; ``.gz`` compresses).

    JSON Lines and Parquet keep every float bit for bit; CSV writes the shortest
    text that reads back to the same float.
    """
    path = Path(path)
    kind = suffix_kind(path)
    if not path.parent.is_dir():
        raise DataError(f"cannot write {path}: no directory {path.parent}")
    try:
        if kind in ("csv", "tsv"):
            frame.to_csv(path, sep="\t" if kind == "tsv" else ",", index=False)
        elif kind == "parquet":
            frame.to_parquet(path, index=False)
        else:
            _write_jsonl(frame, path)
    except OSError as exc:
        raise DataError(f"cannot write {path}: {exc.strerror or exc}") from None


def _write_jsonl(frame: pd.DataFrame, path: Path) -> None:
    opener = gzip.open if path.suffix.lower() == ".gz" else open
    records = frame.astype(object).where(frame.notna(), None).to_dict("records")
    with opener(path, "wb") as out:
        for record in records:
            out.write(orjson.dumps(record, option=orjson.OPT_SERIALIZE_NUMPY) + b"\n")
