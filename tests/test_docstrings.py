"""Every example in a docstring runs and prints what it shows (numpydoc ``Examples`` sections)."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import gaussmix

MODULES = sorted(
    info.name for info in pkgutil.walk_packages(gaussmix.__path__, prefix="gaussmix.")
)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE, verbose=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples in {name} failed"
