"""The States Language's state types, as one enum.

The engine's handler table (``interpreter.HANDLERS``, one handler per member) and the validator's
list of known types both come from it, so a type cannot be known to one and missing in the other.

    >>> StateType("Map") is StateType.MAP, StateType.TASK in CATCHING
    (True, True)
"""

from __future__ import annotations

import enum


class StateType(enum.StrEnum):
    PASS = "Pass"
    TASK = "Task"
    CHOICE = "Choice"
    WAIT = "Wait"
    SUCCEED = "Succeed"
    FAIL = "Fail"
    PARALLEL = "Parallel"
    MAP = "Map"


# The states whose errors their own Retry/Catch may handle; any other state's error fails the
# machine (or the enclosing branch) at once.
CATCHING = frozenset({StateType.TASK, StateType.PARALLEL, StateType.MAP})
