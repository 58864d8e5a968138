"""The examples in the lab's docstrings run, as the package's do (pytest's
``--doctest-modules`` covers ``llmner/`` only: ``recipes/`` is not collected)."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import lab
import pytest

MODULES = sorted(m.name for m in pkgutil.walk_packages(lab.__path__, "lab."))


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0, f"{name}: {result.failed} of {result.attempted} examples failed"
