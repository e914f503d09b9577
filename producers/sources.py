"""Read CSV, CSV.gz, Parquet and JSONL files in chunks, so files larger than memory work.

Every chunk keeps the row numbers of the file (a ``RangeIndex`` starting at the
row's position), which is what generated ids and ``--skip`` / ``--limit`` count.

>>> import pandas as pd
>>> frame = pd.DataFrame({"x": range(5)})
>>> [list(c.index) for c in read_chunks(frame, chunk_rows=2, skip=1)]
[[1], [2, 3], [4]]
>>> [list(c.index) for c in read_chunks(frame, chunk_rows=2, skip=1, limit=2)]
[[1], [2]]
"""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from streamscore.ground.errors import DataError

Source = str | Path | pd.DataFrame

FORMATS = {
    ".csv": "csv",
    ".csv.gz": "csv",
    ".tsv": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".jsonl": "jsonl",
    ".jsonl.gz": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
}


def file_format(path: Path) -> str:
    """``csv``, ``parquet`` or ``jsonl`` from the file name.

    >>> file_format(Path("a/b.csv.gz")), file_format(Path("x.parquet"))
    ('csv', 'parquet')
    """
    name = path.name.lower()
    for suffix, kind in sorted(FORMATS.items(), key=lambda kv: -len(kv[0])):
        if name.endswith(suffix):
            return kind
    known = ", ".join(FORMATS)
    raise DataError(f"cannot tell the format of {path}: use one of {known}")


def stem(source: Source) -> str:
    """The file name without its extensions: the prefix of generated ids.

    >>> stem("data/rides.csv.gz"), stem("x.parquet")
    ('rides', 'x')
    """
    if isinstance(source, pd.DataFrame):
        return "row"
    return Path(source).name.split(".")[0]


def check_file(source: Source) -> None:
    """Raise DataError when the file is missing or its format unknown."""
    if isinstance(source, pd.DataFrame):
        return
    path = Path(source)
    if not path.is_file():
        raise DataError(f"no such file: {path}")
    file_format(path)


def columns(source: Source) -> list[str]:
    """Column names, read from the header (or first record) only."""
    check_file(source)
    if isinstance(source, pd.DataFrame):
        return [str(c) for c in source.columns]
    path = Path(source)
    try:
        if file_format(path) == "parquet":
            return list(pq.ParquetFile(path).schema_arrow.names)
        first = next(_text_chunks(path, 1, 0), None)
    except (OSError, ValueError) as exc:
        raise DataError(f"cannot read {path}: {exc}") from exc
    return [] if first is None else [str(c) for c in first.columns]


def count_rows(source: Source) -> int | None:
    """Rows in the source when cheap to know (frames, Parquet, plain text), else None."""
    if isinstance(source, pd.DataFrame):
        return len(source)
    path = Path(source)
    kind = file_format(path)
    if kind == "parquet":
        return pq.ParquetFile(path).metadata.num_rows
    if path.name.lower().endswith(".gz"):
        return None
    lines = _count_lines(path)
    return max(lines - 1, 0) if kind == "csv" else lines


def _count_lines(path: Path) -> int:
    # An estimate for CSV (quoted newlines count twice); only used for the ETA.
    n = 0
    last = b"\n"
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            n += block.count(b"\n")
            last = block[-1:]
    return n + (last != b"\n")


def read_chunks(
    source: Source, chunk_rows: int = 10_000, skip: int = 0, limit: int | None = None
) -> Iterator[pd.DataFrame]:
    """Yield chunks of at most ``chunk_rows`` rows, from row ``skip``, ``limit`` rows in all."""
    check_file(source)
    remaining = limit
    for chunk in _raw_chunks(source, chunk_rows, skip):
        if chunk.index[-1] < skip:
            continue
        chunk = chunk.loc[skip:] if chunk.index[0] < skip else chunk
        if remaining is not None:
            chunk = chunk.iloc[:remaining]
            remaining -= len(chunk)
        if len(chunk):
            yield chunk
        if remaining is not None and remaining <= 0:
            return


def _raw_chunks(source: Source, chunk_rows: int, skip: int) -> Iterator[pd.DataFrame]:
    if isinstance(source, pd.DataFrame):
        frame = source.reset_index(drop=True)
        for start in range(skip - skip % chunk_rows, len(frame), chunk_rows):
            yield frame.iloc[start : start + chunk_rows]
        return
    path = Path(source)
    try:
        if file_format(path) == "parquet":
            yield from _parquet_chunks(path, chunk_rows, skip)
        else:
            yield from _text_chunks(path, chunk_rows, skip)
    except (OSError, ValueError, gzip.BadGzipFile) as exc:
        raise DataError(f"cannot read {path}: {exc}") from exc


def _parquet_chunks(path: Path, chunk_rows: int, skip: int) -> Iterator[pd.DataFrame]:
    parquet = pq.ParquetFile(path)
    groups, start = [], 0
    for i in range(parquet.metadata.num_row_groups):
        size = parquet.metadata.row_group(i).num_rows
        if start + size > skip or groups:
            groups.append(i)
        else:
            start += size  # whole row groups before ``skip`` are never decoded
    for batch in parquet.iter_batches(batch_size=chunk_rows, row_groups=groups):
        frame = batch.to_pandas()
        frame.index = pd.RangeIndex(start, start + len(frame))
        start += len(frame)
        yield frame


def _text_chunks(path: Path, chunk_rows: int, skip: int) -> Iterator[pd.DataFrame]:
    if file_format(path) == "csv":
        sep = "\t" if ".tsv" in path.name.lower() else ","
        reader = pd.read_csv(path, chunksize=chunk_rows, sep=sep)
    else:
        # dtype=False: values stay as written (no guessed dates or casts);
        # precise_float: floats read back exactly
        reader = pd.read_json(
            path, lines=True, chunksize=chunk_rows, dtype=False, precise_float=True
        )
    start = 0
    with reader:
        for frame in reader:
            frame.index = pd.RangeIndex(start, start + len(frame))
            start += len(frame)
            yield frame
