"""Every module's docstring examples are tests: the documentation cannot drift from the code."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import streamscore

# Each module under its one true name (streamscore.models.x, never models.x).
MODULES = sorted(
    info.name
    for info in pkgutil.walk_packages(streamscore.__path__, "streamscore.")
    if not info.name.endswith("__main__")
)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
