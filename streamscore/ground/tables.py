"""Table files: the one reader and writer behind ``train``, ``predict``, ``replay`` and ``synth``.

The format comes from the suffix (any case), each optionally followed by ``.gz``:
``.csv`` (commas), ``.tsv`` (tabs), ``.parquet``/``.pq``, and ``.jsonl``/``.ndjson``/
``.json`` (JSON Lines: one object a line). JSON Lines are parsed with orjson, which
keeps JSON's own types (``pd.read_json`` would guess dates and cast numbers), so a
row read from a file equals the same row sent as a JSON event. Files are read
whole (:func:`read_table`) or in chunks (:func:`read_chunks`, for files larger
than memory); every chunk keeps the file's row numbers as its index. Every failure
is a one-line :class:`~streamscore.ground.errors.DataError`.

>>> table_format("events.csv.gz"), table_format("x.PQ"), table_format("a.ndjson")
('csv', 'parquet', 'jsonl')
>>> import pandas as pd
>>> [list(c.index) for c in read_chunks(pd.DataFrame({"x": range(5)}), chunk_rows=2, skip=1)]
[[1], [2, 3], [4]]
"""

from __future__ import annotations

import gzip
import hashlib
import io
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

from streamscore.ground.errors import DataError

if TYPE_CHECKING:
    import pandas as pd

Source: TypeAlias = "str | Path | pd.DataFrame"  # a file, or a frame already in memory

FORMATS = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
}
CHUNK_ROWS = 10_000


