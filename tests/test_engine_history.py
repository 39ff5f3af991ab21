"""History events: GetExecutionHistory's shape, numbering and details."""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
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
    # AWS: the first state's Entered event points at 0, not at ExecutionStarted.
    assert [e["previousEventId"] for e in events] == [0, 0, 2, 3, 4, 5]
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


# --- previousEventId where Parallel and Map join (as GetExecutionHistory records it on AWS) -----
#
# Recorded AWS histories (LocalStack's aws-validated snapshots, test_base_scenarios: test_map_state,
# test_map_state_catch, test_map_state_retry, test_parallel_state) show: MapStateSucceeded points
# at the last iteration's MapIterationSucceeded and MapStateExited points at that same event;
# MapStateFailed (and a retry's MapStateStarted) points at the failing iteration's last state
# event, not at its MapIterationFailed; ParallelStateExited points at the branches' last event.

def _chain(run: Any) -> dict[str, tuple[int, int]]:
    """type → (id, previousEventId) of its last occurrence."""
    return {e["type"]: (e["id"], e["previousEventId"]) for e in run.history}


def test_map_join_points_at_the_last_iteration_event_like_aws() -> None:
    definition = {"StartAt": "M", "States": {
        "M": {"Type": "Map", "MaxConcurrency": 1, "Next": "F",
              "ItemProcessor": {"StartAt": "H", "States": {"H": {"Type": "Pass", "End": True}}}},
        "F": {"Type": "Pass", "End": True}}}
    run = execute(definition, [1, 2, 3], virtual_time=True)
    chain = _chain(run)
    last_iteration = chain["MapIterationSucceeded"][0]
    assert chain["MapStateSucceeded"] == (last_iteration + 1, last_iteration)
    assert chain["MapStateExited"] == (last_iteration + 2, last_iteration)
    assert chain["PassStateEntered"][1] == chain["MapStateExited"][0]


def test_map_failure_points_at_the_failing_iterations_last_state_event() -> None:
    processor = {"StartAt": "H", "States": {"H": {"Type": "Fail", "Error": "E", "Cause": "c"}}}
    definition = {"StartAt": "M", "States": {"M": {
        "Type": "Map", "ItemProcessor": processor, "End": True,
        "Retry": [{"ErrorEquals": ["E"], "MaxAttempts": 1, "IntervalSeconds": 1}]}}}
    run = execute(definition, [1], virtual_time=True)
    types = [e["type"] for e in run.history]
    assert types[1:] == ["MapStateEntered", "MapStateStarted", "MapIterationStarted", "FailStateEntered",
                         "MapIterationFailed", "MapStateStarted", "MapIterationStarted", "FailStateEntered",
                         "MapIterationFailed", "MapStateFailed", "ExecutionFailed"]
    # ids as in AWS's recording of this machine: 1 ← 0, 2 ← 0, …, retry's MapStateStarted 7 ← 5.
    assert [e["previousEventId"] for e in run.history] == [0, 0, 2, 3, 4, 5, 5, 7, 8, 9, 9, 11]


def test_parallel_exited_points_at_the_branches_last_event() -> None:
    branches = [{"StartAt": f"B{i}", "States": {f"B{i}": {"Type": "Pass", "End": True}}} for i in range(3)]
    definition = {"StartAt": "P", "States": {"P": {"Type": "Parallel", "Branches": branches, "End": True}}}
    run = execute(definition, virtual_time=True)
    chain = _chain(run)
    succeeded_id, joined = chain["ParallelStateSucceeded"]
    assert joined == succeeded_id - 1  # the newest branch event
    assert chain["ParallelStateExited"][1] == joined


