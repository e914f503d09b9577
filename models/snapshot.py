"""Online-model snapshots as bytes, loaded safely.

A snapshot is ``MAGIC``, one line of JSON (the header), then two pickles: the model's
River objects, and the learner's state (metrics, detectors, windows). The header is
readable by any client: a sha256 (of the rest of the header and the pickles), the
pickles' lengths, the river version, and what the caller adds (the learner: schema,
classes, model kind, counters and offsets), so a worker or a restarting learner reads
them without unpickling anything.

Trust model (as for batch models, :mod:`.artifact`): the pickles are never loaded by
``pickle.loads``. They must match the header's sha256 (and an expected sha256 carried
elsewhere, when given), and a restricted unpickler resolves only the reviewed
:data:`TRUSTED_GLOBALS`: data holders of River, ``collections`` and ``builtins`` whose
construction runs no code beyond building state. Anything else (``os.system``,
``builtins.getattr``, ``eval``...) is refused when the pickle names it, before it can
be called. The sha256 catches damage; it is not a signature. A hostile pickle made of
allowed types can still cost memory, not run code.

>>> blob = dumps({"n_learned": 3}, {"a": 1}, [2.0])
>>> load_header(blob)["n_learned"], loads(blob)[1:]
(3, ({'a': 1}, [2.0]))
>>> loads(blob.replace(b'"n_learned":3', b'"n_learned":4'))  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
streamscore.ground.errors.ModelError: snapshot does not match its sha256 ...
>>> loads(blob[:-1] + b"!")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
streamscore.ground.errors.ModelError: snapshot does not match its sha256 ...
"""

from __future__ import annotations

import functools
import hashlib
import io
import pickle
from typing import Any

import orjson

from streamscore.ground.errors import ModelError

MAGIC = b"streamscore-snapshot/1\n"
FORMAT_VERSION = 1
# Each reviewed: building it (its constructor, __setstate__ or __dict__ update) stores
# data and calls nothing given to it. functools.partial only wraps one of these.
TRUSTED_GLOBALS = frozenset(
    {
        "builtins.dict",
        "builtins.float",
        "builtins.set",
        "collections.Counter",
        "collections.OrderedDict",
        "collections.defaultdict",
        "collections.deque",
        "functools.partial",
        "random.Random",  # the Hoeffding tree's seeded generator
        # the default logreg model
        "river._river_rust.vectordict.VectorDict",
        "river.linear_model.log_reg.LogisticRegression",
        "river.multiclass.ovr.OneVsRestClassifier",
        "river.optim.initializers.Zeros",
        "river.optim.losses.Log",
        "river.optim.schedulers.Constant",
        "river.optim.sgd.SGD",
        "river.preprocessing.one_hot.OneHotEncoder",
        "river.preprocessing.scale.StandardScaler",
        # metrics and detectors
        "river._river_rust.drift.AdaptiveWindowing",
        "river._river_rust.stats.RsRollingROCAUC",
        "river.drift.adwin.ADWIN",
        "river.drift.page_hinkley.PageHinkley",  # saved without its bound method
        "river.metrics.accuracy.Accuracy",
        "river.metrics.balanced_accuracy.BalancedAccuracy",
        "river.metrics.confusion.ConfusionMatrix",
        "river.metrics.cross_entropy.CrossEntropy",
        "river.metrics.fbeta.MacroF1",
        "river.metrics.log_loss.LogLoss",
        "river.metrics.roc_auc.ROCAUC",
        "river.metrics.rolling_roc_auc.RollingROCAUC",
        "river.stats.mean.Mean",
        "river.stats.var.Var",
        # the "hat" model: the tree, its nodes, splitters and leaf statistics
        "river.proba.gaussian.Gaussian",
        "river.tree.hoeffding_adaptive_tree_classifier.HoeffdingAdaptiveTreeClassifier",
        "river.tree.nodes.hatc_nodes.AdaLeafClassifier",
        "river.tree.nodes.hatc_nodes.AdaNomBinaryBranchClass",
        "river.tree.nodes.hatc_nodes.AdaNomMultiwayBranchClass",
        "river.tree.nodes.hatc_nodes.AdaNumBinaryBranchClass",
        "river.tree.nodes.hatc_nodes.AdaNumMultiwayBranchClass",
        "river.tree.splitter.gaussian_splitter.GaussianSplitter",
        "river.tree.splitter.nominal_splitter_classif.NominalSplitterClassif",
    }
)


