"""Running a state machine: the state loop, the common enter/exit/catch steps, and the simple
state types (Pass, Choice, Wait, Succeed, Fail). Task, Parallel and Map live in their own modules.

The loop walks one ``States`` map from ``StartAt`` until a terminal state. A state's handler
returns an ``Outcome``; failures are ``StatesError``s, which Catch may turn into an outcome.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from orchestrator.engine import choice, dataflow, intrinsics, retry
from orchestrator.engine.dataflow import QUERY_ERROR, RUNTIME, dumps
from orchestrator.engine.errors import StatesError
from orchestrator.engine.runtime import Cancelled, Runtime, Scope, iso_time
from orchestrator.engine.state_types import CATCHING
from orchestrator.engine.values import json_type
from orchestrator.limits import MAX_HISTORY_EVENTS, MAX_PAYLOAD_BYTES, MAX_WAIT_SECONDS

JSONPATH = "JSONPath"
JSONATA = "JSONata"



class FailStateError(StatesError):
    """Raised by a Fail state: its error and cause are the user's, never prefixed."""


class ReportedError(StatesError):
    """A failure whose EvaluationFailed event the handler has already recorded."""


@dataclass(slots=True)
class Outcome:
    output: Any
    next: str | None
    assigned: dict[str, Any] | None = None
    # ``output`` as JSON text, once ``run_state`` has recorded it (the next state's input text).
    text: str | None = None


@dataclass(slots=True)
class StateRun:
    """One entry into one state: what every handler needs."""

    rt: Runtime
    name: str
    state: Mapping[str, Any]
    query_language: str
    input: Any
    scope: Scope
    entered_id: int
    entered_at: datetime
    retry_count: int = 0
    map_item: dict[str, Any] | None = None
    task_token: str | None = None
    # ``entered_at`` as the context object writes it, made on first use (a state's fields ask
    # for the context several times).
    entered_text: str | None = None

    @property
    def jsonata(self) -> bool:
        return self.query_language == JSONATA

    def context(self) -> dict[str, Any]:
        extra: dict[str, Any] = {}
        if self.map_item is not None:
            extra["Map"] = {"Item": self.map_item}
        if self.task_token is not None:
            extra["Task"] = {"Token": self.task_token}
        # AWS reports State.RetryCount only for the states that can retry.
        retries = self.retry_count if self.state.get("Type") in ("Task", "Parallel", "Map") else None
        if self.entered_text is None:
            self.entered_text = iso_time(self.entered_at)
        return self.rt.context(self.name, self.entered_text, retries, extra)

    def bindings(self, **states: Any) -> dict[str, Any]:
        b: dict[str, Any] = dict(self.scope.variables)
        b["states"] = {"input": self.input, "context": self.context(), **states}
        return b

    def event(self, event_type: str, details: Mapping[str, Any] | None = None) -> int:
        self.scope.previous = self.rt.history.add(event_type, self.scope.previous, details)
        return self.scope.previous

    # -- JSONPath helpers --
    def effective_input(self) -> Any:
        return dataflow.select(self.state.get("InputPath", "$"), self.input, "InputPath",
                               context=self.context(), variables=self.scope.variables)

    def payload(self, template: Any, value: Any, field: str = "Parameters") -> Any:
        return dataflow.evaluate_payload(template, value, context=self.context(),
                                         variables=self.scope.variables, field=field)

    def path(self, path: str, value: Any, field: str) -> Any:
        return dataflow.select(path, value, field, context=self.context(), variables=self.scope.variables)

    def finish_jsonpath(self, result: Any) -> Outcome:
        """ResultSelector → Assign → ResultPath → OutputPath, then the transition."""
        state = self.state
        if "ResultSelector" in state:
            result = self.payload(state["ResultSelector"], result, "ResultSelector")
        return self.finish_result(result)

    def finish_result(self, result: Any) -> Outcome:
        """Assign → ResultPath → OutputPath, then the transition (a Pass state has no ResultSelector)."""
        state = self.state
        assigned = None
        if "Assign" in state:
            assigned = dataflow.assign_jsonpath(state["Assign"], result, context=self.context(),
                                                variables=self.scope.variables)
        output = dataflow.apply_result_path(state.get("ResultPath", "$"), self.input, result)
        output = dataflow.output_path(state.get("OutputPath", "$"), output, context=self.context(),
                                      variables=self.scope.variables)
        return Outcome(output, transition(state), assigned)

    def finish_jsonata(self, result: Any, *, has_result: bool) -> Outcome:
        """Assign and Output over ``$states.input`` / ``$states.result``."""
        extra = {"result": result} if has_result else {}
        bindings = self.bindings(**extra)
        assigned = dataflow.assign_jsonata(self.state["Assign"], bindings) if "Assign" in self.state else None
        if "Output" in self.state:
            output = dataflow.jsonata_template(self.state["Output"], bindings, "Output")
        else:
            output = result if has_result else self.input
        return Outcome(output, transition(self.state), assigned)

    def finish(self, result: Any, *, has_result: bool = True) -> Outcome:
        if self.jsonata:
            return self.finish_jsonata(result, has_result=has_result)
        return self.finish_jsonpath(result)


