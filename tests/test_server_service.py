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


def test_start_execution_is_idempotent_while_running(sfn: Any) -> None:
    arn = create(sfn, "waits", {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 30, "End": True}}})
    first = sfn.start_execution(stateMachineArn=arn, name="once", input='{"a": 1}')
    again = sfn.start_execution(stateMachineArn=arn, name="once", input='{"a":1}')
    assert (again["executionArn"], again["startDate"]) == (first["executionArn"], first["startDate"])
    with pytest.raises(sfn.exceptions.ExecutionAlreadyExists, match="Execution Already Exists"):
        sfn.start_execution(stateMachineArn=arn, name="once", input='{"a": 2}')
    stopped = sfn.stop_execution(executionArn=first["executionArn"], error="Manual", cause="enough")
    assert stopped["stopDate"]
    described = sfn.describe_execution(executionArn=first["executionArn"])
    assert (described["status"], described["error"], described["cause"]) == ("ABORTED", "Manual", "enough")
    assert described["redriveStatus"] == "REDRIVABLE"
    with pytest.raises(sfn.exceptions.ExecutionAlreadyExists):
        sfn.start_execution(stateMachineArn=arn, name="once", input='{"a": 1}')


def test_start_execution_errors(sfn: Any) -> None:
    arn = create(sfn, "route")
    with pytest.raises(sfn.exceptions.StateMachineDoesNotExist):
        sfn.start_execution(stateMachineArn=arn + "x")
    with pytest.raises(sfn.exceptions.InvalidExecutionInput, match="Invalid State Machine Execution Input"):
        sfn.start_execution(stateMachineArn=arn, input="{oops")
    with pytest.raises(sfn.exceptions.InvalidName):
        sfn.start_execution(stateMachineArn=arn, name="a/b")
    with pytest.raises(sfn.exceptions.ValidationException, match="no mock config is loaded"):
        sfn.start_execution(stateMachineArn=arn + "#HappyPath")
    with pytest.raises(sfn.exceptions.ExecutionDoesNotExist, match="Execution Does Not Exist"):
        sfn.describe_execution(executionArn=arn.replace(":stateMachine:", ":execution:") + ":missing")
    with pytest.raises(sfn.exceptions.InvalidArn, match="Resource type not valid in this context: stateMachine"):
        sfn.describe_execution(executionArn=arn)


