"""Shared helpers of the console tests: a stand-in for ``Service`` and executions written straight
into a store (deterministic and fast; the browser tests run real ones)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from orchestrator import model
from orchestrator.local.store import Store

ACCOUNT_ARN = "arn:aws:states:us-east-1:123456789012"
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="milliseconds")


@dataclass(frozen=True, slots=True, kw_only=True)
class Served:
    workflow: model.Workflow
    state_machine_arn: str


class FakeService:
    """What the console uses of ``orchestrator.server.service.Service``: a store, served workflows."""

    def __init__(self, store: Store, served: list[Served] | None = None) -> None:
        self.store = store
        self._served = served or []

    def served_workflows(self) -> list[Served]:
        return list(self._served)


def workflow(name: str = "nightly", schedule: str | None = "cron(10 2 * * ? *)") -> model.Workflow:
    job = model.BatchJob(image="alpine:3", command=("true",))
    return model.Workflow(name=name, tasks=(model.Task(name="load", job=job),
                                            model.Task(name="report", job=job, after=("load",))),
                          schedule=model.Schedule(expression=schedule, timezone="Europe/Berlin") if schedule else None)


DEFINITION = {"StartAt": "load", "States": {
    "load": {"Type": "Task", "Resource": "arn:aws:states:::batch:submitJob.sync", "Next": "report",
             "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Failed"}]},
    "report": {"Type": "Task", "Resource": "arn:aws:states:::batch:submitJob.sync", "End": True},
    "Failed": {"Type": "Fail", "Error": "Workflow.Failed"}}}


def add_execution(store: Store, name: str, *, workflow: str = "nightly", status: str = "SUCCEEDED",
                  start: datetime = T0, seconds: float = 60.0, events: list[dict[str, Any]] | None = None,
                  definition: dict[str, Any] | None = None, input: Any = None, base: str = ACCOUNT_ARN) -> str:
    arn = f"{base}:execution:{workflow}:{name}"
    plan = {"workflow": workflow, "main": workflow, "definitions": {workflow: definition or DEFINITION},
            "job_definitions": {}, "functions": {}}
    store.create_execution(arn=arn, name=name, state_machine_arn=f"{base}:stateMachine:{workflow}",
                           workflow=workflow, parent_arn=None, scope=f"{workflow}:{name}",
                           input=input if input is not None else {"day": 1}, start_date=iso(start), cwd=".",
                           plan=plan, runner_start=None)
    for event in events or ():
        store.append_event(arn, event)
    if status != "RUNNING":
        store.finish_execution(arn, status=status, output={"ok": True} if status == "SUCCEEDED" else None,
                               error=None if status == "SUCCEEDED" else "States.TaskFailed",
                               cause=None if status == "SUCCEEDED" else "load failed",
                               stop_date=iso(start + timedelta(seconds=seconds)))
    return arn


def event(id: int, previous: int, kind: str, at: datetime, **details: Any) -> dict[str, Any]:
    """One history event; ``name=`` for the state events, the rest goes in the details."""
    body: dict[str, Any] = {"id": id, "previousEventId": previous, "timestamp": iso(at), "type": kind}
    if kind.endswith("StateEntered"):
        body["stateEnteredEventDetails"] = {"name": details.pop("name"), "input": json.dumps(details.pop("input", {}))}
    elif kind.endswith("StateExited"):
        body["stateExitedEventDetails"] = {"name": details.pop("name"), "output": json.dumps(details.pop("output", {}))}
    elif details:
        key = kind[0].lower() + kind[1:] + "EventDetails"
        body[key] = details
    return body


def failed_history() -> list[dict[str, Any]]:
    """load fails twice (a retry), is caught, and the run fails in the Fail state."""
    s = T0
    at = [s + timedelta(seconds=x) for x in range(20)]
    return [
        event(1, 0, "ExecutionStarted", at[0]),
        event(2, 1, "TaskStateEntered", at[0], name="load"),
        event(3, 2, "TaskScheduled", at[1], resource="submitJob.sync"),
        event(4, 3, "TaskStarted", at[1]),
        event(5, 4, "TaskFailed", at[3], error="States.TaskFailed", cause="exit 3"),
        event(6, 5, "TaskScheduled", at[5]),
        event(7, 6, "TaskStarted", at[5]),
        event(8, 7, "TaskFailed", at[8], error="States.TaskFailed", cause="exit 3 again"),
        event(9, 8, "TaskStateExited", at[8], name="load"),
        event(10, 9, "FailStateEntered", at[8], name="Failed"),
        event(11, 10, "ExecutionFailed", at[8], error="Workflow.Failed", cause="load failed"),
    ]
