"""Executions on Step Functions through boto3: moto runs a compiled workflow end to end; the
calls moto lacks (RedriveExecution) are checked for their shape with botocore's Stubber."""

from __future__ import annotations

import doctest
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from aws_fixtures import REGION, echo_functions, fake_credentials  # noqa: F401

from orchestrator import model
from orchestrator.aws import executions
from orchestrator.aws.deploy import deploy_state_machines
from orchestrator.aws.errors import AwsError
from orchestrator.compiler import compile_workflow

MOTO_CONFIG = {"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}
LIST_KEYS = {"executionArn", "stateMachineArn", "name", "status", "startDate", "stopDate"}


def lam(name: str, after: tuple[str, ...] = ()) -> model.Task:
    return model.Task(name=name, job=model.LambdaTask(handler="m:f"), after=after)


WORKFLOW = model.Workflow(name="greet", tasks=(lam("hello"), lam("shout", ("hello",))))


def deploy_in_moto(config: dict[str, Any]) -> Iterator[tuple[Any, str]]:
    import boto3
    from moto import mock_aws

    with mock_aws(config=config):  # type: ignore[call-overload]
        result = compile_workflow(WORKFLOW)
        role, subs = echo_functions(p[len("${Function_"):-1] for p in result.placeholders)
        sfn = boto3.client("stepfunctions")
        arns = deploy_state_machines(result, role_arn=role, substitutions=subs, client=sfn)
        yield sfn, arns["greet"]


@pytest.fixture()
def deployed() -> Iterator[tuple[Any, str]]:
    """The compiled WORKFLOW deployed in moto, which runs it, its functions moto Lambdas;
    (client, state machine ARN). moto's interpreter runs one execution per state machine: a
    second StartExecution deep-copies the machine with the first execution's thread locks and
    fails, so tests that need several executions use :func:`recorded` instead."""
    yield from deploy_in_moto(MOTO_CONFIG)


@pytest.fixture()
def recorded() -> Iterator[tuple[Any, str]]:
    """WORKFLOW deployed in moto without its interpreter: executions are recorded, not run."""
    yield from deploy_in_moto({})


def test_start_wait_list_describe_history(deployed: tuple[Any, str]) -> None:
    sfn, machine = deployed
    first = executions.start(machine, {"word": "hi"}, name="run-1", client=sfn)
    assert first["executionArn"] == "arn:aws:states:us-east-1:123456789012:execution:greet:run-1"
    done = executions.wait(first["executionArn"], 0.02, timeout=15, client=sfn)
    assert done["status"] == "SUCCEEDED", done
    assert done["input"] == {"word": "hi"} and isinstance(done["output"], dict)
    assert set(done) == LIST_KEYS | {"input", "output", "redriveCount"}
    assert done["startDate"].endswith("+00:00") and done["stopDate"] >= done["startDate"]
    assert executions.describe(first["executionArn"], client=sfn) == done

    (listed,) = executions.list_executions(machine, client=sfn)
    assert listed == {k: done[k] for k in LIST_KEYS}
    assert executions.list_executions(machine, status="SUCCEEDED", client=sfn) == [listed]
    assert executions.list_executions(machine, status="FAILED", client=sfn) == []

    events = executions.history(first["executionArn"], client=sfn)
    assert events[0]["type"] == "ExecutionStarted" and events[-1]["type"] == "ExecutionSucceeded"
    entered = [e["stateEnteredEventDetails"]["name"] for e in events if e["type"] == "TaskStateEntered"]
    assert entered == ["hello", "shout"]
    assert all(isinstance(e["timestamp"], str) for e in events)
    json.dumps(events)  # JSON-ready, as the CLI prints it


def test_list_pages_through_every_execution_newest_first(recorded: tuple[Any, str],
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    sfn, machine = recorded
    for i in range(5):
        executions.start(machine, {}, name=f"run-{i}", client=sfn)
    pages: list[int] = []
    sfn.meta.events.register("after-call.sfn.ListExecutions",
                             lambda parsed, **_: pages.append(len(parsed["executions"])))
    monkeypatch.setattr(executions, "PAGE_SIZE", 2)
    listed = executions.list_executions(machine, client=sfn)
    assert pages == [2, 2, 1]
    assert [e["name"] for e in listed] == [f"run-{i}" for i in reversed(range(5))]
    assert all(set(e) == LIST_KEYS - {"stopDate"} or set(e) == LIST_KEYS for e in listed)
    assert [e["name"] for e in executions.list_executions(machine, limit=3, client=sfn)] == ["run-4", "run-3",
                                                                                             "run-2"]
    with pytest.raises(AwsError, match=r"unknown status 'DONE'\n    fix: use one of RUNNING, SUCCEEDED"):
        executions.list_executions(machine, status="DONE", client=sfn)


def test_stop_aborts(recorded: tuple[Any, str]) -> None:
    sfn, machine = recorded
    started = executions.start(machine, {}, name="to-stop", client=sfn)
    stopped = executions.stop(started["executionArn"], error="Manual", cause="testing", client=sfn)
    assert stopped["executionArn"] == started["executionArn"]
    assert executions.describe(started["executionArn"], client=sfn)["status"] == "ABORTED"


def test_unknown_execution_is_an_aws_error_with_a_fix(recorded: tuple[Any, str]) -> None:
    sfn, machine = recorded
    arn = machine.replace(":stateMachine:", ":execution:") + ":nope"
    with pytest.raises(AwsError, match=(
            r"^DescribeExecution on execution arn:aws:states:us-east-1:123456789012:execution:greet:nope failed: "
            r"ExecutionDoesNotExist: .*\n    fix: check the execution ARN and its region")):
        executions.describe(arn, client=sfn)


# -- RedriveExecution: not in moto, so the request and response shapes are stubbed -----------------


ARN = "arn:aws:states:us-east-1:123456789012:execution:greet:run-1"


def stubbed() -> tuple[Any, Any]:
    import boto3
    from botocore.stub import Stubber

    client = boto3.client("stepfunctions", region_name=REGION)
    return client, Stubber(client)


def test_redrive_call_shape() -> None:
    client, stub = stubbed()
    stub.add_response("redrive_execution", {"redriveDate": datetime(2024, 6, 1, 2, 10, tzinfo=UTC)},
                      {"executionArn": ARN, "clientToken": "tok"})
    with stub:
        assert executions.redrive(ARN, client_token="tok", client=client) == {
            "executionArn": ARN, "redriveDate": "2024-06-01T02:10:00.000+00:00"}
    stub.assert_no_pending_responses()


def test_redrive_refused_says_which_executions_can_be_redriven() -> None:
    client, stub = stubbed()
    stub.add_client_error("redrive_execution", "ExecutionNotRedrivable", "Execution is SUCCEEDED",
                          expected_params={"executionArn": ARN})
    with stub, pytest.raises(AwsError) as caught:
        executions.redrive(ARN, client=client)
    assert str(caught.value) == (
        f"RedriveExecution on execution {ARN} failed: ExecutionNotRedrivable: Execution is SUCCEEDED\n"
        "    fix: only an execution that FAILED, TIMED_OUT or was ABORTED in the last 14 days, "
        "and has not been redriven 1,000 times, can be redriven")
    assert caught.value.code == "ExecutionNotRedrivable"


def test_wait_polls_until_the_execution_ends() -> None:
    client, stub = stubbed()
    base = {"executionArn": ARN, "stateMachineArn": ARN.replace(":execution:", ":stateMachine:").rsplit(":", 1)[0],
            "name": "run-1", "startDate": datetime(2024, 6, 1, tzinfo=UTC), "input": "{}"}
    stub.add_response("describe_execution", {**base, "status": "RUNNING"}, {"executionArn": ARN})
    stub.add_response("describe_execution", {**base, "status": "PENDING_REDRIVE"}, {"executionArn": ARN})
    stub.add_response("describe_execution", {**base, "status": "FAILED", "error": "E", "cause": "c",
                                             "stopDate": datetime(2024, 6, 1, 0, 1, tzinfo=UTC), "redriveCount": 1},
                      {"executionArn": ARN})
    slept: list[float] = []
    with stub:
        done = executions.wait(ARN, 7.5, client=client, sleep=slept.append)
    assert slept == [7.5, 7.5]
    assert done == {"executionArn": ARN, "stateMachineArn": base["stateMachineArn"], "name": "run-1",
                    "status": "FAILED", "startDate": "2024-06-01T00:00:00.000+00:00",
                    "stopDate": "2024-06-01T00:01:00.000+00:00", "input": {}, "error": "E", "cause": "c",
                    "redriveCount": 1}


def test_history_pages_are_joined_in_order() -> None:
    client, stub = stubbed()
    event = {"timestamp": datetime(2024, 6, 1, tzinfo=UTC), "type": "PassStateEntered", "previousEventId": 0}
    stub.add_response("get_execution_history", {"events": [{**event, "id": 1}], "nextToken": "t"},
                      {"executionArn": ARN, "reverseOrder": False, "maxResults": 1000})
    stub.add_response("get_execution_history", {"events": [{**event, "id": 2}]},
                      {"executionArn": ARN, "reverseOrder": False, "maxResults": 1000, "nextToken": "t"})
    with stub:
        events = executions.history(ARN, client=client)
    assert [e["id"] for e in events] == [1, 2]
    assert events[0]["timestamp"] == "2024-06-01T00:00:00.000+00:00"


def test_doctests() -> None:
    from orchestrator.aws import executions

    assert doctest.testmod(executions).failed == 0
