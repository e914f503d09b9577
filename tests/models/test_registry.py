"""The registry: versions, promotion, safe loading, and shipping versions as bytes."""

from __future__ import annotations

import io
import operator
import tarfile

import numpy as np
import orjson
import pytest
import skops.io as sio
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer

from streamscore.ground.errors import ModelError
from streamscore.models.artifact import MANIFEST_FILE, MODEL_FILE, sha256_bytes
from streamscore.models.registry import Registry
from streamscore.models.training import train


@pytest.fixture
def saved(registry, breast_cancer):
    """A registry holding version 1 of model 'bc' (logistic regression, fast)."""
    model = train(breast_cancer, "target", name="bc", registry=registry, estimator="logreg")
    return registry, model


def edit_manifest(path, change):
    manifest = orjson.loads((path / MANIFEST_FILE).read_bytes())
    change(manifest)
    (path / MANIFEST_FILE).write_bytes(orjson.dumps(manifest))


def test_empty_registry(tmp_path):
    reg = Registry(tmp_path / "nothing-here")
    assert reg.models() == [] and reg.versions("x") == [] and reg.current("x") is None
    with pytest.raises(ModelError, match="no model 'x' in registry"):
        reg.load("x")


def test_versions_sort_in_creation_order(registry):
    for _ in range(11):
        registry.add("m", lambda d, v: (d / MANIFEST_FILE).write_text("{}"))
    assert registry.versions("m") == [str(i) for i in range(1, 12)]
    assert registry.current("m") == "11"  # never promoted: the latest
    (registry.path / "m" / ".tmp-12-junk").mkdir()  # a crashed writer's leftovers
    (registry.path / "not a model").mkdir()
    assert registry.versions("m")[-1] == "11" and registry.models() == ["m"]


def test_failed_write_leaves_no_version(registry):
    def fail(directory, version):
        (directory / MANIFEST_FILE).write_text("{}")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        registry.add("m", fail)
    assert registry.versions("m") == []
    assert [p.name for p in (registry.path / "m").iterdir()] == []


def test_first_version_is_current_then_promotion_decides(saved, breast_cancer):
    registry, first = saved
    assert registry.current("bc") == "1"
    second = train(breast_cancer, "target", name="bc", registry=registry, estimator="rf")
    assert second.version == "2" and registry.current("bc") == "1"
    registry.promote("bc", "2")
    assert registry.current("bc") == "2" and registry.load("bc").version == "2"
    assert (registry.path / "bc" / "CURRENT").read_text().strip() == "2"


def test_promote_unknown_version(saved):
    registry, _ = saved
    with pytest.raises(ModelError, match=r"model 'bc' has no version '9' .*versions: 1"):
        registry.promote("bc", "9")
    with pytest.raises(ModelError, match="invalid model name"):
        registry.promote("../bc", "1")


def test_loaded_model_is_the_trained_one(saved, breast_cancer):
    registry, model = saved
    again = registry.load("bc", "1")
    assert again.manifest == model.manifest and again.classes == [0, 1]
    data = breast_cancer.drop(columns="target")
    assert np.array_equal(again.predict_proba(data), model.predict_proba(data))


