"""The ``${...}`` placeholders: one pattern, one set of names, one ``substitute()``."""

from __future__ import annotations

import doctest

from orchestrator import model, placeholders
from orchestrator.compiler import compile_workflow
from orchestrator.placeholders import placeholder, substitute


def test_docstring_examples() -> None:
    result = doctest.testmod(placeholders)
    assert result.attempted > 0 and result.failed == 0


def test_values_only_never_keys() -> None:
    # CDK definitionSubstitutions semantics: a key that looks like a placeholder stays as written.
    definition = {"${A}": "${A}", "nested": [{"x": "pre-${A}-${B}-post"}], "n": 1, "t": True, "z": None}
    assert substitute(definition, {"A": "a"}) == {
        "${A}": "a", "nested": [{"x": "pre-a-${B}-post"}], "n": 1, "t": True, "z": None}


def test_values_with_json_specials_stay_strings() -> None:
    assert substitute({"v": "${A}"}, {"A": 'q"uo\\te'}) == {"v": 'q"uo\\te'}


def test_a_function_may_supply_the_values() -> None:
    seen: list[str] = []

    def values(key: str) -> str | None:
        seen.append(key)
        return None

    assert substitute(["${X}", "no placeholder"], values) == ["${X}", "no placeholder"]
    assert seen == ["X"]


def test_names_the_compiler_writes() -> None:
    wf = model.Workflow(name="wf", tasks=(
        model.Task(name="a b", job=model.BatchJob(image="alpine:3", command=("true",))),
        model.Task(name="f", job=model.LambdaTask(handler="m:f"), after=("a b",)),
    ), notify=model.Notify(email=("ops@example.com",)))
    found = compile_workflow(wf).placeholders
    assert found == {placeholder(placeholders.JOB_QUEUE, "default"),
                     placeholder(placeholders.JOB_DEFINITION, "a b"),
                     placeholder(placeholders.FUNCTION, "f"),
                     placeholder(placeholders.ALERT_TOPIC),
                     placeholder(placeholders.JOB_LOG_GROUP)}  # the alert reads the failed job's log tail
    assert placeholder(placeholders.JOB_DEFINITION, "a b") == "${JobDefinition_a_b_c8687a}"


def test_child_of() -> None:
    assert placeholders.child_of("StateMachine_wf-part-1") == "wf-part-1"
    assert placeholders.child_of("${StateMachine_}") is None
    assert placeholders.child_of("${AlertTopicArn}") is None
