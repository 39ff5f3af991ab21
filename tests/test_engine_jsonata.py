"""JSONata evaluation, checked against executions recorded on real AWS Step Functions.

``RECORDED_*`` rows are taken verbatim from ../shared/conformance/aws-recorded/cases.jsonl
(LocalStack's AWS snapshots, Apache-2.0): one-state JSONata Pass machines, as (Output template,
state input, expected output) or (..., error, cause). Other recordings are quoted where used.
AWS causes start with "An error occurred while executing the state 'X' (entered at the event id
#N). "; the interpreter adds that prefix, so we compare what follows it.
"""

from __future__ import annotations

import re
import threading
from typing import Any

import pytest

from orchestrator.engine.errors import StatesError
from orchestrator.engine.intrinsics import json_equal
from orchestrator.engine.jsonata_eval import (
    UNDEFINED,
    check_result_type,
    evaluate_jsonata,
    evaluate_template,
    is_jsonata_expression,
    jsonata_problem,
)

_PREFIX = "An error occurred while executing the state 'State0' (entered at the event id #2). "

RECORDED_OUTPUTS: list[tuple[Any, Any, Any]] = [
    ('{% $contains("hello$world", /^hello\\$/) %}', {}, True),
    ('{% $contains("hello$world", /^hello\\ /) %}', {}, False),
    (
        "{% $merge([$states.input.part1, $states.input.part2]) %}",
        {"part1": {"hello": "world"}, "part2": {"foo": "bar"}},
        {"hello": "world", "foo": "bar"},
    ),
    (
        "{% $partition($states.input.FunctionInput.fst, $states.input.FunctionInput.snd) %}",
        {"FunctionInput": {"fst": [0], "snd": 1}},
        [[0]],
    ),
    (
        "{% $partition($states.input.FunctionInput.fst, $states.input.FunctionInput.snd) %}",
        {"FunctionInput": {"fst": [0], "snd": 2}},
        [[0]],
    ),
    (
        "{% $partition($states.input.FunctionInput.fst, $states.input.FunctionInput.snd) %}",
        {"FunctionInput": {"fst": [0], "snd": 3}},
        [[0]],
    ),
    (
        "{% $partition($states.input.FunctionInput.fst, $states.input.FunctionInput.snd) %}",
        {"FunctionInput": {"fst": [0], "snd": 4}},
        [[0]],
    ),
    (
        "{% $partition($states.input.FunctionInput.fst, $states.input.FunctionInput.snd) %}",
        {"FunctionInput": {"fst": [0], "snd": 5}},
        [[0]],
    ),
    (
        "{% $partition($states.input.FunctionInput.fst, $states.input.FunctionInput.snd) %}",
        {"FunctionInput": {"fst": [0, 1], "snd": 1}},
        [[0], [1]],
    ),
    (
        "{% $partition($states.input.FunctionInput.fst, $states.input.FunctionInput.snd) %}",
        {"FunctionInput": {"fst": [0, 1], "snd": 2}},
        [[0, 1]],
    ),
    (
        "{% $partition($states.input.FunctionInput.fst, $states.input.FunctionInput.snd) %}",
        {"FunctionInput": {"fst": [0, 1], "snd": 3}},
        [[0, 1]],
    ),
    (
        "{% $partition($states.input.FunctionInput.fst, $states.input.FunctionInput.snd) %}",
        {"FunctionInput": {"fst": [0, 1], "snd": 4}},
        [[0, 1]],
    ),
    (
        "{% $partition($states.input.FunctionInput.fst, $states.input.FunctionInput.snd) %}",
        {"FunctionInput": {"fst": [0, 1], "snd": 5}},
        [[0, 1]],
    ),
    (
        "{% $partition($states.input.FunctionInput.fst, $states.input.FunctionInput.snd) %}",
        {"FunctionInput": {"fst": [0, 1, 2], "snd": 1}},
        [[0], [1], [2]],
    ),
    (
        "{% $partition($states.input.FunctionInput.fst, $states.input.FunctionInput.snd) %}",
        {"FunctionInput": {"fst": [0, 1, 2], "snd": 2}},
        [[0, 1], [2]],
    ),
    (
        "{% $partition($states.input.FunctionInput.fst, $states.input.FunctionInput.snd) %}",
        {"FunctionInput": {"fst": [0, 1, 2], "snd": 3}},
        [[0, 1, 2]],
    ),
    (
        "{% $partition($states.input.FunctionInput.fst, $states.input.FunctionInput.snd) %}",
        {"FunctionInput": {"fst": [0, 1, 2], "snd": 4}},
        [[0, 1, 2]],
    ),
    (
        "{% $partition($states.input.FunctionInput.fst, $states.input.FunctionInput.snd) %}",
        {"FunctionInput": {"fst": [0, 1, 2], "snd": 5}},
        [[0, 1, 2]],
    ),
    (
        "{% $partition($states.input.FunctionInput.fst, $states.input.FunctionInput.snd) %}",
        {"FunctionInput": {"fst": [0, 1, 2, 3], "snd": 1}},
        [[0], [1], [2], [3]],
    ),
    (
        "{% $partition($states.input.FunctionInput.fst, $states.input.FunctionInput.snd) %}",
        {"FunctionInput": {"fst": [0, 1, 2, 3], "snd": 2}},
        [[0, 1], [2, 3]],
    ),
    (
        "{% $partition($states.input.FunctionInput.fst, $states.input.FunctionInput.snd) %}",
        {"FunctionInput": {"fst": [0, 1, 2, 3], "snd": 3}},
        [[0, 1, 2], [3]],
    ),
    (
        "{% $partition($states.input.FunctionInput.fst, $states.input.FunctionInput.snd) %}",
        {"FunctionInput": {"fst": [0, 1, 2, 3], "snd": 4}},
        [[0, 1, 2, 3]],
    ),
    (
        "{% $partition($states.input.FunctionInput.fst, $states.input.FunctionInput.snd) %}",
        {"FunctionInput": {"fst": [0, 1, 2, 3], "snd": 5}},
        [[0, 1, 2, 3]],
    ),
    (
        "{% $range($states.input.FunctionInput.fst, $states.input.FunctionInput.snd, $states.input.FunctionInput.trd) %}",
        {"FunctionInput": {"fst": 0, "snd": 9, "trd": 3}},
        [0, 3, 6, 9],
    ),
    (
        "{% $range($states.input.FunctionInput.fst, $states.input.FunctionInput.snd, $states.input.FunctionInput.trd) %}",
        {"FunctionInput": {"fst": 0, "snd": 10, "trd": 3}},
        [0, 3, 6, 9],
    ),
    (
        "{% $range($states.input.FunctionInput.fst, $states.input.FunctionInput.snd, $states.input.FunctionInput.trd) %}",
        {"FunctionInput": {"fst": 1, "snd": 9, "trd": 9}},
        1,
    ),
    (
        "{% $range($states.input.FunctionInput.fst, $states.input.FunctionInput.snd, $states.input.FunctionInput.trd) %}",
        {"FunctionInput": {"fst": 1, "snd": 9, "trd": 2}},
        [1, 3, 5, 7, 9],
    ),
    ({}, {"input_value": "string literal", "input_values": [1, 2, 3]}, {}),
    (0, {"input_value": "stringliteral"}, 0),
    (0.1, {"input_value": "stringliteral"}, 0.1),
    (True, {"input_value": "stringliteral"}, True),
    ("string literal", {"input_value": "stringliteral"}, "string literal"),
    ("{% $states.input %}", {"input_value": "stringliteral"}, {"input_value": "stringliteral"}),
    ([], {"input_value": "stringliteral"}, []),
]

