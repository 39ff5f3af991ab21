"""The runnable examples in the spec, model and api docstrings stay true."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "orchestrator.spec", "orchestrator.spec.convert", "orchestrator.spec.cron", "orchestrator.spec.durations",
    "orchestrator.spec.loader", "orchestrator.spec.validate", "orchestrator.api", "orchestrator.model",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
