"""The embedded ASL interpreter: run Step Functions state machines offline.

>>> from orchestrator.engine import execute
>>> execute({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 3600, "End": True}}},
...         {"a": 1}, virtual_time=True).output
{'a': 1}
"""

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
