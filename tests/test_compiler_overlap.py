"""The overlap guard on the engine: skip, queue and allow, with a run that outlasts its period.

Run A (the 02:00 fire) is still in its Batch job when run B (the 03:00 fire) starts. The
``aws-sdk:sfn:listExecutions`` integration answers from a registry of running executions, newest
first, as ListExecutions does; Wait states run on virtual time, so a queued run's polls take no
real time.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from orchestrator import arns, model
from orchestrator.compiler import compile_workflow, overlap
from orchestrator.engine import ExecutionResult, TaskCall, start
from orchestrator.local.runs import compile_plan, run_plan
from orchestrator.local.store import Store

MACHINE = arns.state_machine("hourly")


def hourly(policy: str, command: tuple[str, ...] = ("work",)) -> model.Workflow:
    return model.Workflow(
        name="hourly", schedule=model.Schedule(expression="rate(1 hour)", overlap=policy),  # type: ignore[arg-type]
        tasks=(model.Task(name="work", job=model.BatchJob(image="x", command=command)),))


class Fires:
    """Two runs of one machine; A's job holds until released (or until B has polled ``release_after`` times)."""

    def __init__(self, policy: str, release_after: int | None = None) -> None:
        self.definition = compile_workflow(hourly(policy)).definitions["hourly"]
        self.running: list[str] = []  # oldest first
        self.jobs: list[str] = []  # executions whose job started, in order
        self.polls: dict[str, int] = {}
        self.release = threading.Event()
        self.release_after = release_after
        self.lock = threading.Lock()

    def list_executions(self, call: TaskCall) -> Any:
        assert call.parameters == {"StateMachineArn": MACHINE, "StatusFilter": "RUNNING", "MaxResults": 1000}
        with self.lock:
            self.polls[call.execution_arn] = self.polls.get(call.execution_arn, 0) + 1
            if self.release_after is not None and self.polls[call.execution_arn] > self.release_after:
                self.release.set()
            return {"Executions": [{"ExecutionArn": arn, "Status": "RUNNING"} for arn in reversed(self.running)]}

    def batch(self, call: TaskCall) -> Any:
        with self.lock:
            self.jobs.append(call.execution_arn)
        if call.execution_arn.endswith(":a"):
            assert self.release.wait(30), "run A was never released"
        return {"JobId": "j", "JobName": "work", "Status": "SUCCEEDED"}

    def run(self, name: str, *, listed: bool = False) -> Callable[[], ExecutionResult]:
        """Start run ``name``; it joins the running list unless ``listed`` (already there, and then
        it stays there: the test says who is running)."""
        arn = arns.execution(MACHINE, name)
        with self.lock:
            if not listed:
                self.running.append(arn)
        execution = start(self.definition, {"scheduled_time": f"2026-01-01T0{2 if name == 'a' else 3}:00:00Z"},
                          virtual_time=True, execution_name=name, state_machine_arn=MACHINE,
                          integrations={"aws-sdk:sfn:listExecutions": self.list_executions,
                                        "batch:submitJob": self.batch})

        def finish() -> ExecutionResult:
            result = execution.wait(60)
            if not listed:
                with self.lock:
                    self.running.remove(arn)
            return result
        return finish


def entered(result: ExecutionResult) -> list[str]:
    return [e["stateEnteredEventDetails"]["name"] for e in result.history if "stateEnteredEventDetails" in e]


def test_skip_ends_the_later_run_with_a_note_and_runs_nothing() -> None:
    fires = Fires("skip")
    finish_a = fires.run("a")
    b = fires.run("b")()
    assert b.status == "SUCCEEDED"
    assert b.output == {"skipped": "another execution of this state machine was running (overlap: skip)",
                        "running": arns.execution(MACHINE, "a"),
                        "execution_input": {"scheduled_time": "2026-01-01T03:00:00Z"}}
    assert entered(b) == [overlap.CHECK, overlap.DECIDE, overlap.SKIPPED]
    fires.release.set()
    a = finish_a()
    assert a.status == "SUCCEEDED" and fires.jobs == [arns.execution(MACHINE, "a")]


