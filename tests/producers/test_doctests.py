"""The examples in the producers' docstrings are tests too."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["events", "labels", "pacing", "replay", "sender", "sources", "synthetic"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(f"producers.{name}")
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
