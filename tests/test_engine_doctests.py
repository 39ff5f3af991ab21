"""The runnable examples in the engine's docstrings stay true."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "orchestrator.engine", "orchestrator.engine.choice", "orchestrator.engine.clock",
    "orchestrator.engine.dataflow", "orchestrator.engine.history", "orchestrator.engine.integrations",
    "orchestrator.engine.interpreter", "orchestrator.engine.itemio", "orchestrator.engine.jsonpath",
    "orchestrator.engine.retry", "orchestrator.engine.state_types", "orchestrator.engine.validate",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