def transition(state: Mapping[str, Any]) -> str | None:
    return None if state.get("End") else state.get("Next")


def prefixed(e: StatesError, name: str, entered_id: int) -> StatesError:
    """AWS prefixes engine-detected errors with the state and the id of its entered event."""
    if isinstance(e, FailStateError) or e.error not in (RUNTIME, QUERY_ERROR):
        return e
    cause = e.cause or ""
    if cause.startswith("An error occurred while executing the state"):
        return e
    return StatesError(e.error, f"An error occurred while executing the state '{name}' "
                                f"(entered at the event id #{entered_id}). {cause}")


# A state type's handler: runs one state and says where to go next. The table of them is built in
# one place, ``interpreter.HANDLERS``, and reaches the states through ``Runtime.handlers``.
Handler = Callable[[StateRun], Outcome]


def run_machine(rt: Runtime, machine: Mapping[str, Any], value: Any, scope: Scope,
                query_language: str) -> Any:
    """Run ``machine`` (a definition, branch or item processor) from StartAt to its end."""
    states: Mapping[str, Any] = machine["States"]
    ql = machine.get("QueryLanguage", query_language)
    name: str = machine["StartAt"]
    text: str | None = None  # ``value`` as JSON text when the state before recorded it
    while True:
        scope.check()
        if len(rt.history) >= MAX_HISTORY_EVENTS:
            # AWS fails an execution that would exceed its history quota.
            raise StatesError(RUNTIME, f"The execution reached the maximum number of history events "
                                       f"({MAX_HISTORY_EVENTS}).")
        outcome = run_state(rt, name, states[name], value, scope, ql, text)
        if outcome.next is None:
            return outcome.output
        name, value, text = outcome.next, outcome.output, outcome.text


def run_state(rt: Runtime, name: str, state: Mapping[str, Any], value: Any, scope: Scope,
              query_language: str, input_text: str | None = None) -> Outcome:
    """Run one state; ``input_text`` is ``value`` as JSON text when the caller has it already
    (a state's input is the output the state before it recorded, a payload dumped once)."""
    stype = state["Type"]
    ql = state.get("QueryLanguage", query_language)
    entered_at = rt.clock.now()
    entered_id = rt.history.add(f"{stype}StateEntered", scope.previous, {
        "name": name, "input": dumps(value) if input_text is None else input_text,
        "inputDetails": {"truncated": False}})
    scope.previous = entered_id
    run = StateRun(rt, name, state, ql, value, scope, entered_id, entered_at)
    try:
        outcome = rt.handlers[stype](run)
        output_text = checked_output(outcome.output, name)
    except StatesError as raw:
        e = prefixed(raw, name, entered_id)
        if e.error == QUERY_ERROR and not isinstance(raw, ReportedError):
            run.event("EvaluationFailed", {"error": e.error, "cause": e.cause, "state": name})
        if stype not in CATCHING:
            raise e from None
        outcome = catch(run, e)
        output_text = dumps(outcome.output)
    if outcome.assigned:
        scope.variables.update(outcome.assigned)
    if stype != "Fail":
        details: dict[str, Any] = {"name": name, "output": output_text,
                                   "outputDetails": {"truncated": False}}
        if outcome.assigned is not None:
            details["assignedVariables"] = {k: dumps(v) for k, v in outcome.assigned.items()}
            details["assignedVariablesDetails"] = {"truncated": False}
        run.event(f"{stype}StateExited", details)
        outcome.text = output_text
    return outcome


