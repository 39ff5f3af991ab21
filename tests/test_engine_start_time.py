"""``ExecutionStarted`` is stamped with the execution's start time, the instant
``$$.Execution.StartTime`` gives (on AWS they are one value), however the clock moves between reads."""

from __future__ import annotations

from datetime import timedelta

import pytest

from orchestrator.engine import clock as clock_module
from orchestrator.engine.interpreter import start
from orchestrator.engine.runtime import iso_time

MACHINE = {
    "StartAt": "Stamp",
    "States": {"Stamp": {"Type": "Pass", "Parameters": {"started.$": "$$.Execution.StartTime"}, "End": True}},
}


def test_execution_started_carries_the_context_start_time(monkeypatch: pytest.MonkeyPatch) -> None:
    real_now = clock_module.RealClock.now
    ticks = iter(range(1, 1_000_000))

    def ticking(self: clock_module.RealClock) -> object:
        # Every read of the clock is 7 ms later than the one before.
        return real_now(self) + timedelta(milliseconds=7 * next(ticks))

    monkeypatch.setattr(clock_module.RealClock, "now", ticking)
    execution = start(MACHINE, {})
    result = execution.wait(10)
    started = next(e for e in execution.history if e["type"] == "ExecutionStarted")
    assert result.status == "SUCCEEDED"
    assert result.output == {"started": iso_time(started["timestamp"])}
