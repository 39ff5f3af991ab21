"""Test a workflow like code: run it on the embedded engine in virtual time, with tasks mocked.

The pytest plugin (``orchestrator.pytest_plugin``, registered through the package's ``pytest11``
entry point) hands these out as fixtures; they work without pytest too::

    from orchestrator.testing import fails, returns, run_with_mocks

    run = run_with_mocks(wf, mocks={"load": returns({"rows": 3}), "report": fails(exit_code=3, log=["boom"])})
    assert run.status == "FAILED"
    assert run.alert.subject == "nightly failed at report: exit code 3 (attempt 1 of 1)"

A mock answers a task's every attempt: :func:`returns` a value, :func:`fails` with an error and
cause (only on the attempts given, if any), either after a delay of virtual time; a task without
a mock runs for real (a local Batch process, a local Lambda worker). The Step Functions Local
MockConfigFile format is accepted too (``mock_config=`` and ``test_case=``). The result answers
what tests ask — which tasks ran, in which order, with how many attempts, each attempt's input and
output, the execution's status, error, cause and output, the alert it sent, the history — and
prints as a timeline, so a failed assertion shows what happened rather than a dict.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from orchestrator import model
from orchestrator.arns import IntegrationPattern
from orchestrator.engine.integrations import TaskCall, TaskFailure
from orchestrator.errors import OrchestratorError

BATCH_EXITED = "Essential container in task exited"  # AWS Batch's status reason for an exit


class MockError(OrchestratorError):
    """A mock names a task the workflow does not have, or is not a mock."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Mock:
    """How one task answers: see :func:`returns` and :func:`fails`."""

    value: Any = None
    error: str | None = None  # set: the attempt fails
    cause: str | None = None
    exit_code: int | None = None  # a Batch job's failure: its exit code (the alert's reason)
    log: tuple[str, ...] = ()  # what the failed attempt printed (the alert's log tail)
    attempts: frozenset[int] | None = None  # 1-based attempts that fail; None: every one
    delay: float = 0.0  # virtual seconds before answering
    then: Mock | None = None  # how the other attempts answer (default: succeed with None)


def returns(value: Any = None, *, delay: float = 0.0) -> Mock:
    """Succeed with ``value``: a Lambda task's Payload, or fields added to a Batch job's result.

    >>> returns({"rows": 3}).value
    {'rows': 3}
    """
    return Mock(value=value, delay=delay)


def fails(error: str = "States.TaskFailed", cause: str | None = None, *, exit_code: int | None = None,
          log: Sequence[str] = (), attempt: int | Iterable[int] | None = None, delay: float = 0.0,
          then: Mock | None = None) -> Mock:
    """Fail with ``error`` and ``cause``; ``attempt=2`` (or ``[1, 2]``) fails only those attempts.

    For a Batch job, ``exit_code`` and ``log`` make the failure what Batch reports: a DescribeJobs
    cause with that exit code, and a log stream holding those lines (what the alert quotes).

    >>> fails("Custom.Error", "boom", attempt=1).attempts
    frozenset({1})
    """
    attempts = None if attempt is None else frozenset([attempt] if isinstance(attempt, int) else attempt)
    return Mock(error=error, cause=cause, exit_code=exit_code, log=tuple(log), attempts=attempts, delay=delay,
                then=then)


REAL: Mock | None = None  # ``mocks={"task": REAL}`` is the same as leaving it out: it runs for real


class PythonMocks:
    """The mocks of one execution, answering in front of the local services (``LocalRun``)."""

    def __init__(self, mocks: Mapping[str, Mock], logs_dir: Path) -> None:
        self._mocks = dict(mocks)
        self._logs = logs_dir
        self._counts: dict[str, int] = {}
        self._lock = threading.Lock()

    def mocks(self, state: str) -> bool:
        return state in self._mocks

    def answer(self, call: TaskCall) -> Any:
        with self._lock:
            attempt = self._counts.get(call.state_name, 0) + 1
            self._counts[call.state_name] = attempt
        mock = self._mocks[call.state_name]
        if mock.error is not None and mock.attempts is not None and attempt not in mock.attempts:
            mock = mock.then or Mock()
        if mock.delay:
            call.clock.sleep(mock.delay, call.cancel)
        batch = call.service == "batch"
        job_id = str(uuid.uuid4())
        if call.pattern is IntegrationPattern.SYNC and call.submitted is not None and batch:
            call.submitted({"JobId": job_id, "JobName": call.state_name})
        if mock.error is not None:
            raise TaskFailure(mock.error, self._cause(call, mock, job_id) if batch else (mock.cause or ""))
        if batch:
            extra = mock.value if isinstance(mock.value, Mapping) else {}
            return {"JobId": job_id, "JobName": call.state_name, "Status": "SUCCEEDED", **extra}
        if call.service == "lambda":
            return {"StatusCode": 200, "ExecutedVersion": "$LATEST", "Payload": mock.value}
        return mock.value

    def _cause(self, call: TaskCall, mock: Mock, job_id: str) -> str:
        if mock.cause is not None:
            return mock.cause
        stream = f"{call.state_name}/default/{job_id.replace('-', '')}"
        if mock.log:
            path = self._logs / "batch" / stream
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("".join(f"{line}\n" for line in mock.log))
        container = {"ExitCode": 1 if mock.exit_code is None else mock.exit_code, "LogStreamName": stream}
        return json.dumps({"JobId": job_id, "JobName": call.state_name, "Status": "FAILED",
                           "StatusReason": BATCH_EXITED, "Container": container,
                           "Attempts": [{"Container": container, "StatusReason": BATCH_EXITED}]})


