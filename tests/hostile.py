"""Hostile input for the stream as hypothesis strategies, each record tagged with what the
worker must make of it (the model of ``tests/model_data.py``: x1, x2 numeric, color
categorical, flag boolean; classes "no" and "yes").

A strategy draws *drafts* (no ids yet); :func:`event` and :func:`label` turn a draft into
the bytes sent, with an id unique to the test, and say what must come out:

- events: ``prediction`` (exactly one, with ``ident`` as its id), ``dead`` (exactly one
  dead letter holding the original key and value) or ``either`` (exactly one of the two:
  a mutation that may or may not still be valid JSON);
- labels: ``learn`` (joined and learned once), ``dead`` (a dead letter of stage
  ``label``), ``unknown`` (well formed, for an id never scored: counted, not learned).

Sizes are relative to ``limit`` (``STREAMSCORE_MAX_EVENT_BYTES`` of the worker under test),
so one set of strategies serves the unit test (small limit, many examples) and the
integration test (a larger limit, a real broker).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

import orjson
from hypothesis import strategies as st

from streamscore.models.online import MAX_LEARNED_MAGNITUDE

FEATURES = ("x1", "x2", "color", "flag")
BIG_INT_TEXT = b"123456789012345678901234567890"  # beyond 64 bits: JSON allows it


@dataclass(frozen=True)
class Sent:
    """One record to send and what must become of it."""

    key: bytes | None
    value: bytes | None
    expect: str
    ident: str | None = None  # events expected as a prediction: its id; labels: the event id
    learnable: bool = True  # a good event the online model may learn from (its label counts)


# --- JSON values ----------------------------------------------------------------------
def json_values(max_leaves: int = 20) -> st.SearchStrategy[Any]:
    scalars = (
        st.none()
        | st.booleans()
        | st.integers(-(2**63), 2**64 - 1)
        | st.floats(allow_nan=False, allow_infinity=False)
        | st.text(max_size=30)
    )
    return st.recursive(
        scalars,
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                   max_size=4),
        max_leaves=max_leaves,
    )  # fmt: skip


def nested(depth: int, leaf: bytes = b"1") -> bytes:
    """JSON text nested ``depth`` levels deep (lists and objects alternating)."""
    out = leaf
    for level in range(depth):
        out = b"[" + out + b"]" if level % 2 else b'{"n":' + out + b"}"
    return out


def blob(size: int, seed: int, text: bool) -> str | bytes:
    """Filler made fast without hypothesis: ``size`` random bytes, or a string whose JSON
    text (multi-byte characters, escapes) is between ``size`` and ``size + 400`` bytes."""
    rng = random.Random(seed)
    if not text:
        return rng.randbytes(size)
    unit = "".join(rng.choice('aé€𝄞\x00"\\ \n') for _ in range(64))
    unit_bytes = len(orjson.dumps(unit)) - 2
    return unit * (size // unit_bytes + 1)


# --- good event payloads ---------------------------------------------------------------
HUGE_NUMBERS = [1.7976931348623157e308, -1e308, 5e-324, -0.0, 2**64 - 1, -(2**63), 1e300]
numbers = (
    st.floats(allow_nan=False, allow_infinity=False)
    | st.integers(-(2**63), 2**64 - 1)
    | st.sampled_from(HUGE_NUMBERS)
    | st.none()
)
categories = (
    st.sampled_from(["red", "green", "blue", "", "purple"])
    | st.text(max_size=40)
    | st.integers(-(2**63), 2**64 - 1)
    | st.booleans()
    | st.none()
)
flags = st.sampled_from([True, False, 0, 1, 0.0, 1.0, None])
timestamps = st.sampled_from(
    [0, 1_700_000_000_000, -1_000, 99_999_999_999_999_999, "2026-01-01T00:00:00Z",
     "2026-01-01T00:00:00.5+02:00", "1970-01-01", None]
)  # fmt: skip


@st.composite
def good_payloads(draw: st.DrawFn, limit: int) -> dict[str, Any]:
    """A valid event: every feature of its kind (or null), maybe odd extras within ``limit``."""
    payload: dict[str, Any] = {
        "x1": draw(numbers),
        "x2": draw(numbers),
        "color": draw(categories),
        "flag": draw(flags),
    }
    if draw(st.booleans()):
        payload["ts"] = draw(timestamps)
    extra = draw(st.sampled_from(["none", "json", "nested", "long", "keys", "bigint"]))
    if extra == "json":
        payload["extra"] = draw(json_values())
    elif extra == "nested":  # deep, but within the JSON decoder's depth limit
        payload["deep"] = "__DEEP__"
    elif extra == "long":
        size = draw(st.integers(1, max(1, limit // 4)))
        payload["note"] = blob(size, draw(st.integers(0, 2**16)), text=True)
    elif extra == "keys":  # odd field names (the features, id and ts keep their values)
        names = st.text(max_size=20).filter(lambda k: k not in (*FEATURES, "id", "ts"))
        payload.update(draw(st.dictionaries(names, json_values(4), max_size=5)))
    elif extra == "bigint":
        payload["x1"] = "__BIG__"
    return payload


def encode_good(payload: dict[str, Any]) -> bytes:
    data = orjson.dumps(payload)
    data = data.replace(b'"__DEEP__"', nested(900))
    return data.replace(b'"__BIG__"', BIG_INT_TEXT)


# --- bad event payloads ----------------------------------------------------------------
WRONG_TYPES = {
    "x1": ["0.5", True, [1], {"a": 1}, "", "NaN"],
    "x2": ["1e3", False, [], {}],
    "color": [0.5, [], {"c": "red"}, 1e300],
    "flag": [2, "yes", 0.5, [], "true", -1],
}
BAD_TS = ["yesterday", 1e20, True, [], {}, "2026-13-45T00:00:00", "", -1e18, "9" * 20_000]


@st.composite
def bad_events(draw: st.DrawFn, limit: int) -> tuple[bytes | None, str]:
    """``(value, expect)`` of an event the worker must refuse (or may, for ``either``)."""
    kind = draw(st.sampled_from(
        ["bytes", "not_object", "truncated", "mutated", "deep", "deep_field", "missing",
         "wrong_type", "infinity", "bad_ts", "oversize", "tombstone", "empty", "number_text"]
    ))  # fmt: skip
    good = encode_good(draw(good_payloads(limit)))
    if kind == "bytes":
        value = draw(st.binary(max_size=200))
        return value, ("either" if _is_object(value) else "dead")
    if kind == "not_object":
        value = orjson.dumps(draw(json_values().filter(lambda v: not isinstance(v, dict))))
        return value, "dead"
    if kind == "truncated":  # a prefix of an object is never a whole JSON value
        return good[: draw(st.integers(0, len(good) - 1))], "dead"
    if kind == "mutated":
        at = draw(st.integers(0, len(good)))
        return good[:at] + draw(st.binary(min_size=1, max_size=4)) + good[at:], "either"
    if kind == "deep":
        return nested(draw(st.integers(1025, 20_000))), "dead"
    if kind == "deep_field":
        body = orjson.dumps({**_features(draw), "deep": "__DEEP__"})
        return body.replace(b'"__DEEP__"', nested(draw(st.integers(1030, 5_000)))), "dead"
    if kind == "missing":
        payload = _features(draw)
        del payload[draw(st.sampled_from(FEATURES))]
        return orjson.dumps(payload), "dead"
    if kind == "wrong_type":
        payload = _features(draw)
        name = draw(st.sampled_from(FEATURES))
        payload[name] = draw(st.sampled_from(WRONG_TYPES[name]))
        return orjson.dumps(payload), "dead"
    if kind == "infinity":  # JSON has no infinity: a number too large for a double
        payload = orjson.dumps({**_features(draw), "x2": "__INF__"})
        return payload.replace(b'"__INF__"', draw(st.sampled_from([b"1e400", b"-1e999"]))), "dead"
    if kind == "bad_ts":
        return orjson.dumps({**_features(draw), "ts": draw(st.sampled_from(BAD_TS))}), "dead"
    if kind == "oversize":
        size = draw(st.integers(limit + 1, 3 * limit))
        binary = draw(st.booleans())
        seed = draw(st.integers(0, 2**16))
        if binary:
            return blob(size, seed, text=False), "dead"  # type: ignore[return-value]
        note = blob(size, seed, text=True)
        return orjson.dumps({**_features(draw), "note": note}), "dead"
    if kind == "tombstone":
        return None, "dead"
    if kind == "empty":
        return b"", "dead"
    # a number as JSON text of any length: a double, an overflow or an error
    digits = draw(st.from_regex(r"\A-?[1-9][0-9]{0,400}(\.[0-9]{1,40})?([eE][+-]?[0-9]{1,4})?\Z"))
    body = orjson.dumps({**_features(draw), "x1": "__N__"})
    return body.replace(b'"__N__"', digits.encode()), "either"


def _features(draw: st.DrawFn) -> dict[str, Any]:
    return {"x1": draw(numbers), "x2": draw(numbers), "color": draw(categories),
            "flag": draw(flags)}  # fmt: skip


def _is_object(value: bytes) -> bool:
    try:
        return isinstance(orjson.loads(value), dict)
    except orjson.JSONDecodeError:
        return False


# --- keys ---------------------------------------------------------------------------
KEY_STYLES = ["plain", "plain", "none", "empty", "long", "unicode", "binary"]


@st.composite
def key_styles(draw: st.DrawFn, limit: int) -> tuple[str, str]:
    style = draw(st.sampled_from(KEY_STYLES))
    if style == "long":  # up to the whole size limit: key and value count together
        return style, "k" * draw(st.integers(1000, max(1000, limit)))
    if style == "unicode":
        return style, draw(st.text(min_size=1, max_size=30))
    return style, ""


# --- drafts -> records ------------------------------------------------------------------
@dataclass(frozen=True)
class EventDraft:
    key: tuple[str, str]
    value: bytes | None
    expect: str
    payload: dict[str, Any] | None = None  # a good event's payload (to add an "id" to)


@st.composite
def event_drafts(draw: st.DrawFn, limit: int) -> EventDraft:
    key = draw(key_styles(limit))
    if draw(st.integers(0, 2)) == 0:  # one in three is good
        payload = draw(good_payloads(limit))
        return EventDraft(key, None, "prediction", payload)
    value, expect = draw(bad_events(limit))
    return EventDraft(key, value, expect)


def event(draft: EventDraft, ident: str, limit: int) -> Sent:
    """The record of a draft, ``ident`` unique to the test (it makes the key, or the id)."""
    style, extra = draft.key
    key: bytes | None = {
        "plain": ident.encode(),
        "none": None,
        "empty": b"",
        "long": f"{ident}-{extra}".encode(),
        "unicode": f"{ident}-{extra}".encode(),
        "binary": b"\xff\xfe" + ident.encode(),
    }[style]
    expect = draft.expect
    if style == "binary" and expect != "dead":
        expect = "dead"  # an event id must be UTF-8 text
    if draft.payload is None:
        if (expect == "either" and style in ("none", "empty")) or (key is draft.value is None):
            # an either must be found by its id, whatever it became; a record needs a key
            # or a value
            key = ident.encode()
        return Sent(key, draft.value, expect, None if key is None else _text(key))
    payload = dict(draft.payload)
    if style == "none":
        payload["id"] = ident
    value = encode_good(payload)
    if len(value) + len(key or b"") > limit:
        expect = "dead"  # key and value together over STREAMSCORE_MAX_EVENT_BYTES
    numbers = [payload[n] for n in ("x1", "x2") if isinstance(payload[n], int | float)]
    learnable = all(abs(v) <= MAX_LEARNED_MAGNITUDE for v in numbers)
    return Sent(key, value, expect, ident if key is None else _text(key), learnable)


def _text(key: bytes) -> str | None:
    try:
        return key.decode("utf-8")
    except UnicodeDecodeError:
        return None


CLASSES = ["no", "yes"]


@st.composite
def bad_labels(draw: st.DrawFn, limit: int) -> tuple[str, bytes | None]:
    """``(key style, value)`` of a label that must become a dead letter of stage ``label``."""
    kind = draw(st.sampled_from(
        ["bytes", "not_object", "no_label", "bad_class", "bad_ts", "binary_key", "no_id",
         "deep", "truncated", "empty", "tombstone", "huge"]
    ))  # fmt: skip
    good = {"label": draw(st.sampled_from(CLASSES))}
    if kind == "bytes":
        return "plain", draw(st.binary(max_size=200).filter(lambda b: not _has_label(b)))
    if kind == "not_object":
        return "plain", orjson.dumps(draw(json_values().filter(lambda v: not isinstance(v, dict))))
    if kind == "no_label":
        body = draw(st.dictionaries(st.text(max_size=8).filter(lambda k: k != "label"),
                                    json_values(4), max_size=5))  # fmt: skip
        return "plain", orjson.dumps(body)
    if kind == "bad_class":
        wrong = draw(st.sampled_from([None, 0.5, 1e300, [], {}, ["yes"], {"label": "yes"}]))
        return "plain", orjson.dumps({"label": wrong})
    if kind == "bad_ts":
        return "plain", orjson.dumps({**good, "ts": draw(st.sampled_from(BAD_TS))})
    if kind == "binary_key":
        return "binary", orjson.dumps(good)
    if kind == "no_id":
        return "none", orjson.dumps(good)  # no key and no id field
    if kind == "deep":
        return "plain", nested(draw(st.integers(1025, 20_000)))
    if kind == "truncated":
        body = orjson.dumps({**good, "id": "x"})
        return "plain", body[: draw(st.integers(0, len(body) - 1))]
    if kind == "empty":
        return "plain", b""
    if kind == "tombstone":
        return "plain", None
    size = draw(st.integers(limit, 2 * limit))  # huge: a label that is one huge string
    return "plain", orjson.dumps(blob(size, draw(st.integers(0, 2**16)), text=True))


def _has_label(value: bytes) -> bool:
    try:
        body = orjson.loads(value)
    except orjson.JSONDecodeError:
        return False
    return isinstance(body, dict) and "label" in body


@dataclass(frozen=True)
class LabelDraft:
    expect: str  # dead or unknown (good labels are made for good events by the test)
    key_style: str
    value: bytes | None
    long_key: int = 0


@st.composite
def label_drafts(draw: st.DrawFn, limit: int) -> LabelDraft:
    if draw(st.integers(0, 3)) == 0:  # well formed, but for an id never scored
        body = {"label": draw(st.sampled_from([*CLASSES, "maybe", 3, True, "y" * 1000]))}
        if draw(st.booleans()):
            body["ts"] = draw(timestamps.filter(lambda t: t is not None))
        style = draw(st.sampled_from(["plain", "long", "unicode"]))
        return LabelDraft("unknown", style, orjson.dumps(body), draw(st.integers(100, 20_000)))
    style, value = draw(bad_labels(limit))
    return LabelDraft("dead", style, value)


def label(draft: LabelDraft, ident: str) -> Sent:
    """A hostile label; ``ident`` unique to the test (an id no event has)."""
    key = {
        "plain": ident.encode(),
        "binary": b"\xff" + ident.encode(),
        "none": None,
        "long": f"{ident}-{'L' * draft.long_key}".encode(),
        "unicode": f"{ident}-\u00e9\u20ac\U0001d11e\x00".encode(),
    }[draft.key_style]
    return Sent(key, draft.value, draft.expect, ident)


def good_label(event_id: str, cls: str, ts: Any = None) -> Sent:
    body: dict[str, Any] = {"id": event_id, "label": cls}
    if ts is not None:
        body["ts"] = ts
    return Sent(event_id.encode(), orjson.dumps(body), "learn", event_id)
