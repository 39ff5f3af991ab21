"""sfn-orchestrator: job DAGs in Python or YAML, compiled to AWS Step Functions, run on AWS Batch
and Lambda, or offline on one machine with the embedded engine.

    >>> from orchestrator import Workflow
    >>> wf = Workflow("hello")
    >>> _ = wf.batch("say-hi", image="alpine:3", command=["echo", "hi"])
    >>> wf.build().tasks[0].name
    'say-hi'
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from orchestrator.lazy import first_use

if TYPE_CHECKING:
    from orchestrator import model
    from orchestrator.api import TaskRef, Workflow
    from orchestrator.errors import OrchestratorError, ValidationError

__all__ = ["OrchestratorError", "TaskRef", "ValidationError", "Workflow", "load", "load_all"]
__version__ = "0.1.0"

# Resolved on first use (PEP 562): importing any ``orchestrator.*`` module runs this file first,
# so ``orchestrator.cli`` or ``orchestrator.local.store`` alone does not pay for the builder and
# the error classes' dataclasses (with ``inspect``, ~15 ms).
_HOMES = {"TaskRef": "api", "Workflow": "api", "OrchestratorError": "errors", "ValidationError": "errors"}


__getattr__ = first_use(__name__, _HOMES, globals())


def load(path: Any) -> model.Workflow:
    """Load the one workflow in a ``.py`` file or a YAML/JSON spec (see ``orchestrator.spec``)."""
    from orchestrator.spec import load as _load

    return _load(path)


def load_all(path: Any) -> tuple[model.Workflow, ...]:
    """Load every workflow a ``.py`` file defines at module level (a spec file holds one)."""
    from orchestrator.spec import load_all as _load_all

    return _load_all(path)