def table_format(path: str | Path) -> str:
    """``csv``, ``tsv``, ``parquet`` or ``jsonl``, from the suffix (``.gz`` looked through)."""
    suffixes = [s.lower() for s in Path(path).suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    kind = FORMATS.get(suffixes[-1]) if suffixes else None
    if kind is None:
        known = ", ".join(FORMATS) + " (each optionally .gz)"
        raise DataError(f"cannot tell the format of {path}: use one of {known}")
    return kind


def _gzipped(path: Path) -> bool:
    return path.suffix.lower() == ".gz"


def _checked(source: Source) -> Path:
    path = Path(source)  # frames never reach here
    table_format(path)
    if not path.is_file():
        raise DataError(f"cannot read {path}: no such file")
    return path


def read_table(source: Source) -> pd.DataFrame:
    """A whole file as a frame with string column names; DataError if missing, bad or empty."""
    import pandas as pd

    frames = list(read_chunks(source, chunk_rows=None))
    frame = frames[0] if len(frames) == 1 else pd.concat(frames) if frames else None
    if frame is None or len(frame) == 0:
        raise DataError(f"{source} has no rows")
    return frame


def read_chunks(
    source: Source,
    chunk_rows: int | None = CHUNK_ROWS,
    skip: int = 0,
    limit: int | None = None,
    only: list[str] | None = None,
) -> Iterator[pd.DataFrame]:
    """Chunks of at most ``chunk_rows`` rows (None: one chunk), from row ``skip``, ``limit`` in all.

    Each chunk's index holds the rows' 0-based positions in the file. ``only`` reads
    just those columns (Parquet and CSV/TSV decode nothing else).
    """
    import pandas as pd

    remaining = limit
    path = Path("<frame>")
    if isinstance(source, pd.DataFrame):
        frame = source if only is None else source[only]
        raw = _frame_chunks(frame, chunk_rows or max(len(source), 1), skip)
    else:
        path = _checked(source)
        raw = _file_chunks(path, chunk_rows, skip, only)
    try:
        for chunk in raw:
            _check_columns(chunk, path)
            if len(chunk) == 0 or chunk.index[-1] < skip:
                continue
            chunk = chunk.loc[skip:] if chunk.index[0] < skip else chunk
            if remaining is not None:
                chunk = chunk.iloc[:remaining]
                remaining -= len(chunk)
            if len(chunk):
                yield chunk
            if remaining is not None and remaining <= 0:
                return
    except DataError:
        raise
    except pd.errors.EmptyDataError:
        return
    except Exception as exc:  # every parser has its own errors; the user needs one line
        raise DataError(f"cannot read {path} as {table_format(path)}: {_one_line(exc)}") from None


def _frame_chunks(frame: pd.DataFrame, chunk_rows: int, skip: int) -> Iterator[pd.DataFrame]:
    frame = frame.reset_index(drop=True)
    for start in range(skip - skip % chunk_rows, len(frame), chunk_rows):
        yield frame.iloc[start : start + chunk_rows]


def _file_chunks(
    path: Path, chunk_rows: int | None, skip: int, only: list[str] | None = None
) -> Iterator[pd.DataFrame]:
    kind = table_format(path)
    if kind == "parquet":  # numbered by the reader: whole row groups before ``skip`` are skipped
        yield from _parquet_chunks(path, chunk_rows, skip, only)
        return
    if kind == "jsonl":
        reader = _jsonl_chunks(path, chunk_rows)
    else:
        reader = _csv_chunks(path, chunk_rows, only)
    start = 0
    for frame in reader:
        frame.index = range(start, start + len(frame))
        start += len(frame)
        yield frame if only is None or kind != "jsonl" else frame.reindex(columns=only)


def _csv_chunks(
    path: Path, chunk_rows: int | None, only: list[str] | None = None
) -> Iterator[pd.DataFrame]:
    import pandas as pd

    sep = "\t" if table_format(path) == "tsv" else ","
    # pandas 3 parses floats to the nearest double, like float() and orjson, so a
    # value read here equals the same value sent as JSON to the stream, bit for bit.
    if chunk_rows is None:
        yield pd.read_csv(path, sep=sep, compression="infer", usecols=only)
        return
    with pd.read_csv(
        path, sep=sep, compression="infer", chunksize=chunk_rows, usecols=only
    ) as reader:
        yield from reader


def _jsonl_chunks(path: Path, chunk_rows: int | None) -> Iterator[pd.DataFrame]:
    import orjson
    import pandas as pd

    records: list[dict[str, Any]] = []
    opener = gzip.open if _gzipped(path) else open
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
            if chunk_rows is not None and len(records) >= chunk_rows:
                yield pd.DataFrame.from_records(records)
                records = []
    if records:
        yield pd.DataFrame.from_records(records)


def _parquet_file(path: Path) -> Any:
    import pyarrow.parquet as pq

    if _gzipped(path):  # a gzipped Parquet file must be read into memory to be seekable
        with gzip.open(path, "rb") as zipped:
            return pq.ParquetFile(io.BytesIO(zipped.read()))
    return pq.ParquetFile(path)


def _parquet_chunks(
    path: Path, chunk_rows: int | None, skip: int, only: list[str] | None = None
) -> Iterator[pd.DataFrame]:
    parquet = _parquet_file(path)
    if chunk_rows is None:
        yield parquet.read(columns=only).to_pandas()
        return
    groups: list[int] = []
    start = 0
    for i in range(parquet.metadata.num_row_groups):
        size = parquet.metadata.row_group(i).num_rows
        if start + size > skip or groups:
            groups.append(i)
        else:
            start += size  # whole row groups before ``skip`` are never decoded
    for batch in parquet.iter_batches(batch_size=chunk_rows, row_groups=groups, columns=only):
        frame = batch.to_pandas()
        frame.index = range(start, start + len(frame))
        start += len(frame)
        yield frame


def _check_columns(frame: pd.DataFrame, path: Path) -> None:
    names = [str(c) for c in frame.columns]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise DataError(f"{path} has duplicated column names: {duplicated}")
    frame.columns = names


def columns(source: Source) -> list[str]:
    """Column names, from the header (CSV/TSV), the schema (Parquet) or the first record."""
    import pandas as pd

    if isinstance(source, pd.DataFrame):
        return [str(c) for c in source.columns]
    path = _checked(source)
    if table_format(path) == "parquet":
        return list(_parquet_file(path).schema_arrow.names)
    first = next(read_chunks(path, chunk_rows=1), None)
    return [] if first is None else list(first.columns)


def count_rows(source: Source) -> int | None:
    """Rows in the source when cheap to know (frames, Parquet, plain text), else None."""
    import pandas as pd

    if isinstance(source, pd.DataFrame):
        return len(source)
    path = _checked(source)
    kind = table_format(path)
    if kind == "parquet":
        return _parquet_file(path).metadata.num_rows
    if _gzipped(path):
        return None
    lines, last = 0, b"\n"
    with open(path, "rb") as handle:  # an estimate for CSV (quoted newlines count twice)
        while block := handle.read(1 << 20):
            lines += block.count(b"\n")
            last = block[-1:]
    lines += last != b"\n"
    return max(lines - 1, 0) if kind in ("csv", "tsv") else lines


def stem(source: Source) -> str:
    """The file name without its suffixes (``row`` for a frame): the prefix of generated ids.

    >>> stem("data/rides.csv.gz"), stem("x.parquet")
    ('rides', 'x')
    """
    if isinstance(source, str | Path):
        return Path(source).name.split(".")[0]
    return "row"


def write_table(frame: pd.DataFrame, path: str | Path) -> None:
    """Write ``frame`` in the suffix's format (``.gz`` compresses), creating missing folders.

    JSON Lines and Parquet keep every float bit for bit; CSV and TSV write the
    shortest text that reads back to the same float.
    """
    path = Path(path)
    kind = table_format(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if kind in ("csv", "tsv"):
            frame.to_csv(path, sep="\t" if kind == "tsv" else ",", index=False)
        elif kind == "parquet":
            _write_parquet(frame, path)
        else:
            _write_jsonl(frame, path)
    except OSError as exc:
        raise DataError(f"cannot write {path}: {exc.strerror or exc}") from None


def _write_parquet(frame: pd.DataFrame, path: Path) -> None:
    if not _gzipped(path):
        frame.to_parquet(path, index=False)
        return
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    with gzip.open(path, "wb") as out:
        out.write(buffer.getvalue())


def _write_jsonl(frame: pd.DataFrame, path: Path) -> None:
    import orjson

    opener = gzip.open if _gzipped(path) else open
    records = frame.astype(object).where(frame.notna(), None).to_dict("records")
    option = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_APPEND_NEWLINE
    with opener(path, "wb") as out:
        for record in records:
            out.write(orjson.dumps(record, option=option, default=_plain))


def _plain(value: object) -> object:
    # Only reached for values orjson does not know (timestamps, NA-likes, numpy scalars).
    import pandas as pd

    if isinstance(value, pd.Timestamp):
        return round(value.timestamp() * 1000)
    if hasattr(value, "item"):
        return value.item()
    return str(value)


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

    >>> import pandas as pd
    >>> a = pd.DataFrame({"x": [1, 2]})
    >>> frame_sha256(a) == frame_sha256(a.copy()) != frame_sha256(a.iloc[::-1])
    True
    """
    import orjson
    import pandas as pd

    digest = hashlib.sha256(orjson.dumps([str(c) for c in frame.columns]))
    digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return digest.hexdigest()
