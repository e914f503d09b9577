"""The reference compiled for drift, from new and old manifests."""

from __future__ import annotations

import numpy as np
import pytest

from streamscore.ground.errors import ModelError
from streamscore.models.drift.bins import DriftReference
from tests.models.drift import streams


def old(manifest: dict) -> dict:
    """The manifest as written before fine bins existed."""
    reference = manifest["reference"]
    for spec in [*reference["numeric"].values(), reference["score"]]:
        del spec["fine_edges"], spec["fine_proportions"]
    return manifest


def test_fine_bins_and_reference_counts():
    ref = streams.reference(np.random.default_rng(0))
    x0 = ref.numeric["x0"]
    assert x0.fine and x0.fine_cuts.size == 101 and x0.cuts.size == 11  # with -inf and +inf
    # the reference counts are the training counts: deciles of 5,000 values hold 500 each
    # (give or take the cut value itself, which opens the bin above it)
    assert x0.reference.sum() == 5_000 and np.abs(x0.reference - 500).max() <= 1
    assert x0.fine_reference.sum() == 5_000 and np.abs(x0.fine_reference - 50).max() <= 1
    assert ref.numeric["x9"].reference_missing + ref.numeric["x9"].reference.sum() == 5_000
    assert ref.score.reference_count == 1_000 and ref.score.fine_reference.sum() == 1_000
    c1 = ref.categorical["c1"]
    assert c1.reference.sum() + c1.reference_missing == c1.reference_count == 5_000
    assert ref.n_tests == 10 * 3 + 2 * 3 + 2


def test_an_old_manifest_falls_back_to_the_deciles():
    ref = DriftReference.from_manifest(old(streams.manifest(np.random.default_rng(0))))
    x0 = ref.numeric["x0"]
    assert not x0.fine and np.array_equal(x0.fine_cuts, x0.cuts)
    assert np.array_equal(x0.fine_reference, x0.reference)
    assert not ref.score.fine and ref.score.fine_cuts.size == 11


def test_a_manifest_without_reference_says_to_retrain():
    with pytest.raises(ModelError, match="no reference statistics: retrain"):
        DriftReference.from_manifest({"name": "m", "version": "3"})
