"""The runnable examples in the console's docstrings stay true."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["orchestrator.console", "orchestrator.console.data", "orchestrator.console.layout",
           "orchestrator.console.timeline"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 0
