"""The Task state: resolve the integration, call it with timeouts and heartbeats, record events.

Optimized and SDK integrations record ``TaskScheduled/Started/Succeeded|Failed|TimedOut``; a
Lambda function ARN as ``Resource`` is the legacy direct invoke and records ``LambdaFunction*``
events; an activity ARN records ``Activity*`` events. With no integration configured the call
fails the way AWS fails without IAM permissions.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from typing import Any

from orchestrator import arns
from orchestrator.arns import IntegrationPattern
from orchestrator.engine import dataflow
from orchestrator.engine.clock import BoundClock, Clock, run_on_worker
from orchestrator.engine.dataflow import QUERY_ERROR, RUNTIME, dumps
from orchestrator.engine.errors import StatesError
from orchestrator.engine.integrations import (
    ACTIVITY_MISSING,
    DEFAULT_ROLE_ARN,
    ParsedResource,
    TaskCall,
    TaskFailure,
    access_denied,
    parse_resource,
    request_target,
)
from orchestrator.engine.runtime import Cancelled
from orchestrator.engine.states import Outcome, StateRun, checked_output, with_retries
from orchestrator.limits import DEFAULT_TASK_TIMEOUT_SECONDS


def _seconds(run: StateRun, field: str) -> float | None:
    state = run.state
    if field in state:
        value = state[field]
        if run.jsonata and dataflow.is_jsonata_expr(value):
            value = dataflow.jsonata(value, run.bindings(), field)
        if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
            error = QUERY_ERROR if run.jsonata else RUNTIME
            raise StatesError(error, f"The {field} field must be a positive integer: {dumps(value)}")
        return float(value)
    path_field = field + "Path"
    if path_field in state:
        value = dataflow.output_path(state[path_field], run.input, context=run.context(),
                                     variables=run.scope.variables)
        if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
            raise StatesError(RUNTIME, f"The {path_field} field refers to value \"{dumps(value)}\" which is "
                                       f"not a valid positive integer: {state[path_field]}")
        return float(value)
    return None


def _resource_type(parsed: ParsedResource) -> tuple[str, str]:
    """``resourceType`` / ``resource`` as TaskScheduled reports them: ("lambda", "invoke")."""
    return parsed.service, parsed.action + parsed.pattern.suffix(parsed.sync_version)


def run_task(run: StateRun) -> Outcome:
    state = run.state
    resource = state["Resource"]
    if run.jsonata and dataflow.is_jsonata_expr(resource):
        resource = dataflow.jsonata(resource, run.bindings(), "Resource")
    parsed = parse_resource(resource)
    timeout = _seconds(run, "TimeoutSeconds")
    heartbeat = _seconds(run, "HeartbeatSeconds")
    effective = None if run.jsonata else run.effective_input()

    def attempt(n: int) -> Outcome:
        # Each attempt gets its own task token, and its parameters are evaluated afresh so
        # $$.State.RetryCount and $$.Task.Token are current.
        waits = parsed.pattern is IntegrationPattern.WAIT_FOR_TASK_TOKEN
        run.task_token = str(uuid.uuid4()) if waits else None
        if run.jsonata:
            arguments = state.get("Arguments", run.input)
            parameters = dataflow.jsonata_template(arguments, run.bindings(), "Arguments")
        else:
            parameters = run.payload(state["Parameters"], effective) if "Parameters" in state else effective
        result = _call(run, parsed, parameters, timeout, heartbeat, n)
        return run.finish(result)

    return with_retries(run, attempt)


def _call(run: StateRun, parsed: ParsedResource, parameters: Any, timeout: float | None,
          heartbeat: float | None, attempt: int) -> Any:
    rt = run.rt
    service, action = _resource_type(parsed)
    token = run.task_token
    if parsed.activity and not rt.integrations.get("activity"):
        # With no worker configured the activity does not exist here; AWS fails such a task
        # before scheduling it.
        raise StatesError(RUNTIME, ACTIVITY_MISSING.format(resource=parsed.resource))
    if parsed.direct_lambda:
        kind = "LambdaFunction"
        run.event("LambdaFunctionScheduled", {
            "resource": parsed.resource, "input": dumps(parameters), "inputDetails": {"truncated": False},
            "timeoutInSeconds": int(timeout) if timeout is not None else None})
        run.event("LambdaFunctionStarted")
    elif parsed.activity:
        kind = "Activity"
        run.event("ActivityScheduled", {
            "resource": parsed.resource, "input": dumps(parameters), "inputDetails": {"truncated": False},
            "timeoutInSeconds": int(timeout) if timeout is not None else None,
            "heartbeatInSeconds": int(heartbeat) if heartbeat is not None else None})
        run.event("ActivityStarted", {"workerName": "orchestrator-local"})
    else:
        kind = "Task"
        run.event("TaskScheduled", {
            "resourceType": service, "resource": action, "region": arns.REGION,
            "parameters": dumps(parameters),
            "timeoutInSeconds": int(timeout) if timeout is not None else None,
            "heartbeatInSeconds": int(heartbeat) if heartbeat is not None else None})
        run.event("TaskStarted", {"resourceType": service, "resource": action})
    base = {} if kind != "Task" else {"resourceType": service, "resource": action}

    def record_submitted(response: Any) -> None:
        if kind == "Task":
            run.event("TaskSubmitted", {**base, "output": dumps(response), "outputDetails": {"truncated": False}})

    try:
        result = _invoke(run, parsed, parameters, timeout, heartbeat, attempt, token, record_submitted)
    except StatesError as e:
        timed_out = e.error in ("States.Timeout", "States.HeartbeatTimeout")
        run.event(f"{kind}TimedOut" if timed_out else f"{kind}Failed",
                  {**base, "error": e.error, "cause": e.cause})
        raise
    finally:
        if token is not None:
            rt.tokens.pop(token, None)
    if parsed.direct_lambda and isinstance(result, dict) and "Payload" in result:
        result = result["Payload"]
    try:
        # AWS names the task's resource here, not the state, and States.ALL catches it.
        output = checked_output(result, parsed.resource)
    except StatesError as error:
        run.event(f"{kind}Failed", {**base, "error": error.error, "cause": error.cause})
        raise
    run.event(f"{kind}Succeeded", {**base, "output": output, "outputDetails": {"truncated": False}})
    return result


class _TaskWait:
    """What a Task state's thread waits for while its integration runs: the integration's result,
    the task token's answer (``.waitForTaskToken``), heartbeats and ``.sync`` submit responses.

    Reported from other threads (the worker, ``SendTask*`` callers); each report sets ``wake`` so
    the waiting thread looks again. Without a timeout, heartbeat or token nothing is timed, and
    the integration runs on the state's own thread (``inline``): submit responses are then
    recorded as they come.
    """

    __slots__ = ("answered", "clock", "failure", "finished", "inline", "last_beat", "lock", "pending",
                 "record_submitted", "result", "result_recorded", "success", "wake", "worker_done")

    def __init__(self, clock: Clock, *, inline: bool, record_submitted: Callable[[Any], None]) -> None:
        self.clock = clock
        self.inline = inline
        self.record_submitted = record_submitted
        self.wake = clock.event()
        self.last_beat = clock.elapsed()
        self.finished = False  # the integration returned; ``result`` holds what it returned
        self.result: Any = None
        self.result_recorded = False  # a token task's integration result was recorded as TaskSubmitted
        self.answered = False  # SendTaskSuccess or SendTaskFailure arrived
        self.success: Any = None
        self.failure: tuple[str, str | None] | None = None
        self.pending: list[Any] = []  # submit responses from the worker, recorded by the state's thread
        self.lock = threading.Lock()
        self.worker_done = False  # guarded by ``lock``: the worker can no longer be detached

    def submitted(self, response: Any) -> None:
        if self.inline:
            self.record_submitted(response)
        else:
            self.pending.append(response)
            self.wake.set()

    def heartbeat(self) -> None:
        self.last_beat = self.clock.elapsed()

    def on_token(self, kind: str, value: Any) -> None:
        """``rt.tokens``' callback: ``("success", output)``, ``("failure", (error, cause))`` or a heartbeat."""
        if kind == "heartbeat":
            self.heartbeat()
            return
        if kind == "failure":
            self.failure = value
        else:
            self.success = value
        self.answered = True
        self.wake.set()

    def finish(self, result: Any) -> None:
        self.result, self.finished = result, True

    def release(self) -> None:
        """The worker's last word (its ``finally``), before the clock stops counting it."""
        self.wake.set()
        with self.lock:
            self.worker_done = True

    def record_pending(self, token: str | None) -> None:
        while self.pending:
            self.record_submitted(self.pending.pop(0))
        if token is not None and self.finished and not isinstance(self.result, _Failed) \
                and not self.result_recorded:
            self.result_recorded = True
            self.record_submitted(self.result)

    def done(self, token: str | None) -> bool:
        return self.finished and (token is None or self.answered or isinstance(self.result, _Failed))

    def outcome(self, token: str | None) -> Any:
        if isinstance(self.result, _Failed) or token is None:
            return _unwrap(self.result)
        if self.failure is not None:
            error, cause = self.failure
            raise StatesError(error, cause)
        return self.success