RECORDED_FAILURES: list[tuple[Any, Any, str, str]] = [
    (
        "{% $doesNotExist %}",
        {},
        "States.QueryEvaluationError",
        "An error occurred while executing the state 'State0' (entered at the event id #2). The JSONata expression '$doesNotExist' specified for the field 'Output' returned nothing (undefined).",
    ),
    (
        {"result": "{% $doesNotExist %}"},
        {},
        "States.QueryEvaluationError",
        "An error occurred while executing the state 'State0' (entered at the event id #2). The JSONata expression '$doesNotExist' specified for the field 'Output/result' returned nothing (undefined).",
    ),
]


def _states(state_input: Any, **variables: Any) -> dict[str, Any]:
    return {"states": {"input": state_input}, **variables}


@pytest.mark.parametrize(("template", "state_input", "expected"), RECORDED_OUTPUTS)
def test_recorded_outputs(template: Any, state_input: Any, expected: Any) -> None:
    got = evaluate_template(template, _states(state_input), field="Output")
    assert json_equal(got, expected)  # types too: 1 is not 1.0


@pytest.mark.parametrize(("template", "state_input", "error", "cause"), RECORDED_FAILURES)
def test_recorded_failures(template: Any, state_input: Any, error: str, cause: str) -> None:
    with pytest.raises(StatesError) as e:
        evaluate_template(template, _states(state_input), field="Output")
    assert e.value.error == error
    assert _PREFIX + (e.value.cause or "") == cause


