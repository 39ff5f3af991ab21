"""Intrinsic functions, checked against executions recorded on real AWS Step Functions.

``RECORDED`` rows are (expression, state input, FunctionResult) taken verbatim from
../shared/conformance/aws-recorded/cases.jsonl (LocalStack's AWS snapshots, Apache-2.0): each
case was a one-state Pass machine with ``"FunctionResult.$": <expression>``.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from orchestrator.engine.errors import StatesError
from orchestrator.engine.intrinsics import (
    evaluate_intrinsic,
    intrinsic_problem,
    is_intrinsic,
    java_number_text,
    json_equal,
    to_java_json,
)

RECORDED: list[tuple[str, Any, Any]] = [
    ("States.Array()", {"FunctionInput": "HelloWorld"}, []),
    (
        "States.ArrayPartition($.FunctionInput.fst, $.FunctionInput.snd)",
        {"FunctionInput": {"fst": [], "snd": 1}},
        [],
    ),
    (
        "States.ArrayPartition($.FunctionInput.fst, $.FunctionInput.snd)",
        {"FunctionInput": {"fst": [], "snd": 2}},
        [],
    ),
    (
        "States.ArrayPartition($.FunctionInput.fst, $.FunctionInput.snd)",
        {"FunctionInput": {"fst": [], "snd": 3}},
        [],
    ),
    (
        "States.ArrayPartition($.FunctionInput.fst, $.FunctionInput.snd)",
        {"FunctionInput": {"fst": [], "snd": 4}},
        [],
    ),
    (
        "States.ArrayPartition($.FunctionInput.fst, $.FunctionInput.snd)",
        {"FunctionInput": {"fst": [], "snd": 5}},
        [],
    ),
    (
        "States.ArrayPartition($.FunctionInput.fst, $.FunctionInput.snd)",
        {"FunctionInput": {"fst": [0], "snd": 1}},
        [[0]],
    ),
    (
        "States.ArrayPartition($.FunctionInput.fst, $.FunctionInput.snd)",
        {"FunctionInput": {"fst": [0], "snd": 2}},
        [[0]],
    ),
    (
        "States.ArrayPartition($.FunctionInput.fst, $.FunctionInput.snd)",
        {"FunctionInput": {"fst": [0], "snd": 3}},
        [[0]],
    ),
    (
        "States.ArrayPartition($.FunctionInput.fst, $.FunctionInput.snd)",
        {"FunctionInput": {"fst": [0], "snd": 4}},
        [[0]],
    ),
    (
        "States.ArrayPartition($.FunctionInput.fst, $.FunctionInput.snd)",
        {"FunctionInput": {"fst": [0], "snd": 5}},
        [[0]],
    ),
    (
        "States.ArrayPartition($.FunctionInput.fst, $.FunctionInput.snd)",
        {"FunctionInput": {"fst": [0, 1], "snd": 1}},
        [[0], [1]],
    ),
    (
        "States.ArrayPartition($.FunctionInput.fst, $.FunctionInput.snd)",
        {"FunctionInput": {"fst": [0, 1], "snd": 2}},
        [[0, 1]],
    ),
    (
        "States.ArrayPartition($.FunctionInput.fst, $.FunctionInput.snd)",
        {"FunctionInput": {"fst": [0, 1], "snd": 3}},
        [[0, 1]],
    ),
    (
        "States.ArrayPartition($.FunctionInput.fst, $.FunctionInput.snd)",
        {"FunctionInput": {"fst": [0, 1], "snd": 4}},
        [[0, 1]],
    ),
    (
        "States.ArrayPartition($.FunctionInput.fst, $.FunctionInput.snd)",
        {"FunctionInput": {"fst": [0, 1], "snd": 5}},
        [[0, 1]],
    ),
    (
        "States.ArrayPartition($.FunctionInput.fst, $.FunctionInput.snd)",
        {"FunctionInput": {"fst": [0, 1, 2], "snd": 1}},
        [[0], [1], [2]],
    ),
    (
        "States.ArrayPartition($.FunctionInput.fst, $.FunctionInput.snd)",
        {"FunctionInput": {"fst": [0, 1, 2], "snd": 2}},
        [[0, 1], [2]],
    ),
    (
        "States.ArrayPartition($.FunctionInput.fst, $.FunctionInput.snd)",
        {"FunctionInput": {"fst": [0, 1, 2], "snd": 3}},
        [[0, 1, 2]],
    ),
    (
        "States.ArrayPartition($.FunctionInput.fst, $.FunctionInput.snd)",
        {"FunctionInput": {"fst": [0, 1, 2], "snd": 4}},
        [[0, 1, 2]],
    ),
    (
        "States.ArrayPartition($.FunctionInput.fst, $.FunctionInput.snd)",
        {"FunctionInput": {"fst": [0, 1, 2], "snd": 5}},
        [[0, 1, 2]],
    ),
    (
        "States.ArrayPartition($.FunctionInput.fst, $.FunctionInput.snd)",
        {"FunctionInput": {"fst": [0, 1, 2, 3], "snd": 1}},
        [[0], [1], [2], [3]],
    ),
    (
        "States.ArrayPartition($.FunctionInput.fst, $.FunctionInput.snd)",
        {"FunctionInput": {"fst": [0, 1, 2, 3], "snd": 2}},
        [[0, 1], [2, 3]],
    ),
    (
        "States.ArrayPartition($.FunctionInput.fst, $.FunctionInput.snd)",
        {"FunctionInput": {"fst": [0, 1, 2, 3], "snd": 3}},
        [[0, 1, 2], [3]],
    ),
    (
        "States.ArrayPartition($.FunctionInput.fst, $.FunctionInput.snd)",
        {"FunctionInput": {"fst": [0, 1, 2, 3], "snd": 4}},
        [[0, 1, 2, 3]],
    ),
    (
        "States.ArrayPartition($.FunctionInput.fst, $.FunctionInput.snd)",
        {"FunctionInput": {"fst": [0, 1, 2, 3], "snd": 5}},
        [[0, 1, 2, 3]],
    ),
    (
        "States.ArrayContains($.FunctionInput.fst, $.FunctionInput.snd)",
        {"FunctionInput": {"fst": [], "snd": None}},
        False,
    ),
    (
        "States.ArrayContains($.FunctionInput.fst, $.FunctionInput.snd)",
        {"FunctionInput": {"fst": [], "snd": []}},
        False,
    ),
    (
        "States.ArrayContains($.FunctionInput.fst, $.FunctionInput.snd)",
        {"FunctionInput": {"fst": [], "snd": 1}},
        False,
    ),
    (
        "States.ArrayContains($.FunctionInput.fst, $.FunctionInput.snd)",
        {"FunctionInput": {"fst": [[1, 2, 3], 2], "snd": None}},
        False,
    ),
    (
        "States.ArrayContains($.FunctionInput.fst, $.FunctionInput.snd)",
        {"FunctionInput": {"fst": [[1, 2, 3], 2], "snd": [1, 2, 3]}},
        True,
    ),
    (
        "States.ArrayContains($.FunctionInput.fst, $.FunctionInput.snd)",
        {"FunctionInput": {"fst": [{"1": 2, "2": []}], "snd": []}},
        False,
    ),
    (
        "States.ArrayContains($.FunctionInput.fst, $.FunctionInput.snd)",
        {"FunctionInput": {"fst": [{"1": 2, "2": []}], "snd": {"1": 2, "2": []}}},
        True,
    ),
    (
        "States.ArrayContains($.FunctionInput.fst, $.FunctionInput.snd)",
        {"FunctionInput": {"fst": [True, False], "snd": True}},
        True,
    ),
    (
        "States.ArrayContains($.FunctionInput.fst, $.FunctionInput.snd)",
        {"FunctionInput": {"fst": [True, False], "snd": False}},
        True,
    ),
    (
        "States.ArrayRange($.FunctionInput.fst, $.FunctionInput.snd, $.FunctionInput.trd)",
        {"FunctionInput": {"fst": 0, "snd": 9, "trd": 3}},
        [0, 3, 6, 9],
    ),
    (
        "States.ArrayRange($.FunctionInput.fst, $.FunctionInput.snd, $.FunctionInput.trd)",
        {"FunctionInput": {"fst": 0, "snd": 10, "trd": 3}},
        [0, 3, 6, 9],
    ),
    (
        "States.ArrayRange($.FunctionInput.fst, $.FunctionInput.snd, $.FunctionInput.trd)",
        {"FunctionInput": {"fst": 1, "snd": 9, "trd": 9}},
        [1],
    ),
    (
        "States.ArrayRange($.FunctionInput.fst, $.FunctionInput.snd, $.FunctionInput.trd)",
        {"FunctionInput": {"fst": 1, "snd": 9, "trd": 2}},
        [1, 3, 5, 7, 9],
    ),
    ("States.ArrayLength($.FunctionInput)", {"FunctionInput": [1, 2, 3, 4, 5, 6, 7, 8, 9]}, 9),
    (
        "States.ArrayLength($.FunctionInput)",
        {
            "FunctionInput": [
                None,
                None,
                True,
                True,
                False,
                False,
                1,
                1,
                1.1,
                0,
                0,
                "HelloWorld",
                "HelloWorld",
                [],
                [],
                [None],
                [None],
                {"a": 1, "b": 2},
                {"a": 1, "b": 2},
                {"a": 1, "b": 1},
            ]
        },
        20,
    ),
    ("States.Base64Encode($.FunctionInput)", {"FunctionInput": ""}, ""),
    ("States.Base64Encode($.FunctionInput)", {"FunctionInput": "Data to encode"}, "RGF0YSB0byBlbmNvZGU="),
    ("States.Base64Decode($.FunctionInput)", {"FunctionInput": ""}, ""),
    ("States.Base64Decode($.FunctionInput)", {"FunctionInput": "RGF0YSB0byBlbmNvZGU="}, "Data to encode"),
    (
        "States.Format('Formatting argument {}.', $.FunctionInput)",
        {"FunctionInput": ""},
        "Formatting argument .",
    ),
    (
        "States.Format('Formatting argument {}.', $.FunctionInput)",
        {"FunctionInput": " "},
        "Formatting argument  .",
    ),
    (
        "States.Format('Formatting argument {}.', $.FunctionInput)",
        {"FunctionInput": "HelloWorld"},
        "Formatting argument HelloWorld.",
    ),
    (
        "States.Format('Formatting argument {}.', $.FunctionInput)",
        {"FunctionInput": None},
        "Formatting argument null.",
    ),
    (
        "States.Format('Formatting argument {}.', $.FunctionInput)",
        {"FunctionInput": 1},
        "Formatting argument 1.",
    ),
    (
        "States.Format('Formatting argument {}.', $.FunctionInput)",
        {"FunctionInput": 1.1},
        "Formatting argument 1.1.",
    ),
    (
        "States.Format('Formatting argument {}.', $.FunctionInput)",
        {"FunctionInput": '{"Arg1": 1, "Arg2": []}'},
        'Formatting argument {"Arg1": 1, "Arg2": []}.',
    ),
    (
        "States.Format('Formatting arguments fst={} and snd={}.', $.FunctionInput.fst, $.FunctionInput.snd)",
        {"FunctionInput": {"fst": "", "snd": ""}},
        "Formatting arguments fst= and snd=.",
    ),
    (
        "States.Format('Formatting arguments fst={} and snd={}.', $.FunctionInput.fst, $.FunctionInput.snd)",
        {"FunctionInput": {"fst": " ", "snd": " "}},
        "Formatting arguments fst=  and snd= .",
    ),
    (
        "States.Format('Formatting arguments fst={} and snd={}.', $.FunctionInput.fst, $.FunctionInput.snd)",
        {"FunctionInput": {"fst": "HelloWorld", "snd": "HelloWorld"}},
        "Formatting arguments fst=HelloWorld and snd=HelloWorld.",
    ),
    (
        "States.Format('Formatting arguments fst={} and snd={}.', $.FunctionInput.fst, $.FunctionInput.snd)",
        {"FunctionInput": {"fst": None, "snd": None}},
        "Formatting arguments fst=null and snd=null.",
    ),
    (
        "States.Format('Formatting arguments fst={} and snd={}.', $.FunctionInput.fst, $.FunctionInput.snd)",
        {"FunctionInput": {"fst": 1, "snd": 1}},
        "Formatting arguments fst=1 and snd=1.",
    ),
    (
        "States.Format('Formatting arguments fst={} and snd={}.', $.FunctionInput.fst, $.FunctionInput.snd)",
        {"FunctionInput": {"fst": 1.1, "snd": 1.1}},
        "Formatting arguments fst=1.1 and snd=1.1.",
    ),
    (
        "States.Format('Formatting arguments fst={} and snd={}.', $.FunctionInput.fst, $.FunctionInput.snd)",
        {"FunctionInput": {"fst": '{"Arg1": 1, "Arg2": []}', "snd": '{"Arg1": 1, "Arg2": []}'}},
        'Formatting arguments fst={"Arg1": 1, "Arg2": []} and snd={"Arg1": 1, "Arg2": []}.',
    ),
    (
        "States.Format('Formatting arguments fst={} and snd={}.', $.FunctionInput.fst, $.FunctionInput.snd)",
        {"FunctionInput": {"fst": {"Arg1": 1, "Arg2": []}, "snd": {"Arg1": 1, "Arg2": []}}},
        "Formatting arguments fst={Arg1=1, Arg2=[]} and snd={Arg1=1, Arg2=[]}.",
    ),
    ("States.StringSplit('Hello\nWorld', '\n')", {"FunctionInput": None}, ["Hello", "World"]),
    (
        "States.Hash($.FunctionInput.fst, $.FunctionInput.snd)",
        {"FunctionInput": {"fst": "input data", "snd": "MD5"}},
        "812f45842bc6d66ee14572ce20db8e86",
    ),
    (
        "States.Hash($.FunctionInput.fst, $.FunctionInput.snd)",
        {"FunctionInput": {"fst": "input data", "snd": "SHA-1"}},
        "aaff4a450a104cd177d28d18d74485e8cae074b7",
    ),
    (
        "States.Hash($.FunctionInput.fst, $.FunctionInput.snd)",
        {"FunctionInput": {"fst": "input data", "snd": "SHA-256"}},
        "b4a697a057313163aee33cd8d40c66e9f0f177e00cac2de32475ffff6169c3e3",
    ),
    (
        "States.Hash($.FunctionInput.fst, $.FunctionInput.snd)",
        {"FunctionInput": {"fst": "input data", "snd": "SHA-384"}},
        "d28a7d5cf25a74f11a50a18452b75e04bb3d70c9dd0510d6123aa008c756511b87525bdc835ebb27e1fb9e9374a15562",
    ),
    (
        "States.Hash($.FunctionInput.fst, $.FunctionInput.snd)",
        {"FunctionInput": {"fst": "input data", "snd": "SHA-512"}},
        "6ce4adb348546d4f449c4d25aad9a7c9cb711d9e91982d3f0b29ca2f3f47d4ce2deba23bf2954f0f1d593fc50283731a533d30d425402d4f91316d871303aac4",
    ),
    (
        "States.JsonMerge($.FunctionInput.fst, $.FunctionInput.snd, false)",
        {
            "FunctionInput": {
                "fst": {"a": {"a1": 1, "a2": 2}, "b": 2, "d": 3},
                "snd": {"a": {"a3": 1, "a4": 2}, "c": 3, "d": 4},
            }
        },
        {"a": {"a3": 1, "a4": 2}, "b": 2, "c": 3, "d": 4},
    ),
    (
        "States.StringSplit($.FunctionInput.fst, $.FunctionInput.snd)",
        {"FunctionInput": {"fst": " ", "snd": ","}},
        [" "],
    ),
    (
        "States.StringSplit($.FunctionInput.fst, $.FunctionInput.snd)",
        {"FunctionInput": {"fst": " , ", "snd": ","}},
        [" ", " "],
    ),
    (
        "States.StringSplit($.FunctionInput.fst, $.FunctionInput.snd)",
        {"FunctionInput": {"fst": ", , ,", "snd": ","}},
        [" ", " "],
    ),
    (
        "States.StringSplit($.FunctionInput.fst, $.FunctionInput.snd)",
        {"FunctionInput": {"fst": ",,,,", "snd": ","}},
        [],
    ),
    (
        "States.StringSplit($.FunctionInput.fst, $.FunctionInput.snd)",
        {"FunctionInput": {"fst": "1,2,3,4,5", "snd": ","}},
        ["1", "2", "3", "4", "5"],
    ),
    (
        "States.StringSplit($.FunctionInput.fst, $.FunctionInput.snd)",
        {"FunctionInput": {"fst": "This.is+a,test=string", "snd": ".+,="}},
        ["This", "is", "a", "test", "string"],
    ),
    (
        "States.StringSplit($.FunctionInput.fst, $.FunctionInput.snd)",
        {"FunctionInput": {"fst": "split on T and \nnew line", "snd": "T\n"}},
        ["split on ", " and ", "new line"],
    ),
]


def _same(a: Any, b: Any) -> bool:
    """Equal with JSON types kept apart (1 is not 1.0, True is not 1)."""
    return json_equal(a, b)


@pytest.mark.parametrize(("expression", "state_input", "expected"), RECORDED)
def test_recorded_function_result(expression: str, state_input: Any, expected: Any) -> None:
    assert _same(evaluate_intrinsic(expression, state_input, {}, {}), expected)


# --- multi-function recordings -------------------------------------------------------------


def test_reference_in_intrinsic_function_recording() -> None:
    # BASE_REFERENCE_IN_INTRINSIC_FUNCTION: every argument is a variable.
    variables = {
        "rawString": "Hello World",
        "encodedString": "SGVsbG8gV29ybGQ=",
        "inputString": "Hash this string",
        "json1": {"a": 1, "b": 2},
        "json2": {"c": 3, "d": 4},
        "jsonString": '{"key":"value"}',
        "jsonObject": {"test": "object"},
        "value1": 5,
        "value2": 3,
        "csvString": "a,b,c,d,e",
        "name": "John",
        "place": "LocalStack",
    }

    def ev(expression: str) -> Any:
        return evaluate_intrinsic(expression, {}, {}, variables)

    assert ev("States.Base64Encode($rawString)") == "SGVsbG8gV29ybGQ="
    assert ev("States.Base64Decode($encodedString)") == "Hello World"
    assert ev("States.Hash($inputString, 'SHA-256')") == (
        "1cac63f39fd68d8c531f27b807610fb3d50f0fc3f186995767fb6316e7200a3e"
    )
    assert ev("States.JsonMerge($json1, $json2, false)") == {"a": 1, "b": 2, "c": 3, "d": 4}
    assert ev("States.StringToJson($jsonString)") == {"key": "value"}
    assert ev("States.JsonToString($jsonObject)") == '{"test":"object"}'
    assert _same(ev("States.MathAdd($value1, $value2)"), 8)
    assert ev("States.StringSplit($csvString, ',')") == ["a", "b", "c", "d", "e"]
    assert (
        ev("States.Format('Hello {}, welcome to {}!', $name, $place)") == "Hello John, welcome to LocalStack!"
    )
    assert re.fullmatch(
        r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", ev("States.UUID()")
    )


def test_json_merge_of_string_to_json_literal_and_context_path() -> None:
    # test_json_merge_escaped_argument: a JSON literal inside a string literal, merged with $$.
    context = {"Execution": {"Input": {"input_field": {"constant_input_field": "constant_value"}}}}
    got = evaluate_intrinsic(
        'States.JsonMerge(States.StringToJson(\'{"constant_in_literal": "false"}\'), '
        "$$.Execution.Input.input_field, false)",
        {},
        context,
        {},
    )
    assert got == {"constant_input_field": "constant_value", "constant_in_literal": "false"}


def test_fail_state_error_and_cause_paths() -> None:
    # test_state_fail_intrinsic: ErrorPath/CausePath are intrinsics.
    state_input = {"Error": "error string", "Cause": "cause string"}
    assert evaluate_intrinsic("States.Format('{}', $.Error)", state_input, {}, {}) == "error string"
    assert (
        evaluate_intrinsic(
            "States.Format('This is a custom error message for {}, caused by {}.', $.Error, $.Cause)",
            state_input,
            {},
            {},
        )
        == "This is a custom error message for error string, caused by cause string."
    )


def test_format_template_from_a_path_and_map_item_from_context() -> None:
    # MAP_STATE_REFERENCE_IN_ITEMS_PATH: the template itself comes from the input.
    got = evaluate_intrinsic(
        "States.Format($.AnswerTemplate, $$.Map.Item.Value)",
        {"AnswerTemplate": "It's {}!"},
        {"Map": {"Item": {"Value": "Pikachu", "Index": 1}}},
        {},
    )
    assert got == "It's Pikachu!"


def test_reentrant_loop_counters() -> None:
    # test_map_state_legacy_reentrant: ArrayRange seeds the list, MathAdd counts down.
    assert _same(evaluate_intrinsic("States.ArrayRange(0, 3, 1)", {}, {}, {}), [0, 1, 2, 3])
    assert _same(evaluate_intrinsic("States.MathAdd($.Iterations, -1)", {"Iterations": 3}, {}, {}), 2)


def test_string_literal_with_real_newlines() -> None:
    # test_escape_sequence: the JSON "\n" is a newline character inside the literal.
    assert evaluate_intrinsic("States.StringSplit('Hello\nWorld', '\n')", None, {}, {}) == ["Hello", "World"]


def test_nested_math_add_with_variables() -> None:
    # BASE_REFERENCE_IN_ITERATOR_OUTER_SCOPE sums ints and a float bias; AWS rounds to integers.
    got = evaluate_intrinsic(
        "States.MathAdd(States.MathAdd(States.MathAdd($yCurrent, $xCurrent), $zCurrent), $bias)",
        {},
        {},
        {"xCurrent": 9, "yCurrent": 44, "zCurrent": 6, "bias": 4.3},
    )
    assert _same(got, 63)


# --- AWS documentation examples ------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("States.Array('a', 1, true, null, 1.5)", ["a", 1, True, None, 1.5]),
        ("States.ArrayPartition(States.Array(1,2,3,4,5,6,7), 4)", [[1, 2, 3, 4], [5, 6, 7]]),
        ("States.ArrayContains(States.Array(1,2,3), 1.0)", False),
        ("States.ArrayContains(States.Array(true), 1)", False),
        ("States.ArrayRange(1, 9, 2)", [1, 3, 5, 7, 9]),
        ("States.ArrayRange(10, 0, -5)", [10, 5, 0]),
        ("States.ArrayRange(5, 1, 1)", []),
        ("States.ArrayGetItem(States.Array(1,2,3,4,5,6,7,8,9), 5)", 6),
        ("States.ArrayUnique(States.Array(1,2,3,3,3,3,3,3,4))", [1, 2, 3, 4]),
        ("States.ArrayUnique(States.Array(1, 1.0, true, 'a', 'a'))", [1, 1.0, True, "a"]),
        ("States.Base64Encode('Data to encode')", "RGF0YSB0byBlbmNvZGU="),
        ("States.Base64Decode('RGF0YSB0byBlbmNvZGU=')", "Data to encode"),
        ("States.Hash('input data', 'SHA-1')", "aaff4a450a104cd177d28d18d74485e8cae074b7"),
        ("States.MathAdd(111, -1)", 110),
        ("States.MathAdd(1.5, 1)", 3),
        ("States.MathAdd(-2.5, 0)", -2),
        ("States.StringSplit('1,2,3,4,5', ',')", ["1", "2", "3", "4", "5"]),
        ("States.Format('Hello, my name is {}.', 'Arnav')", "Hello, my name is Arnav."),
        (
            "States.JsonToString(States.StringToJson('{\"a\": [1, 2.5, null, true]}'))",
            '{"a":[1,2.5,null,true]}',
        ),
    ],
)
def test_documented_examples(expression: str, expected: Any) -> None:
    assert _same(evaluate_intrinsic(expression, {}, {}, {}), expected)


def test_math_random_bounds_and_seed() -> None:
    for _ in range(50):
        n = evaluate_intrinsic("States.MathRandom(1, 5)", {}, {}, {})
        assert isinstance(n, int) and 1 <= n < 5
    seeded = [evaluate_intrinsic("States.MathRandom(0, 999, 3)", {}, {}, {}) for _ in range(3)]
    assert seeded[0] == seeded[1] == seeded[2]
    # new java.util.Random(3).nextInt(999) is 239 (checked on a JDK): a seed means what it would on AWS.
    assert seeded[0] == 239


# --- Java text -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1, "1"),
        (1.0, "1.0"),
        (1.1, "1.1"),
        (-0.5, "-0.5"),
        (123456.789, "123456.789"),
        (1e7, "1.0E7"),
        (12345678.9, "1.23456789E7"),
        (0.001, "0.001"),
        (0.0001, "1.0E-4"),
        (1e21, "1.0E21"),
        (12345678901234567890, "12345678901234567890"),
    ],
)
def test_java_number_text(value: float, text: str) -> None:
    assert java_number_text(value) == text


def test_format_renders_values_as_java_to_string() -> None:
    state_input = {"o": {"Arg1": 1, "Arg2": [], "s": "x", "n": None, "f": 2.0}, "l": ["a", 1.5, True]}
    got = evaluate_intrinsic("States.Format('{} {}', $.o, $.l)", state_input, {}, {})
    assert got == "{Arg1=1, Arg2=[], s=x, n=null, f=2.0} [a, 1.5, true]"


def test_format_escapes_in_literals() -> None:
    got = evaluate_intrinsic("States.Format('\\{\\} {} it\\'s \\\\', 'x')", {}, {}, {})
    assert got == "{} x it's \\"


def test_json_to_string_is_compact_and_keeps_order_and_unicode() -> None:
    state_input = {"v": {"z": 1, "a": "é\n\u0001", "d": 1e10}}
    assert evaluate_intrinsic("States.JsonToString($.v)", state_input, {}, {}) == (
        '{"z":1,"a":"é\\n\\u0001","d":1.0E10}'
    )
    assert to_java_json([None, True, '"']) == '[null,true,"\\""]'


# --- paths -----------------------------------------------------------------------------------


def test_path_arguments() -> None:
    state_input = {"a": [{"b": "x"}], "k e y": 2}
    assert evaluate_intrinsic("States.Array($, $.a[0].b, $['k e y'])", state_input, {}, {}) == [
        state_input,
        "x",
        2,
    ]
    assert evaluate_intrinsic("States.Array($v, $v.x[1])", {}, {}, {"v": {"x": [0, 7]}}) == [{"x": [0, 7]}, 7]


def test_custom_resolver_is_used() -> None:
    seen: list[str] = []

    def resolve(path: str) -> Any:
        seen.append(path)
        return 41

    assert evaluate_intrinsic("States.MathAdd($.a[?(@.x)], 1)", {}, {}, {}, resolve_path=resolve) == 42
    assert seen == ["$.a[?(@.x)]"]


def test_missing_path_is_runtime_error() -> None:
    with pytest.raises(StatesError) as e:
        evaluate_intrinsic("States.Format('{}', $.nope)", {"a": 1}, {}, {}, field="value.$")
    assert e.value.error == "States.Runtime"
    assert (
        e.value.cause
        == "The JSONPath '$.nope' specified for the field 'value.$' could not be found in the input '{\"a\":1}'"
    )


def test_resolver_lookup_error_is_runtime_error() -> None:
    def resolve(path: str) -> Any:
        raise KeyError(path)

    with pytest.raises(StatesError, match="States.Runtime: The JSONPath '\\$x' could not be found"):
        evaluate_intrinsic("States.Array($x)", {}, {}, {}, resolve_path=resolve)


# --- failures --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "cause"),
    [
        (
            "States.ArrayGetItem(States.Array(1), 3)",
            "Invalid arguments in States.ArrayGetItem: the index 3 is out of bounds for an array of length 1",
        ),
        (
            "States.ArrayPartition(States.Array(1), 0)",
            "Invalid arguments in States.ArrayPartition: the chunk size must be greater than 0, but was 0",
        ),
        (
            "States.ArrayRange(0, 1000, 1)",
            "Invalid arguments in States.ArrayRange: the range must have at most 1000 items, but would have 1001",
        ),
        ("States.ArrayRange(0, 10, 0)", "Invalid arguments in States.ArrayRange: the step must not be 0"),
        (
            "States.Hash('x', 'SHA-3')",
            "Invalid arguments in States.Hash: the hash algorithm must be one of MD5, SHA-1, SHA-256, SHA-384, SHA-512, but was 'SHA-3'",
        ),
        (
            "States.JsonMerge(States.StringToJson('{}'), States.StringToJson('{}'), true)",
            "Invalid arguments in States.JsonMerge: the deep merge flag must be false, but was true",
        ),
        (
            "States.MathRandom(5, 5)",
            "Invalid arguments in States.MathRandom: the end (5) must be greater than the start (5)",
        ),
        (
            "States.Base64Decode('!!!')",
            "Invalid arguments in States.Base64Decode: the argument is not valid Base64: !!!",
        ),
        (
            "States.StringToJson('{nope')",
            "Invalid arguments in States.StringToJson: the string is not valid JSON: {nope",
        ),
        (
            "States.Format('{} {}', 1)",
            "Invalid arguments in States.Format: the number of arguments does not match the number of '{}' placeholders",
        ),
        (
            "States.MathAdd('1', 2)",
            'Invalid arguments in States.MathAdd: the first argument must be a number, but was string: "1"',
        ),
        (
            "States.ArrayLength('abc')",
            'Invalid arguments in States.ArrayLength: the argument must be an array, but was string: "abc"',
        ),
    ],
)
def test_intrinsic_failures(expression: str, cause: str) -> None:
    with pytest.raises(StatesError) as e:
        evaluate_intrinsic(expression, {}, {}, {})
    assert (e.value.error, e.value.cause) == ("States.IntrinsicFailure", cause)


def test_input_length_limit() -> None:
    with pytest.raises(StatesError, match="at most 10000 characters, but was 10001"):
        evaluate_intrinsic("States.Base64Encode($.s)", {"s": "x" * 10001}, {}, {})


# --- syntax ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("States.Format('{}', $.a)", True),
        ("  States.UUID()  ", True),
        ("$.a", False),
        ("States.Format", False),
        ("Hello States.UUID()", False),
    ],
)
def test_is_intrinsic(text: str, expected: bool) -> None:
    assert is_intrinsic(text) is expected


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("States.UUID()", None),
        ("States.MathAdd(1)", "States.MathAdd takes 2 arguments, got 1 in 'States.MathAdd(1)'"),
        ("States.Nope(1)", "unknown intrinsic function 'States.Nope' in 'States.Nope(1)'"),
        (
            "States.Array(1,",
            "expected a string, number, boolean, null, path or intrinsic function at position 15 in 'States.Array(1,'",
        ),
        ("States.Array('a)", 'unterminated string literal at position 16 in "States.Array(\'a)"'),
        ("States.Array(1) x", "unexpected text after the closing ')' at position 16 in 'States.Array(1) x'"),
    ],
)
def test_intrinsic_problem(text: str, problem: str | None) -> None:
    assert intrinsic_problem(text) == problem


def test_syntax_error_at_run_time_is_runtime_error() -> None:
    with pytest.raises(StatesError) as e:
        evaluate_intrinsic("States.MathAdd(1)", {}, {}, {}, field="n.$")
    assert e.value.error == "States.Runtime"
    assert e.value.cause == (
        "The value for the field 'n.$' must be a valid intrinsic function call: "
        "States.MathAdd takes 2 arguments, got 1 in 'States.MathAdd(1)'"
    )


def test_wildcards_and_filters_fall_back_to_engine_jsonpath() -> None:
    state_input = {"a": [{"b": 1}, {"b": 2}]}
    assert evaluate_intrinsic("States.Array($.a[*].b)", state_input, {}, {}) == [[1, 2]]
    assert evaluate_intrinsic("States.ArrayLength($.a[?(@.b > 1)])", state_input, {}, {}) == 1
    with pytest.raises(StatesError, match=r"The JSONPath '\$\.x\[\*\]\.c' could not be found"):
        evaluate_intrinsic("States.Array($.x[*].c)", state_input, {}, {})


# --- more AWS recordings, from LocalStack's snapshot files not carried into cases.jsonl --------
# tests/aws/services/stepfunctions/v2/intrinsic_functions/test_json_manipulation.snapshot.json and
# test_math_operations.snapshot.json (localstack/localstack, Apache-2.0), recorded on AWS.


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", None),
        (" ", None),
        ("null", None),
        ("-0", 0),
        ("1", 1),
        ("1.1", 1.1),
        ("true", True),
        ('"HelloWorld"', "HelloWorld"),
        ('[1, 2, "HelloWorld"]', [1, 2, "HelloWorld"]),
        ('{"Arg1": 1, "Arg2": []}', {"Arg1": 1, "Arg2": []}),
    ],
)
def test_recorded_string_to_json(text: str, expected: Any) -> None:
    got = evaluate_intrinsic("States.StringToJson($.FunctionInput)", {"FunctionInput": text}, {}, {})
    assert _same(got, expected)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0, "0"),
        (1, "1"),
        (1.1, "1.1"),
        (True, "true"),
        ("HelloWorld", '"HelloWorld"'),
        ([1, 2, "HelloWorld"], '[1,2,"HelloWorld"]'),
        ({"Arg1": 1, "Arg2": []}, '{"Arg1":1,"Arg2":[]}'),
    ],
)
def test_recorded_json_to_string(value: Any, expected: str) -> None:
    assert (
        evaluate_intrinsic("States.JsonToString($.FunctionInput)", {"FunctionInput": value}, {}, {})
        == expected
    )


@pytest.mark.parametrize(
    ("fst", "snd", "expected"),
    [(-9, 3, -6), (1.49, 1.5, 3), (1.5, 1.51, 4), (-1.49, -1.5, -2), (-1.5, -1.51, -3)],
)
def test_recorded_math_add_rounds_like_java(fst: float, snd: float, expected: int) -> None:
    # Math.round: halves go up (1.5 -> 2, -1.5 -> -1), which Python's round() does not do.
    state_input = {"FunctionInput": {"fst": fst, "snd": snd}}
    got = evaluate_intrinsic("States.MathAdd($.FunctionInput.fst, $.FunctionInput.snd)", state_input, {}, {})
    assert _same(got, expected)
