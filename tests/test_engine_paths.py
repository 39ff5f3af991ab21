"""JSONPath (AWS's Jayway subset), payload templates, ResultPath and Choice operators."""

from __future__ import annotations

from typing import Any

import pytest

from orchestrator.engine import choice, dataflow, jsonpath
from orchestrator.engine.errors import StatesError

DOC: dict[str, Any] = {"items": [{"v": 1, "k": "a"}, {"v": 2, "k": "b"}, {"v": 3, "k": "c"}],
                       "o": {"x": {"y": 5}}, "weird key": 1}


@pytest.mark.parametrize(("path", "expected"), [
    ("$", DOC),
    ("$.o.x.y", 5),
    ("$['weird key']", 1),
    ("$.items[0].k", "a"),
    ("$.items[-1].v", 3),
    ("$.items[*].v", [1, 2, 3]),
    ("$.items[1:].v", [2, 3]),
    ("$.items[:1]", [{"v": 1, "k": "a"}]),
    ("$.items[0,2].k", ["a", "c"]),
    ("$.items[?(@.v > 1)].k", ["b", "c"]),
    ("$.items[?(@.k == 'a' || @.v == 3)].v", [1, 3]),
    ("$..y", [5]),
    ("$.items.length()", 3),
    ("$.items[(@.length-1)].k", "c"),
])
def test_query(path: str, expected: Any) -> None:
    assert jsonpath.query(path, DOC) == expected


def test_definite_path_that_matches_nothing_is_an_error_and_indefinite_is_empty() -> None:
    with pytest.raises(jsonpath.PathError, match=r"No results for path: \$\['o'\]\['nope'\]"):
        jsonpath.query("$.o.nope", DOC)
    assert jsonpath.query("$.items[?(@.v > 10)]", DOC) == []


def test_context_and_variable_roots() -> None:
    assert jsonpath.query("$$.State.Name", {}, context={"State": {"Name": "S"}}) == "S"
    assert jsonpath.query("$var.a[1]", {}, variables={"var": {"a": [0, 9]}}) == 9
    with pytest.raises(jsonpath.PathError, match="Variable 'nope' is not defined"):
        jsonpath.query("$nope", {}, variables={})


def test_payload_template_and_missing_path_message() -> None:
    template = {"a.$": "$.o.x", "lit": "$.not.a.path", "nested": [{"b.$": "$$.Execution.Id"}]}
    out = dataflow.evaluate_payload(template, DOC, context={"Execution": {"Id": "arn"}}, variables={})
    assert out == {"a": {"y": 5}, "lit": "$.not.a.path", "nested": [{"b": "arn"}]}
    with pytest.raises(StatesError) as info:
        dataflow.evaluate_payload({"v.$": "$.nope"}, {"a": 1}, context={}, variables={})
    assert info.value.cause == ("The JSONPath '$.nope' specified for the field 'v.$' could not be found "
                                "in the input '{\"a\":1}'")


@pytest.mark.parametrize(("path", "expected"), [
    ("$", 7),
    (None, {"a": 1}),
    ("$.r", {"a": 1, "r": 7}),
    ("$.deep.er", {"a": 1, "deep": {"er": 7}}),
    ("$.a", {"a": 7}),
])
def test_result_path(path: str | None, expected: Any) -> None:
    original = {"a": 1}
    assert dataflow.apply_result_path(path, original, 7) == expected
    assert original == {"a": 1}  # never mutated


def test_result_path_into_a_non_object_fails() -> None:
    with pytest.raises(StatesError, match='Unable to apply step "b" to input 1'):
        dataflow.apply_result_path("$.a.b", {"a": 1}, 7)


@pytest.mark.parametrize(("value", "pattern", "expected"), [
    ("log-2024.txt", "log-*.txt", True),
    ("log.txt", "log-*.txt", False),
    ("a*b", "a\\*b", True),
    ("axb", "a\\*b", False),
    ("back\\slash", "back\\\\slash", True),
    ("anything", "*", True),
])
def test_string_matches(value: str, pattern: str, expected: bool) -> None:
    assert choice.string_matches(value, pattern) is expected


def rule(**kw: Any) -> dict[str, Any]:
    return {"Variable": "$.v", **kw}


@pytest.mark.parametrize(("r", "value", "expected"), [
    (rule(NumericEquals=1), 1.0, True),
    (rule(NumericEquals=1), "1", False),
    (rule(NumericLessThanPath="$.w"), 1, True),
    (rule(StringGreaterThanEquals="b"), "b", True),
    (rule(BooleanEquals=True), 1, False),
    (rule(TimestampLessThan="2024-01-02T00:00:00Z"), "2024-01-01T23:59:59+00:00", True),
    (rule(TimestampEquals="2024-01-01T00:00:00Z"), "not a time", False),
    (rule(IsTimestamp=True), "2024-01-01T00:00:00.123Z", True),
    (rule(IsNull=True), None, True),
    (rule(IsBoolean=False), 0, True),
    ({"Variable": "$.nope", "IsPresent": False}, 0, True),
    ({"And": [rule(IsNumeric=True), {"Not": rule(NumericEquals=2)}]}, 3, True),
    ({"Or": [rule(StringEquals="x"), rule(NumericEquals=3)]}, 3, True),
])
def test_choice_rules(r: dict[str, Any], value: Any, expected: bool) -> None:
    assert choice.evaluate_rule(r, {"v": value, "w": 2}, {}, {}) is expected


def test_choice_on_a_missing_variable_is_a_runtime_error() -> None:
    with pytest.raises(StatesError, match="The choice state's condition path references an invalid value"):
        choice.evaluate_rule(rule(NumericEquals=1), {}, {}, {})


def test_missing_inner_property_uses_jayways_wording() -> None:
    with pytest.raises(jsonpath.PathError, match=r"^Missing property in path \$\['o'\]\['nope'\]$"):
        jsonpath.query("$.o.nope.deeper", DOC)
