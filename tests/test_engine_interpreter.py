"""End-to-end behaviour of the interpreter: data flow, variables, Retry/Catch, timeouts,
concurrency, stop, task tokens and integrations. Every test runs offline and never sleeps."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

from orchestrator.engine import TaskCall, TaskFailure, execute, start
from orchestrator.engine.interpreter import send_task_success

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def machine(*states: tuple[str, dict[str, Any]], **top: Any) -> dict[str, Any]:
    """Chain states in order; the last one ends unless it is terminal."""
    out: dict[str, Any] = {"StartAt": states[0][0], "States": {}, **top}
    for i, (name, state) in enumerate(states):
        state = dict(state)
        if state["Type"] not in ("Choice", "Succeed", "Fail") and "Next" not in state and "End" not in state:
            if i + 1 < len(states):
                state["Next"] = states[i + 1][0]
            else:
                state["End"] = True
        out["States"][name] = state
    return out


def task(resource: str = "arn:aws:states:::lambda:invoke", **fields: Any) -> dict[str, Any]:
    return {"Type": "Task", "Resource": resource, **fields}


def elapsed(run: Any) -> float:
    return float((run.history[-1]["timestamp"] - run.history[0]["timestamp"]).total_seconds())


# --- data flow ---------------------------------------------------------------------------------

def test_jsonpath_data_flow_through_a_task() -> None:
    seen: list[Any] = []

    def invoke(call: TaskCall) -> Any:
        seen.append(call.parameters)
        return {"Payload": {"sum": call.parameters["Payload"]["a"] + 1}, "StatusCode": 200}

    definition = machine(("T", task(InputPath="$.in", Parameters={"Payload": {"a.$": "$.x"}},
                                    ResultSelector={"value.$": "$.Payload.sum"}, ResultPath="$.out",
                                    OutputPath="$.out")))
    run = execute(definition, {"in": {"x": 41}}, integrations={"lambda:invoke": invoke})
    assert run.status == "SUCCEEDED"
    assert run.output == {"value": 42}
    assert seen == [{"Payload": {"a": 41}}]


def test_direct_lambda_arn_uses_the_payload_of_lambda_invoke() -> None:
    arn = "arn:aws:lambda:us-east-1:123456789012:function:double"
    calls: list[TaskCall] = []

    def invoke(call: TaskCall) -> Any:
        calls.append(call)
        return {"Payload": call.parameters["Payload"]["n"] * 2, "StatusCode": 200}

    run = execute(machine(("L", task(arn))), {"n": 21}, integrations={"lambda:invoke": invoke})
    assert run.output == 42
    assert calls[0].parameters == {"FunctionName": arn, "Payload": {"n": 21}}
    types = [e["type"] for e in run.history]
    assert types[2:6] == ["LambdaFunctionScheduled", "LambdaFunctionStarted", "LambdaFunctionSucceeded",
                          "TaskStateExited"]


def test_task_without_integration_fails_like_aws_without_permission() -> None:
    run = execute(machine(("T", task(Parameters={"FunctionName": "f"}))))
    assert run.status == "FAILED"
    assert run.error == "Lambda.AWSLambdaException"
    assert run.cause is not None
    assert "is not authorized to perform: lambda:InvokeFunction on resource: f" in run.cause
    assert "Error Code: AccessDeniedException" in run.cause


def test_fallback_integration_and_sync_pattern() -> None:
    calls: list[TaskCall] = []

    def anything(call: TaskCall) -> Any:
        calls.append(call)
        return {"JobId": "1"}

    run = execute(machine(("B", task("arn:aws:states:::batch:submitJob.sync", Parameters={"JobName": "j"}))),
                  integrations={"*": anything})
    assert run.output == {"JobId": "1"}
    assert (calls[0].service, calls[0].action, calls[0].pattern.value) == ("batch", "submitJob", "sync")


def test_jsonata_state_arguments_output_and_assign() -> None:
    definition = machine(
        ("T", task(QueryLanguage="JSONata", Arguments={"n": "{% $states.input.n * 2 %}"},
                   Assign={"doubled": "{% $states.result.n %}"}, Output={"r": "{% $states.result.n + 1 %}"})),
        ("P", {"Type": "Pass", "QueryLanguage": "JSONata", "Output": "{% [$doubled, $states.input.r] %}"}))
    run = execute(definition, {"n": 5}, integrations={"lambda:invoke": lambda call: call.parameters})
    assert run.status == "SUCCEEDED", run.cause
    assert run.output == [10, 11]


def test_variables_are_visible_in_branches_but_assignments_do_not_leak() -> None:
    definition = machine(
        ("Init", {"Type": "Pass", "Assign": {"x": 1}}),
        ("Par", {"Type": "Parallel", "Branches": [
            {"StartAt": "In", "States": {"In": {"Type": "Pass", "Assign": {"x": 99},
                                                "Parameters": {"seen.$": "$x"}, "End": True}}}]}),
        ("Out", {"Type": "Pass", "Parameters": {"branch.$": "$[0].seen", "after.$": "$x"}}))
    run = execute(definition)
    assert run.output == {"branch": 1, "after": 1}


def test_payload_over_256_kib_is_data_limit_exceeded() -> None:
    definition = machine(("Big", {"Type": "Pass", "Parameters": {"a.$": "$.s", "b.$": "$.s"}}))
    run = execute(definition, {"s": "x" * 140_000})
    assert run.status == "FAILED"
    assert run.error == "States.DataLimitExceeded"


def test_oversized_task_result_is_caught_by_states_all_as_aws_does() -> None:
    arn = "arn:aws:lambda:us-east-1:123456789012:function:big"
    definition = machine(("L", task(arn, Catch=[{"ErrorEquals": ["States.ALL"], "Next": "C"}])),
                         ("C", {"Type": "Pass"}))
    run = execute(definition, integrations={"lambda:invoke": lambda c: {"Payload": "x" * 300_000}})
    assert run.output == {"Error": "States.DataLimitExceeded", "Cause": (
        f"The state/task '{arn}' returned a result with a size exceeding the maximum number of bytes "
        "service limit.")}


def test_runtime_error_names_the_state_and_entered_event() -> None:
    run = execute(machine(("A", {"Type": "Pass", "InputPath": "$.missing"})), {"a": 1})
    assert run.error == "States.Runtime"
    assert run.cause == ("An error occurred while executing the state 'A' (entered at the event id #2). "
                         "The JSONPath '$.missing' specified for the field 'InputPath' could not be found "
                         "in the input '{\"a\":1}'")


# --- retry and catch ---------------------------------------------------------------------------

def flaky(failures: int, error: str = "Boom") -> Any:
    attempts: list[int] = []

    def call(c: TaskCall) -> Any:
        attempts.append(c.attempt)
        if len(attempts) <= failures:
            raise TaskFailure(error, f"attempt {c.attempt}")
        return "ok"
    call.attempts = attempts  # type: ignore[attr-defined]
    return call


def test_retry_backs_off_exponentially_on_the_virtual_clock() -> None:
    integration = flaky(3)
    retry = [{"ErrorEquals": ["Boom"], "IntervalSeconds": 2, "BackoffRate": 3, "MaxAttempts": 3}]
    run = execute(machine(("T", task(Retry=retry))), virtual_time=True, start_time=T0,
                  integrations={"lambda:invoke": integration})
    assert run.status == "SUCCEEDED"
    assert integration.attempts == [0, 1, 2, 3]
    scheduled = [e["timestamp"] for e in run.history if e["type"] == "TaskScheduled"]
    gaps = [(b - a).total_seconds() for a, b in zip(scheduled, scheduled[1:], strict=False)]
    assert gaps == [2.0, 6.0, 18.0]


def test_retry_max_delay_and_full_jitter_bound_the_waits() -> None:
    integration = flaky(3)
    retry = [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 10, "BackoffRate": 10,
              "MaxDelaySeconds": 15, "JitterStrategy": "FULL"}]
    run = execute(machine(("T", task(Retry=retry))), virtual_time=True, start_time=T0,
                  integrations={"lambda:invoke": integration})
    assert run.status == "SUCCEEDED"
    scheduled = [e["timestamp"] for e in run.history if e["type"] == "TaskScheduled"]
    gaps = [(b - a).total_seconds() for a, b in zip(scheduled, scheduled[1:], strict=False)]
    assert len(gaps) == 3 and all(0 <= g <= 15 for g in gaps)


def test_max_attempts_zero_never_retries_and_exhausted_retrier_does_not_fall_through() -> None:
    integration = flaky(5)
    retry = [{"ErrorEquals": ["Boom"], "MaxAttempts": 0}, {"ErrorEquals": ["States.ALL"], "MaxAttempts": 5}]
    run = execute(machine(("T", task(Retry=retry))), virtual_time=True,
                  integrations={"lambda:invoke": integration})
    assert run.status == "FAILED" and run.error == "Boom"
    assert integration.attempts == [0]


def test_catch_routes_the_error_output_with_result_path() -> None:
    definition = machine(
        ("T", task(Catch=[{"ErrorEquals": ["Other"], "Next": "No"},
                          {"ErrorEquals": ["States.TaskFailed"], "ResultPath": "$.err", "Next": "Yes"}])),
        ("No", {"Type": "Fail", "Error": "wrong"}),
        ("Yes", {"Type": "Pass"}))
    run = execute(definition, {"k": 1}, integrations={"lambda:invoke": flaky(9)})
    assert run.status == "SUCCEEDED"
    assert run.output == {"k": 1, "err": {"Error": "Boom", "Cause": "attempt 0"}}
    types = [e["type"] for e in run.history]
    assert types.index("TaskFailed") < types.index("TaskStateExited") < types.index("PassStateEntered")


def test_states_all_does_not_catch_runtime_errors() -> None:
    definition = machine(
        ("T", task(InputPath="$.nope", Catch=[{"ErrorEquals": ["States.ALL"], "Next": "C"}])),
        ("C", {"Type": "Succeed"}))
    run = execute(definition, {}, integrations={"*": lambda c: 1})
    assert run.status == "FAILED" and run.error == "States.Runtime"


def test_jsonata_catch_output_and_assign() -> None:
    definition = machine(
        ("T", task(QueryLanguage="JSONata", Catch=[{
            "ErrorEquals": ["States.ALL"], "Next": "C", "Assign": {"why": "{% $states.errorOutput.Cause %}"},
            "Output": {"e": "{% $states.errorOutput.Error %}"}}])),
        ("C", {"Type": "Pass", "QueryLanguage": "JSONata", "Output": "{% [$states.input.e, $why] %}"}))
    run = execute(definition, {}, integrations={"lambda:invoke": flaky(9)})
    assert run.output == ["Boom", "attempt 0"]


# --- timeouts --------------------------------------------------------------------------------

def test_task_timeout_is_states_timeout_and_not_matched_by_task_failed() -> None:
    woken_early = threading.Event()

    def slow(call: TaskCall) -> Any:
        if call.clock.sleep(3600) is False:  # woken by the task's own cancel at the timeout
            woken_early.set()
        return "late"

    definition = machine(
        ("T", task(TimeoutSeconds=30, Catch=[{"ErrorEquals": ["States.TaskFailed"], "Next": "Wrong"},
                                             {"ErrorEquals": ["States.Timeout"], "Next": "Right"}])),
        ("Wrong", {"Type": "Fail"}), ("Right", {"Type": "Pass"}))
    run = execute(definition, {}, virtual_time=True, start_time=T0, integrations={"lambda:invoke": slow})
    assert run.status == "SUCCEEDED"
    assert run.output == {"Error": "States.Timeout", "Cause": ""}  # as AWS recorded it
    assert "TaskTimedOut" in [e["type"] for e in run.history]
    assert elapsed(run) == 30.0
    assert woken_early.wait(5)


def test_heartbeat_timeout() -> None:
    def silent(call: TaskCall) -> Any:
        call.clock.sleep(100, call.cancel)
        return None

    run = execute(machine(("T", task(HeartbeatSeconds=5))), virtual_time=True,
                  integrations={"lambda:invoke": silent})
    assert (run.status, run.error) == ("FAILED", "States.HeartbeatTimeout")


def test_heartbeats_keep_a_task_alive() -> None:
    def beating(call: TaskCall) -> Any:
        assert call.heartbeat is not None
        for _ in range(4):
            call.clock.sleep(4, call.cancel)
            call.heartbeat()
        return "done"

    run = execute(machine(("T", task(HeartbeatSeconds=5))), virtual_time=True,
                  integrations={"lambda:invoke": beating})
    assert (run.status, run.output) == ("SUCCEEDED", "done")


def test_execution_timeout_is_timed_out() -> None:
    definition = machine(("W", {"Type": "Wait", "Seconds": 60}), TimeoutSeconds=5)
    run = execute(definition, virtual_time=True, start_time=T0)
    assert run.status == "TIMED_OUT"
    assert run.history[-1]["type"] == "ExecutionTimedOut"
    assert elapsed(run) == 5.0


def test_one_hour_wait_takes_milliseconds_with_virtual_time() -> None:
    import time
    t = time.perf_counter()
    run = execute(machine(("W", {"Type": "Wait", "Seconds": 3600})), virtual_time=True, start_time=T0)
    assert time.perf_counter() - t < 0.5
    assert run.status == "SUCCEEDED" and elapsed(run) == 3600.0


def test_wait_timestamp_uses_the_virtual_clock() -> None:
    definition = machine(("W", {"Type": "Wait", "Timestamp": "2024-01-01T02:00:00Z"}))
    run = execute(definition, virtual_time=True, start_time=T0)
    assert elapsed(run) == 7200.0


# --- concurrency -------------------------------------------------------------------------------

def test_parallel_branches_really_overlap() -> None:
    barrier = threading.Barrier(2, timeout=5)

    def meet(call: TaskCall) -> Any:
        barrier.wait()  # only returns when both branches are inside a task at once
        return call.parameters

    branches = [{"StartAt": name, "States": {name: task(End=True)}} for name in ("T1", "T2")]
    definition = machine(("P", {"Type": "Parallel", "Branches": branches}))
    run = execute(definition, {"v": 1}, integrations={"lambda:invoke": meet})
    assert run.status == "SUCCEEDED"
    assert run.output == [{"v": 1}, {"v": 1}]


def test_virtual_time_is_shared_by_concurrent_branches() -> None:
    def branch(seconds: int) -> dict[str, Any]:
        name = f"W{seconds}"
        return {"StartAt": name, "States": {name: {"Type": "Wait", "Seconds": seconds, "End": True}}}

    definition = machine(("P", {"Type": "Parallel", "Branches": [branch(10), branch(25), branch(5)]}))
    run = execute(definition, virtual_time=True, start_time=T0)
    assert run.status == "SUCCEEDED"
    assert elapsed(run) == 25.0
    exits = {e["stateExitedEventDetails"]["name"]: (e["timestamp"] - T0).total_seconds() for e in run.history
             if e["type"] == "WaitStateExited"}
    assert exits == {"W10": 10.0, "W25": 25.0, "W5": 5.0}


def test_failed_branch_cancels_its_siblings() -> None:
    cancelled = threading.Event()

    def hang(call: TaskCall) -> Any:
        call.cancel.wait(5)
        if call.cancel.is_set():
            cancelled.set()
        return None

    definition = machine(("P", {"Type": "Parallel", "Branches": [
        {"StartAt": "T", "States": {"T": task(End=True)}},
        {"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "E", "Cause": "c"}}}]}))
    run = execute(definition, integrations={"lambda:invoke": hang})
    assert (run.status, run.error, run.cause) == ("FAILED", "E", "c")
    assert cancelled.wait(5)


def test_map_with_max_concurrency_and_tolerated_failures() -> None:
    active, peak = [0], [0]
    lock = threading.Lock()
    gate = threading.Barrier(2, timeout=5)

    def work(call: TaskCall) -> Any:
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        try:
            gate.wait()
        finally:
            with lock:
                active[0] -= 1
        if call.parameters == 3:
            raise TaskFailure("Bad", "three")
        return call.parameters * 10

    definition = machine(("M", {"Type": "Map", "MaxConcurrency": 2, "ToleratedFailureCount": 1,
                                "ItemProcessor": {"StartAt": "T", "States": {"T": task(End=True)}}}))
    run = execute(definition, [1, 2, 3, 4], integrations={"lambda:invoke": work})
    assert run.status == "SUCCEEDED", run.cause
    assert run.output == [10, 20, {"Error": "Bad", "Cause": "three"}, 40]
    assert peak[0] == 2


def test_map_item_selector_and_context() -> None:
    definition = machine(("M", {"Type": "Map", "ItemsPath": "$.xs",
                                "ItemSelector": {"i.$": "$$.Map.Item.Index", "v.$": "$$.Map.Item.Value",
                                                 "k.$": "$.k"},
                                "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}}))
    run = execute(definition, {"xs": ["a", "b"], "k": 7})
    assert run.output == [{"i": 0, "v": "a", "k": 7}, {"i": 1, "v": "b", "k": 7}]


# --- stop and task tokens ------------------------------------------------------------------------

def test_stop_aborts_and_cancels_the_running_task() -> None:
    entered = threading.Event()
    cancelled = threading.Event()

    def block(call: TaskCall) -> Any:
        entered.set()
        if call.cancel.wait(5):
            cancelled.set()
        return None

    execution = start(machine(("T", task())), integrations={"lambda:invoke": block})
    assert entered.wait(5)
    execution.stop(error="Stopped", cause="by test")
    run = execution.wait(5)
    assert (run.status, run.error, run.cause) == ("ABORTED", "Stopped", "by test")
    assert run.history[-1]["type"] == "ExecutionAborted"
    assert cancelled.wait(5)


def test_wait_for_task_token_completes_with_send_task_success() -> None:
    tokens: list[str] = []

    def enqueue(call: TaskCall) -> Any:
        assert call.task_token is not None
        assert call.parameters == {"token": call.task_token}
        tokens.append(call.task_token)
        threading.Thread(target=send_task_success, args=(call.task_token, {"answer": 42})).start()
        return {"MessageId": "m"}

    definition = machine(("Q", task("arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                                     Parameters={"token.$": "$$.Task.Token"})))
    run = execute(definition, integrations={"sqs:sendMessage": enqueue})
    assert (run.status, run.output) == ("SUCCEEDED", {"answer": 42})
    assert len(tokens) == 1


def test_unanswered_task_token_times_out_on_the_virtual_clock() -> None:
    definition = machine(("Q", task("arn:aws:states:::sqs:sendMessage.waitForTaskToken", TimeoutSeconds=300)))
    run = execute(definition, virtual_time=True, start_time=T0, integrations={"sqs:sendMessage": lambda c: {}})
    assert (run.status, run.error) == ("FAILED", "States.Timeout")
    assert elapsed(run) == 300.0


def test_send_task_failure_fails_the_task() -> None:
    from orchestrator.engine.interpreter import send_task_failure

    def enqueue(call: TaskCall) -> Any:
        assert call.task_token is not None
        threading.Thread(target=send_task_failure, args=(call.task_token, "Rejected", "no")).start()
        return {}

    definition = machine(("Q", task("arn:aws:states:::sns:publish.waitForTaskToken")))
    run = execute(definition, integrations={"sns:publish": enqueue})
    assert (run.status, run.error, run.cause) == ("FAILED", "Rejected", "no")


def test_map_of_waits_and_parallels_has_the_right_virtual_makespan() -> None:
    definition = machine(("M", {"Type": "Map", "ItemsPath": "$.xs", "MaxConcurrency": 2, "ItemProcessor": {
        "StartAt": "W", "States": {
            "W": {"Type": "Wait", "SecondsPath": "$.s", "Next": "P"},
            "P": {"Type": "Parallel", "End": True, "Branches": [
                {"StartAt": "A", "States": {"A": {"Type": "Wait", "Seconds": 7, "End": True}}},
                {"StartAt": "B", "States": {"B": {"Type": "Wait", "Seconds": 3, "End": True}}}]}}}}))
    run = execute(definition, {"xs": [{"s": 10}, {"s": 1}, {"s": 4}, {"s": 20}]}, virtual_time=True, start_time=T0)
    assert run.status == "SUCCEEDED"
    # Two workers take items in order as they free up: item 0 ends at 17, item 1 at 8;
    # item 2 starts at 8 and ends at 19; item 3 starts at 17 and ends at 17 + 20 + 7 = 44.
    assert elapsed(run) == 44.0


def test_input_is_a_json_value_and_definition_may_be_text() -> None:
    text = '{"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}'
    assert execute(text, "HelloWorld").output == "HelloWorld"
    assert execute(text, None).output == {}
    assert execute(text, [1, 2.5]).output == [1, 2.5]


def test_not_even_a_catcher_naming_states_runtime_catches_it() -> None:
    # Mirrors AWS's recorded TestBaseScenarios::test_catch_states_runtime.
    arn = "arn:aws:lambda:us-east-1:123456789012:function:f"
    definition = machine(
        ("RaiseRuntime", task(arn, OutputPath="$.no.such.result.path",
                              Catch=[{"ErrorEquals": ["States.Runtime"], "Next": "Caught"}])),
        ("Caught", {"Type": "Pass"}))
    run = execute(definition, {}, integrations={"lambda:invoke": lambda c: {"Payload": {}}})
    assert (run.status, run.error) == ("FAILED", "States.Runtime")
    assert run.cause == ("An error occurred while executing the state 'RaiseRuntime' (entered at the event id "
                         "#2). Invalid path '$.no.such.result.path' : Missing property in path $['no']")


def test_activity_without_a_worker_does_not_exist() -> None:
    arn = "arn:aws:states:us-east-1:123456789012:activity:approve"
    run = execute(machine(("A", task(arn))))
    assert (run.status, run.error) == ("FAILED", "States.Runtime")
    assert run.cause == ("An error occurred while executing the state 'A' (entered at the event id #2). "
                         f"The activity {arn} does not exist.")
    assert len(run.history) == 3  # as AWS records it: no ActivityScheduled


def test_activity_integration_gets_the_input() -> None:
    arn = "arn:aws:states:us-east-1:123456789012:activity:approve"
    run = execute(machine(("A", task(arn))), {"ok": True}, integrations={"activity": lambda c: c.parameters})
    assert run.output == {"ok": True}
    assert [e["type"] for e in run.history][2:5] == ["ActivityScheduled", "ActivityStarted", "ActivitySucceeded"]


def test_parameters_are_evaluated_per_attempt_with_the_retry_count() -> None:
    seen: list[Any] = []

    def fail_twice(call: TaskCall) -> Any:
        seen.append(call.parameters)
        if len(seen) < 3:
            raise TaskFailure("Again")
        return "ok"

    definition = machine(("T", task(Parameters={"n.$": "$$.State.RetryCount"},
                                    Retry=[{"ErrorEquals": ["Again"], "IntervalSeconds": 1}])))
    run = execute(definition, virtual_time=True, integrations={"lambda:invoke": fail_twice})
    assert run.output == "ok"
    assert seen == [{"n": 0}, {"n": 1}, {"n": 2}]


def test_every_state_type_has_one_handler_in_the_table() -> None:
    from orchestrator.engine.interpreter import HANDLERS
    from orchestrator.engine.state_types import StateType
    from orchestrator.engine.validate import STATE_TYPES

    assert set(HANDLERS) == set(StateType) and {t.value for t in StateType} == STATE_TYPES
    assert HANDLERS["Map"] is HANDLERS[StateType.MAP]  # looked up by the definition's "Type" text
