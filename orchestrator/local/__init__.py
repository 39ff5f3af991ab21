"""The embedded default: the compiled state machine run on this machine (contract 3 of DESIGN.md).

``execute`` runs one ASL definition on the engine alone (with ``mock_config=`` and ``test_case=``,
a Step Functions Local MockConfigFile's test case answers its states); ``run_workflow``
validates, compiles and runs a whole workflow with the local Batch, Lambda and SNS services, persisted under
``.orchestrator/`` (``redrive_execution`` finishes one that failed or whose runner died), and
``run_definition`` does the same for a plain ASL file (``start_definition`` in the background).

    >>> from orchestrator.local import execute
    >>> run = execute({"StartAt": "Hi", "States": {"Hi": {"Type": "Pass", "End": True}}}, {"a": 1})
    >>> run.status, run.output
    ('SUCCEEDED', {'a': 1})
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from orchestrator.lazy import first_use

if TYPE_CHECKING:
    from orchestrator.local.plain import execute, run_definition, start_definition
    from orchestrator.local.runs import RunResult, redrive_execution, run_workflow

__all__ = ["RunResult", "execute", "redrive_execution", "run_definition", "run_workflow", "start_definition"]

# Resolved on first use (PEP 562): importing any ``orchestrator.local.*`` module runs this file
# first, and the engine, compiler and rich behind these names cost ~130 ms that e.g. the scheduler
# and the worker-side modules never need.
_HOMES = {"execute": "plain", "run_definition": "plain", "start_definition": "plain",
          "RunResult": "runs", "redrive_execution": "runs", "run_workflow": "runs"}


__getattr__ = first_use(__name__, _HOMES, globals())
