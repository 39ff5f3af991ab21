"""A fake of the part of serve's Service the scheduler uses, in virtual time."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from orchestrator import model
from orchestrator.scheduler import VirtualClock
from orchestrator.server.errors import ServiceError
from orchestrator.server.service import ServedWorkflow


def workflow(name: str = "hourly", **schedule: Any) -> model.Workflow:
    return model.Workflow(name=name, schedule=model.Schedule(**schedule), tasks=(
        model.Task(name="t", job=model.BatchJob(image="alpine:3", command=("true",))),))


def machine_arn(name: str) -> str:
    return f"arn:aws:states:us-east-1:123456789012:stateMachine:{name}"


@dataclass
class Started:
    name: str
    scheduled_time: str
    at: datetime


@dataclass
class FakeService:
    """Runs last ``duration`` of virtual time; names are unique per state machine, as on AWS."""

    clock: VirtualClock
    workflows: list[model.Workflow]
    duration: timedelta = timedelta(minutes=5)
    started: list[Started] = field(default_factory=list)
    _runs: dict[str, tuple[str, datetime]] = field(default_factory=dict)

    def served_workflows(self) -> list[ServedWorkflow]:
        return [ServedWorkflow(workflow=wf, state_machine_arn=machine_arn(wf.name), path=f"{wf.name}.yaml")
                for wf in self.workflows]

    def start_execution(self, request: Mapping[str, Any]) -> dict[str, Any]:
        name = str(request["name"])
        if name in self._runs:
            raise ServiceError("ExecutionAlreadyExists", f"Execution Already Exists: '{name}'")
        now = self.clock.now()
        self._runs[name] = (str(request["stateMachineArn"]), now)
        self.started.append(Started(name, json.loads(request["input"])["scheduled_time"], now))
        return {"executionArn": f"{request['stateMachineArn']}:{name}".replace("stateMachine", "execution"),
                "startDate": now.isoformat()}

    def list_executions(self, request: Mapping[str, Any]) -> dict[str, Any]:
        now = self.clock.now()
        assert request["statusFilter"] == "RUNNING"
        return {"executions": [{"name": name} for name, (arn, at) in self._runs.items()
                               if arn == request["stateMachineArn"] and at <= now < at + self.duration]}

    def times(self) -> list[str]:
        return [s.scheduled_time for s in self.started]