@pytest.mark.parametrize(
    ("template", "field", "cause"),
    [
        # BASE_UNDEFINED_ASSIGN and BASE_UNDEFINED_ARGUMENTS_FIELD
        (
            {"result": "{% $doesNotExist %}"},
            "Assign",
            "The JSONata expression '$doesNotExist' specified for the field 'Assign/result' returned nothing (undefined).",
        ),
        (
            {"FunctionName": "{% $doesNotExist %}"},
            "Arguments",
            "The JSONata expression '$doesNotExist' specified for the field 'Arguments/FunctionName' returned nothing (undefined).",
        ),
    ],
)
def test_recorded_undefined_in_other_fields(template: Any, field: str, cause: str) -> None:
    with pytest.raises(StatesError) as e:
        evaluate_template(template, _states({}), field=field)
    assert (e.value.error, e.value.cause) == ("States.QueryEvaluationError", cause)


# --- numbers ---------------------------------------------------------------------------------


def test_arithmetic_on_integers_is_an_integer() -> None:
    # BASE_DIRECT_EXPR: Output "{% $sum($states.input.input_values) + $var_constant_1 %}" -> 7
    got = evaluate_jsonata(
        "$sum($states.input.input_values) + $var_constant_1",
        _states({"input_values": [1, 2, 3]}, var_constant_1=1),
    )
    assert got == 7 and isinstance(got, int)


def test_integral_doubles_come_back_as_integers() -> None:
    # JSONata numbers are doubles; AWS prints an integral one without ".0".
    got = evaluate_jsonata("$states.input.x", _states({"x": 1.0}))
    assert got == 1 and isinstance(got, int)
    assert evaluate_jsonata("[1.0, 2.5, 3 / 2, 6 / 3]", {}) == [1, 2.5, 1.5, 2]
    assert isinstance(evaluate_jsonata("6 / 3", {}), int)


# --- recorded expressions from multi-state machines ----------------------------------------


@pytest.mark.parametrize(
    ("expression", "bindings", "expected"),
    [
        ('$number("2")', {}, 2),  # test_base_map[ITEMS]
        ("$number('2')", {}, 2),  # test_base_map[ITEMS_DOUBLE_QUOTES]
        ("$variable := 1", {}, 1),  # TimeoutSeconds / MaxConcurrency / ToleratedFailure*
        ("$maxItems := 2", {}, 2),  # ItemReader MaxItems
        ("[]", {}, []),  # test_map_state_items_eval_jsonata[empty]
        ("[0]", {}, [0]),  # [singleton]: an array constructor keeps its brackets
        ("[1, 'two', 3]", {}, [1, "two", 3]),  # [mixed]
        ("$theAnswer", {"theAnswer": 42}, 42),  # JSONPATH_ASSIGN_JSONATA_REF
        ("$states.input.condition", _states({"condition": True}), True),  # test_assign_in_choice
        ("$not($states.input.type = 'Private')", _states({"type": "Private", "value": 22}), False),
        ("$states.input.value = 0", _states({"type": "Private", "value": 22}), False),
        (
            "$states.input.value >= 20 and $states.input.value < 30",
            _states({"type": "Private", "value": 22}),
            True,
        ),
        ("$exists($status) ? 'completed' : 'running'", {}, "running"),  # numbered mock responses
        ("$exists($status) ? 'completed' : 'running'", {"status": "running"}, "completed"),
        ("$states.input = '\"'", _states('"'), True),  # ESCAPE_SEQUENCES_JSONATA_COMPARISON_OUTPUT
        ("$var = '\"'", {"var": '"'}, True),  # ESCAPE_SEQUENCES_JSONATA_COMPARISON_ASSIGN
        (
            "$states.context.Map.Item.Value",
            {"states": {"context": {"Map": {"Item": {"Value": "Item1"}}}}},
            "Item1",
        ),
        ("$states.input.error", _states({"error": "Exception"}), "Exception"),  # test_fail_error_jsonata
        ("$ItemsVar", {"ItemsVar": ["Item1", "Item2"]}, ["Item1", "Item2"]),
    ],
)
def test_recorded_expressions(expression: str, bindings: dict[str, Any], expected: Any) -> None:
    assert json_equal(evaluate_jsonata(expression, bindings), expected)


