"""Differential test: random JSONPath Pass/Choice machines give the same result on this engine
and on moto's Step Functions interpreter (``execute_state_machine``)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orchestrator.engine import execute

boto3 = pytest.importorskip("boto3")
moto = pytest.importorskip("moto")

ROLE = "arn:aws:iam::123456789012:role/sfn"
KEYS = ("a", "b", "c")

scalars = st.one_of(st.integers(-5, 5), st.sampled_from(["x", "y", "zz"]), st.booleans())
inputs = st.fixed_dictionaries({k: scalars for k in KEYS}).map(
    lambda d: {**d, "nested": {"n": d["a"], "s": "x"}})


@st.composite
def pass_state(draw: st.DrawFn) -> dict[str, Any]:
    state: dict[str, Any] = {"Type": "Pass"}
    kind = draw(st.sampled_from(["plain", "result", "parameters"]))
    if kind == "result":
        state["Result"] = {"r": draw(scalars)}
    elif kind == "parameters":
        key = draw(st.sampled_from(KEYS))
        state["Parameters"] = {"copy.$": f"$.{key}", "const": draw(scalars), "deep.$": "$.nested.s"}
    # Keep the input's keys, so later paths resolve (moto does not fail a Choice on a missing
    # Variable, where AWS does).
    if kind != "plain" or draw(st.booleans()):
        state["ResultPath"] = draw(st.sampled_from(["$.out", "$.nested.out"]))
    return state


@st.composite
def choice_rule(draw: st.DrawFn) -> dict[str, Any]:
    key = draw(st.sampled_from(KEYS))
    op = draw(st.sampled_from(["NumericEquals", "NumericGreaterThan", "NumericLessThanEquals", "StringEquals",
                               "StringLessThan", "BooleanEquals", "IsNumeric", "IsString", "IsPresent",
                               "StringMatches"]))
    value: Any
    if op.startswith("Numeric"):
        value = draw(st.integers(-5, 5))
    elif op == "StringMatches":
        value = draw(st.sampled_from(["x*", "*z", "y"]))
    elif op.startswith("String"):
        value = draw(st.sampled_from(["x", "y", "zz"]))
    else:
        value = draw(st.booleans())
    rule: dict[str, Any] = {"Variable": f"$.{key}", op: value}
    if draw(st.booleans()):
        rule = {"Not": rule}
    if draw(st.booleans()):
        rule = {"And": [rule, {"Variable": "$.nested.s", "StringEquals": "x"}]}
    return rule


@st.composite
def machines(draw: st.DrawFn) -> dict[str, Any]:
    n = draw(st.integers(1, 4))
    states: dict[str, Any] = {}
    for i in range(n):
        states[f"S{i}"] = {**draw(pass_state()), "Next": f"S{i + 1}"}
    states[f"S{n}"] = {"Type": "Choice", "Choices": [{**draw(choice_rule()), "Next": "Yes"}], "Default": "No"}
    states["Yes"] = {"Type": "Pass", "Result": "yes", "ResultPath": "$.branch", "End": True}
    states["No"] = {"Type": "Pass", "Result": "no", "ResultPath": "$.nested.branch", "OutputPath": "$.nested",
                    "End": True}
    return {"StartAt": "S0", "States": states}


@pytest.fixture(scope="module")
def moto_sfn() -> Iterator[Any]:
    # One client for all examples (creating one costs ~0.3 s), but a fresh mock per example:
    # moto 5 fails a second StartExecution in one backend (it deep-copies a lock).
    with moto.mock_aws():
        client = boto3.client("stepfunctions", region_name="us-east-1")
    yield client


def run_on_moto(client: Any, definition: dict[str, Any], value: Any) -> tuple[str, Any]:
    with moto.mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        return _run_on_moto(client, definition, value)


def _run_on_moto(client: Any, definition: dict[str, Any], value: Any) -> tuple[str, Any]:
    name = f"m{time.perf_counter_ns()}"
    arn = client.create_state_machine(name=name, definition=json.dumps(definition), roleArn=ROLE)["stateMachineArn"]
    execution = client.start_execution(stateMachineArn=arn, input=json.dumps(value))["executionArn"]
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        described = client.describe_execution(executionArn=execution)
        if described["status"] != "RUNNING":
            output = json.loads(described["output"]) if "output" in described else None
            return described["status"], output
        time.sleep(0.002)
    raise AssertionError("moto execution did not finish")


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(definition=machines(), value=inputs)
def test_same_result_as_moto(moto_sfn: Any, definition: dict[str, Any], value: dict[str, Any]) -> None:
    expected_status, expected_output = run_on_moto(moto_sfn, definition, value)
    run = execute(definition, value, virtual_time=True)
    assert run.status == expected_status
    assert run.output == expected_output
