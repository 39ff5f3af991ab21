"""History events: GetExecutionHistory's shape, numbering and details."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from typing import Any

from orchestrator.engine import TaskCall, TaskFailure, execute, send_task_success

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def test_pass_machine_history_has_aws_shape_and_numbering() -> None:
    definition = {"StartAt": "A", "States": {
        "A": {"Type": "Pass", "Result": {"x": 1}, "ResultPath": "$.r", "Next": "B"},
        "B": {"Type": "Succeed"}}}
    run = execute(definition, {"in": True}, start_time=T0, virtual_time=True)
    events = run.history
    assert [e["type"] for e in events] == [
        "ExecutionStarted", "PassStateEntered", "PassStateExited", "SucceedStateEntered",
        "SucceedStateExited", "ExecutionSucceeded"]
    assert [e["id"] for e in events] == [1, 2, 3, 4, 5, 6]
    assert [e["previousEventId"] for e in events] == [0, 1, 2, 3, 4, 5]
    assert all(isinstance(e["timestamp"], datetime) and e["timestamp"].tzinfo for e in events)
    started = events[0]["executionStartedEventDetails"]
    assert set(started) == {"input", "inputDetails", "roleArn"}
    assert started["input"] == '{"in":true}'
    assert started["inputDetails"] == {"truncated": False}
    assert started["roleArn"].startswith("arn:aws:iam::123456789012:role/")
    assert events[1]["stateEnteredEventDetails"] == {
        "name": "A", "input": '{"in":true}', "inputDetails": {"truncated": False}}
    assert events[2]["stateExitedEventDetails"] == {
        "name": "A", "output": '{"in":true,"r":{"x":1}}', "outputDetails": {"truncated": False}}
    assert events[-1]["executionSucceededEventDetails"] == {
        "output": '{"in":true,"r":{"x":1}}', "outputDetails": {"truncated": False}}


def test_task_events_and_failure_details() -> None:
    def fail(call: TaskCall) -> Any:
        raise TaskFailure("Lambda.Unknown", "it broke")

    definition = {"StartAt": "T", "States": {"T": {
        "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "TimeoutSeconds": 60,
        "Parameters": {"FunctionName": "f"}, "End": True}}}
    run = execute(definition, integrations={"lambda:invoke": fail})
    by_type = {e["type"]: e for e in run.history}
    assert list(by_type) == ["ExecutionStarted", "TaskStateEntered", "TaskScheduled", "TaskStarted",
                             "TaskFailed", "ExecutionFailed"]
    assert by_type["TaskScheduled"]["taskScheduledEventDetails"] == {
        "resourceType": "lambda", "resource": "invoke", "region": "us-east-1",
        "parameters": '{"FunctionName":"f"}', "timeoutInSeconds": 60}
    assert by_type["TaskStarted"]["taskStartedEventDetails"] == {"resourceType": "lambda", "resource": "invoke"}
    assert by_type["TaskFailed"]["taskFailedEventDetails"] == {
        "resourceType": "lambda", "resource": "invoke", "error": "Lambda.Unknown", "cause": "it broke"}
    assert by_type["ExecutionFailed"]["executionFailedEventDetails"] == {
        "error": "Lambda.Unknown", "cause": "it broke"}


def test_parallel_branch_events_point_back_at_parallel_state_started() -> None:
    branches = [{"StartAt": f"P{i}", "States": {f"P{i}": {"Type": "Pass", "End": True}}} for i in range(2)]
    definition = {"StartAt": "Par", "States": {"Par": {"Type": "Parallel", "Branches": branches,
                                                       "End": True}}}
    run = execute(definition, virtual_time=True)
    started = next(e for e in run.history if e["type"] == "ParallelStateStarted")
    firsts = [e for e in run.history if e["type"] == "PassStateEntered"]
    assert len(firsts) == 2
    assert all(e["previousEventId"] == started["id"] for e in firsts)
    types = [e["type"] for e in run.history]
    assert types[-3:] == ["ParallelStateSucceeded", "ParallelStateExited", "ExecutionSucceeded"]


def test_map_iteration_events() -> None:
    definition = {"StartAt": "M", "States": {"M": {
        "Type": "Map", "MaxConcurrency": 1, "End": True,
        "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}}}}
    run = execute(definition, ["a", "b"], virtual_time=True)
    types = [e["type"] for e in run.history]
    assert types == ["ExecutionStarted", "MapStateEntered", "MapStateStarted",
                     "MapIterationStarted", "PassStateEntered", "PassStateExited", "MapIterationSucceeded",
                     "MapIterationStarted", "PassStateEntered", "PassStateExited", "MapIterationSucceeded",
                     "MapStateSucceeded", "MapStateExited", "ExecutionSucceeded"]
    assert run.history[2]["mapStateStartedEventDetails"] == {"length": 2}
    assert run.history[7]["mapIterationStartedEventDetails"] == {"name": "M", "index": 1}


def test_assigned_variables_are_recorded_on_exit() -> None:
    definition = {"StartAt": "A", "States": {"A": {"Type": "Pass", "Assign": {"v": [1, 2]}, "End": True}}}
    run = execute(definition)
    exited = run.history[2]["stateExitedEventDetails"]
    assert exited["assignedVariables"] == {"v": "[1,2]"}
    assert exited["assignedVariablesDetails"] == {"truncated": False}


def test_on_event_streams_every_event_in_order() -> None:
    seen: list[int] = []
    definition = {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 5, "End": True}}}
    run = execute(definition, on_event=lambda e: seen.append(e["id"]), virtual_time=True)
    assert seen == [e["id"] for e in run.history]
    assert json.loads(run.history[-1]["executionSucceededEventDetails"]["output"]) == {}


def test_listeners_see_concurrent_events_in_id_order() -> None:
    branches = [{"StartAt": f"A{i}", "States": {f"A{i}": {"Type": "Pass", "Next": f"B{i}"},
                                                f"B{i}": {"Type": "Pass", "End": True}}} for i in range(12)]
    definition = {"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": True, "Branches": branches}}}
    seen: list[int] = []
    run = execute(definition, on_event=lambda e: seen.append(e["id"]))
    assert seen == list(range(1, len(run.history) + 1))


def test_task_submitted_for_sync_and_token_patterns() -> None:
    def batch(call: TaskCall) -> Any:
        assert call.submitted is not None
        call.submitted({"JobId": "j-1", "JobName": "n"})
        return {"JobId": "j-1", "Status": "SUCCEEDED"}

    definition = {"StartAt": "B", "States": {"B": {
        "Type": "Task", "Resource": "arn:aws:states:::batch:submitJob.sync", "Parameters": {}, "End": True}}}
    run = execute(definition, integrations={"batch:submitJob": batch})
    types = [e["type"] for e in run.history]
    assert types[2:6] == ["TaskScheduled", "TaskStarted", "TaskSubmitted", "TaskSucceeded"]
    assert run.history[4]["taskSubmittedEventDetails"] == {
        "resourceType": "batch", "resource": "submitJob.sync", "output": '{"JobId":"j-1","JobName":"n"}',
        "outputDetails": {"truncated": False}}

    def enqueue(call: TaskCall) -> Any:
        assert call.task_token is not None
        threading.Thread(target=send_task_success, args=(call.task_token, "done")).start()
        return {"MessageId": "m"}

    definition = {"StartAt": "Q", "States": {"Q": {
        "Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken", "Parameters": {},
        "End": True}}}
    run = execute(definition, integrations={"sqs:sendMessage": enqueue})
    submitted = [e for e in run.history if e["type"] == "TaskSubmitted"]
    assert [e["taskSubmittedEventDetails"]["output"] for e in submitted] == ['{"MessageId":"m"}']
    assert run.output == "done"