def test_base_expr_output_template() -> None:
    # BASE_EXPR (context redacted in the recording, so only the other fields are compared).
    state_input = {"input_value": "string literal", "input_values": [1, 2, 3]}
    bindings = _states(state_input, var_input_value="string literal", var_constant_1=1)
    got = evaluate_template(
        {
            "ja_states_input": "{% $states.input %}",
            "ja_var_access": "{% $var_input_value %}",
            "ja_expr": "{% $sum($states.input.input_values) + $var_constant_1 %}",
        },
        bindings,
        field="Output",
    )
    assert got == {"ja_states_input": state_input, "ja_var_access": "string literal", "ja_expr": 7}


def test_item_selector_template() -> None:
    # MAP_STATE_ITEM_SELECTOR_JSONATA, first item.
    bindings = {"states": {"context": {"Map": {"Item": {"Value": "Item1"}}}}, "ItemsVar": ["Item1", "Item2"]}
    got = evaluate_template(
        {
            "map_item_value": "{% $states.context.Map.Item.Value %}",
            "var_sample": "{% $ItemsVar %}",
            "string_literal": "string literal",
        },
        bindings,
        field="ItemSelector",
    )
    assert got == {
        "map_item_value": "Item1",
        "var_sample": ["Item1", "Item2"],
        "string_literal": "string literal",
    }


# --- result types (Map Items) ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "bindings", "cause"),
    [
        ("1", {}, "Expected 'array', but was 'number' for value: 1"),
        ("{'foo': 'bar'}", {}, "Expected 'array', but was 'object' for value: {\"foo\":\"bar\"}"),
        ("null", {}, "Expected 'array', but was 'null' for value: null"),
        ("$ItemsVar", {"ItemsVar": "string"}, "Expected 'array', but was 'string' for value: \"string\""),
        ("$ItemsVar", {"ItemsVar": True}, "Expected 'array', but was 'boolean' for value: true"),
        ("$ItemsVar", {"ItemsVar": None}, "Expected 'array', but was 'null' for value: null"),
    ],
)
def test_recorded_items_type_errors(expression: str, bindings: dict[str, Any], cause: str) -> None:
    # test_map_state_items_eval_jsonata_fail / _variable_sampling_fail
    with pytest.raises(StatesError) as e:
        check_result_type(evaluate_jsonata(expression, bindings, field="Items"), "array", expression, "Items")
    assert e.value.error == "States.QueryEvaluationError"
    assert e.value.cause == (
        f"The JSONata expression '{expression}' specified for the field 'Items' returned an unexpected result type. {cause}"
    )


def test_recorded_function_result_is_unsupported() -> None:
    # test_map_state_items_eval_jsonata_fail[function]
    with pytest.raises(StatesError) as e:
        evaluate_jsonata("$fn := function($x){$x}", {}, field="Items")
    assert (e.value.error, e.value.cause) == (
        "States.QueryEvaluationError",
        "The JSONata expression '$fn := function($x){$x}' specified for the field 'Items' returned an unsupported result type.",
    )


# --- null and undefined ------------------------------------------------------------------------


def test_undefined_is_a_sentinel_and_null_is_none() -> None:
    assert evaluate_jsonata("$nosuch", {}) is UNDEFINED
    assert evaluate_jsonata("$states.input.missing", _states({})) is UNDEFINED
    assert evaluate_jsonata("null", {}) is None
    assert evaluate_jsonata("$v", {"v": None}) is None  # a variable holding null is null, not undefined
    assert evaluate_jsonata("$v = null", {"v": None}) is True
    assert evaluate_jsonata("$states.input.a", _states({"a": None})) is None
    assert evaluate_jsonata("{'a': null, 'b': [null]}", {}) == {"a": None, "b": [None]}
    assert evaluate_jsonata("{'a': $nosuch, 'b': [1, $nosuch]}", {}) == {"b": [1]}


def test_template_names_nested_fields_and_leaves_literals() -> None:
    template = {"a": ["x", {"b": "{% $nosuch %}"}], "n": 1}
    with pytest.raises(StatesError, match=r"specified for the field 'Output/a\[1\]/b' returned nothing"):
        evaluate_template(template, {}, field="Output")
    assert evaluate_template({"s": " {% 1 %}", "t": "{%1%}", "n": None}, {}, field="Output") == {
        "s": " {% 1 %}",
        "t": 1,
        "n": None,
    }


