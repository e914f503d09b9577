"""One model version on disk: ``model.skops`` and ``manifest.json``, saved and loaded safely.

Trust model: the model file is never unpickled. It is read once into memory, its
sha256 must equal the manifest's, and skops may only build the types scikit-learn
and numpy objects it trusts by default plus the reviewed :data:`TRUSTED_TYPES`;
anything else is refused before a single object is built. The manifest itself is
plain JSON. The sha256 catches a changed or corrupted model file; it is not a
signature (whoever can rewrite both files can change the model, but still cannot
make loading run code outside the trusted types).
"""

from __future__ import annotations

import hashlib
import platform
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from streamscore.ground.errors import ModelError
from streamscore.models.schema import FeatureSchema

if TYPE_CHECKING:  # skops and scikit-learn take seconds to import: only where a model loads
    import numpy as np
    import pandas as pd
    from sklearn.pipeline import Pipeline

    from streamscore.models.batch import FeatureBatch

FORMAT_VERSION = 1
MODEL_FILE = "model.skops"
MANIFEST_FILE = "manifest.json"
# Types skops does not trust by default that our pipelines contain, each reviewed:
# plain data holders of numpy and of scikit-learn's tree models, no code on load.
TRUSTED_TYPES = frozenset(
    {
        "numpy.dtype",
        "sklearn.tree._tree.Tree",
        "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    }
)
# Library -> how many leading version parts must match to load a model it trained.
# Pickled scikit-learn objects are only guaranteed within one minor release.
CHECKED_LIBRARIES = {"scikit-learn": 2, "numpy": 1}
RECORDED_LIBRARIES = ("scikit-learn", "numpy", "scipy", "pandas", "river", "skops")


def library_versions() -> dict[str, str]:
    """Versions of Python and of the libraries a model depends on."""
    versions = {"python": platform.python_version()}
    for name in RECORDED_LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "absent"
    return versions


def check_versions(recorded: dict[str, str], label: str) -> None:
    """Raise :class:`ModelError` when an installed library cannot load the model."""
    installed = library_versions()
    for name, parts in CHECKED_LIBRARIES.items():
        then, now = recorded.get(name, "?"), installed[name]
        if then.split(".")[:parts] != now.split(".")[:parts]:
            wanted = ".".join(then.split(".")[:parts])
            raise ModelError(
                f"{label} was trained with {name} {then} but {now} is installed: "
                f"retrain it, or install {name} {wanted}.*"
            )


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def write_json(path: Path, data: dict) -> None:
    path.write_bytes(orjson.dumps(data, option=orjson.OPT_INDENT_2) + b"\n")


def save(directory: Path, model: Pipeline, manifest: dict) -> dict:
    """Write ``model.skops`` and ``manifest.json`` (with the file's sha256) into ``directory``."""
    import skops.io as sio

    blob = sio.dumps(model)
    (directory / MODEL_FILE).write_bytes(blob)
    manifest = {**manifest, "model_file": {"name": MODEL_FILE, "sha256": sha256_bytes(blob)}}
    manifest["model_file"]["bytes"] = len(blob)
    write_json(directory / MANIFEST_FILE, manifest)
    return manifest


def read_manifest(directory: Path) -> dict:
    """The parsed manifest of a version directory, or :class:`ModelError`."""
    try:
        data = (directory / MANIFEST_FILE).read_bytes()
    except FileNotFoundError:
        raise ModelError(f"{directory} has no {MANIFEST_FILE}") from None
    return read_manifest_bytes(data, str(directory / MANIFEST_FILE))


def read_manifest_bytes(data: bytes, where: str) -> dict:
    """Parse manifest bytes; ``where`` names them in the error."""
    try:
        manifest = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise ModelError(f"{where} is not valid JSON ({exc}): the artifact is damaged") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT_VERSION:
        raise ModelError(f"{where} is not a streamscore manifest of format {FORMAT_VERSION}")
    for key in ("name", "version", "features", "classes", "model_file"):
        if key not in manifest:
            raise ModelError(f"{where} lacks {key!r}: the artifact is damaged")
    return manifest


def verify_model_bytes(blob: bytes, expected_sha256: str, label: str) -> list[str]:
    """Check a model file's sha256 and types without building it; return its untrusted types.

    Raises :class:`ModelError` on a sha256 mismatch or a type outside the trusted set.
    """
    import skops.io as sio

    if sha256_bytes(blob) != expected_sha256:
        raise ModelError(
            f"{label}: {MODEL_FILE} does not match the sha256 in its manifest "
            "(tampered with or damaged): refusing to load it"
        )
    try:
        untrusted = sio.get_untrusted_types(data=blob)
    except Exception as exc:  # any parse failure means a damaged file
        raise ModelError(f"{label}: {MODEL_FILE} is not a readable skops file ({exc})") from None
    refused = sorted(set(untrusted) - TRUSTED_TYPES)
    if refused:
        raise ModelError(f"{label}: {MODEL_FILE} holds types that are not trusted: {refused}")
    return untrusted


def load_model_bytes(blob: bytes, expected_sha256: str, label: str) -> Pipeline:
    """Verify and deserialise a model file's bytes with the reviewed trusted types only."""
    import skops.io as sio
    from sklearn.pipeline import Pipeline

    untrusted = verify_model_bytes(blob, expected_sha256, label)
    try:
        model = sio.loads(blob, trusted=untrusted)
    except Exception as exc:
        raise ModelError(f"{label}: {MODEL_FILE} cannot be loaded ({exc})") from None
    if not isinstance(model, Pipeline):
        raise ModelError(f"{label}: {MODEL_FILE} holds a {type(model).__name__}, not a Pipeline")
    return model


def load(directory: Path) -> LoadedModel:
    """Load and verify the version stored in ``directory``."""
    manifest = read_manifest(directory)
    label = f"model {manifest.get('name')!r} version {manifest.get('version')}"
    check_versions(manifest.get("libraries", {}), label)
    try:
        blob = (directory / MODEL_FILE).read_bytes()
    except FileNotFoundError:
        raise ModelError(f"{label}: {directory / MODEL_FILE} is missing") from None
    model = load_model_bytes(blob, manifest["model_file"]["sha256"], label)
    return LoadedModel(
        name=manifest["name"],
        version=str(manifest["version"]),
        manifest=manifest,
        schema=FeatureSchema.from_dict(manifest["features"]),
        classes=list(manifest["classes"]),
        pipeline=model,
        path=directory,
    )


@dataclass
class LoadedModel:
    """A verified model version, ready to score model frames."""

    name: str
    version: str
    manifest: dict
    schema: FeatureSchema
    classes: list
    pipeline: Pipeline = field(repr=False)
    path: Path | None = None
    _compiled: Any = field(default=None, repr=False, compare=False)
    _forest: Any = field(default=None, repr=False, compare=False)

    @property
    def metrics(self) -> dict:
        return self.manifest.get("metrics", {})

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        """Probabilities, ``n_rows x n_classes``, columns in the order of :attr:`classes`.

        ``frame`` is best a model frame from :func:`models.features.rows_to_frame`;
        any other frame with the feature columns is passed through
        :func:`models.features.to_model_frame` first (same values, same result).
        The input is never modified; row ``i`` of the result depends on row ``i`` only.
        """
        from streamscore.models import pipeline as pipelines
        from streamscore.models.features import is_model_frame, to_model_frame

        if not is_model_frame(frame, self.schema):
            frame = to_model_frame(frame, self.schema)
        return pipelines.predict_proba(self.pipeline, frame)

    def predict_proba_batch(self, batch: FeatureBatch) -> np.ndarray:
        """Probabilities for a validated micro-batch, the same bit for bit as
        :meth:`predict_proba` on the same rows (numpy preprocessing when it compiles)."""
        from streamscore.models import pipeline as pipelines

        if not self.compiled:
            from streamscore.models.features import rows_to_frame

            rows = [batch.row_dict(i) for i in range(len(batch))]
            return self.predict_proba(rows_to_frame(rows, self.schema))
        inputs = self._compiled.transform(batch)
        if self.fast_trees:
            return self._forest.predict_proba(inputs)
        return pipelines.estimator_proba(self.pipeline[-1], inputs)

    @property
    def compiled(self) -> bool:
        """Whether micro-batches skip pandas (see :mod:`streamscore.models.compiled`)."""
        if self._compiled is None:
            from streamscore.models.compiled import compile_pipeline

            self._compiled = compile_pipeline(self.pipeline, self.schema) or False
        return self._compiled is not False

    def prepare(self) -> LoadedModel:
        """Compile the micro-batch path now (a few ms), not in the first batch it scores."""
        if self.compiled:
            self.fast_trees  # noqa: B018 - compiles and checks the forest
        return self

    @property
    def fast_trees(self) -> bool:
        """Whether micro-batches skip the trees' per-call overhead (see
        :mod:`streamscore.models.trees`)."""
        if self._forest is None:
            from streamscore.models.trees import compile_forest

            self._forest = compile_forest(self.pipeline[-1]) or False
        return self._forest is not False

    def predict(self, frame: pd.DataFrame) -> list:
        """The most probable class of each row."""
        proba = self.predict_proba(frame)
        return [self.classes[i] for i in proba.argmax(axis=1)]
