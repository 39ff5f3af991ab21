"""The runnable examples in the endpoint's docstrings stay true."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["orchestrator.server.app", "orchestrator.server.auth", "orchestrator.server.common",
           "orchestrator.server.errors",
           "orchestrator.server.serve", "orchestrator.server.service", "orchestrator.server.shapes"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 0
