"""The examples in the models package's docstrings are tests too."""

from __future__ import annotations

import doctest
import importlib
import pkgutil
import subprocess
import sys

import pytest

import models

MODULES = [m.name for m in pkgutil.iter_modules(models.__path__, "models.")]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0


def test_models_does_not_import_kafka():
    # a fresh interpreter: importing every models module pulls in no Kafka client
    code = (
        f"import importlib, sys; [importlib.import_module(m) for m in {MODULES!r}]; "
        "print(sorted({m.split('.')[0] for m in sys.modules} "
        "& {'faust', 'kafka', 'aiokafka', 'streams', 'producers'}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