def test_a_join_never_points_into_a_branch_outside_the_state() -> None:
    """An inner Parallel fails while its abandoned sibling and an outer branch keep recording.

    The inner ``ParallelStateFailed`` points at the failing branch's last event, as AWS does;
    it used to take whatever event was newest, here one that another branch recorded later.
    """
    slow_called, failed_seen, outer_done = threading.Event(), threading.Event(), threading.Event()

    def invoke(call: TaskCall) -> Any:
        name = call.parameters["FunctionName"]
        if name == "x1":  # fails once its sibling is running
            assert slow_called.wait(10)
            raise TaskFailure("Boom", "x1")
        if name == "slow":  # ignores cancel: returns only after the outer branch has finished
            slow_called.set()
            assert outer_done.wait(10)
            return "late"
        assert failed_seen.wait(10)  # the outer branch records its events after the failure
        return "outer"

    def listen(event: Mapping[str, Any]) -> None:
        if event["type"] == "TaskFailed":
            failed_seen.set()
        if event["type"] == "TaskStateExited" and event["stateExitedEventDetails"]["name"] == "Outer":
            outer_done.set()

    def task(function: str) -> dict[str, Any]:
        return {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": function}, "End": True}

    inner = {"Type": "Parallel", "End": True, "Branches": [
        {"StartAt": "X1", "States": {"X1": task("x1")}},
        {"StartAt": "Slow", "States": {"Slow": task("slow")}}]}
    definition = {"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": True, "Branches": [
        {"StartAt": "Inner", "States": {"Inner": inner}},
        {"StartAt": "Outer", "States": {"Outer": task("outer")}}]}}}
    run = execute(definition, integrations={"lambda:invoke": invoke}, on_event=listen)
    assert (run.status, run.error) == ("FAILED", "Boom")
    x1_failed = next(e for e in run.history if e["type"] == "TaskFailed")
    inner_failed = next(e for e in run.history if e["type"] == "ParallelStateFailed")
    assert inner_failed["previousEventId"] == x1_failed["id"]
    # …although the other branches recorded newer events before the inner join.
    later = [e for e in run.history if x1_failed["id"] < e["id"] < inner_failed["id"]]
    assert {"TaskSucceeded", "TaskStateExited"} <= {e["type"] for e in later}


# --- distributed Map: child executions report their own histories ------------------------------

def test_distributed_map_children_are_executions_with_their_own_histories() -> None:
    processor = {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}, "StartAt": "C",
                 "States": {"C": {"Type": "Choice", "Default": "Ok",
                                  "Choices": [{"Variable": "$", "NumericEquals": 2, "Next": "Bad"}]},
                            "Ok": {"Type": "Pass", "Parameters": {"id.$": "$$.Execution.Id"}, "End": True},
                            "Bad": {"Type": "Fail", "Error": "Two", "Cause": "no twos"}}}
    definition = {"StartAt": "M", "States": {"M": {"Type": "Map", "Label": "Fan", "ItemProcessor": processor,
                                                   "ToleratedFailureCount": 1, "End": True}}}
    parent_seen: list[Mapping[str, Any]] = []
    children: dict[str, list[Mapping[str, Any]]] = {}
    lock = threading.Lock()

    def child_event(arn: str, event: Mapping[str, Any]) -> None:
        with lock:
            children.setdefault(arn, []).append(event)

    run = execute(definition, [1, 2, 3], on_event=parent_seen.append, on_child_event=child_event,
                  state_machine_arn="arn:aws:states:eu-west-1:111122223333:stateMachine:Orders")
    assert run.status == "SUCCEEDED", run.cause
    # The parent's listener sees exactly the parent's history: Map Run events, no child events.
    assert [e["id"] for e in parent_seen] == [e["id"] for e in run.history]
    assert [e["type"] for e in run.history][2:6] == ["MapStateStarted", "MapRunStarted", "MapRunSucceeded",
                                                    "MapStateSucceeded"]
    map_run = run.history[3]["mapRunStartedEventDetails"]["mapRunArn"]
    assert map_run.startswith("arn:aws:states:eu-west-1:111122223333:mapRun:Orders/Fan:")
    assert len(children) == 3
    assert all(arn.startswith("arn:aws:states:eu-west-1:111122223333:execution:Orders/Fan:") for arn in children)
    by_end = {events[-1]["type"]: (arn, events) for arn, events in children.items()}
    assert sorted(events[-1]["type"] for events in children.values()) == [
        "ExecutionFailed", "ExecutionSucceeded", "ExecutionSucceeded"]
    for events in children.values():
        assert [e["id"] for e in events] == list(range(1, len(events) + 1))
        assert events[0]["type"] == "ExecutionStarted"
        assert events[1]["previousEventId"] == 0
    failed_arn, failed = by_end["ExecutionFailed"]
    assert failed[0]["executionStartedEventDetails"]["input"] == "2"
    assert failed[-1]["executionFailedEventDetails"] == {"error": "Two", "cause": "no twos"}
    # $$.Execution.Id inside a child is the child's own ARN.
    ok_ids = {o["id"] for o in run.output if isinstance(o, dict) and "id" in o}
    assert ok_ids == set(children) - {failed_arn}
