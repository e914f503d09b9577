"""JSON objects built a column at a time: one home for the fast encoder that the
producers (events) and the stream (predictions) share.

Encoding each row with ``orjson.dumps(dict)`` costs about 2.1 µs per prediction;
building the per-column JSON texts once and joining each row with one C-level
``bytes % tuple`` costs about 0.9 µs (measured on 2,000 predictions), byte for
byte what orjson writes for the same dict.

>>> json_objects(["a", "b%"], [[b"1", b"2.5"], [b'"x"', b"null"]])
[b'{"a":1,"b%":"x"}', b'{"a":2.5,"b%":null}']
>>> number_texts([1.5, 2, None]), each_text(["a,b", None])
([b'1.5', b'2', b'null'], [b'"a,b"', b'null'])
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import orjson


def json_objects(names: Sequence[str], texts: Sequence[Sequence[bytes]]) -> list[bytes]:
    """One JSON object per row from per-column JSON texts (every column as long)."""
    fields = (orjson.dumps(n).replace(b"%", b"%%") + b":%s" for n in names)
    template = b"{" + b",".join(fields) + b"}"
    return [template % row for row in zip(*texts, strict=True)]


def number_texts(values: list[Any]) -> list[bytes]:
    """JSON texts of numbers, booleans and None (NaN -> null): one dump, split on commas."""
    if not values:
        return []
    return orjson.dumps(values, option=orjson.OPT_SERIALIZE_NUMPY)[1:-1].split(b",")


def each_text(values: Sequence[Any], default: Callable[[Any], Any] | None = None) -> list[bytes]:
    """JSON text of each value (strings may hold commas, so one dump per value)."""
    dumps, opt = orjson.dumps, orjson.OPT_SERIALIZE_NUMPY
    return [dumps(v, default=default, option=opt) for v in values]