def checked_output(value: Any, name: str) -> str:
    """``value`` as JSON text, once: checked against the payload limit here, then recorded in history."""
    text = dumps(value)
    if len(text) > MAX_PAYLOAD_BYTES // 4 and len(text.encode()) > MAX_PAYLOAD_BYTES:
        raise StatesError("States.DataLimitExceeded",
                          f"The state/task '{name}' returned a result with a size exceeding the maximum "
                          "number of bytes service limit.")
    return text


def error_output(e: StatesError) -> dict[str, Any]:
    out: dict[str, Any] = {"Error": e.error}
    if e.cause is not None:
        out["Cause"] = e.cause
    return out


def catch(run: StateRun, e: StatesError) -> Outcome:
    """Route a failed Task/Parallel/Map to its first matching catcher, or re-raise."""
    catchers = run.state.get("Catch") or []
    idx = retry.find(catchers, e.error)
    if idx is None:
        raise e
    catcher = catchers[idx]
    err = error_output(e)
    if run.jsonata:
        bindings = run.bindings(errorOutput=err)
        assigned = dataflow.assign_jsonata(catcher["Assign"], bindings) if "Assign" in catcher else None
        output = (dataflow.jsonata_template(catcher["Output"], bindings, "Output")
                  if "Output" in catcher else err)
    else:
        assigned = None
        if "Assign" in catcher:
            assigned = dataflow.assign_jsonpath(catcher["Assign"], err, context=run.context(),
                                                variables=run.scope.variables)
        output = dataflow.apply_result_path(catcher.get("ResultPath", "$"), run.input, err)
    return Outcome(output, catcher["Next"], assigned)


def with_retries(run: StateRun, attempt: Callable[[int], Outcome], failed_event: str | None = None) -> Outcome:
    """Call ``attempt(n)`` until it succeeds or no retrier applies any more.

    ``failed_event`` (``MapStateFailed``, ``ParallelStateFailed``) is recorded once, when the
    state finally fails, not after attempts that are retried, as AWS records it.
    """
    retriers = run.state.get("Retry") or []
    counts = [0] * len(retriers)
    n = 0
    while True:
        try:
            return attempt(n)
        except StatesError as e:
            idx = retry.find(retriers, e.error)
            if idx is None or counts[idx] >= retry.max_attempts(retriers[idx]):
                if failed_event is not None:
                    run.event(failed_event)
                raise
            seconds = retry.delay(retriers[idx], counts[idx], run.rt.rng) * run.rt.wait_time_scale
            counts[idx] += 1
            n += 1
            run.retry_count = n
            if not run.rt.clock.sleep(seconds, run.scope.cancel):
                raise Cancelled() from None


# --- Pass ----------------------------------------------------------------------------------

def run_pass(run: StateRun) -> Outcome:
    if run.jsonata:
        return run.finish_jsonata(None, has_result=False)
    state = run.state
    effective = run.effective_input()
    if "Parameters" in state:
        result = run.payload(state["Parameters"], effective)
    elif "Result" in state:
        result = state["Result"]
    else:
        result = effective
    return run.finish_result(result)


# --- Succeed / Fail --------------------------------------------------------------------------

