"""The model registry: a directory of models, each a directory of numbered versions.

Layout::

    registry/                 # settings.registry_path
      NAME/
        CURRENT               # the promoted version (text); absent = the latest is current
        1/manifest.json
        1/model.skops
        2/...

Versions are numbered ``1, 2, ...`` in creation order. A version is written into a
hidden temporary directory and renamed into place, so readers never see half a
version. Versions travel between machines as :meth:`Registry.pack` blobs (tar.gz).

>>> import tempfile
>>> reg = Registry(tempfile.mkdtemp())
>>> reg.models(), reg.versions("churn"), reg.current("churn")
([], [], None)
"""

from __future__ import annotations

import gzip
import io
import os
import re
import shutil
import tarfile
import uuid
from collections.abc import Callable
from pathlib import Path

from streamscore.ground.errors import ModelError
from streamscore.models import artifact
from streamscore.models.artifact import MANIFEST_FILE, MODEL_FILE, LoadedModel

NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
VERSION_PATTERN = re.compile(r"[1-9][0-9]{0,8}")
CURRENT_FILE = "CURRENT"
MEMBER_PATTERN = re.compile(
    rf"({NAME_PATTERN.pattern})/({VERSION_PATTERN.pattern})/({MANIFEST_FILE}|{MODEL_FILE})"
)
MAX_PACKED_BYTES = 1 << 30  # a model larger than 1 GiB does not belong on a Kafka topic


def check_name(name: str) -> str:
    """Return ``name`` if it can name a model directory, else raise :class:`ModelError`.

    >>> check_name("fraud-v2.eu")
    'fraud-v2.eu'
    >>> check_name("../etc")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    streamscore.ground.errors.ModelError: invalid model name '../etc': use letters, digits, ...
    """
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
        raise ModelError(
            f"invalid model name {name!r}: use letters, digits, '.', '_' and '-', "
            "starting with a letter or digit"
        )
    return name


