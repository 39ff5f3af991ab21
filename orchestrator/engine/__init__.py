"""The embedded ASL interpreter: run Step Functions state machines offline.

>>> from orchestrator.engine import execute
>>> execute({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 3600, "End": True}}},
...         {"a": 1}, virtual_time=True).output
{'a': 1}
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from orchestrator.arns import IntegrationPattern
    from orchestrator.engine.clock import Clock, RealClock, VirtualClock
    from orchestrator.engine.errors import StatesError
    from orchestrator.engine.integrations import Integration, TaskCall, TaskFailure
    from orchestrator.engine.interpreter import (
        Execution,
        ExecutionResult,
        execute,
        send_task_failure,
        send_task_heartbeat,
        send_task_success,
        start,
    )
    from orchestrator.engine.validate import validate_definition

__all__ = [
    "Clock", "Execution", "ExecutionResult", "Integration", "IntegrationPattern", "RealClock",
    "StatesError", "TaskCall", "TaskFailure", "VirtualClock", "execute", "send_task_failure",
    "send_task_heartbeat", "send_task_success", "start", "validate_definition",
]

# Resolved on first use (PEP 562): importing a light submodule (``integrations``, ``clock``, what
# local Lambda and Batch import for ``TaskCall``) runs this file first, and the interpreter with
# every state type, JSONPath, the intrinsics and the validator behind these names costs ~35 ms
# that ``orchestrator run`` rather spends while its Lambda zygote starts.
_HOMES = {"IntegrationPattern": "orchestrator.arns", "Clock": "orchestrator.engine.clock",
          "RealClock": "orchestrator.engine.clock", "VirtualClock": "orchestrator.engine.clock",
          "StatesError": "orchestrator.engine.errors", "Integration": "orchestrator.engine.integrations",
          "TaskCall": "orchestrator.engine.integrations", "TaskFailure": "orchestrator.engine.integrations",
          "validate_definition": "orchestrator.engine.validate",
          **{name: "orchestrator.engine.interpreter" for name in (
              "Execution", "ExecutionResult", "execute", "send_task_failure", "send_task_heartbeat",
              "send_task_success", "start")}}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value
