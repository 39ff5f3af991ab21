"""The Step Functions operations of ``Service``, driven only through boto3 against a real endpoint."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from orchestrator import model
from orchestrator.server.service import Service
from tests.server_support import PASS_CHOICE, ROLE, client, create, running_server, wait_done


@pytest.fixture()
def service(tmp_path: Path) -> Iterator[Service]:
    svc = Service(home=tmp_path / "home")
    yield svc
    svc.close()


@pytest.fixture()
def sfn(service: Service) -> Iterator[Any]:
    with running_server(service) as endpoint:
        yield client(endpoint)


# -- state machines ---------------------------------------------------------------------------------


def test_create_describe_list_update_delete(sfn: Any) -> None:
    arn = create(sfn, "route")
    assert arn == "arn:aws:states:us-east-1:123456789012:stateMachine:route"
    described = sfn.describe_state_machine(stateMachineArn=arn)
    assert (described["name"], described["status"], described["type"], described["roleArn"]) == (
        "route", "ACTIVE", "STANDARD", ROLE)
    assert json.loads(described["definition"]) == PASS_CHOICE
    assert [m["name"] for m in sfn.list_state_machines()["stateMachines"]] == ["route"]
    new = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}
    updated = sfn.update_state_machine(stateMachineArn=arn, definition=json.dumps(new))
    assert updated["revisionId"] != described["revisionId"]
    assert json.loads(sfn.describe_state_machine(stateMachineArn=arn)["definition"]) == new
    sfn.delete_state_machine(stateMachineArn=arn)
    with pytest.raises(sfn.exceptions.StateMachineDoesNotExist, match="State Machine Does Not Exist"):
        sfn.describe_state_machine(stateMachineArn=arn)


def test_create_is_idempotent_only_for_the_same_request(sfn: Any) -> None:
    arn = create(sfn, "same")
    assert create(sfn, "same") == arn
    with pytest.raises(sfn.exceptions.StateMachineAlreadyExists):
        create(sfn, "same", {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})


def test_create_errors(sfn: Any) -> None:
    with pytest.raises(sfn.exceptions.InvalidDefinition, match="MISSING|Next|SCHEMA_VALIDATION_FAILED"):
        create(sfn, "bad", {"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "Nowhere"}}})
    with pytest.raises(sfn.exceptions.InvalidDefinition, match="INVALID_JSON_DESCRIPTION"):
        sfn.create_state_machine(name="x", definition="{not json", roleArn=ROLE)
    with pytest.raises(sfn.exceptions.InvalidName, match="Invalid Name: 'has space'"):
        create(sfn, "has space")
    with pytest.raises(sfn.exceptions.InvalidArn):
        sfn.create_state_machine(name="x", definition=json.dumps(PASS_CHOICE), roleArn="not-an-arn")
    with pytest.raises(sfn.exceptions.InvalidArn, match="Invalid ARN prefix"):
        sfn.describe_state_machine(stateMachineArn="nope")


def test_list_state_machines_pages(sfn: Any) -> None:
    for i in range(5):
        create(sfn, f"m{i}")
    first = sfn.list_state_machines(maxResults=2)
    assert [m["name"] for m in first["stateMachines"]] == ["m0", "m1"]
    second = sfn.list_state_machines(maxResults=2, nextToken=first["nextToken"])
    third = sfn.list_state_machines(maxResults=2, nextToken=second["nextToken"])
    assert [m["name"] for m in second["stateMachines"] + third["stateMachines"]] == ["m2", "m3", "m4"]
    assert "nextToken" not in third
    names = [m["name"] for page in sfn.get_paginator("list_state_machines").paginate(PaginationConfig={"PageSize": 2})
             for m in page["stateMachines"]]
    assert names == ["m0", "m1", "m2", "m3", "m4"]
    with pytest.raises(sfn.exceptions.InvalidToken):
        sfn.list_state_machines(nextToken="garbage")


# -- executions -------------------------------------------------------------------------------------


def test_start_and_describe_execution(sfn: Any) -> None:
    arn = create(sfn, "route")
    started = sfn.start_execution(stateMachineArn=arn, name="run-1", input=json.dumps({"n": 5}))
    assert started["executionArn"] == "arn:aws:states:us-east-1:123456789012:execution:route:run-1"
    done = wait_done(sfn, started["executionArn"])
    assert done["status"] == "SUCCEEDED"
    assert json.loads(done["output"]) == {"n": 5, "size": "big"}
    assert done["stateMachineArn"] == arn and done["name"] == "run-1"
    assert done["stopDate"] >= done["startDate"]


def test_served_workflows_are_state_machines(service: Service, tmp_path: Path) -> None:
    spec = tmp_path / "hello.yaml"
    spec.write_text("name: hello\ntasks:\n  - name: hi\n    batch: {image: 'alpine:3', command: ['true']}\n")
    served = service.serve([spec])
    assert [(s.workflow.name, s.state_machine_arn) for s in service.served_workflows()] == [
        ("hello", "arn:aws:states:us-east-1:123456789012:stateMachine:hello")]
    assert isinstance(served[0].workflow, model.Workflow)
