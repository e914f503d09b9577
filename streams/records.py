"""The records streamscore writes: predictions and dead letters, as plain JSON.

These shapes are the public interface (README, "Topics"). Everything here is
pure: bytes in, bytes out, no Kafka.

>>> letter = dead_letter(b"\\xff", key=b"7", error="not UTF-8", stage="decode",
...                      topic="events", partition=0, offset=3, ts=1)
>>> orjson.loads(letter)["value_encoding"], orjson.loads(letter)["value"]
('base64', '/w==')
"""

from __future__ import annotations

import base64
from typing import Any

import orjson

from streamscore.ground.times import now_ms

MAX_ERROR_CHARS = 1000  # a reason may quote the input: the letter stays about its size


def _as_text(raw: bytes | None) -> tuple[str | None, str]:
    """The original bytes, verbatim when UTF-8, else base64."""
    if raw is None:
        return None, "utf-8"
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return base64.b64encode(raw).decode("ascii"), "base64"


def dead_letter(
    raw: bytes | None,
    *,
    key: bytes | None,
    error: str,
    stage: str,
    topic: str,
    partition: int,
    offset: int,
    ts: int | None = None,
) -> bytes:
    """A dead letter: why, where, and the original payload (restorable byte for byte)."""
    value, encoding = _as_text(raw)
    key_text, key_encoding = _as_text(key)
    if len(error) > MAX_ERROR_CHARS:
        error = error[: MAX_ERROR_CHARS - 3] + "..."
    return orjson.dumps(
        {
            "error": error,
            "stage": stage,
            "topic": topic,
            "partition": partition,
            "offset": offset,
            "key": key_text,
            "key_encoding": key_encoding,
            "value": value,
            "value_encoding": encoding,
            "ts": ts if ts is not None else now_ms(),
        }
    )


def original_bytes(letter: dict[str, Any], field: str = "value") -> bytes | None:
    """Inverse of :func:`dead_letter` for ``value`` or ``key``.

    >>> original_bytes({"value": "/w==", "value_encoding": "base64"})
    b'\\xff'
    """
    text = letter.get(field)
    if text is None:
        return None
    if letter.get(f"{field}_encoding") == "base64":
        return base64.b64decode(text)
    return text.encode("utf-8")
