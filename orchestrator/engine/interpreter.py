"""Executions: ``start`` a definition, ``wait`` for its result, ``stop`` it.

An execution runs on two threads: a supervisor that enforces the execution's ``TimeoutSeconds``
and records the terminal event, and a runner that walks the states. The supervisor is the only
writer of the terminal event, so a stop, a timeout and the runner finishing can race safely.

>>> run = execute({"StartAt": "A", "States": {"A": {"Type": "Pass", "Result": 1, "End": True}}})
>>> run.status, run.output
('SUCCEEDED', 1)
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any

from orchestrator import arns
from orchestrator.engine import concurrency, states, task
from orchestrator.engine.clock import Clock, RealClock, VirtualClock, start_thread
from orchestrator.engine.dataflow import dumps
from orchestrator.engine.errors import StatesError
from orchestrator.engine.history import History
from orchestrator.engine.integrations import DEFAULT_ROLE_ARN, Integration
from orchestrator.engine.runtime import Cancelled, Runtime, Scope
from orchestrator.engine.state_types import StateType
from orchestrator.engine.states import JSONPATH, Handler, run_machine
from orchestrator.engine.validate import validate_definition

DEFAULT_STATE_MACHINE_NAME = "LocalStateMachine"

# The state-type table: the one place each state type gets its handler (a test checks that
# every StateType has one).
HANDLERS: Mapping[str, Handler] = MappingProxyType({
    StateType.PASS: states.run_pass,
    StateType.TASK: task.run_task,
    StateType.CHOICE: states.run_choice,
    StateType.WAIT: states.run_wait,
    StateType.SUCCEED: states.run_succeed,
    StateType.FAIL: states.run_fail,
    StateType.PARALLEL: concurrency.run_parallel,
    StateType.MAP: concurrency.run_map,
})


@dataclass(frozen=True, slots=True, kw_only=True)
class ExecutionResult:
    """The terminal state of an execution, like DescribeExecution plus GetExecutionHistory."""

    status: str
    output: Any = None
    error: str | None = None
    cause: str | None = None
    history: list[dict[str, Any]] = field(default_factory=list)
    execution_arn: str = ""
    start_time: datetime | None = None
    stop_time: datetime | None = None


class Execution:
    """A running execution: ``wait()`` for it, ``stop()`` it, or answer its task tokens."""

    def __init__(self, runtime: Runtime, timeout_seconds: float | None, definition: Mapping[str, Any]) -> None:
        self._rt = runtime
        self._timeout = timeout_seconds
        self._definition = definition
        self._root = Scope(variables={}, previous=0, cancel=runtime.clock.event())
        self._done = runtime.clock.event()
        self._final_lock = threading.Lock()
        self._result: ExecutionResult | None = None
        self._finished = threading.Event()
        self._internal: BaseException | None = None
        self._runner_outcome: tuple[str, Any, str | None, str | None] | None = None

    @property
    def execution_arn(self) -> str:
        return self._rt.execution_arn

    @property
    def history(self) -> list[dict[str, Any]]:
        return list(self._rt.history.events)

    def _begin(self) -> None:
        rt = self._rt
        # The first state's Entered event has previousEventId 0 on AWS, not ExecutionStarted's id.
        rt.history.add("ExecutionStarted", 0, {
            "input": dumps(rt.input), "inputDetails": {"truncated": False}, "roleArn": rt.role_arn},
            at=rt.start_time)
        start_thread(rt.clock, self._supervise, name="execution")

    def _supervise(self) -> None:
        clock = self._rt.clock
        start_thread(clock, self._run, name="execution-runner")
        finished = clock.wait(self._done, self._timeout)
        if not finished:
            self._finish("TIMED_OUT", None, "States.Timeout", None)

    def _run(self) -> None:
        rt = self._rt
        ql = self._definition.get("QueryLanguage", JSONPATH)
        try:
            output = run_machine(rt, self._definition, rt.input, self._root, ql)
            self._finish("SUCCEEDED", output, None, None)
        except Cancelled:
            pass
        except StatesError as e:
            self._finish("FAILED", None, e.error, e.cause)
        except BaseException as e:  # an engine or integration bug: re-raised by wait()
            self._internal = e
            self._finish("FAILED", None, "States.Runtime", f"Internal error in the local engine: {e!r}")
        finally:
            self._done.set()

    def _finish(self, status: str, output: Any, error: str | None, cause: str | None) -> None:
        rt = self._rt
        with self._final_lock:
            if self._result is not None:
                return
            details: dict[str, Any]
            if status == "SUCCEEDED":
                event = "ExecutionSucceeded"
                details = {"output": dumps(output), "outputDetails": {"truncated": False}}
            else:
                event = {"FAILED": "ExecutionFailed", "TIMED_OUT": "ExecutionTimedOut",
                         "ABORTED": "ExecutionAborted"}[status]
                # AWS leaves an empty cause out of the terminal event (a task timeout's cause is "").
                cause = cause or None
                details = {"error": error, "cause": cause}
            previous = self._root.previous if status == "SUCCEEDED" else rt.history_last()
            rt.history.add(event, previous, details, final=True)
            self._result = ExecutionResult(
                status=status, output=output, error=error, cause=cause, history=list(rt.history.events),
                execution_arn=rt.execution_arn, start_time=rt.start_time, stop_time=rt.clock.now())
        with _LIVE_LOCK:
            _LIVE.pop(rt.execution_arn, None)
        if status != "SUCCEEDED":
            self._root.abandon()
        self._done.set()
        self._finished.set()

    def stop(self, error: str | None = None, cause: str | None = None) -> None:
        """StopExecution: the execution ends ABORTED and its running tasks are cancelled."""
        self._finish("ABORTED", None, error, cause)

    def wait(self, timeout: float | None = None) -> ExecutionResult:
        """Block (in real time) until the execution ends; ``TimeoutError`` if it does not."""
        if not self._finished.wait(timeout):
            raise TimeoutError(f"execution {self.execution_arn} still running after {timeout} s")
        if self._internal is not None:
            raise self._internal
        assert self._result is not None
        return self._result

    # -- callbacks for .waitForTaskToken tasks --
    def send_task_success(self, token: str, output: Any) -> None:
        _token_callback(self._rt, token)("success", output)

    def send_task_failure(self, token: str, error: str | None = None, cause: str | None = None) -> None:
        _token_callback(self._rt, token)("failure", (error or "", cause))

    def send_task_heartbeat(self, token: str) -> None:
        _token_callback(self._rt, token)("heartbeat", None)


def _token_callback(rt: Runtime, token: str) -> Callable[[str, Any], None]:
    callback = rt.tokens.get(token)
    if callback is None:
        raise StatesError("States.InvalidToken", f"Invalid token: {token}")
    return callback


_LIVE: dict[str, Execution] = {}
_LIVE_LOCK = threading.Lock()


def send_task_success(token: str, output: Any) -> None:
    """Complete a ``.waitForTaskToken`` task of any live execution (SendTaskSuccess)."""
    _find_token(token).send_task_success(token, output)


def send_task_failure(token: str, error: str | None = None, cause: str | None = None) -> None:
    _find_token(token).send_task_failure(token, error, cause)


def send_task_heartbeat(token: str) -> None:
    _find_token(token).send_task_heartbeat(token)


def _find_token(token: str) -> Execution:
    with _LIVE_LOCK:
        for execution in _LIVE.values():
            if token in execution._rt.tokens:
                return execution
    raise StatesError("States.InvalidToken", f"Invalid token: {token}")


def _load(definition: Mapping[str, Any] | str) -> dict[str, Any]:
    # Parse text, or take a private, JSON-clean copy of a mapping.
    loaded = json.loads(definition if isinstance(definition, str) else json.dumps(definition))
    if not isinstance(loaded, dict):
        raise TypeError("a state machine definition is a JSON object")
    return loaded


def start(definition: Mapping[str, Any] | str, input: Any = None, *, virtual_time: bool = False,
          integrations: Mapping[str, Integration] | None = None,
          on_event: Callable[[Mapping[str, Any]], None] | None = None, execution_name: str | None = None,
          state_machine_arn: str | None = None, start_time: datetime | None = None,
          role_arn: str | None = None, express: bool = False,
          on_child_event: Callable[[str, Mapping[str, Any]], None] | None = None,
          wait_time_scale: float = 1.0) -> Execution:
    """Validate ``definition`` and start running it; returns at once with an ``Execution``.

    ``input`` is a JSON value, already parsed (``None`` means ``{}``, as StartExecution without
    input; ``"x"`` is the JSON string ``"x"``). ``definition`` may be JSON text or a mapping.
    ``express=True`` runs it as an EXPRESS workflow: an ``:express:`` execution ARN and no
    ``RedriveCount`` in the context object, as AWS reports them.

    ``on_event(event)`` sees this execution's own events, exactly its GetExecutionHistory, in id
    order. A distributed Map runs each item as a child execution with its own ARN and history
    (the parent records only ``MapRunStarted``/``MapRunSucceeded|Failed``, as on AWS); those
    events go to ``on_child_event(child_execution_arn, event)``, each child numbered from 1.
    ``wait_time_scale`` multiplies Wait states and retry intervals (Step Functions Local's
    ``WAIT_TIME_SCALE``; 0 waits not at all).
    """
    if wait_time_scale < 0:
        raise ValueError(f"wait_time_scale must be 0 or more, got {wait_time_scale}")
    machine = _load(definition)
    validate_definition(machine)
    # A private, JSON-clean copy; a str is a JSON string value, not JSON text to parse.
    value = json.loads(json.dumps({} if input is None else input))
    clock: Clock = VirtualClock(start_time) if virtual_time else RealClock(start_time)
    sm_arn = state_machine_arn or arns.state_machine(DEFAULT_STATE_MACHINE_NAME)
    sm_name = sm_arn.rsplit(":", 1)[-1]
    name = execution_name or str(uuid.uuid4())
    exec_arn = arns.express_execution(sm_arn, name, str(uuid.uuid4())) if express else arns.execution(sm_arn, name)
    rt = Runtime(clock=clock, history=History(clock.now, on_event), integrations=dict(integrations or {}),
                 handlers=HANDLERS,
                 execution_arn=exec_arn, execution_name=name, state_machine_arn=sm_arn,
                 state_machine_name=sm_name, role_arn=role_arn or DEFAULT_ROLE_ARN,
                 start_time=clock.now(), input=value, express=express, on_child_event=on_child_event,
                 wait_time_scale=wait_time_scale)
    timeout = machine.get("TimeoutSeconds")
    execution = Execution(rt, float(timeout) if timeout is not None else None, machine)
    with _LIVE_LOCK:
        _LIVE[exec_arn] = execution
    execution._begin()
    return execution


def execute(definition: Mapping[str, Any] | str, input: Any = None, *, virtual_time: bool = False,
            integrations: Mapping[str, Integration] | None = None,
            on_event: Callable[[Mapping[str, Any]], None] | None = None, execution_name: str | None = None,
            state_machine_arn: str | None = None, start_time: datetime | None = None,
            role_arn: str | None = None, express: bool = False,
            on_child_event: Callable[[str, Mapping[str, Any]], None] | None = None,
            wait_time_scale: float = 1.0) -> ExecutionResult:
    """Run ``definition`` to the end and return its result (``start`` + ``wait``)."""
    execution = start(definition, input, virtual_time=virtual_time, integrations=integrations,
                      on_event=on_event, execution_name=execution_name,
                      state_machine_arn=state_machine_arn, start_time=start_time, role_arn=role_arn,
                      express=express, on_child_event=on_child_event, wait_time_scale=wait_time_scale)
    return execution.wait()