def test_results_do_not_alias_the_input() -> None:
    state_input = {"a": {"b": [1]}}
    got = evaluate_jsonata("$states.input", _states(state_input))
    got["a"]["b"].append(2)
    assert state_input == {"a": {"b": [1]}}


# --- AWS-added functions -----------------------------------------------------------------------
# Edge behaviour below follows AWS as measured with TestState by the Floci project
# (github.com/floci-io/floci issues #2662, #2736); it is not in our own recordings.


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("$partition([1,2,3,4,5,6,7,8,9], 3)", [[1, 2, 3], [4, 5, 6], [7, 8, 9]]),
        ("$partition([1,2,3,4], 2)", [[1, 2], [3, 4]]),
        ("$partition([1,2,3])", [[1, 2, 3]]),
        ("$partition([1,2,3], 1.9)", [[1], [2], [3]]),
        ("$partition([], 2)", UNDEFINED),
        ("$partition([1], 0)", UNDEFINED),
        ("$partition($nosuch, 2)", UNDEFINED),
        ("$range(0, 6, 2)", [0, 2, 4, 6]),
        ("$range(0, 10, 2)", [0, 2, 4, 6, 8, 10]),
        ("$range(10, 0, -5)", [10, 5, 0]),
        ("$range(1, 1, 1)", 1),
        ("$range(-1.7, 2.9, 1)", [-1, 0, 1, 2]),
        ("$range(3, 1, 1)", UNDEFINED),
        ("$range(0, 4, 0)", UNDEFINED),
        ("$range(0, 4)", UNDEFINED),
        ("$hash('input', 'SHA-1')", "140f86aae51ab9e1cda9b4254fe98a74eb54c1a1"),
        (
            "$hash('input data', 'SHA-256')",
            "b4a697a057313163aee33cd8d40c66e9f0f177e00cac2de32475ffff6169c3e3",
        ),
        ("$hash('x')", UNDEFINED),
        ("$parse('{\"a\":1}').a", 1),
        ("$parse('{\"a\": [1, null]}')", {"a": [1, None]}),
        ("$parse('null')", None),
        ("$parse($nosuch)", UNDEFINED),
        ("$random(42)", 0.7275636800328681),  # new java.util.Random(42).nextDouble()
        ("$random(42.9)", 0.7275636800328681),
    ],
)
def test_aws_functions(expression: str, expected: Any) -> None:
    got = evaluate_jsonata(expression, {})
    assert got is expected if expected is UNDEFINED or expected is None else json_equal(got, expected)


def test_uuid_and_unseeded_random() -> None:
    assert re.fullmatch(
        r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}",
        evaluate_jsonata("$uuid()", {}),
    )
    r = evaluate_jsonata("$random()", {})
    assert isinstance(r, float) and 0 <= r < 1


@pytest.mark.parametrize(
    ("expression", "tail"),
    [
        # AWS words (via Floci's measurements): codes T0410/T0412/D3137 with jsonata-js phrasing.
        ("$partition([1], -1)", "D3137: Second argument must be zero or greater"),
        ("$partition('x', 1)", 'T0412: Argument 1 of function "partition" must be an array of undefined'),
        (
            "$partition([1], 'a')",
            'T0410: Argument 2 of function "partition" does not match function signature',
        ),
        ("$range(0, 4, 2, 1)", 'T0410: Argument 4 of function "range" does not match function signature'),
        ("$hash(1, 'MD5')", 'T0410: Argument 1 of function "hash" does not match function signature'),
        (
            "$hash('x', 'sha1')",
            "D3137: Hash algorithm 'sha1' must be one of SHA-1, SHA-384, SHA-256, SHA-512, MD5",
        ),
        ("$uuid(1)", 'T0410: Argument 1 of function "uuid" does not match function signature'),
        ("$random('a')", 'T0410: Argument 1 of function "random" does not match function signature'),
        ("$parse('')", "D3137: Invalid JSON"),
        ("$parse('{oops')", "D3137: Invalid JSON"),
        ("$parse('[1] 2')", "D3137: Invalid JSON"),
        ('$parse(\'{"a":1,"a":2}\')', "D3137: Invalid JSON"),
        ("$parse(1)", 'T0410: Argument 1 of function "parse" does not match function signature'),
        # $eval is removed on AWS: calling it is calling nothing.
        ("$eval('1+1')", "T1006: Attempted to invoke a non-function"),
    ],
)
def test_function_errors(expression: str, tail: str) -> None:
    with pytest.raises(StatesError) as e:
        evaluate_jsonata(expression, {}, field="Output")
    assert (e.value.error, e.value.cause) == (
        "States.QueryEvaluationError",
        f"The JSONata expression '{expression}' specified for the field 'Output' threw an error during evaluation. {tail}",
    )