# -- the result ------------------------------------------------------------------------------------


@dataclass(slots=True)
class Attempt:
    """One attempt of one task: what was sent, and how it ended (at virtual seconds from start)."""

    parameters: Any
    status: str = "RUNNING"
    output: Any = None
    error: str | None = None
    cause: str | None = None
    started: float = 0.0
    ended: float | None = None


@dataclass(slots=True)
class TaskRun:
    """A task's state: its input, output and attempts."""

    name: str
    input: Any = None
    output: Any = None
    attempts: list[Attempt] = field(default_factory=list)

    @property
    def status(self) -> str:
        return self.attempts[-1].status if self.attempts else "NOT RUN"


@dataclass(frozen=True, slots=True)
class Alert:
    subject: str
    body: str
    attributes: Mapping[str, Any]


def _loads(text: Any) -> Any:
    if isinstance(text, str):
        try:
            return json.loads(text)
        except ValueError:
            return text
    return text


def _moment(value: Any) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


def _seconds(event: Mapping[str, Any], start: Any) -> float:
    """Seconds from the execution's first event to ``event`` (virtual time in a virtual run)."""
    try:
        return (_moment(event.get("timestamp")) - _moment(start)).total_seconds()
    except (TypeError, ValueError):
        return 0.0


class WorkflowRun:
    """What a test asks of one execution; prints as its timeline."""

    def __init__(self, *, status: str, output: Any, error: str | None, cause: str | None,
                 history: list[dict[str, Any]], task_names: Sequence[str], alerts: list[Alert],
                 name: str, execution_arn: str) -> None:
        self.status, self.output, self.error, self.cause = status, output, error, cause
        self.history, self.alerts = history, alerts
        self.name, self.execution_arn = name, execution_arn
        self.tasks: dict[str, TaskRun] = {t: TaskRun(t) for t in task_names}
        self.ran: list[str] = []  # in the order each first started
        self._read(history)

    def _read(self, history: list[dict[str, Any]]) -> None:
        by_id = {e["id"]: e for e in history}
        names: dict[int, str | None] = {}

        def state_of(event: Mapping[str, Any]) -> str | None:
            # Task events follow their state's entry through previousEventId (retries too).
            chain, found = [], None
            current: Mapping[str, Any] | None = event
            while current is not None:
                if current["id"] in names:
                    found = names[current["id"]]
                    break
                chain.append(current["id"])
                if current["type"].endswith("StateEntered"):
                    found = current.get("stateEnteredEventDetails", {}).get("name")
                    break
                current = by_id.get(current.get("previousEventId", 0))
            for i in chain:
                names[i] = found
            return found

        start = history[0].get("timestamp") if history else None
        for event in history:
            kind = event["type"]
            name = state_of(event)
            task = self.tasks.get(name) if name is not None else None
            if task is None:
                continue
            at = _seconds(event, start)
            if kind == "TaskStateEntered":
                task.input = _loads(event.get("stateEnteredEventDetails", {}).get("input"))
            elif kind == "TaskScheduled":
                details = event.get("taskScheduledEventDetails", {})
                task.attempts.append(Attempt(parameters=_loads(details.get("parameters")), started=at))
                if task.name not in self.ran:
                    self.ran.append(task.name)
            elif kind == "TaskSucceeded" and task.attempts:
                attempt = task.attempts[-1]
                attempt.status, attempt.ended = "SUCCEEDED", at
                attempt.output = _loads(event.get("taskSucceededEventDetails", {}).get("output"))
            elif kind in ("TaskFailed", "TaskTimedOut") and task.attempts:
                details = event.get("taskFailedEventDetails") or event.get("taskTimedOutEventDetails") or {}
                attempt = task.attempts[-1]
                attempt.status = "FAILED" if kind == "TaskFailed" else "TIMED_OUT"
                attempt.ended, attempt.error, attempt.cause = at, details.get("error"), details.get("cause")
            elif kind == "TaskStateExited":
                task.output = _loads(event.get("stateExitedEventDetails", {}).get("output"))

    @property
    def alert(self) -> Alert | None:
        """The one failure (or TIMED_OUT/ABORTED) alert the execution sent, if any."""
        failing = [a for a in self.alerts if a.attributes.get("event", {}).get("StringValue")
                   not in ("success", "recovery")]
        return failing[-1] if failing else None

    def task(self, name: str) -> TaskRun:
        if name not in self.tasks:
            raise KeyError(f"{name!r} is not a task of this workflow (tasks: {', '.join(self.tasks)})")
        return self.tasks[name]

    def attempts(self, name: str) -> int:
        return len(self.task(name).attempts)

    def timeline(self) -> str:
        """One line per task: status, attempts and when each ran (virtual seconds)."""
        width = max((len(n) for n in self.tasks), default=4)
        lines = [f"execution {self.name}: {self.status}" + (f" ({self.error})" if self.error else "")]
        for name, task in self.tasks.items():
            spans = ", ".join(f"{a.status.lower()} {a.started:g}s-" + ("" if a.ended is None else f"{a.ended:g}s")
                              for a in task.attempts)
            lines.append(f"  {name:<{width}}  {task.status:<9}  {spans or '-'}")
        if self.alert is not None:
            lines.append(f"  alert: {self.alert.subject}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return "<WorkflowRun\n" + self.timeline() + "\n>"

    # Assertions whose failure shows the timeline.
    def assert_succeeded(self) -> None:
        if self.status != "SUCCEEDED":
            raise AssertionError(f"expected SUCCEEDED, the run ended {self.status}\n{self.timeline()}")

    def assert_order(self, *names: str) -> None:
        """Each of ``names`` ran, each starting after the one before had finished."""
        for before, after in zip(names, names[1:], strict=False):
            a, b = self.task(before), self.task(after)
            if not a.attempts or not b.attempts or a.attempts[-1].ended is None \
                    or b.attempts[0].started < a.attempts[-1].ended:
                raise AssertionError(f"expected {before} to finish before {after} started\n{self.timeline()}")


def _task_names(wf: model.Workflow) -> list[str]:
    return [t.name for t in wf.tasks]


def run_with_mocks(workflow: Any, input: Any = None, *, mocks: Mapping[str, Mock | None] | None = None,
                   mock_config: Any = None, test_case: str | None = None,
                   home: str | os.PathLike[str] | None = None, virtual_time: bool = True) -> WorkflowRun:
    """Run ``workflow`` (a builder, a model, or a file) here, in virtual time, with ``mocks``.

    The execution is stored under ``home`` (a new temporary directory when not given).
    """
    from orchestrator.local.runs import _load, compile_plan, run_plan, select_test_case
    from orchestrator.local.store import Store

    wf = _load(workflow)
    given = {k: v for k, v in (mocks or {}).items() if v is not None}
    unknown = sorted(set(given) - set(_task_names(wf)))
    if unknown:
        raise MockError(f"mocks name {', '.join(map(repr, unknown))}, which workflow {wf.name!r} does not have "
                        f"(tasks: {', '.join(_task_names(wf))}); correct the task name.")
    for name, mock in given.items():
        if not isinstance(mock, Mock):
            raise MockError(f"the mock of {name!r} is {type(mock).__name__}, not a mock; use returns(...) or "
                            "fails(...) from orchestrator.testing.")
    if given and mock_config is not None:
        raise MockError("give Python mocks or a mock config, not both")
    root = Path(home) if home is not None else Path(tempfile.mkdtemp(prefix="orchestrator-test-"))
    plan = compile_plan(wf, os.getcwd())
    store = Store(root)
    case: Any = select_test_case(mock_config, test_case, plan) if mock_config is not None else None
    if given:
        case = PythonMocks(given, store.logs_dir)
    result = run_plan(plan, {} if input is None else input, home=root, mock=case, virtual_time=virtual_time,
                      notice=lambda text: None)
    alerts = [Alert(m["subject"] or "", m["message"] or "", _loads(m.get("attributes")) or {})
              for m in store.messages(result.execution_arn)]
    return WorkflowRun(status=result.status, output=result.output, error=result.error, cause=result.cause,
                       history=result.history, task_names=_task_names(wf), alerts=alerts, name=result.name,
                       execution_arn=result.execution_arn)
