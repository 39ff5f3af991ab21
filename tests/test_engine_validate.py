"""Definition validation: every problem collected, each located, with AWS's rules."""

from __future__ import annotations

from typing import Any

import pytest

from orchestrator.engine import execute, validate_definition
from orchestrator.errors import DefinitionError


def problems(definition: dict[str, Any]) -> list[str]:
    with pytest.raises(DefinitionError) as info:
        validate_definition(definition)
    return [f"{p.where}: {p.message}" for p in info.value.problems]


def test_valid_definition_passes() -> None:
    validate_definition({"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "B"}, "B": {"Type": "Succeed"}}})


def test_missing_start_and_unknown_next_are_both_reported() -> None:
    got = problems({"StartAt": "Nope", "States": {"A": {"Type": "Pass", "Next": "Z"}}})
    assert "definition field 'StartAt': names no state: 'Nope'" in got
    assert "state 'A' field 'Next': names no state: 'Z'" in got


def test_unreachable_state() -> None:
    got = problems({"StartAt": "A", "States": {"A": {"Type": "Succeed"}, "B": {"Type": "Succeed"}}})
    assert got == ["state 'B': is not reachable from StartAt"]


def test_end_and_next_together() -> None:
    got = problems({"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "B", "End": True},
                                               "B": {"Type": "Succeed"}}})
    assert got == ["state 'A': has both 'Next' and 'End'"]


def test_states_all_must_be_last() -> None:
    state = {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "End": True,
             "Retry": [{"ErrorEquals": ["States.ALL"]}, {"ErrorEquals": ["X"]}]}
    got = problems({"StartAt": "T", "States": {"T": state}})
    assert got == ["state 'T' field 'Retry[0].ErrorEquals': States.ALL must appear alone and in the last retrier"]


def test_jsonpath_fields_in_a_jsonata_state_and_back() -> None:
    got = problems({"QueryLanguage": "JSONata", "StartAt": "A", "States": {
        "A": {"Type": "Pass", "InputPath": "$.x", "End": True}}})
    assert got == ["state 'A' field 'InputPath': is a JSONPath field, but the state uses JSONata"]
    got = problems({"StartAt": "A", "States": {"A": {"Type": "Pass", "Output": {}, "End": True}}})
    assert got == ["state 'A' field 'Output': is a JSONata field, but the state uses JSONPath"]


def test_nested_branch_problems_name_the_branch() -> None:
    got = problems({"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": True, "Branches": [
        {"StartAt": "X", "States": {"X": {"Type": "Pass"}}}]}}})
    assert got == ["state 'P' branch 0: state 'X': has neither 'Next' nor 'End'"]


def test_choice_rule_needs_an_operator_and_wait_needs_one_duration() -> None:
    got = problems({"StartAt": "C", "States": {
        "C": {"Type": "Choice", "Choices": [{"Variable": "$.x", "Next": "W"}]},
        "W": {"Type": "Wait", "Seconds": 1, "SecondsPath": "$.s", "End": True}}})
    assert "state 'C' field 'Choices[0]': needs a 'Variable' and one comparison operator, or And/Or/Not" in got
    assert any(g.startswith("state 'W': a Wait state needs exactly one of") for g in got)


def test_execute_validates_before_running() -> None:
    with pytest.raises(DefinitionError, match="StartAt"):
        execute({"States": {"A": {"Type": "Succeed"}}})


def test_state_names_are_unique_across_branches() -> None:
    branch = {"StartAt": "Work", "States": {"Work": {"Type": "Pass", "End": True}}}
    got = problems({"StartAt": "Work", "States": {
        "Work": {"Type": "Parallel", "Branches": [branch], "End": True}}})
    assert got == ["state 'Work' branch 0: state 'Work': the name is also used by state 'Work'; state names "
                   "must be unique across the whole state machine"]


def test_task_timing_and_retry_intervals() -> None:
    state = {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "End": True,
             "TimeoutSeconds": 60, "HeartbeatSeconds": 60, "Retry": [{"ErrorEquals": ["X"], "IntervalSeconds": 0}]}
    got = problems({"StartAt": "T", "States": {"T": state}})
    assert sorted(got) == [
        "state 'T' field 'HeartbeatSeconds': must be smaller than TimeoutSeconds (60). Received 60.",
        "state 'T' field 'Retry[0].IntervalSeconds': must be an integer of at least 1. Received 0."]


def test_result_path_must_be_a_reference_path() -> None:
    got = problems({"StartAt": "A", "States": {"A": {"Type": "Pass", "ResultPath": "$.xs[*]", "End": True}}})
    assert got == ["state 'A' field 'ResultPath': must be a reference path into the input ($, names and "
                   "indexes only); got '$.xs[*]'"]