@pytest.mark.parametrize(
    ("expression", "tail"),
    [
        # jsonata-js wording, as AWS reports it (jsonata-python's own text says "Object").
        ('$sum("a")', '. T0412: Argument 1 of function "sum" must be an array of "numbers"'),
        ('$abs("x")', '. T0410: Argument 1 of function "abs" does not match function signature'),
        ('"a" + 1', '. T2001: The left side of the "+" operator must evaluate to a number'),
        (
            '1 > "a"',
            '. T2009: The values 1 and "a" either side of operator ">" must be of the same data type',
        ),
        ("$nosuch(1)", ". T1006: Attempted to invoke a non-function"),
        ('$number("abc")', '. D3030: Unable to cast value to a number: "abc"'),
        ('$replace("a", "", "b")', ". D3010: Second argument of replace function cannot be an empty string"),
        ("$sqrt(-1)", ". D3060: The sqrt function cannot be applied to a negative number: -1"),
        ("1 +", ". S0207: Unexpected end of expression"),
        # A message without a code follows a colon.
        ('$error("boom")', ": boom"),
    ],
)
def test_jsonata_errors_read_like_jsonata_js(expression: str, tail: str) -> None:
    with pytest.raises(StatesError) as e:
        evaluate_jsonata(expression, {}, field="Output")
    assert e.value.cause == (
        f"The JSONata expression '{expression}' specified for the field 'Output' threw an error during evaluation{tail}"
    )


def test_cause_without_a_field() -> None:
    with pytest.raises(StatesError) as e:
        evaluate_jsonata("$uuid(1)", {})
    assert e.value.cause == (
        "The JSONata expression '$uuid(1)' threw an error during evaluation. "
        'T0410: Argument 1 of function "uuid" does not match function signature'
    )


@pytest.mark.parametrize(
    ("expression", "problem"),
    [
        ("$states.input", None),
        ("1 +", "Unexpected end of expression"),
        ('"unterminated', "String literal must be terminated by a matching quote"),
        ('$match("a", /abc', "No terminating / in regular expression"),
    ],
)
def test_jsonata_problem_for_definition_checks(expression: str, problem: str | None) -> None:
    assert jsonata_problem(expression) == problem


# --- plumbing ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{% $x %}", True),
        ("{%$x%}", True),
        (" {% $x %}", False),
        ("{% $x %} ", False),
        ("{ % $x % }", False),
        (1, False),
    ],
)
def test_is_jsonata_expression(text: Any, expected: bool) -> None:
    assert is_jsonata_expression(text) is expected


def test_dollar_prefixed_binding_names_are_accepted() -> None:
    assert evaluate_jsonata("$a + 1", {"$a": 1}) == 2


def test_cached_expression_is_safe_across_threads() -> None:
    results: list[Any] = []
    lock = threading.Lock()

    def work(n: int) -> None:
        for i in range(200):
            got = evaluate_jsonata("$states.input.n * 2 + $i", {"states": {"input": {"n": n}}, "i": i})
            with lock:
                results.append(got == n * 2 + i)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 800 and all(results)


_VALUES: list[Any] = [
    None,
    0,
    1.0,
    2.5,
    True,
    "s",
    [],
    [1],
    [[1]],
    [None],
    [{"k": 1}],
    {},
    {"k": None},
    {"k": [1, {"k": 2}]},
]


@pytest.mark.parametrize("value", _VALUES)
@pytest.mark.parametrize("expression", ["$v", "$s.v", "$s.v.k", "$s.nope", "$s.v.k.k", "$nope", "$sum"])
def test_plain_references_take_a_shortcut_with_the_same_result(expression: str, value: Any) -> None:
    # "(expr)" is the same JSONata but is not a plain reference, so it runs the full evaluator.
    bindings = {"v": value, "s": {"v": value}}
    try:
        slow: Any = evaluate_jsonata(f"({expression})", bindings)
    except StatesError as e:
        slow = ("error", e.error)
    try:
        fast: Any = evaluate_jsonata(expression, bindings)
    except StatesError as e:
        fast = ("error", e.error)
    assert fast is slow if slow is UNDEFINED else json_equal(fast, slow)