def test_queue_waits_for_the_running_one_then_runs() -> None:
    fires = Fires("queue", release_after=3)
    finish_a = fires.run("a")
    finish_b = fires.run("b")
    # B polls, waits 60 s of virtual time, polls again...; its 4th poll releases A's job.
    a = finish_a()
    b = finish_b()
    assert (a.status, b.status) == ("SUCCEEDED", "SUCCEEDED")
    assert fires.jobs == [arns.execution(MACHINE, "a"), arns.execution(MACHINE, "b")]
    names = entered(b)
    assert names.count(overlap.WAIT) >= 3 and names.count(overlap.CHECK) == names.count(overlap.WAIT) + 1
    assert names[-2:] == ["Wrap input", "work"]
    assert b.output["input"] == {"scheduled_time": "2026-01-01T03:00:00Z"}  # the guard's answer left behind


def test_allow_has_no_guard_and_runs_both_at_once() -> None:
    fires = Fires("allow")
    assert overlap.CHECK not in fires.definition["States"]
    finish_a = fires.run("a")
    b = fires.run("b")()
    assert b.status == "SUCCEEDED"
    assert arns.execution(MACHINE, "b") in fires.jobs and not fires.release.is_set()
    fires.release.set()
    assert finish_a().status == "SUCCEEDED"


def test_the_oldest_of_two_started_together_goes_on() -> None:
    """Both see each other; only the newer one skips, so a fire is never lost to a tie."""
    fires = Fires("skip")
    fires.running = [arns.execution(MACHINE, "a"), arns.execution(MACHINE, "b")]  # A a moment older
    fires.release.set()
    finish_a, finish_b = fires.run("a", listed=True), fires.run("b", listed=True)
    a, b = finish_a(), finish_b()
    assert a.status == b.status == "SUCCEEDED"
    assert "skipped" not in a.output and "skipped" in b.output
    assert fires.jobs == [arns.execution(MACHINE, "a")]


def test_a_workflow_without_schedule_has_no_guard() -> None:
    wf = model.Workflow(name="w", tasks=hourly("skip").tasks)
    assert overlap.CHECK not in compile_workflow(wf).definitions["w"]["States"]


def test_locally_the_guard_asks_the_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A RUNNING execution of the same machine in the store (another runner, alive: this process)
    makes a skip-policy run end at once."""
    import os

    from orchestrator.local.procs import process_start_time

    monkeypatch.chdir(tmp_path)
    plan = compile_plan(hourly("skip", command=("true",)), str(tmp_path))
    store = Store(tmp_path / "home")
    machine = arns.state_machine("hourly")
    store.create_execution(arn=arns.execution(machine, "earlier"), name="earlier", state_machine_arn=machine,
                           workflow="hourly", parent_arn=None, scope="hourly:earlier", input={},
                           start_date="2026-01-01T01:59:00.000+00:00", cwd=str(tmp_path), plan=None,
                           runner_start=process_start_time(os.getpid()))
    result = run_plan(plan, {}, home=tmp_path / "home", name="later", scheduled_time="2026-01-01T03:00:00Z")
    assert result.status == "SUCCEEDED"
    assert result.output["running"] == arns.execution(machine, "earlier")
    assert store.jobs(result.execution_arn) == []
    # With the earlier one finished, the next run goes on.
    store.finish_execution(arns.execution(machine, "earlier"), status="SUCCEEDED", output={}, error=None,
                           cause=None, stop_date="2026-01-01T03:30:00.000+00:00")
    again = run_plan(plan, {}, home=tmp_path / "home", name="next", scheduled_time="2026-01-01T04:00:00Z")
    assert again.status == "SUCCEEDED", again.cause
    assert "skipped" not in again.output and len(store.jobs(again.execution_arn)) == 1


def test_examples_in_docstrings() -> None:
    import doctest

    assert doctest.testmod(overlap).failed == 0
