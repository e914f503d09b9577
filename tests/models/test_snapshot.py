"""Snapshots load only what was reviewed: hostile or damaged bytes are refused in one line."""

from __future__ import annotations

import io
import os
import pickle
import time

import pytest

from streamscore.ground.errors import ModelError
from streamscore.models import snapshot
from streamscore.models.learner import Learner, load_model
from tests.models.online_data import NUMERIC_10, SCHEMA, examples, numeric_rows, rows


class RunsCommand:
    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return os.system, (f"touch {self.path}",)


class CallsGetattr:
    def __reduce__(self):
        # the first step of every escape: attributes of allowed objects (__globals__ ...)
        return getattr, ("text", "__class__")


def learned(kind: str = "logreg", classes=(False, True), n: int = 3000) -> Learner:
    learner = Learner(SCHEMA, list(classes), kind=kind)
    learner.learn(examples(rows(n, list(classes)), list(classes)))
    return learner


def test_a_pickle_calling_os_system_is_refused_before_it_runs(tmp_path):
    marker = tmp_path / "ran"
    hostile = pickle.dumps({"head": RunsCommand(marker)}, protocol=5)
    with pytest.raises(ModelError, match=r"system, which is not a trusted type"):
        snapshot.restricted_loads(hostile)
    # the same pickle inside a well-formed snapshot whose sha256 the attacker computed
    blob = snapshot.dumps(learned().header(), {"head": RunsCommand(marker)}, {})
    with pytest.raises(ModelError, match="not a trusted type"):
        load_model(blob)
    with pytest.raises(ModelError, match="not a trusted type"):
        Learner.restore(blob)
    assert not marker.exists()


@pytest.mark.parametrize(
    "hostile", [CallsGetattr(), eval, print, io.BytesIO], ids=["getattr", "eval", "print", "io"]
)
def test_any_global_outside_the_list_is_refused(hostile):
    with pytest.raises(ModelError, match="not a trusted type") as caught:
        snapshot.restricted_loads(pickle.dumps(hostile, protocol=5))
    assert "\n" not in str(caught.value)


def test_a_raw_page_hinkley_needs_getattr_and_is_refused():
    # why detectors.state() drops its bound method: the list is exact, not generous
    from river import drift

    with pytest.raises(ModelError, match="builtins.getattr"):
        snapshot.restricted_loads(pickle.dumps(drift.PageHinkley()))


def test_damaged_bytes_are_refused():
    blob = learned(n=300).snapshot()
    header = snapshot.load_header(blob)
    with pytest.raises(ModelError, match="sha256"):
        Learner.restore(blob[:-10] + b"0123456789")
    with pytest.raises(ModelError, match="sha256"):
        Learner.restore(blob.replace(b'"n_learned":300', b'"n_learned":301'))
    with pytest.raises(ModelError, match="sha256"):
        Learner.restore(blob, expected_sha256="0" * 64)
    assert Learner.restore(blob, expected_sha256=header["sha256"]).n_learned == 300
    with pytest.raises(ModelError, match="not a streamscore snapshot"):
        Learner.restore(b"\x80\x05junk")
    with pytest.raises(ModelError, match="header is damaged"):
        Learner.restore(snapshot.MAGIC + b"{not json\n")
    for bad in (b"[1]", b'{"format": 1, "sha256": "x", "model_bytes": "9", "state_bytes": 0}'):
        with pytest.raises(ModelError, match="header is damaged"):
            Learner.restore(snapshot.MAGIC + bad + b"\n")


def test_damaged_rust_state_is_a_model_error():
    # River's Rust types panic on bad state (pyo3's PanicException is a BaseException)
    from river._river_rust.drift import AdaptiveWindowing

    class BadWindow:
        def __reduce__(self):
            return AdaptiveWindowing, (0.002, 32, 5, 5, 10), b"garbage"

    with pytest.raises(ModelError, match="cannot be unpickled"):
        snapshot.restricted_loads(pickle.dumps(BadWindow()))


def test_another_river_release_is_refused(monkeypatch):
    blob = learned(n=50).snapshot()
    monkeypatch.setattr(snapshot, "river_version", lambda: "0.1.0")
    with pytest.raises(ModelError, match=r"written with river .* but 0.1.0 is installed"):
        Learner.restore(blob)


@pytest.mark.parametrize(
    ("kind", "classes"), [("logreg", [0, 1]), ("logreg", ["a", "b", "c"]), ("hat", ["a", "b", "c"])]
)
def test_every_global_a_snapshot_uses_is_listed_and_used(kind, classes):
    seen = set()

    class Recording(snapshot.RestrictedUnpickler):
        def find_class(self, module, name):
            seen.add(f"{module}.{name}")
            return super().find_class(module, name)

    blob = learned(kind, classes).snapshot()
    header = snapshot.load_header(blob)
    payload = blob[blob.index(b"\n", len(snapshot.MAGIC)) + 1 :]
    for part in (payload[: header["model_bytes"]], payload[header["model_bytes"] :]):
        Recording(io.BytesIO(part)).load()
    assert seen <= snapshot.TRUSTED_GLOBALS
    assert "river.stats.mean.Mean" in seen  # PageHinkley's state went through


def test_snapshot_size_and_speed():
    """Default model, 10 numeric features, window 1,000, after 20,000 examples."""
    learner = Learner(NUMERIC_10, [0, 1])
    learner.learn(examples(numeric_rows(20_000), [0, 1]))
    start = time.perf_counter()
    blob = learner.snapshot()
    dumped = time.perf_counter()
    Learner.restore(blob)
    restored = time.perf_counter()
    load_model(blob)
    model_only = time.perf_counter()
    header = snapshot.load_header(blob)
    print(
        f"\nsnapshot {len(blob):,} bytes (model {header['model_bytes']:,}), dump "
        f"{(dumped - start) * 1e3:.1f} ms, restore {(restored - dumped) * 1e3:.1f} ms, "
        f"model only {(model_only - restored) * 1e3:.2f} ms"
    )
    assert len(blob) < 300_000 and header["model_bytes"] < 5_000
    assert dumped - start < 0.1 and restored - dumped < 0.1
