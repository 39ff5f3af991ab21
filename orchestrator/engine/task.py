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
from orchestrator.engine import dataflow
from orchestrator.engine.clock import BoundClock
from orchestrator.engine.dataflow import QUERY_ERROR, RUNTIME, dumps
from orchestrator.engine.errors import StatesError
from orchestrator.engine.integrations import (
    ACTIVITY_MISSING,
    DEFAULT_ROLE_ARN,
    IntegrationPattern,
    ParsedResource,
    TaskCall,
    TaskFailure,
    access_denied,
    parse_resource,
    request_target,
)
from orchestrator.engine.runtime import Cancelled
from orchestrator.engine.states import HANDLERS, Outcome, StateRun, with_retries
from orchestrator.limits import DEFAULT_TASK_TIMEOUT_SECONDS, MAX_PAYLOAD_BYTES


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
    suffix = {IntegrationPattern.SYNC: ".sync", IntegrationPattern.WAIT_FOR_TASK_TOKEN: ".waitForTaskToken"}
    action = parsed.action + suffix.get(parsed.pattern, "")
    if parsed.sync_version is not None:
        action += f":{parsed.sync_version}"
    return parsed.service, action


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
    if len(dumps(result).encode()) > MAX_PAYLOAD_BYTES:
        # AWS names the task's resource here, not the state, and States.ALL catches it.
        error = StatesError("States.DataLimitExceeded",
                            f"The state/task '{parsed.resource}' returned a result with a size exceeding "
                            "the maximum number of bytes service limit.")
        run.event(f"{kind}Failed", {**base, "error": error.error, "cause": error.cause})
        raise error
    run.event(f"{kind}Succeeded", {**base, "output": dumps(result), "outputDetails": {"truncated": False}})
    return result


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
    wake = clock.event()
    beat = [clock.elapsed()]
    box: dict[str, Any] = {}
    token_box: dict[str, Any] = {}
    # Submit responses reported from a worker thread wait here for the state's thread to record.
    pending: list[Any] = []
    inline = timeout is None and heartbeat is None and token is None

    def on_submitted(response: Any) -> None:
        if inline:
            record_submitted(response)
        else:
            pending.append(response)
            wake.set()

    def on_heartbeat() -> None:
        beat[0] = clock.elapsed()

    def on_token(kind: str, value: Any) -> None:
        if kind == "heartbeat":
            on_heartbeat()
            return
        token_box[kind] = value
        wake.set()

    if token is not None:
        rt.tokens[token] = on_token
    call = TaskCall(
        resource=parsed.resource, service=parsed.service, action=parsed.action, pattern=parsed.pattern,
        sync_version=parsed.sync_version, parameters=parameters, state_name=run.name,
        execution_arn=rt.execution_arn, context=run.context(), timeout_seconds=timeout,
        heartbeat_seconds=heartbeat, attempt=attempt, cancel=cancel, clock=BoundClock(clock, cancel),
        task_token=token, heartbeat=on_heartbeat, submitted=on_submitted)
    scope.watch(cancel)
    scope.watch(wake)
    worker: threading.Thread | None = None
    worker_lock = threading.Lock()
    worker_done = [False]
    try:
        if inline:
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
                box["result"] = _run_integration(integration, call)
            finally:
                wake.set()
                with worker_lock:
                    worker_done[0] = True
                clock.thread_finished()

        clock.thread_started()
        worker = threading.Thread(target=work, name=f"task-{run.name}", daemon=True)
        worker.start()
        deadline = clock.elapsed() + (timeout if timeout is not None else DEFAULT_TASK_TIMEOUT_SECONDS)
        while True:
            if scope.cancelled:
                cancel.set()
                raise Cancelled()
            wake.clear()  # cleared before checking, so a later set() ends the wait below at once
            while pending:
                record_submitted(pending.pop(0))
            if token is not None and "result" in box and not isinstance(box["result"], _Failed) \
                    and "submitted" not in box:
                box["submitted"] = True
                record_submitted(box["result"])
            if "result" in box and (token is None or token_box or isinstance(box["result"], _Failed)):
                break
            now = clock.elapsed()
            limit = deadline - now
            if heartbeat is not None:
                limit = min(limit, beat[0] + heartbeat - now)
            if limit <= 0:
                cancel.set()
                if now >= deadline:
                    # AWS reports an empty cause: a Catch sees {"Error": "States.Timeout", "Cause": ""}.
                    raise StatesError("States.Timeout", "")
                raise StatesError("States.HeartbeatTimeout", "")
            clock.wait(wake, limit)
        outcome = box["result"]
        if isinstance(outcome, _Failed) or token is None:
            return _unwrap(outcome)
        if "failure" in token_box:
            error, cause = token_box["failure"]
            raise StatesError(error, cause)
        return token_box.get("success")
    finally:
        scope.unwatch(cancel)
        scope.unwatch(wake)
        if worker is not None and worker.ident is not None:
            with worker_lock:
                if not worker_done[0]:  # abandoned (timeout, failed sibling, stop) and still running
                    cancel.set()
                    clock.detach(worker.ident)


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


HANDLERS["Task"] = run_task
