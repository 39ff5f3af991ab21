"""Property tests of the interpreter on random machines under virtual time.

Machines nest Pass, Wait, Task (an integration that sleeps on the clock), Parallel and Map.
Oracles: the execution ends (no deadlock in the virtual clock), the history is well formed, and
the virtual time taken equals the makespan computed from the definition: a chain adds, a
Parallel takes its longest branch, a Map runs its items in waves of MaxConcurrency.
"""

from __future__ import annotations

import itertools
import math
from datetime import UTC, datetime
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from orchestrator.engine import TaskCall, start

T0 = datetime(2024, 1, 1, tzinfo=UTC)
_names = itertools.count()


def sleepy(call: TaskCall) -> Any:
    call.clock.sleep(float(call.parameters["sleep"]), call.cancel)
    return call.parameters


@st.composite
def chain(draw: st.DrawFn, depth: int) -> tuple[dict[str, Any], float]:
    """A branch (StartAt/States) and its makespan in seconds."""
    n = draw(st.integers(1, 3))
    states: dict[str, Any] = {}
    names = [f"S{next(_names)}" for _ in range(n)]
    total = 0.0
    for i, name in enumerate(names):
        kinds = ["Pass", "Wait", "Task"] + (["Parallel", "Map"] if depth < 2 else [])
        kind = draw(st.sampled_from(kinds))
        state: dict[str, Any]
        if kind == "Pass":
            state, cost = {"Type": "Pass"}, 0.0
        elif kind == "Wait":
            seconds = draw(st.integers(0, 40))
            state, cost = {"Type": "Wait", "Seconds": seconds}, float(seconds)
        elif kind == "Task":
            seconds = draw(st.integers(0, 30))
            state = {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                     "Parameters": {"sleep": seconds}, "ResultPath": None}
            cost = float(seconds)
        elif kind == "Parallel":
            branches = [draw(chain(depth + 1)) for _ in range(draw(st.integers(1, 3)))]
            state = {"Type": "Parallel", "Branches": [b for b, _ in branches], "ResultPath": None}
            cost = max(c for _, c in branches)
        else:
            processor, per_item = draw(chain(depth + 1))
            items = draw(st.integers(0, 6))
            concurrency = draw(st.integers(0, 3))
            state = {"Type": "Map", "ItemsPath": "$.items", "MaxConcurrency": concurrency,
                     "ItemProcessor": processor, "ResultPath": None}
            waves = math.ceil(items / (concurrency or 40)) if items else 0
            cost = waves * per_item
            state["ItemSelector"] = {"i.$": "$$.Map.Item.Index", "items.$": "$.items"}
            state["ItemsPath"] = f"$.items[0:{items}]"
        if i + 1 < n:
            state["Next"] = names[i + 1]
        else:
            state["End"] = True
        states[name] = state
        total += cost
    return {"StartAt": names[0], "States": states}, total


@settings(max_examples=25, deadline=None)
@given(machine=chain(0))
def test_random_machines_finish_with_the_computed_makespan(machine: tuple[dict[str, Any], float]) -> None:
    definition, makespan = machine
    execution = start(definition, {"items": [0, 1, 2, 3, 4, 5]}, virtual_time=True, start_time=T0,
                      integrations={"lambda:invoke": sleepy})
    run = execution.wait(20)  # a deadlock in the virtual clock would hang here
    assert run.status == "SUCCEEDED", (run.error, run.cause)
    events = run.history
    assert [e["id"] for e in events] == list(range(1, len(events) + 1))
    assert all(0 <= e["previousEventId"] < e["id"] for e in events)
    assert events[0]["type"] == "ExecutionStarted" and events[-1]["type"] == "ExecutionSucceeded"
    stamps = [e["timestamp"] for e in events]
    assert stamps == sorted(stamps)  # virtual time never runs backwards
    assert (stamps[-1] - T0).total_seconds() == makespan
