"""Plain ASL everywhere a workflow goes: ``orchestrator run x.asl.json``, ``run_definition``, WAIT_TIME_SCALE."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from orchestrator.errors import DefinitionError, OrchestratorError
from orchestrator.local import execute, run_definition
from orchestrator.local.environment import SettingError
from orchestrator.local.store import Store

MACHINE: dict[str, Any] = {
    "Comment": "Score an order, queue it, and wait for the warehouse's callback.",
    "StartAt": "Score",
    "States": {
        "Score": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:comprehend:detectSentiment",
                  "Parameters": {"LanguageCode": "en", "Text.$": "$.review"},
                  "ResultSelector": {"sentiment.$": "$.Sentiment"}, "ResultPath": "$.score",
                  "Retry": [{"ErrorEquals": ["Comprehend.ThrottlingException"], "IntervalSeconds": 3600,
                             "MaxAttempts": 2}],
                  "Next": "Queue"},
        "Queue": {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                  "Parameters": {"QueueUrl": "https://sqs.us-east-1.amazonaws.com/123456789012/warehouse",
                                 "MessageBody": {"token.$": "$$.Task.Token"}},
                  "ResultPath": "$.shipped", "End": True}}}
MOCKS: dict[str, Any] = {
    "StateMachines": {"orders": {"TestCases": {
        "Shipped": {"Score": "ThrottledOnce", "Queue": "Shipped"},
        "Lost": {"Score": "ThrottledOnce", "Queue": "Lost"}}}},
    "MockedResponses": {
        "ThrottledOnce": {"0": {"Throw": {"Error": "Comprehend.ThrottlingException", "Cause": "Rate exceeded"}},
                          "1": {"Return": {"Sentiment": "POSITIVE"}}},
        "Shipped": {"0": {"Return": {"tracking": "T-1"}}},
        "Lost": {"0": {"Throw": {"Error": "Warehouse.Lost", "Cause": "parcel lost"}}}}}


@pytest.fixture()
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ORCHESTRATOR_HOME", str(tmp_path / ".orchestrator"))
    monkeypatch.setenv("WAIT_TIME_SCALE", "0")  # the hour-long retry interval passes at once
    (tmp_path / "orders.asl.json").write_text(json.dumps(MACHINE))
    (tmp_path / "MockConfigFile.json").write_text(json.dumps(MOCKS))
    return tmp_path


def cli(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "orchestrator.cli", *args], cwd=cwd, env=environment,
                          capture_output=True, text=True, timeout=120)


# -- orchestrator run x.asl.json ----------------------------------------------------------------


def test_cli_runs_a_plain_definition_with_a_test_case_and_stores_it(project: Path) -> None:
    done = cli("run", "orders.asl.json", "--input", '{"review": "great"}', "--mock-config", "MockConfigFile.json",
               "--test-case", "Shipped", cwd=project)
    assert done.returncode == 0, done.stderr
    assert "Score" in done.stdout and "mock" in done.stdout and "SUCCEEDED" in done.stdout
    listed = cli("executions", "list", "--json", cwd=project)
    executions = json.loads(listed.stdout)["executions"]
    assert len(executions) == 1
    assert executions[0]["status"] == "SUCCEEDED"
    assert executions[0]["stateMachineArn"].endswith(":stateMachine:orders")
    shown = json.loads(cli("executions", "show", executions[0]["name"], cwd=project).stdout)
    assert shown["output"] == {"review": "great", "score": {"sentiment": "POSITIVE"}, "shipped": {"tracking": "T-1"}}
    history = json.loads(cli("executions", "history", executions[0]["name"], cwd=project).stdout)["events"]
    assert [e["type"] for e in history].count("TaskFailed") == 1  # the throttled first attempt


def test_cli_exits_1_on_a_failing_test_case_and_names_the_error(project: Path) -> None:
    done = cli("run", "orders.asl.json", "--input", '{"review": "meh"}', "--mock-config", "MockConfigFile.json",
               "--test-case", "Lost", cwd=project)
    assert done.returncode == 1
    assert "FAILED" in done.stdout
    assert "error: Warehouse.Lost" in done.stdout and "cause: parcel lost" in done.stdout


def test_cli_takes_the_mock_config_from_sfn_mock_config(project: Path) -> None:
    done = cli("run", "orders.asl.json", "--input", '{"review": "ok"}', "--test-case", "Shipped", cwd=project,
               env={"SFN_MOCK_CONFIG": "MockConfigFile.json"})
    assert done.returncode == 0, done.stderr


def test_cli_reports_a_bad_mock_file_without_a_traceback(project: Path) -> None:
    (project / "bad.json").write_text('{"StateMachines": {"orders": {"TestCases": {"Shipped": {"Score": "Gone"}}}}}')
    done = cli("run", "orders.asl.json", "--mock-config", "bad.json", "--test-case", "Shipped", cwd=project)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert done.stderr.strip() == (
        "error: bad.json: test case 'Shipped' maps state 'Score' to 'Gone', which is not in MockedResponses "
        "(defined: none); add MockedResponses.Gone, e.g. {\"0\": {\"Return\": {\"StatusCode\": 200}}, "
        "\"1-2\": {\"Throw\": {\"Error\": \"Lambda.TimeoutException\", \"Cause\": \"Lambda timed out.\"}}}.")


def test_an_unmocked_plain_run_fails_as_aws_would_without_permissions(project: Path) -> None:
    result = run_definition(project / "orders.asl.json", {"review": "x"})
    assert (result.status, result.error) == ("FAILED", "Comprehend.AccessDeniedException")


# -- run_definition --------------------------------------------------------------------------------


def test_run_definition_persists_like_a_workflow_run(project: Path) -> None:
    result = run_definition(project / "orders.asl.json", {"review": "fine"}, mock_config=project / "MockConfigFile.json",
                            test_case="Shipped")
    assert result.status == "SUCCEEDED", result.cause
    row = Store().resolve(result.name)
    assert row.status == "SUCCEEDED"
    assert row.state_machine_arn.endswith(":stateMachine:orders")
    assert [e["type"] for e in Store().events(row.arn)][-1] == "ExecutionSucceeded"
    assert [m[1:] for m in result.mocked] == [("Score", 1, "FAILED"), ("Score", 2, "SUCCEEDED"),
                                              ("Queue", 1, "SUCCEEDED")]


def test_run_definition_takes_a_mapping_named_for_its_test_cases(project: Path) -> None:
    result = run_definition(MACHINE, {"review": "ok"}, name="orders", mock_config=MOCKS, test_case="Shipped")
    assert result.status == "SUCCEEDED"
    assert result.execution_arn.split(":")[6] == "orders"


def test_a_file_that_is_not_asl_is_named_with_the_fix(project: Path) -> None:
    (project / "spec.json").write_text(json.dumps({"name": "wf", "tasks": []}))
    with pytest.raises(OrchestratorError, match=r'spec.json: not an ASL state machine definition \(a JSON object '
                                                r'with "StartAt" and "States"\), e.g. '):
        run_definition(project / "spec.json")


def test_an_invalid_definition_is_reported_before_anything_is_stored(project: Path) -> None:
    (project / "broken.asl.json").write_text(json.dumps({"StartAt": "Nope", "States": {
        "A": {"Type": "Pass", "End": True}}}))
    with pytest.raises(DefinitionError, match="Nope"):
        run_definition(project / "broken.asl.json")
    assert Store().executions() == []


def test_cli_reads_invalid_json_as_an_error_not_a_traceback(project: Path) -> None:
    (project / "torn.asl.json").write_text('{"StartAt": ')
    done = cli("run", "torn.asl.json", cwd=project)
    assert done.returncode == 1
    assert done.stderr.startswith("error: torn.asl.json: not valid JSON: Expecting value: line 1")


# -- WAIT_TIME_SCALE -----------------------------------------------------------------------------


HOUR_WAIT = {"StartAt": "Nap", "States": {"Nap": {"Type": "Wait", "Seconds": 3600, "End": True}}}


def test_wait_time_scale_zero_finishes_an_hour_long_wait_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WAIT_TIME_SCALE", "0")
    began = time.monotonic()
    run = execute(HOUR_WAIT, {"a": 1})  # the real clock: no virtual time involved
    assert (run.status, run.output) == ("SUCCEEDED", {"a": 1})
    assert time.monotonic() - began < 5


def test_wait_time_scale_scales_waits_and_retry_intervals_on_the_simulated_clock() -> None:
    machine = {"StartAt": "Nap", "States": {
        "Nap": {"Type": "Wait", "Seconds": 3600, "Next": "Flaky"},
        "Flaky": {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage",
                  "Parameters": {"QueueUrl": "q", "MessageBody": "m"},
                  "Retry": [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 100, "MaxAttempts": 1}],
                  "End": True}}}
    mocks = {"StateMachines": {"m": {"TestCases": {"t": {"Flaky": "Once"}}}},
             "MockedResponses": {"Once": {"0": {"Throw": {"Error": "E", "Cause": "c"}}, "1": {"Return": {}}}}}
    run = execute(machine, {}, virtual_time=True, wait_time_scale=0.5, mock_config=mocks, test_case="t")
    assert run.status == "SUCCEEDED"
    elapsed = (run.history[-1]["timestamp"] - run.history[0]["timestamp"]).total_seconds()
    assert elapsed == pytest.approx(1800 + 50)


def test_a_bad_wait_time_scale_is_named_with_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WAIT_TIME_SCALE", "fast")
    with pytest.raises(SettingError, match=r"WAIT_TIME_SCALE='fast' is not a number of 0 or more; e.g. "
                                           r"WAIT_TIME_SCALE=0 \(no waiting\)"):
        execute(HOUR_WAIT, {})


def test_cli_honours_wait_time_scale_for_plain_runs(project: Path) -> None:
    (project / "nap.asl.json").write_text(json.dumps(HOUR_WAIT))
    began = time.monotonic()
    done = cli("run", "nap.asl.json", cwd=project, env={"WAIT_TIME_SCALE": "0"})
    assert done.returncode == 0, done.stderr
    assert time.monotonic() - began < 60


# -- the README's example files ------------------------------------------------------------------


EXAMPLE = Path(__file__).resolve().parent.parent / "state_machines" / "sfn_local"


@pytest.mark.parametrize(("test_case", "status", "lambda_attempts"), [
    ("HappyPath", "SUCCEEDED", 1), ("RetryPath", "SUCCEEDED", 4), ("HybridPath", "FAILED", 1)])
def test_the_aws_example_runs_each_of_its_test_cases(test_case: str, status: str, lambda_attempts: int) -> None:
    run = execute((EXAMPLE / "LambdaSQSIntegration.asl.json").read_text(), {"order": 1}, virtual_time=True,
                  mock_config=EXAMPLE / "MockConfigFile.json", test_case=test_case)
    assert run.status == status
    scheduled = [e["taskScheduledEventDetails"]["resource"] for e in run.history if e["type"] == "TaskScheduled"]
    assert scheduled.count("invoke") == lambda_attempts
    if status == "FAILED":  # the unmocked SQS call has no service behind it
        assert run.error == "SQS.AmazonSQSException"


# -- AWS_ACCOUNT_ID and AWS_DEFAULT_REGION ---------------------------------------------------------


def test_local_runs_use_aws_account_id_and_aws_default_region(project: Path) -> None:
    env = {"AWS_ACCOUNT_ID": "111122223333", "AWS_DEFAULT_REGION": "eu-west-1"}
    (project / "hello.asl.json").write_text(json.dumps({"StartAt": "Who", "States": {"Who": {
        "Type": "Pass", "Parameters": {"execution.$": "$$.Execution.Id", "role.$": "$$.Execution.RoleArn"},
        "End": True}}}))
    done = cli("run", "hello.asl.json", cwd=project, env=env)
    assert done.returncode == 0, done.stderr
    listed = json.loads(cli("executions", "list", "--json", cwd=project, env=env).stdout)["executions"]
    assert listed[0]["stateMachineArn"] == "arn:aws:states:eu-west-1:111122223333:stateMachine:hello"
    output = json.loads(cli("executions", "show", listed[0]["name"], cwd=project, env=env).stdout)["output"]
    assert output["execution"] == f"arn:aws:states:eu-west-1:111122223333:execution:hello:{listed[0]['name']}"
    assert output["role"].startswith("arn:aws:iam::111122223333:role/")


def test_a_bad_account_id_is_named_with_the_fix(project: Path) -> None:
    done = cli("run", "orders.asl.json", cwd=project, env={"AWS_ACCOUNT_ID": "acme"})
    assert done.returncode == 1
    assert done.stderr.strip() == ("error: AWS_ACCOUNT_ID='acme' cannot be the local account: use e.g. "
                                   "AWS_ACCOUNT_ID=111122223333, or unset it for 123456789012.")


def test_an_unmocked_activity_does_not_exist_as_on_aws(project: Path) -> None:
    arn = "arn:aws:states:us-east-1:123456789012:activity:pack"
    definition = {"StartAt": "Pack", "States": {"Pack": {"Type": "Task", "Resource": arn, "End": True}}}
    result = run_definition(definition, {}, name="packer")
    assert (result.status, result.error) == ("FAILED", "States.Runtime")
    assert str(result.cause).endswith(f"The activity {arn} does not exist.")
    assert [e["type"] for e in result.history] == ["ExecutionStarted", "TaskStateEntered", "ExecutionFailed"]
    mocked = run_definition(definition, {}, name="packer", test_case="Packed", mock_config={
        "StateMachines": {"packer": {"TestCases": {"Packed": {"Pack": "Box"}}}},
        "MockedResponses": {"Box": {"0": {"Return": {"boxes": 1}}}}})
    assert (mocked.status, mocked.output) == ("SUCCEEDED", {"boxes": 1})


# -- in the background -----------------------------------------------------------------------------


def test_start_definition_runs_a_mocked_machine_in_the_background(project: Path) -> None:
    from orchestrator.local.plain import start_definition

    store = Store()
    handles = [start_definition(store, "orders", MACHINE, {"review": "ok"}, execution_name=f"run-{n}",
                                mock_config=MOCKS, test_case=case) for n, case in enumerate(("Shipped", "Lost"))]
    results = [h.wait(60) for h in handles]
    assert [(r.status, r.error) for r in results if r is not None] == [("SUCCEEDED", None), ("FAILED", "Warehouse.Lost")]
    # Each execution counted its own invocations: both took response "1" on Score's retry.
    assert [store.execution(h.arn).status for h in handles] == ["SUCCEEDED", "FAILED"]
    with pytest.raises(OrchestratorError, match="test case 'Lost' mocks 'Nope', which is not a Task state"):
        start_definition(store, "orders", MACHINE, {}, execution_name="bad", test_case="Lost", mock_config={
            **MOCKS, "StateMachines": {"orders": {"TestCases": {"Lost": {"Nope": "Lost"}}}}})
    assert store.executions() and all(row.name != "bad" for row in store.executions())


def test_a_broken_json_spec_is_still_reported_by_the_spec_loader(project: Path) -> None:
    (project / "wf.json").write_text('{"name": "wf", "tasks": [')
    done = cli("run", "wf.json", cwd=project)
    assert done.returncode == 1
    assert "wf.json:1:" in done.stderr  # file:line:column, from the spec loader


# -- orchestrator validate x.asl.json --------------------------------------------------------------


def test_cli_validates_plain_definitions_beside_workflows(project: Path) -> None:
    (project / "bad.asl.json").write_text(json.dumps({"StartAt": "X", "States": {"A": {"Type": "Pass"}}}))
    (project / "torn.asl.json").write_text("{")
    done = cli("validate", "orders.asl.json", "bad.asl.json", "torn.asl.json", cwd=project)
    assert done.returncode == 1
    assert done.stdout == "ok: orders.asl.json: state machine 'orders' (2 states, 2 Task states)\n"
    assert "definition field 'StartAt': names no state: 'X'" in done.stderr
    assert "state 'A': has neither 'Next' nor 'End'" in done.stderr
    assert "error: torn.asl.json: not valid JSON: Expecting property name" in done.stderr


def test_cli_test_case_without_any_mock_config_names_both_ways(project: Path) -> None:
    done = cli("run", "orders.asl.json", "--test-case", "Shipped", cwd=project)
    assert done.returncode == 1
    assert done.stderr.strip() == ("error: A test case needs a mock config: pass --mock-config FILE with --test-case "
                                   "(or set SFN_MOCK_CONFIG=FILE).")
