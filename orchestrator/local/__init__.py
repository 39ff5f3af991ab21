"""The embedded default: the compiled state machine run on this machine (contract 3 of DESIGN.md).

    >>> from orchestrator.local import execute
    >>> run = execute({"StartAt": "Hi", "States": {"Hi": {"Type": "Pass", "End": True}}}, {"a": 1})
    >>> run.status, run.output
    ('SUCCEEDED', {'a': 1})
"""

from __future__ import annotations

from orchestrator.engine import execute
from orchestrator.local.runner import RunResult, redrive_execution, run_workflow

__all__ = ["RunResult", "execute", "redrive_execution", "run_workflow"]