def run_succeed(run: StateRun) -> Outcome:
    if run.jsonata:
        out = run.finish_jsonata(None, has_result=False)
        return Outcome(out.output, None, out.assigned)
    effective = run.effective_input()
    output = dataflow.output_path(run.state.get("OutputPath", "$"), effective, context=run.context(),
                                  variables=run.scope.variables)
    return Outcome(output, None)


def _fail_field(run: StateRun, field: str) -> str | None:
    state = run.state
    if run.jsonata:
        value = state.get(field)
        if isinstance(value, str) and dataflow.is_jsonata_expr(value):
            value = dataflow.jsonata(value, run.bindings(), field)
        return None if value is None else value if isinstance(value, str) else dumps(value)
    if field + "Path" in state:
        path = state[field + "Path"]
        if isinstance(path, str) and path.startswith("States."):
            value = intrinsics.evaluate_intrinsic(path, run.input, run.context(), run.scope.variables)
        else:
            value = dataflow.select(path, run.input, field + "Path", context=run.context(),
                                    variables=run.scope.variables)
        return value if isinstance(value, str) else dumps(value)
    value = state.get(field)
    return value if value is None or isinstance(value, str) else dumps(value)


def run_fail(run: StateRun) -> Outcome:
    error = _fail_field(run, "Error")
    cause = _fail_field(run, "Cause")
    raise FailStateError(error, cause)  # type: ignore[arg-type]


# --- Choice ----------------------------------------------------------------------------------

def run_choice(run: StateRun) -> Outcome:
    state = run.state
    if run.jsonata:
        bindings = run.bindings()
        for i, rule in enumerate(state.get("Choices", [])):
            cond = rule.get("Condition")
            value = dataflow.jsonata(cond, bindings, f"Choices[{i}].Condition") if \
                dataflow.is_jsonata_expr(cond) else cond
            if not isinstance(value, bool):
                raise StatesError(QUERY_ERROR, f"The JSONata expression '{str(cond)[2:-2].strip()}' "
                                               f"specified for the field 'Condition' returned an unexpected "
                                               f"result type. Expected 'boolean', but was "
                                               f"'{json_type(value)}' for value: {dumps(value)}")
            if value:
                return _choice_jsonata_outcome(run, rule, bindings, rule["Next"])
        if "Default" in state:
            return _choice_jsonata_outcome(run, state, bindings, state["Default"])
        raise StatesError("States.NoChoiceMatched", None)
    effective = run.effective_input()
    ctx = run.context()
    for rule in state.get("Choices", []):
        if choice.evaluate_rule(rule, effective, ctx, run.scope.variables):
            return _choice_jsonpath_outcome(run, rule, effective, rule["Next"])
    if "Default" in state:
        return _choice_jsonpath_outcome(run, state, effective, state["Default"])
    raise StatesError("States.NoChoiceMatched", None)


def _choice_jsonpath_outcome(run: StateRun, holder: Mapping[str, Any], effective: Any, nxt: str) -> Outcome:
    assigned = None
    if "Assign" in holder:
        assigned = dataflow.assign_jsonpath(holder["Assign"], effective, context=run.context(),
                                            variables=run.scope.variables)
    output = dataflow.output_path(run.state.get("OutputPath", "$"), effective, context=run.context(),
                                  variables=run.scope.variables)
    return Outcome(output, nxt, assigned)


def _choice_jsonata_outcome(run: StateRun, holder: Mapping[str, Any], bindings: Mapping[str, Any],
                            nxt: str) -> Outcome:
    assigned = dataflow.assign_jsonata(holder["Assign"], bindings) if "Assign" in holder else None
    if "Output" in holder:
        output = dataflow.jsonata_template(holder["Output"], bindings, "Output")
    else:
        output = run.input
    return Outcome(output, nxt, assigned)




# --- Wait ------------------------------------------------------------------------------------