def test_a_failing_execution_reports_error_and_cause(sfn: Any) -> None:
    arn = create(sfn, "fails", {"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "Boom", "Cause": "why"}}})
    done = wait_done(sfn, sfn.start_execution(stateMachineArn=arn)["executionArn"])
    assert (done["status"], done["error"], done["cause"], done["redriveStatus"]) == ("FAILED", "Boom", "why",
                                                                                    "REDRIVABLE")
    assert "output" not in done
    bare = sfn.describe_execution(executionArn=done["executionArn"], includedData="METADATA_ONLY")
    assert "input" not in bare and bare["status"] == "FAILED"


def test_list_executions_filters_and_pages(sfn: Any) -> None:
    arn = create(sfn, "route")
    fails = create(sfn, "fails", {"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "E"}}})
    for i in range(5):
        wait_done(sfn, sfn.start_execution(stateMachineArn=arn, name=f"ok-{i}", input='{"n": 0}')["executionArn"])
    wait_done(sfn, sfn.start_execution(stateMachineArn=fails, name="bad")["executionArn"])
    names = [e["name"] for e in sfn.list_executions(stateMachineArn=arn)["executions"]]
    assert sorted(names) == [f"ok-{i}" for i in range(5)] and names[0] == "ok-4"
    page = sfn.list_executions(stateMachineArn=arn, maxResults=2)
    assert len(page["executions"]) == 2 and page["nextToken"]
    rest = [e["name"] for p in sfn.get_paginator("list_executions").paginate(
        stateMachineArn=arn, PaginationConfig={"PageSize": 2}) for e in p["executions"]]
    assert rest == names
    assert sfn.list_executions(stateMachineArn=arn, statusFilter="FAILED")["executions"] == []
    assert [e["name"] for e in sfn.list_executions(stateMachineArn=fails, statusFilter="FAILED")["executions"]] == [
        "bad"]
    with pytest.raises(sfn.exceptions.StateMachineDoesNotExist):
        sfn.list_executions(stateMachineArn=arn + "-gone")
    with pytest.raises(sfn.exceptions.InvalidToken):
        sfn.list_executions(stateMachineArn=fails, nextToken=page["nextToken"])


def test_get_execution_history_orders_pages_and_hides_data(sfn: Any) -> None:
    arn = create(sfn, "route")
    execution = sfn.start_execution(stateMachineArn=arn, input='{"n": 2}')["executionArn"]
    wait_done(sfn, execution)
    events = sfn.get_execution_history(executionArn=execution)["events"]
    types = [e["type"] for e in events]
    assert types[0] == "ExecutionStarted" and types[-1] == "ExecutionSucceeded"
    assert "ChoiceStateEntered" in types and "PassStateExited" in types
    assert [e["id"] for e in events] == list(range(1, len(events) + 1))
    assert json.loads(events[0]["executionStartedEventDetails"]["input"]) == {"n": 2}
    backwards = sfn.get_execution_history(executionArn=execution, reverseOrder=True)["events"]
    assert [e["id"] for e in backwards] == [e["id"] for e in reversed(events)]
    paged = [e["id"] for p in sfn.get_paginator("get_execution_history").paginate(
        executionArn=execution, PaginationConfig={"PageSize": 3}) for e in p["events"]]
    assert paged == [e["id"] for e in events]
    bare = sfn.get_execution_history(executionArn=execution, includeExecutionData=False)["events"]
    assert "input" not in bare[0]["executionStartedEventDetails"]
    assert "output" not in bare[-1]["executionSucceededEventDetails"]


def test_describe_state_machine_for_execution(sfn: Any) -> None:
    arn = create(sfn, "route")
    execution = sfn.start_execution(stateMachineArn=arn, input='{"n": 0}')["executionArn"]
    wait_done(sfn, execution)
    sfn.update_state_machine(stateMachineArn=arn, definition=json.dumps(
        {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}))
    described = sfn.describe_state_machine_for_execution(executionArn=execution)
    assert described["stateMachineArn"] == arn and described["name"] == "route"
    assert json.loads(described["definition"]) == PASS_CHOICE  # the definition it ran, not today's


def test_validate_state_machine_definition(sfn: Any) -> None:
    assert sfn.validate_state_machine_definition(definition=json.dumps(PASS_CHOICE))["result"] == "OK"
    bad = sfn.validate_state_machine_definition(
        definition=json.dumps({"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "Nowhere"}}}))
    assert bad["result"] == "FAIL" and bad["diagnostics"][0]["severity"] == "ERROR"
    assert "Nowhere" in bad["diagnostics"][0]["message"]
    garbled = sfn.validate_state_machine_definition(definition="{")
    assert garbled["diagnostics"][0]["code"] == "INVALID_JSON_DESCRIPTION"


def test_redrive_execution_finishes_a_failed_run(sfn: Any, tmp_path: Path) -> None:
    flag = tmp_path / "fixed"
    definition = {"StartAt": "First", "States": {
        "First": {"Type": "Pass", "Result": 1, "ResultPath": "$.first", "Next": "Gate"},
        "Gate": {"Type": "Choice", "Choices": [{"Variable": "$.fixed", "BooleanEquals": True, "Next": "Done"}],
                 "Default": "Broken"},
        "Broken": {"Type": "Fail", "Error": "NotYet"},
        "Done": {"Type": "Succeed"}}}
    arn = create(sfn, "gate", definition)
    execution = sfn.start_execution(stateMachineArn=arn, name="r", input='{"fixed": false}')["executionArn"]
    assert wait_done(sfn, execution)["status"] == "FAILED"
    assert not flag.exists()
    redriven = sfn.redrive_execution(executionArn=execution)
    assert redriven["redriveDate"]
    again = wait_done(sfn, execution)
    assert again["redriveCount"] == 1 and again["status"] == "FAILED"  # same input, same outcome
    types = [e["type"] for e in sfn.get_execution_history(executionArn=execution)["events"]]
    assert "ExecutionRedriven" in types
    succeeded = create(sfn, "ok", PASS_CHOICE)
    done = sfn.start_execution(stateMachineArn=succeeded, input='{"n": 1}')["executionArn"]
    wait_done(sfn, done)
    with pytest.raises(sfn.exceptions.ExecutionNotRedrivable, match="succeeded"):
        sfn.redrive_execution(executionArn=done)


def test_task_tokens(sfn: Any) -> None:
    definition = {"StartAt": "Ask", "States": {"Ask": {
        "Type": "Task", "Resource": "arn:aws:states:::sns:publish.waitForTaskToken",
        "Parameters": {"TopicArn": "arn:aws:sns:us-east-1:123456789012:asks", "Message.$": "$$.Task.Token"},
        "End": True}}}
    arn = create(sfn, "asks", definition)

    def token_of(execution: str) -> str:
        for _ in range(500):
            for event in sfn.get_execution_history(executionArn=execution)["events"]:
                if event["type"] == "TaskScheduled":
                    return str(json.loads(event["taskScheduledEventDetails"]["parameters"])["Message"])
            import time
            time.sleep(0.01)
        raise AssertionError("no TaskScheduled event")

    ok = sfn.start_execution(stateMachineArn=arn, name="ok")["executionArn"]
    token = token_of(ok)
    sfn.send_task_heartbeat(taskToken=token)
    with pytest.raises(sfn.exceptions.InvalidOutput):
        sfn.send_task_success(taskToken=token, output="{nope")
    sfn.send_task_success(taskToken=token, output='{"answer": 42}')
    done = wait_done(sfn, ok)
    assert (done["status"], json.loads(done["output"])) == ("SUCCEEDED", {"answer": 42})
    with pytest.raises(sfn.exceptions.TaskDoesNotExist):
        sfn.send_task_success(taskToken=token, output="{}")
    failing = sfn.start_execution(stateMachineArn=arn, name="no")["executionArn"]
    sfn.send_task_failure(taskToken=token_of(failing), error="Rejected", cause="by a person")
    done = wait_done(sfn, failing)
    assert (done["status"], done["error"], done["cause"]) == ("FAILED", "Rejected", "by a person")
    with pytest.raises(sfn.exceptions.InvalidToken):
        sfn.send_task_heartbeat(taskToken="not-a-token")


def test_tags(sfn: Any) -> None:
    arn = create(sfn, "tagged", tags=[{"key": "team", "value": "data"}])
    sfn.tag_resource(resourceArn=arn, tags=[{"key": "env", "value": "dev"}])
    assert sfn.list_tags_for_resource(resourceArn=arn)["tags"] == [
        {"key": "team", "value": "data"}, {"key": "env", "value": "dev"}]
    sfn.untag_resource(resourceArn=arn, tagKeys=["team"])
    assert sfn.list_tags_for_resource(resourceArn=arn)["tags"] == [{"key": "env", "value": "dev"}]
    with pytest.raises(sfn.exceptions.TooManyTags):
        sfn.tag_resource(resourceArn=arn, tags=[{"key": f"k{i}", "value": "v"} for i in range(50)])
    with pytest.raises(sfn.exceptions.ResourceNotFound):
        sfn.list_tags_for_resource(resourceArn=arn + "-gone")


def test_express_machines_run_synchronously(sfn: Any) -> None:
    express = create(sfn, "quick", type="EXPRESS")
    done = sfn.start_sync_execution(stateMachineArn=express, input='{"n": 3}')
    assert (done["status"], json.loads(done["output"])) == ("SUCCEEDED", {"n": 3, "size": "big"})
    assert done["billingDetails"]["billedDurationInMilliseconds"] >= 100
    standard = create(sfn, "slow")
    with pytest.raises(sfn.exceptions.StateMachineTypeNotSupported):
        sfn.start_sync_execution(stateMachineArn=standard)


def test_versions_and_aliases(sfn: Any) -> None:
    arn = create(sfn, "versioned", publish=True, versionDescription="first")
    v1 = f"{arn}:1"
    assert [v["stateMachineVersionArn"] for v in sfn.list_state_machine_versions(stateMachineArn=arn)[
        "stateMachineVersions"]] == [v1]
    sfn.update_state_machine(stateMachineArn=arn, definition=json.dumps(
        {"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": "v2", "End": True}}}))
    v2 = sfn.publish_state_machine_version(stateMachineArn=arn)["stateMachineVersionArn"]
    assert v2 == f"{arn}:2"
    assert sfn.publish_state_machine_version(stateMachineArn=arn)["stateMachineVersionArn"] == v2
    assert json.loads(sfn.describe_state_machine(stateMachineArn=v1)["definition"]) == PASS_CHOICE
    alias = sfn.create_state_machine_alias(name="live", routingConfiguration=[
        {"stateMachineVersionArn": v1, "weight": 100}])["stateMachineAliasArn"]
    assert alias == f"{arn}:live"
    run = sfn.start_execution(stateMachineArn=alias, input='{"n": 0}')["executionArn"]
    assert json.loads(wait_done(sfn, run)["output"]) == {"n": 0, "size": "small"}  # version 1's definition
    sfn.update_state_machine_alias(stateMachineAliasArn=alias, routingConfiguration=[
        {"stateMachineVersionArn": v2, "weight": 100}])
    assert sfn.describe_state_machine_alias(stateMachineAliasArn=alias)["routingConfiguration"] == [
        {"stateMachineVersionArn": v2, "weight": 100}]
    run = sfn.start_execution(stateMachineArn=alias)["executionArn"]
    assert json.loads(wait_done(sfn, run)["output"]) == "v2"
    assert [a["stateMachineAliasArn"] for a in sfn.list_state_machine_aliases(stateMachineArn=arn)[
        "stateMachineAliases"]] == [alias]
    with pytest.raises(sfn.exceptions.ConflictException):
        sfn.delete_state_machine_version(stateMachineVersionArn=v2)
    with pytest.raises(sfn.exceptions.ValidationException, match="add up to 100"):
        sfn.create_state_machine_alias(name="half", routingConfiguration=[
            {"stateMachineVersionArn": v1, "weight": 50}])
    sfn.delete_state_machine_alias(stateMachineAliasArn=alias)
    with pytest.raises(sfn.exceptions.ResourceNotFound):
        sfn.describe_state_machine_alias(stateMachineAliasArn=alias)
    sfn.delete_state_machine_version(stateMachineVersionArn=v2)
    assert len(sfn.list_state_machine_versions(stateMachineArn=arn)["stateMachineVersions"]) == 1


def test_requests_are_checked_against_the_model(sfn: Any) -> None:
    with pytest.raises(sfn.exceptions.ValidationException, match="less than or equal to 80"):
        sfn.create_state_machine(name="x" * 81, definition="{}", roleArn=ROLE)
    arn = create(sfn, "route")
    with pytest.raises(sfn.exceptions.ValidationException, match=r"Value '\*\*\* Sensitive Data Redacted \*\*\*' at 'input' failed to satisfy constraint: "
                       "Member must have length less than or equal to 262144"):
        sfn.start_execution(stateMachineArn=arn, input=json.dumps({"big": "x" * 262144}))


MOCKED = {"StartAt": "Call", "States": {
    "Call": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
             "Parameters": {"FunctionName": "arn:aws:lambda:us-east-1:123456789012:function:score", "Payload.$": "$"},
             "ResultSelector": {"score.$": "$.Payload.score"}, "Retry": [
                 {"ErrorEquals": ["Lambda.TooManyRequestsException"], "IntervalSeconds": 1, "BackoffRate": 1, "MaxAttempts": 2}],
             "End": True}}}
MOCK_CONFIG = {
    "StateMachines": {"scored": {"TestCases": {"Happy": {"Call": "Scores"}, "Throttled": {"Call": "Throttles"}}}},
    "MockedResponses": {
        "Scores": {"0": {"Return": {"StatusCode": 200, "Payload": {"score": 7}}}},
        "Throttles": {"0-1": {"Throw": {"Error": "Lambda.TooManyRequestsException", "Cause": "slow down"}},
                      "2": {"Return": {"StatusCode": 200, "Payload": {"score": 1}}}}}}


def test_mock_config_test_cases_through_the_arn(tmp_path: Path) -> None:
    config = tmp_path / "MockConfigFile.json"
    config.write_text(json.dumps(MOCK_CONFIG))
    service = Service(home=tmp_path / "home", mock_config=config)
    try:
        with running_server(service) as endpoint:
            sfn = client(endpoint)
            arn = create(sfn, "scored", MOCKED)
            happy = wait_done(sfn, sfn.start_execution(stateMachineArn=f"{arn}#Happy")["executionArn"])
            assert (happy["status"], json.loads(happy["output"])) == ("SUCCEEDED", {"score": 7})
            assert happy["stateMachineArn"] == arn
            throttled = wait_done(sfn, sfn.start_execution(stateMachineArn=f"{arn}#Throttled")["executionArn"])
            assert json.loads(throttled["output"]) == {"score": 1}
            types = [e["type"] for e in sfn.get_execution_history(executionArn=throttled["executionArn"])["events"]]
            assert types.count("TaskFailed") == 2
            with pytest.raises(sfn.exceptions.ValidationException, match="Missing"):
                sfn.start_execution(stateMachineArn=f"{arn}#Missing")
    finally:
        service.close()


def test_wait_time_scale_is_honoured(sfn: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WAIT_TIME_SCALE", "0")
    arn = create(sfn, "hour", {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 3600, "End": True}}})
    done = wait_done(sfn, sfn.start_execution(stateMachineArn=arn, input='{"k": 1}')["executionArn"], timeout=20)
    assert (done["status"], json.loads(done["output"])) == ("SUCCEEDED", {"k": 1})


def test_stop_execution_stops_the_jobs_of_a_served_workflow(service: Service, sfn: Any, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORCHESTRATOR_LOCAL_DOCKER", "0")
    monkeypatch.chdir(tmp_path)
    spec = tmp_path / "long.yaml"
    spec.write_text("name: long\ntasks:\n  - name: sleeper\n"
                    "    batch: {image: 'alpine:3', command: ['sh', '-c', 'echo $$ > pid; sleep 60']}\n")
    (served,) = service.serve([spec], cwd=str(tmp_path))
    execution = sfn.start_execution(stateMachineArn=served.state_machine_arn, name="s")["executionArn"]
    import time
    deadline = time.monotonic() + 30
    while not (tmp_path / "pid").exists():
        assert time.monotonic() < deadline, "the job did not start"
        time.sleep(0.02)
    pid = int((tmp_path / "pid").read_text())
    sfn.stop_execution(executionArn=execution, error="Enough")
    described = sfn.describe_execution(executionArn=execution)
    assert (described["status"], described["error"]) == ("ABORTED", "Enough")
    import os
    while True:  # the job's process is killed with its execution
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        assert time.monotonic() < deadline + 10, f"job process {pid} still alive"
        time.sleep(0.02)
    while [j["status"] for j in service.store.jobs(execution)] != ["FAILED"]:  # recorded once it is gone
        assert time.monotonic() < deadline + 20, service.store.jobs(execution)
        time.sleep(0.02)


def test_a_served_workflow_with_lambda_tasks_runs_through_the_api(service: Service, sfn: Any, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    (tmp_path / "handlers_serve.py").write_text(
        "def double(event, context):\n    return {'doubled': event['input']['n'] * 2}\n")
    spec = tmp_path / "calc.yaml"
    spec.write_text("name: calc\ntasks:\n  - name: double\n    lambda: {handler: 'handlers_serve:double'}\n")
    (served,) = service.serve([spec], cwd=str(tmp_path))
    for n in (1, 2):  # the second execution reuses the warm local Lambda of the first
        done = wait_done(sfn, sfn.start_execution(stateMachineArn=served.state_machine_arn,
                                                  input=json.dumps({"n": n}))["executionArn"], timeout=60)
        assert done["status"] == "SUCCEEDED", done.get("cause")
        invocations = service.store.invocations(done["executionArn"])
        assert [i["status"] for i in invocations] == ["SUCCEEDED"]