class Registry:
    """Models and their versions under one directory (``settings.registry_path``)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"Registry({str(self.path)!r})"

    # --- reading -----------------------------------------------------------
    def models(self) -> list[str]:
        """Names of the models that have at least one version, sorted."""
        if not self.path.is_dir():
            return []
        names = (p.name for p in self.path.iterdir() if NAME_PATTERN.fullmatch(p.name))
        return sorted(n for n in names if self.versions(n))

    def versions(self, name: str) -> list[str]:
        """The versions of ``name`` in creation order (``[]`` if none)."""
        model_dir = self.path / check_name(name)
        if not model_dir.is_dir():
            return []
        found = [
            p.name
            for p in model_dir.iterdir()
            if VERSION_PATTERN.fullmatch(p.name) and (p / MANIFEST_FILE).is_file()
        ]
        return sorted(found, key=int)

    def current(self, name: str) -> str | None:
        """The promoted version of ``name``; if none was promoted, the latest; else None."""
        versions = self.versions(name)
        marker = self.path / name / CURRENT_FILE
        if marker.is_file():
            promoted = marker.read_text().strip()
            if promoted in versions:
                return promoted
        return versions[-1] if versions else None

    def version_dir(self, name: str, version: str) -> Path:
        """The directory of an existing version, or :class:`ModelError`."""
        version = str(version)
        if version not in self.versions(name):
            known = ", ".join(self.versions(name)) or "none"
            raise ModelError(
                f"model {name!r} has no version {version!r} in {self.path} (versions: {known})"
            )
        return self.path / name / version

    def manifest(self, name: str, version: str | None = None) -> dict:
        """The manifest of a version (default: the current one), without loading the model."""
        return artifact.read_manifest(self.version_dir(name, self._resolve(name, version)))

    def load(self, name: str, version: str | None = None) -> LoadedModel:
        """Load and verify a version (default: the current one).

        Raises :class:`ModelError` for an unknown model or version, a model file whose
        sha256 differs from the manifest, untrusted types, or incompatible libraries.
        """
        version = self._resolve(name, version)
        model = artifact.load(self.version_dir(name, version))
        if (model.name, model.version) != (name, version):
            raise ModelError(
                f"{self.path / name / version} holds model {model.name!r} version "
                f"{model.version}: the directory was moved or renamed"
            )
        return model

    def _resolve(self, name: str, version: str | None) -> str:
        if version is not None:
            return str(version)
        current = self.current(name)
        if current is None:
            raise ModelError(
                f"no model {name!r} in registry {self.path}: train one with "
                f"`streamscore train DATA --target COL --model {name}`"
            )
        return current

    # --- writing -----------------------------------------------------------
    def promote(self, name: str, version: str) -> None:
        """Make ``version`` the current version of ``name``."""
        version = str(version)
        self.version_dir(name, version)
        marker = self.path / name / CURRENT_FILE
        scratch = marker.with_name(f".{CURRENT_FILE}.{uuid.uuid4().hex}")
        scratch.write_text(version + "\n")
        os.replace(scratch, marker)  # atomic: readers see the old or the new version

    def add(self, name: str, write: Callable[[Path, str], None]) -> str:
        """Create the next version of ``name``: ``write(directory, version)`` fills it.

        The version appears only when ``write`` has returned without error.
        """
        model_dir = self.path / check_name(name)
        model_dir.mkdir(parents=True, exist_ok=True)
        version = self._reserve(model_dir)
        scratch = model_dir / f".tmp-{version}-{uuid.uuid4().hex}"
        scratch.mkdir()
        try:
            write(scratch, version)
            os.replace(scratch, model_dir / version)  # replaces the empty reservation
        except BaseException:
            shutil.rmtree(scratch, ignore_errors=True)
            (model_dir / version).rmdir()
            raise
        return version

    @staticmethod
    def _reserve(model_dir: Path) -> str:
        # mkdir is atomic: two trainers at once get different numbers.
        taken = [int(p.name) for p in model_dir.iterdir() if VERSION_PATTERN.fullmatch(p.name)]
        number = max(taken, default=0) + 1
        while True:
            try:
                (model_dir / str(number)).mkdir()
                return str(number)
            except FileExistsError:
                number += 1

    # --- shipping ------------------------------------------------------------
    def pack(self, name: str, version: str) -> bytes:
        """The version directory as one deterministic tar.gz blob (same version, same bytes)."""
        directory = self.version_dir(name, str(version))
        manifest = artifact.read_manifest(directory)
        model = (directory / MODEL_FILE).read_bytes()
        if artifact.sha256_bytes(model) != manifest["model_file"]["sha256"]:
            raise ModelError(f"{directory / MODEL_FILE} does not match its manifest's sha256")
        buffer = io.BytesIO()
        with (
            gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0) as zipped,
            tarfile.open(fileobj=zipped, mode="w", format=tarfile.PAX_FORMAT) as tar,
        ):
            for filename in (MANIFEST_FILE, MODEL_FILE):
                data = (directory / filename).read_bytes()
                info = tarfile.TarInfo(f"{name}/{version}/{filename}")
                info.size, info.mode, info.mtime = len(data), 0o644, 0
                tar.addfile(info, io.BytesIO(data))
        return buffer.getvalue()

    def install_packed(self, blob: bytes) -> tuple[str, str]:
        """Install a :meth:`pack` blob into this registry; return ``(name, version)``.

        Only the two expected regular files are accepted (no links, no other paths,
        so no path traversal); the model's sha256 and types are verified before
        anything is written. Installing the same version again is a no-op; a
        different version under an existing number is refused.
        """
        name, version, files = _unpack(blob)
        manifest = artifact.read_manifest_bytes(files[MANIFEST_FILE], f"{name}/{version}")
        if (manifest.get("name"), str(manifest.get("version"))) != (name, version):
            raise ModelError(
                f"packed manifest names {manifest.get('name')!r} "
                f"version {manifest.get('version')}, not {name}/{version}"
            )
        label = f"packed model {name!r} version {version}"
        artifact.verify_model_bytes(files[MODEL_FILE], manifest["model_file"]["sha256"], label)
        if version in self.versions(name):
            return self._same_or_conflict(name, version, files)
        model_dir = self.path / name
        model_dir.mkdir(parents=True, exist_ok=True)
        scratch = model_dir / f".tmp-{version}-{uuid.uuid4().hex}"
        scratch.mkdir()
        for filename, data in files.items():
            (scratch / filename).write_bytes(data)
        try:
            os.rename(scratch, model_dir / version)
        except OSError:  # installed meanwhile by another process
            shutil.rmtree(scratch, ignore_errors=True)
            return self._same_or_conflict(name, version, files)
        return name, version

    def _same_or_conflict(self, name: str, version: str, files: dict) -> tuple[str, str]:
        directory = self.path / name / version
        if all((directory / f).read_bytes() == data for f, data in files.items()):
            return name, version
        raise ModelError(
            f"model {name!r} version {version} already exists in {self.path} with other content"
        )


def _unpack(blob: bytes) -> tuple[str, str, dict[str, bytes]]:
    if len(blob) > MAX_PACKED_BYTES:
        raise ModelError(f"packed model is {len(blob)} bytes, more than {MAX_PACKED_BYTES}")
    files: dict[str, bytes] = {}
    where: set[tuple[str, str]] = set()
    try:
        with tarfile.open(fileobj=io.BytesIO(blob), mode="r:gz") as tar:
            for member in tar:
                match = MEMBER_PATTERN.fullmatch(member.name)
                if not member.isfile() or match is None:
                    raise ModelError(f"packed model holds an unexpected entry {member.name!r}")
                if match[3] in files or member.size > MAX_PACKED_BYTES:
                    raise ModelError(f"packed model holds a bad entry {member.name!r}")
                where.add((match[1], match[2]))
                extracted = tar.extractfile(member)
                if extracted is None:
                    raise ModelError(f"packed model holds an unreadable entry {member.name!r}")
                files[match[3]] = extracted.read()
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise ModelError(f"packed model is not a readable tar.gz ({exc})") from None
    if len(where) != 1 or set(files) != {MANIFEST_FILE, MODEL_FILE}:
        raise ModelError(
            f"packed model must hold exactly NAME/VERSION/{{{MANIFEST_FILE},{MODEL_FILE}}}"
        )
    ((name, version),) = where
    return name, version, files