def _wait_seconds_jsonpath(run: StateRun, effective: Any) -> float:
    state = run.state
    if "Seconds" in state:
        return float(state["Seconds"])
    if "SecondsPath" in state:
        path = state["SecondsPath"]
        try:
            value = dataflow.select(path, effective, "SecondsPath", context=run.context(),
                                    variables=run.scope.variables)
        except StatesError:
            raise StatesError(RUNTIME, f"The SecondsPath parameter does not reference an input value: "
                                       f"{path}") from None
        if not isinstance(value, int) or isinstance(value, bool):
            raise StatesError(RUNTIME, f"The SecondsPath parameter cannot be parsed as a long value: "
                                       f"{path} == {_plain(value)}")
        if value < 0:
            raise StatesError(RUNTIME, f"The SecondsPath parameter references a negative value: "
                                       f"{path} == {value}")
        return float(value)
    if "Timestamp" in state:
        return _until(run, state["Timestamp"])
    path = state["TimestampPath"]
    try:
        value = dataflow.select(path, effective, "TimestampPath", context=run.context(),
                                variables=run.scope.variables)
    except StatesError:
        raise StatesError(RUNTIME, f"The TimestampPath parameter does not reference an input value: "
                                   f"{path}") from None
    ts = choice.parse_timestamp(value)
    if ts is None:
        raise StatesError(RUNTIME, "The TimestampPath parameter does not reference a valid ISO-8601 "
                                   f"extended offset date-time format string: {path} == {_plain(value)}")
    return _until(run, value)


def _plain(value: Any) -> str:
    return value if isinstance(value, str) else dumps(value)


def _until(run: StateRun, stamp: str) -> float:
    ts = choice.parse_timestamp(stamp)
    if ts is None:
        raise StatesError(RUNTIME, "The Timestamp field cannot be parsed as an ISO-8601 extended offset "
                                   f"date-time format string: {stamp}")
    return max(0.0, (ts - run.rt.clock.now()).total_seconds())


def _wait_seconds_jsonata(run: StateRun) -> float:
    state = run.state
    bindings = run.bindings()
    if "Seconds" in state:
        value = dataflow.jsonata_number(state["Seconds"], bindings, "Seconds")
        if not isinstance(value, int | float) or isinstance(value, bool) or value != int(value):
            raise StatesError(QUERY_ERROR, f"The JSONata expression '{str(state['Seconds'])[2:-2].strip()}' "
                                           "specified for the field 'Seconds' returned an unexpected result "
                                           f"type. Expected 'integer', but was '{json_type(value)}' for "
                                           f"value: {dumps(value)}")
        if value < 0:
            raise StatesError(QUERY_ERROR, f"The Seconds field references a negative value: {value}")
        return float(value)
    stamp = dataflow.jsonata_number(state.get("Timestamp"), bindings, "Timestamp")
    if not isinstance(stamp, str) or choice.parse_timestamp(stamp) is None:
        raise StatesError(QUERY_ERROR, "The Timestamp field cannot be parsed as an ISO-8601 extended offset "
                                       f"date-time format string: {_plain(stamp)}")
    return _until(run, stamp)


def run_wait(run: StateRun) -> Outcome:
    if run.jsonata:
        seconds = _wait_seconds_jsonata(run)
    else:
        effective = run.effective_input()
        seconds = _wait_seconds_jsonpath(run, effective)
    if seconds > MAX_WAIT_SECONDS:
        raise StatesError(RUNTIME, "Wait state delay is too long.")
    if not run.rt.clock.sleep(seconds * run.rt.wait_time_scale, run.scope.cancel):
        raise Cancelled()
    if run.jsonata:
        return run.finish_jsonata(None, has_result=False)
    state = run.state
    assigned = None
    effective = run.effective_input()
    if "Assign" in state:
        assigned = dataflow.assign_jsonpath(state["Assign"], effective, context=run.context(),
                                            variables=run.scope.variables)
    output = dataflow.output_path(state.get("OutputPath", "$"), effective, context=run.context(),
                                  variables=run.scope.variables)
    return Outcome(output, transition(state), assigned)