def _invoke(run: StateRun, parsed: ParsedResource, parameters: Any, timeout: float | None,
            heartbeat: float | None, attempt: int, token: str | None,
            record_submitted: Callable[[Any], None]) -> Any:
    rt = run.rt
    scope = run.scope
    # An activity needs its worker ("activity"); "*" stands in for service integrations only.
    integration = rt.integrations.get(parsed.key) or (None if parsed.activity else rt.integrations.get("*"))
    if integration is None:
        target = parsed.resource if parsed.direct_lambda or parsed.activity else request_target(parameters)
        denied = access_denied(parsed, target, rt.role_arn or DEFAULT_ROLE_ARN)
        raise StatesError(denied.error, denied.cause)
    if parsed.direct_lambda:
        parameters = {"FunctionName": parsed.resource, "Payload": parameters}
    clock = rt.clock
    cancel = clock.event()
    wait = _TaskWait(clock, inline=timeout is None and heartbeat is None and token is None,
                     record_submitted=record_submitted)
    if token is not None:
        rt.tokens[token] = wait.on_token
    call = TaskCall(
        resource=parsed.resource, service=parsed.service, action=parsed.action, pattern=parsed.pattern,
        sync_version=parsed.sync_version, parameters=parameters, state_name=run.name,
        execution_arn=rt.execution_arn, context=run.context(), timeout_seconds=timeout,
        heartbeat_seconds=heartbeat, attempt=attempt, cancel=cancel, clock=BoundClock(clock, cancel),
        task_token=token, heartbeat=wait.heartbeat, submitted=wait.submitted)
    scope.watch(cancel)
    scope.watch(wait.wake)
    started = False
    worker: int | None = None  # the worker's thread id, where the clock counts it
    try:
        if wait.inline:
            # Nothing to time: run the integration on this thread. One that ignores
            # ``call.cancel`` keeps its branch, and so an enclosing Parallel or Map, waiting until
            # it returns (real and virtual time alike); StopExecution still ends the execution.
            return _unwrap(_run_integration(integration, call))

        # Timed: the integration runs on a worker (a live thread of the virtual clock) while this
        # thread waits for its result, the task token, a heartbeat or the deadline. An
        # integration should return soon after ``call.cancel`` is set; one that does not is
        # detached from the clock when this thread stops waiting for it (see ``finally``), so it
        # cannot hold virtual time still for the rest of the execution.
        def work() -> None:
            try:
                wait.finish(_run_integration(integration, call))
            finally:
                wait.release()

        worker = run_on_worker(clock, work, name=f"task-{run.name}")
        started = True
        deadline = clock.elapsed() + (timeout if timeout is not None else DEFAULT_TASK_TIMEOUT_SECONDS)
        while True:
            if scope.cancelled:
                cancel.set()
                raise Cancelled()
            wait.wake.clear()  # cleared before checking, so a later set() ends the wait below at once
            wait.record_pending(token)
            if wait.done(token):
                break
            now = clock.elapsed()
            limit = deadline - now
            if heartbeat is not None:
                limit = min(limit, wait.last_beat + heartbeat - now)
            if limit <= 0:
                cancel.set()
                if now >= deadline:
                    # AWS reports an empty cause: a Catch sees {"Error": "States.Timeout", "Cause": ""}.
                    raise StatesError("States.Timeout", "")
                raise StatesError("States.HeartbeatTimeout", "")
            clock.wait(wait.wake, limit)
        return wait.outcome(token)
    finally:
        scope.unwatch(cancel)
        scope.unwatch(wait.wake)
        if started:
            with wait.lock:
                if not wait.worker_done:  # abandoned (timeout, failed sibling, stop) and still running
                    cancel.set()
                    if worker is not None:
                        clock.detach(worker)


class _Failed:
    __slots__ = ("error", "cause", "exc")

    def __init__(self, error: str, cause: str | None, exc: BaseException | None = None) -> None:
        self.error, self.cause, self.exc = error, cause, exc


def _run_integration(integration: Any, call: TaskCall) -> Any:
    try:
        return integration(call)
    except TaskFailure as e:
        return _Failed(e.error, e.cause)
    except StatesError as e:
        return _Failed(e.error, e.cause)
    except Exception as e:  # an integration's own bug: surface it, don't disguise it
        return _Failed("", None, e)


def _unwrap(value: Any) -> Any:
    if isinstance(value, _Failed):
        if value.exc is not None:
            raise value.exc
        raise StatesError(value.error, value.cause)
    return value