class RestrictedUnpickler(pickle.Unpickler):
    """Resolves only :data:`TRUSTED_GLOBALS`; refuses every other global by name."""

    def find_class(self, module: str, name: str) -> object:
        if f"{module}.{name}" not in TRUSTED_GLOBALS:
            raise ModelError(
                f"snapshot refers to {module}.{name}, which is not a trusted type: "
                "refusing to load it (see TRUSTED_GLOBALS in streamscore.models.snapshot)"
            )
        return super().find_class(module, name)


def restricted_loads(data: bytes) -> Any:
    """Unpickle ``data`` with :class:`RestrictedUnpickler`; any failure is a :class:`ModelError`."""
    try:
        return RestrictedUnpickler(io.BytesIO(data)).load()
    except ModelError:
        raise
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:  # noqa: BLE001 - pyo3's PanicException is a BaseException
        reason = " ".join(str(exc).split())[:200]  # one line, whatever the library said
        raise ModelError(f"snapshot cannot be unpickled ({type(exc).__name__}: {reason})") from None


def dumps(header: dict, parts: object, state: object) -> bytes:
    """A snapshot: ``header`` (JSON-safe) plus the pickles of ``parts`` and ``state``."""
    model_blob = pickle.dumps(parts, protocol=5)
    state_blob = pickle.dumps(state, protocol=5)
    payload = model_blob + state_blob
    header = {
        **header,
        "format": FORMAT_VERSION,
        "river": river_version(),
        "model_bytes": len(model_blob),
        "state_bytes": len(state_blob),
    }
    header["sha256"] = _digest(header, payload)
    return MAGIC + orjson.dumps(header) + b"\n" + payload


def load_header(blob: bytes) -> dict:
    """The header of a snapshot, without reading its pickles."""
    return _split(blob)[0]


def loads(blob: bytes, expected_sha256: str | None = None) -> tuple[dict, Any, Any]:
    """``(header, parts, state)`` of a verified snapshot, or :class:`ModelError`."""
    header, payload = _verified(blob, expected_sha256)
    cut = header["model_bytes"]
    return header, restricted_loads(payload[:cut]), restricted_loads(payload[cut:])


def load_parts(blob: bytes, expected_sha256: str | None = None) -> tuple[dict, Any]:
    """``(header, parts)``: the model only, for workers that score and do not learn."""
    header, payload = _verified(blob, expected_sha256)
    return header, restricted_loads(payload[: header["model_bytes"]])


def _verified(blob: bytes, expected_sha256: str | None) -> tuple[dict, bytes]:
    header, payload = _split(blob)
    actual = _digest(header, payload)
    if actual != header["sha256"] or (expected_sha256 and actual != expected_sha256):
        raise ModelError(
            f"snapshot does not match its sha256 (got {actual[:12]}...): damaged or "
            "tampered with; refusing to load it"
        )
    if len(payload) != header["model_bytes"] + header["state_bytes"]:
        raise ModelError("snapshot pickles are not the lengths its header says: damaged")
    _check_river(header)
    return header, payload


def _digest(header: dict, payload: bytes) -> str:
    """sha256 of the header (all but this field, keys sorted) and the pickles."""
    fields = {k: v for k, v in header.items() if k != "sha256"}
    return hashlib.sha256(orjson.dumps(fields, option=orjson.OPT_SORT_KEYS) + payload).hexdigest()


def _split(blob: bytes) -> tuple[dict, bytes]:
    if isinstance(blob, bytearray | memoryview):
        blob = bytes(blob)
    if not isinstance(blob, bytes) or not blob.startswith(MAGIC):
        raise ModelError(f"not a streamscore snapshot (expected it to start with {MAGIC!r})")
    end = blob.find(b"\n", len(MAGIC))
    try:
        header = orjson.loads(blob[len(MAGIC) : end if end >= 0 else len(blob)])
        if header["format"] != FORMAT_VERSION:
            raise ValueError(f"format {header['format']!r}, expected {FORMAT_VERSION}")
        if not isinstance(header["sha256"], str):
            raise TypeError("sha256 is not a string")
        if not all(
            type(header[k]) is int and header[k] >= 0 for k in ("model_bytes", "state_bytes")
        ):
            raise TypeError("the pickles' lengths are not counts")
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise ModelError(f"snapshot header is damaged or of another format ({exc})") from None
    return header, blob[end + 1 :]


@functools.cache
def river_version() -> str:
    from importlib import metadata  # ~0.4 ms a call: once per process

    return metadata.version("river")


def _check_river(header: dict) -> None:
    # River's pickled objects are only meant to load in the release that wrote them
    then, now = header.get("river", "?"), river_version()
    if then.split(".")[:2] != now.split(".")[:2]:
        raise ModelError(
            f"snapshot was written with river {then} but {now} is installed: "
            f"start the online model afresh, or install river {then}"
        )