def test_tampered_model_file_is_refused(saved):
    registry, model = saved
    path = model.path / MODEL_FILE
    blob = bytearray(path.read_bytes())
    blob[len(blob) // 2] ^= 0xFF
    path.write_bytes(bytes(blob))
    with pytest.raises(ModelError, match="does not match the sha256 in its manifest"):
        registry.load("bc", "1")


def test_replaced_model_with_untrusted_types_is_refused(saved):
    # someone swaps in a model that calls an arbitrary function, and fixes the sha256
    registry, model = saved
    evil = Pipeline([("f", FunctionTransformer(operator.methodcaller("__reduce__")))])
    blob = sio.dumps(evil)
    assert sio.get_untrusted_types(data=blob)
    (model.path / MODEL_FILE).write_bytes(blob)
    edit_manifest(model.path, lambda m: m["model_file"].update(sha256=sha256_bytes(blob)))
    with pytest.raises(ModelError, match="holds types that are not trusted"):
        registry.load("bc", "1")


def test_library_mismatch_is_refused(saved):
    registry, model = saved
    edit_manifest(model.path, lambda m: m["libraries"].update({"scikit-learn": "0.24.2"}))
    with pytest.raises(ModelError, match=r"trained with scikit-learn 0\.24\.2 but .* retrain"):
        registry.load("bc", "1")


def test_damaged_manifest_is_refused(saved):
    registry, model = saved
    (model.path / MANIFEST_FILE).write_text("{not json")
    assert registry.versions("bc") == ["1"]
    with pytest.raises(ModelError, match="is not valid JSON"):
        registry.load("bc", "1")


def test_moved_version_is_refused(saved):
    registry, model = saved
    model.path.rename(model.path.parent / "5")
    with pytest.raises(ModelError, match="was moved or renamed"):
        registry.load("bc", "5")


def test_pack_and_install_elsewhere(saved, tmp_path, breast_cancer):
    registry, model = saved
    blob = registry.pack("bc", "1")
    assert blob == registry.pack("bc", "1")  # deterministic: same version, same bytes
    other = Registry(tmp_path / "other-machine")
    assert other.install_packed(blob) == ("bc", "1")
    assert other.install_packed(blob) == ("bc", "1")  # idempotent
    data = breast_cancer.drop(columns="target")
    assert np.array_equal(other.load("bc").predict_proba(data), model.predict_proba(data))


def test_install_refuses_a_different_version_under_the_same_number(saved, tmp_path):
    registry, _ = saved
    other = Registry(tmp_path / "other")
    other.install_packed(registry.pack("bc", "1"))
    edit_manifest(other.path / "bc" / "1", lambda m: m.update(target="changed"))
    with pytest.raises(ModelError, match="already exists .* with other content"):
        other.install_packed(registry.pack("bc", "1"))


def tar_gz(members: dict[str, bytes], symlink: str | None = None) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        if symlink:
            info = tarfile.TarInfo(symlink)
            info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
            tar.addfile(info)
    return buffer.getvalue()


@pytest.mark.parametrize(
    "names",
    [
        ["../evil/1/manifest.json", "../evil/1/model.skops"],
        ["bc/1/../../../x/manifest.json", "bc/1/model.skops"],
        ["/abs/1/manifest.json", "/abs/1/model.skops"],
        ["bc/1/manifest.json", "bc/1/model.skops", "bc/1/extra.py"],
        ["bc/1/manifest.json"],
        ["bc/1/manifest.json", "bc/2/model.skops"],
    ],
)
def test_install_refuses_unexpected_entries(saved, tmp_path, names):
    registry, model = saved
    files = {
        n: (model.path / n.rsplit("/", 1)[-1]).read_bytes()
        if n.rsplit("/", 1)[-1] in (MANIFEST_FILE, MODEL_FILE)
        else b"print('hi')"
        for n in names
    }
    target = Registry(tmp_path / "target" / "registry")
    with pytest.raises(ModelError, match="packed model"):
        target.install_packed(tar_gz(files))
    assert not (tmp_path / "target").exists() or not any((tmp_path / "target").rglob("*.json"))


def test_install_refuses_links_and_garbage(saved, tmp_path):
    registry, model = saved
    target = Registry(tmp_path / "target")
    files = {f"bc/1/{n}": (model.path / n).read_bytes() for n in (MANIFEST_FILE, MODEL_FILE)}
    with pytest.raises(ModelError, match="unexpected entry"):
        target.install_packed(tar_gz(files, symlink="bc/1/link"))
    with pytest.raises(ModelError, match="not a readable tar.gz"):
        target.install_packed(b"not a tarball")
    assert target.models() == []


def test_install_refuses_a_tampered_model(saved, tmp_path):
    registry, model = saved
    files = {f"bc/1/{n}": (model.path / n).read_bytes() for n in (MANIFEST_FILE, MODEL_FILE)}
    files["bc/1/model.skops"] = files["bc/1/model.skops"][:-10] + b"0123456789"
    with pytest.raises(ModelError, match="does not match the sha256"):
        Registry(tmp_path / "target").install_packed(tar_gz(files))
    assert Registry(tmp_path / "target").models() == []
