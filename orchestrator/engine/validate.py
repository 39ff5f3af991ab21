"""Static checks of an ASL definition, as ValidateStateMachineDefinition reports them.

Every problem is collected, then all are raised together as one ``DefinitionError``; each names
where (``state 'X' field 'Next'``), what is wrong, and how to fix it.

>>> validate_definition({"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}})
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from orchestrator.engine import jsonpath
from orchestrator.engine.choice import OPERATORS
from orchestrator.engine.state_types import StateType
from orchestrator.errors import DefinitionError, Problem
from orchestrator.limits import STATE_NAME_MAX

STATE_TYPES = frozenset(t.value for t in StateType)

_JSONPATH_ONLY = ("InputPath", "Parameters", "ResultSelector", "ResultPath", "OutputPath", "ItemsPath",
                  "SecondsPath", "TimestampPath", "ErrorPath", "CausePath", "MaxConcurrencyPath",
                  "TimeoutSecondsPath", "HeartbeatSecondsPath", "ToleratedFailureCountPath",
                  "ToleratedFailurePercentagePath", "Iterator")
_JSONATA_ONLY = ("Arguments", "Output", "Items")
_TERMINAL = frozenset({"Succeed", "Fail"})
_WAIT_FIELDS = ("Seconds", "SecondsPath", "Timestamp", "TimestampPath")


def validate_definition(definition: Mapping[str, Any]) -> None:
    """Raise ``DefinitionError`` listing every problem of ``definition``; return if it is valid."""
    problems = list(_check_machine(definition, "", definition.get("QueryLanguage", "JSONPath")))
    problems.extend(_check_unique_names(definition))
    if problems:
        raise DefinitionError(problems)


def _all_states(machine: Any, prefix: str) -> Iterator[tuple[str, str]]:
    """(name, where) of every state, nested Parallel branches and Map processors included."""
    states = machine.get("States") if isinstance(machine, Mapping) else None
    if not isinstance(states, Mapping):
        return
    for name, state in states.items():
        yield name, _where(prefix, name)
        if not isinstance(state, Mapping):
            continue
        for i, branch in enumerate(state.get("Branches") or []):
            yield from _all_states(branch, f"{_where(prefix, name)} branch {i}: ")
        processor = state.get("ItemProcessor", state.get("Iterator"))
        if processor is not None:
            yield from _all_states(processor, f"{_where(prefix, name)} ItemProcessor: ")


def _check_unique_names(definition: Mapping[str, Any]) -> Iterator[Problem]:
    """AWS requires state names to be unique across the whole machine, branches included."""
    first: dict[str, str] = {}
    for name, where in _all_states(definition, ""):
        if name in first:
            yield Problem(where=where, message=f"the name is also used by {first[name]}; state names must be "
                                               "unique across the whole state machine",
                          fix=f"rename one of them, e.g. '{name}-2'")
        else:
            first[name] = where


def _where(prefix: str, name: str, field: str | None = None) -> str:
    text = f"{prefix}state '{name}'"
    return f"{text} field '{field}'" if field else text


def _check_machine(machine: Mapping[str, Any], prefix: str, ql: str) -> Iterator[Problem]:
    if not isinstance(machine, Mapping):
        yield Problem(where=prefix or "definition", message="must be a JSON object")
        return
    states = machine.get("States")
    start = machine.get("StartAt")
    where = prefix.rstrip(" ") or "definition"
    if ql not in ("JSONPath", "JSONata"):
        yield Problem(where=f"{where} field 'QueryLanguage'", message=f"unknown query language {ql!r}",
                      fix='"QueryLanguage": "JSONPath" or "JSONata"')
    if not isinstance(states, Mapping) or not states:
        yield Problem(where=f"{where} field 'States'", message="is missing or empty",
                      fix='"States": {"Done": {"Type": "Succeed"}}')
        return
    if not isinstance(start, str):
        yield Problem(where=f"{where} field 'StartAt'", message="is missing",
                      fix=f'"StartAt": "{next(iter(states))}"')
    elif start not in states:
        yield Problem(where=f"{where} field 'StartAt'", message=f"names no state: {start!r}",
                      fix=f"one of {sorted(states)}")
    for name, state in states.items():
        yield from _check_state(name, state, states, prefix, ql)
    if isinstance(start, str) and start in states:
        reachable = _reachable(start, states)
        for name in states:
            if name not in reachable:
                yield Problem(where=_where(prefix, name), message="is not reachable from StartAt",
                              fix="remove it, or point a 'Next', 'Default' or Catch 'Next' at it")


def _targets(state: Mapping[str, Any]) -> Iterator[str]:
    if isinstance(state.get("Next"), str):
        yield state["Next"]
    if isinstance(state.get("Default"), str):
        yield state["Default"]
    for rule in state.get("Choices") or []:
        if isinstance(rule, Mapping) and isinstance(rule.get("Next"), str):
            yield rule["Next"]
    for catcher in state.get("Catch") or []:
        if isinstance(catcher, Mapping) and isinstance(catcher.get("Next"), str):
            yield catcher["Next"]


def _reachable(start: str, states: Mapping[str, Any]) -> set[str]:
    seen, todo = {start}, [start]
    while todo:
        state = states.get(todo.pop())
        if not isinstance(state, Mapping):
            continue
        for target in _targets(state):
            if target in states and target not in seen:
                seen.add(target)
                todo.append(target)
    return seen


def _check_state(name: str, state: Any, states: Mapping[str, Any], prefix: str,
                 machine_ql: str) -> Iterator[Problem]:
    if len(name) > STATE_NAME_MAX:
        yield Problem(where=_where(prefix, name), message=f"name is {len(name)} characters; AWS allows at most "
                                                           f"{STATE_NAME_MAX}")
    if not isinstance(state, Mapping):
        yield Problem(where=_where(prefix, name), message="must be a JSON object")
        return
    stype = state.get("Type")
    if stype not in STATE_TYPES:
        yield Problem(where=_where(prefix, name, "Type"), message=f"unknown state type {stype!r}",
                      fix=f"one of {sorted(STATE_TYPES)}")
        return
    ql = state.get("QueryLanguage", machine_ql)
    if machine_ql == "JSONata" and ql == "JSONPath":
        yield Problem(where=_where(prefix, name, "QueryLanguage"),
                      message="a state cannot use JSONPath when the state machine uses JSONata")
    for target in _targets(state):
        if target not in states:
            yield Problem(where=_where(prefix, name, "Next"), message=f"names no state: {target!r}",
                          fix=f"one of {sorted(states)}")
    has_next, has_end = "Next" in state, state.get("End") is True
    if stype in _TERMINAL or stype == "Choice":
        if has_next or "End" in state:
            yield Problem(where=_where(prefix, name), message=f"a {stype} state cannot have 'Next' or 'End'")
    elif has_next and has_end:
        yield Problem(where=_where(prefix, name), message="has both 'Next' and 'End'",
                      fix="keep one: \"End\": true for the last state, otherwise \"Next\"")
    elif not has_next and not has_end:
        yield Problem(where=_where(prefix, name), message="has neither 'Next' nor 'End'",
                      fix='add "Next": "<state>" or "End": true')
    bad = _JSONPATH_ONLY if ql == "JSONata" else _JSONATA_ONLY
    for field in bad:
        if field in state:
            other = "JSONPath" if ql == "JSONata" else "JSONata"
            yield Problem(where=_where(prefix, name, field),
                          message=f"is a {other} field, but the state uses {ql}",
                          fix=f'remove it, or set "QueryLanguage": "{other}" on the state')
    for field in ("InputPath", "OutputPath", "ResultPath", "ItemsPath"):
        value = state.get(field)
        if isinstance(value, str) and not jsonpath.is_path(value):
            yield Problem(where=_where(prefix, name, field), message=f"is not a valid JSONPath: {value!r}")
        elif field == "ResultPath" and isinstance(value, str):
            parsed = jsonpath.parse(value)
            if parsed.root != "$" or not parsed.definite:
                yield Problem(where=_where(prefix, name, field),
                              message=f"must be a reference path into the input ($, names and indexes "
                                      f"only); got {value!r}", fix='"ResultPath": "$.result"')
    yield from _check_handlers(name, state, prefix)
    if stype == "Task" and not isinstance(state.get("Resource"), str):
        yield Problem(where=_where(prefix, name, "Resource"), message="is missing",
                      fix='"Resource": "arn:aws:states:::lambda:invoke"')
    if stype == "Task":
        yield from _check_task_timing(name, state, prefix)
    if stype == "Wait":
        given = [f for f in _WAIT_FIELDS if f in state]
        if len(given) != 1:
            yield Problem(where=_where(prefix, name), message=f"a Wait state needs exactly one of "
                                                               f"{', '.join(_WAIT_FIELDS)}; got {given or 'none'}")
    if stype == "Fail":
        for field in ("Error", "Cause"):
            if field in state and field + "Path" in state:
                yield Problem(where=_where(prefix, name), message=f"has both '{field}' and '{field}Path'")
    if stype == "Choice":
        yield from _check_choice(name, state, prefix, ql)
    if stype == "Parallel":
        branches = state.get("Branches")
        if not isinstance(branches, list) or not branches:
            yield Problem(where=_where(prefix, name, "Branches"), message="must be a non-empty list")
        else:
            for i, branch in enumerate(branches):
                yield from _check_machine(branch, f"{_where(prefix, name)} branch {i}: ", ql)
    if stype == "Map":
        processor = state.get("ItemProcessor", state.get("Iterator"))
        if processor is None:
            yield Problem(where=_where(prefix, name, "ItemProcessor"), message="is missing")
        else:
            yield from _check_machine(processor, f"{_where(prefix, name)} ItemProcessor: ", ql)


def _check_handlers(name: str, state: Mapping[str, Any], prefix: str) -> Iterator[Problem]:
    for field in ("Retry", "Catch"):
        handlers = state.get(field)
        if handlers is None:
            continue
        if state.get("Type") not in ("Task", "Parallel", "Map"):
            yield Problem(where=_where(prefix, name, field),
                          message=f"only Task, Parallel and Map states can have '{field}'")
            continue
        if not isinstance(handlers, list):
            yield Problem(where=_where(prefix, name, field), message="must be a list")
            continue
        for i, handler in enumerate(handlers):
            errors = handler.get("ErrorEquals") if isinstance(handler, Mapping) else None
            if not isinstance(errors, list) or not errors:
                yield Problem(where=_where(prefix, name, f"{field}[{i}].ErrorEquals"),
                              message="must be a non-empty list of error names")
                continue
            if "States.ALL" in errors and (len(errors) > 1 or i != len(handlers) - 1):
                yield Problem(where=_where(prefix, name, f"{field}[{i}].ErrorEquals"),
                              message="States.ALL must appear alone and in the last "
                                      f"{'retrier' if field == 'Retry' else 'catcher'}",
                              fix=f'move {{"ErrorEquals": ["States.ALL"], ...}} to the end of {field}')
            if field == "Retry":
                attempts = handler.get("MaxAttempts", 3)
                if not isinstance(attempts, int) or attempts < 0:
                    yield Problem(where=_where(prefix, name, f"Retry[{i}].MaxAttempts"),
                                  message=f"must be a non-negative integer. Received {attempts!r}.")
                rate = handler.get("BackoffRate", 2.0)
                if not isinstance(rate, int | float) or rate < 1.0:
                    yield Problem(where=_where(prefix, name, f"Retry[{i}].BackoffRate"),
                                  message=f"must be at least 1.0. Received {rate!r}.")
                for key, low in (("IntervalSeconds", 1), ("MaxDelaySeconds", 1)):
                    value = handler.get(key, low)
                    if not isinstance(value, int) or isinstance(value, bool) or value < low:
                        yield Problem(where=_where(prefix, name, f"Retry[{i}].{key}"),
                                      message=f"must be an integer of at least {low}. Received {value!r}.")
                jitter = handler.get("JitterStrategy", "NONE")
                if jitter not in ("FULL", "NONE"):
                    yield Problem(where=_where(prefix, name, f"Retry[{i}].JitterStrategy"),
                                  message=f"must be FULL or NONE. Received {jitter!r}.")
            elif not isinstance(handler.get("Next"), str):
                yield Problem(where=_where(prefix, name, f"Catch[{i}].Next"), message="is missing")


def _check_task_timing(name: str, state: Mapping[str, Any], prefix: str) -> Iterator[Problem]:
    """TimeoutSeconds and HeartbeatSeconds are positive integers, the heartbeat the shorter."""
    given: dict[str, int] = {}
    for field in ("TimeoutSeconds", "HeartbeatSeconds"):
        if field not in state or (isinstance(state[field], str) and state[field].startswith("{%")):
            continue
        value = state[field]
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            yield Problem(where=_where(prefix, name, field),
                          message=f"must be a positive integer. Received {value!r}.")
        else:
            given[field] = value
    if "TimeoutSeconds" in given and "HeartbeatSeconds" in given and \
            given["HeartbeatSeconds"] >= given["TimeoutSeconds"]:
        yield Problem(where=_where(prefix, name, "HeartbeatSeconds"),
                      message=f"must be smaller than TimeoutSeconds ({given['TimeoutSeconds']}). "
                              f"Received {given['HeartbeatSeconds']}.",
                      fix=f'"HeartbeatSeconds": {max(1, given["TimeoutSeconds"] - 1)}')


def _check_choice(name: str, state: Mapping[str, Any], prefix: str, ql: str) -> Iterator[Problem]:
    rules = state.get("Choices")
    if not isinstance(rules, list) or not rules:
        yield Problem(where=_where(prefix, name, "Choices"), message="must be a non-empty list")
        return
    for i, rule in enumerate(rules):
        if not isinstance(rule, Mapping):
            yield Problem(where=_where(prefix, name, f"Choices[{i}]"), message="must be an object")
            continue
        if "Next" not in rule:
            yield Problem(where=_where(prefix, name, f"Choices[{i}].Next"), message="is missing")
        if ql == "JSONata":
            if "Condition" not in rule:
                yield Problem(where=_where(prefix, name, f"Choices[{i}].Condition"),
                              message="is missing (JSONata Choice rules use 'Condition')")
        elif not _rule_ok(rule):
            yield Problem(where=_where(prefix, name, f"Choices[{i}]"),
                          message="needs a 'Variable' and one comparison operator, or And/Or/Not",
                          fix='{"Variable": "$.x", "NumericEquals": 1, "Next": "..."}')


def _rule_ok(rule: Mapping[str, Any]) -> bool:
    ops = [k for k in rule if k in OPERATORS]
    if len(ops) != 1:
        return False
    op = ops[0]
    if op in ("And", "Or"):
        return isinstance(rule[op], list) and all(isinstance(r, Mapping) and _rule_ok(r) for r in rule[op])
    if op == "Not":
        return isinstance(rule[op], Mapping) and _rule_ok(rule[op])
    return isinstance(rule.get("Variable"), str)
