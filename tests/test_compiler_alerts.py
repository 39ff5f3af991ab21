"""The failure path: one alert naming the failed task, then FAILED with the original error.

These run in the embedded engine: the alert states are JSONata, which moto's interpreter only
evaluates with a Java runtime (jpype) that the test environment does not have.
"""

from __future__ import annotations

import json

import pytest
from compiler_support import batch, iter_states, lam, run_in_engine

from orchestrator import limits, model
from orchestrator.compiler import alerts, compile_workflow

BATCH_CAUSE = json.dumps(
    {
        "JobName": "b",
        "Status": "FAILED",
        "StatusReason": "Essential container in task exited",
        "Container": {"ExitCode": 3, "LogStreamName": "b/default/0123abcd"},
    }
)


OPS = model.Notify(email=("ops@example.com",))
CONSOLE = "https://us-east-1.console.aws.amazon.com"
EXECUTION = "arn:aws:states:us-east-1:123456789012:execution:LocalStateMachine:run-1"
# A DescribeJobs job as Batch's .sync integration fails with it (the fields the alert reads).
DESCRIBED_JOB = json.dumps({
    "JobId": "j-1", "JobName": "optimize-db", "Status": "FAILED", "StatusReason": "Essential container in task exited",
    "Attempts": [{"Container": {"ExitCode": 3, "LogStreamName": "optimize-db/default/0123abcd"},
                  "StartedAt": 1_000, "StoppedAt": 13_000, "StatusReason": "Essential container in task exited"}],
    "Container": {"ExitCode": 3, "LogStreamName": "optimize-db/default/0123abcd"},
    "Timeout": {"AttemptDurationSeconds": 7200}})


def diamond(notify: model.Notify | None = OPS) -> model.Workflow:
    return model.Workflow(
        name="diamond",
        notify=notify,
        tasks=(batch("a"), batch("b", after=("a",)), lam("c", after=("a",)), lam("d", after=("b", "c"))),
    )


class TestOneAlert:
    def test_failure_in_a_parallel_branch_alerts_once_and_names_the_task(self) -> None:
        result = compile_workflow(diamond())
        run, aws = run_in_engine(result, fail={"b": ("States.TaskFailed", BATCH_CAUSE)})
        assert run.status == "FAILED"
        assert (run.error, run.cause) == ("States.TaskFailed", BATCH_CAUSE)
        assert len(aws.published) == 1
        alert = aws.published[0]
        assert alert["TopicArn"] == "${AlertTopicArn}"
        assert alert["Subject"] == "diamond failed at b: exit code 3 (attempt 1 of 1)"
        assert alert["Message"] == "\n".join([
            "diamond failed at b: exit code 3 (attempt 1 of 1)",
            "",
            "Workflow: diamond",
            "Execution: run-1",
            f"Console: {CONSOLE}/states/home?region=us-east-1#/v2/executions/details/{EXECUTION}",
            "Task: b (Batch job), attempt 1 of 1",
            "Reason: exit code 3 (Essential container in task exited)",
            f"Log stream: b/default/0123abcd {CONSOLE}/cloudwatch/home?region=us-east-1#logsV2:log-groups/"
            "log-group/$2524$257BJobLogGroup$257D/log-events/b$252Fdefault$252F0123abcd",
            f"Redrive: orchestrator redrive run-1 (on AWS: aws stepfunctions redrive-execution --execution-arn "
            f"{EXECUTION})",
        ])
        assert BATCH_CAUSE not in alert["Message"]  # the raw cause stays in the history
        assert "d" not in aws.started

    def test_a_batch_failure_carries_its_attempt_duration_and_log_tail(self) -> None:
        wf = model.Workflow(name="nightly-sales", notify=OPS, tasks=(model.Task(
            name="optimize-db", job=model.BatchJob(image="i"), retry=model.Retry(attempts=2), timeout=7200),))
        lines = [f"line {i}" for i in range(40)] + ["x" * 1000, "boom"]
        run, aws = run_in_engine(compile_workflow(wf), fail={"optimize-db": ("States.TaskFailed", DESCRIBED_JOB)},
                                 logs={"optimize-db/default/0123abcd": lines})
        assert aws.log_reads == [{"LogGroupName": "${JobLogGroup}", "LogStreamName": "optimize-db/default/0123abcd",
                                  "Limit": alerts.LOG_TAIL_LINES, "StartFromHead": False}]
        alert = aws.published[0]
        assert alert["Subject"] == "nightly-sales failed at optimize-db: exit code 3 (attempt 3 of 3)"
        message = alert["Message"].split("\n")
        assert "Task: optimize-db (Batch job), attempt 3 of 3, ran 12s" in message
        tail = message[message.index("Last log lines:") + 1:][:alerts.LOG_TAIL_LINES]
        assert tail[:2] == [" | line 22", " | line 23"]
        assert tail[-2:] == [" | " + "x" * alerts.LOG_LINE_MAX, " | boom"]  # each line trimmed
        assert len(alert["Message"].encode()) < limits.SNS_MESSAGE_MAX
        assert alert["MessageAttributes"]["reason"] == {
            "DataType": "String", "StringValue": "exit code 3 (Essential container in task exited)"}
        assert alert["MessageAttributes"]["event"]["StringValue"] == "failure"

    def test_a_failed_log_read_still_alerts_without_the_lines(self) -> None:
        run, aws = run_in_engine(compile_workflow(diamond()), fail={"b": ("States.TaskFailed", BATCH_CAUSE)})
        assert aws.log_reads  # tried, the stream is unknown to the fake
        assert "Last log lines:" not in aws.published[0]["Message"]

    def test_a_lambda_failure_names_its_error_type_and_message(self) -> None:
        cause = json.dumps({"errorMessage": "division by zero", "errorType": "ZeroDivisionError",
                            "requestId": "r-1", "stackTrace": ["  File handler.py, line 3"]})
        run, aws = run_in_engine(compile_workflow(diamond()), fail={"c": ("ZeroDivisionError", cause)})
        alert = aws.published[0]
        assert alert["Subject"] == "diamond failed at c: ZeroDivisionError: division by zero (attempt 1 of 1)"
        assert "Task: c (Lambda function), attempt 1 of 1" in alert["Message"]
        assert "Reason: ZeroDivisionError: division by zero" in alert["Message"]
        assert "stackTrace" not in alert["Message"] and "Log stream" not in alert["Message"]
        assert aws.log_reads == []  # no stream to read

    def test_a_timeout_names_the_limit(self) -> None:
        wf = model.Workflow(name="w", notify=OPS, tasks=(model.Task(name="t", job=model.BatchJob(image="i"),
                                                                    timeout=5400, retry=model.Retry(attempts=0)),))
        run, aws = run_in_engine(compile_workflow(wf), fail={"t": ("States.Timeout", "")})
        assert aws.published[0]["Subject"] == "w failed at t: timed out after 90m (attempt 1 of 1)"
        assert "Reason: timed out: no result within the state timeout (task timeout 90m)" in aws.published[0]["Message"]

    def test_an_error_the_task_does_not_retry_says_so(self) -> None:
        wf = model.Workflow(name="w", notify=OPS, tasks=(
            model.Task(name="t", job=model.LambdaTask(handler="m:f"), retry=model.Retry(errors=("Transient",))),))
        run, aws = run_in_engine(compile_workflow(wf), fail={"t": ("Fatal", "bad input")})
        assert aws.published[0]["Subject"] == ("w failed at t: Fatal: bad input "
                                               "(not retried: Fatal is not in its retry list)")

    def test_failure_at_top_level(self) -> None:
        run, aws = run_in_engine(compile_workflow(diamond()), fail={"a": ("Custom.Error", "boom")})
        assert (run.status, run.error, run.cause) == ("FAILED", "Custom.Error", "boom")
        assert len(aws.published) == 1
        assert aws.published[0]["Subject"] == "diamond failed at a: Custom.Error: boom (attempt 1 of 1)"
        assert "Log stream" not in aws.published[0]["Message"]

    def test_long_cause_and_subject_are_trimmed(self) -> None:
        wf = model.Workflow(name="w" * 80, notify=model.Notify(), tasks=(lam("x" * 80),))
        cause = "c" * 10_000
        run, aws = run_in_engine(compile_workflow(wf), fail={"x" * 80: ("E", cause)})
        assert run.cause == cause  # the execution keeps the whole cause
        assert len(aws.published[0]["Subject"]) <= limits.SNS_SUBJECT_MAX
        assert len(aws.published[0]["Message"].encode()) < limits.SNS_MESSAGE_MAX

    def test_sns_failure_still_fails_with_the_task_error(self) -> None:
        run, aws = run_in_engine(
            compile_workflow(diamond()), fail={"c": ("Lambda.Unknown", "oom")}, sns_fails=True
        )
        assert (run.status, run.error, run.cause) == ("FAILED", "Lambda.Unknown", "oom")
        assert aws.published == []

    def test_topic_arn_given_by_the_user_is_used_as_is(self) -> None:
        arn = "arn:aws:sns:eu-west-1:111122223333:ops"
        result = compile_workflow(diamond(model.Notify(topic_arn=arn)))
        assert result.definitions["diamond"]["States"][alerts.NOTIFY]["Arguments"]["TopicArn"] == arn
        assert "${AlertTopicArn}" not in result.placeholders


class TestWithoutNotify:
    def test_no_sns_state_no_placeholder_still_fails_with_original_error(self) -> None:
        result = compile_workflow(diamond(notify=None))
        names = [name for definition in result.definitions.values() for name, _ in iter_states(definition)]
        assert alerts.NOTIFY not in names
        assert "${AlertTopicArn}" not in result.placeholders
        run, aws = run_in_engine(result, fail={"b": ("States.TaskFailed", BATCH_CAUSE)})
        assert (run.status, run.error, run.cause) == ("FAILED", "States.TaskFailed", BATCH_CAUSE)
        assert aws.published == []


class TestSuccess:
    def test_results_and_input_reach_every_task(self) -> None:
        given = {"day": "2024-01-01", "scheduled_time": "2024-01-01T02:10:00Z"}
        run, aws = run_in_engine(compile_workflow(diamond()), input=given)
        assert run.status == "SUCCEEDED"
        assert run.output["input"] == given
        assert run.output["results"] == {
            "a": {"JobId": "job-a", "Status": "SUCCEEDED"},
            "b": {"JobId": "job-b", "Status": "SUCCEEDED"},
            "c": {"Payload": {"task": "c"}},
            "d": {"Payload": {"task": "d"}},
        }
        assert aws.published == []
        payload = aws.payloads["d"]
        assert payload["input"] == given
        environment = {e["Name"]: e.get("Value", e.get("Value.$")) for e in
                       aws.submitted["a"]["ContainerOverrides"]["Environment"]}
        assert environment["ORCHESTRATOR_SCHEDULED_TIME"] == "2024-01-01T02:10:00Z"
        assert environment["ORCHESTRATOR_EXECUTION_NAME"] == "run-1"
        assert payload["upstream"] == {
            "b": {"JobId": "job-b", "Status": "SUCCEEDED"},
            "c": {"Payload": {"task": "c"}},
        }
        assert payload["execution"]["Name"] == "run-1"
        assert payload["execution"]["Id"].endswith(":run-1")


class TestNestedParallels:
    def test_failure_two_parallels_deep_names_the_task(self) -> None:
        wf = model.Workflow(
            name="nested",
            notify=OPS,
            tasks=(
                lam("a"),
                lam("b", ("a",)),
                batch("c", ("b",)),
                batch("d", ("b",)),
                lam("e", ("c", "d")),
                batch("f", ("a",), expected_duration=50),
                lam("g", ("e", "f")),
            ),
        )
        result = compile_workflow(wf)
        parallels = [name for name, s in iter_states(result.definitions["nested"]) if s["Type"] == "Parallel"]
        assert len(parallels) == 2  # one inside a branch of the other
        run, aws = run_in_engine(result, fail={"d": ("States.TaskFailed", BATCH_CAUSE)})
        assert (run.status, run.error, run.cause) == ("FAILED", "States.TaskFailed", BATCH_CAUSE)
        assert len(aws.published) == 1
        assert aws.published[0]["Subject"] == "nested failed at d: exit code 3 (attempt 1 of 1)"
        assert "g" not in aws.started


def test_event_count_matches_the_engine_history_of_a_clean_run() -> None:
    from orchestrator.compiler import quotas

    result = compile_workflow(diamond())
    run, _ = run_in_engine(result)
    assert run.status == "SUCCEEDED"
    assert len(run.history) == quotas.success_events(result.definitions["diamond"])
    assert result.report.machines[0].events > len(run.history)  # worst case adds retries


def test_subject_is_printable_ascii() -> None:
    wf = model.Workflow(name="nächtlich", notify=OPS, tasks=(lam("a"),))
    run, aws = run_in_engine(compile_workflow(wf), fail={"a": ("E", "x")})
    assert aws.published[0]["Subject"] == "n?chtlich failed at a: E: x (attempt 1 of 1)"
    assert "Workflow: nächtlich" in aws.published[0]["Message"]


def test_moto_routes_a_failed_batch_job_to_the_alert_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """moto's interpreter runs the catch; it stops at the JSONata state (no Java runtime here)."""
    from compiler_support import run_in_moto

    monkeypatch.setenv("MOTO_SIMPLE_BATCH_FAIL_AFTER", "0")  # moto's Batch fails every job
    wf = model.Workflow(name="m", notify=OPS, tasks=(batch("a"), lam("b", ("a",))))
    described, events = run_in_moto(compile_workflow(wf), {"x": 1})
    entered = [e["stateEnteredEventDetails"]["name"] for e in events if "stateEnteredEventDetails" in e]
    assert entered == ["Default scheduled time", "Wrap input", "a", alerts.DESCRIBE]
    exited = [e["stateExitedEventDetails"] for e in events if e["type"] == "TaskStateExited"]
    caught = json.loads(exited[0]["output"])["failed"]["a"]
    assert caught["Error"] == "States.TaskFailed"
    assert json.loads(caught["Cause"])["Status"] == "FAILED"  # the DescribeJobs output
    assert described["status"] == "FAILED"


class TestNotifyOn:
    def on(self, *events: str) -> model.Workflow:
        return diamond(model.Notify(email=("ops@example.com",), on=events))  # type: ignore[arg-type]

    def test_success_notifies_every_success_and_keeps_the_output(self) -> None:
        given = {"day": "2024-01-01", "scheduled_time": "2024-01-01T02:10:00Z"}
        plain, _ = run_in_engine(compile_workflow(diamond()), input=given)
        run, aws = run_in_engine(compile_workflow(self.on("failure", "success")), input=given)
        assert run.status == "SUCCEEDED" and run.output == plain.output
        (notice,) = aws.published
        assert notice["Subject"] == "diamond succeeded"
        assert notice["Message"].split("\n")[:4] == ["diamond succeeded", "", "Workflow: diamond", "Execution: run-1"]
        assert notice["MessageAttributes"]["event"]["StringValue"] == "success"

    def test_recovery_notifies_only_after_a_run_that_did_not_succeed(self) -> None:
        result = compile_workflow(self.on("failure", "recovery"))
        run, aws = run_in_engine(result, previous="FAILED")
        assert run.status == "SUCCEEDED"
        (notice,) = aws.published
        assert notice["Subject"] == "diamond recovered: succeeded after a run that ended FAILED"
        assert notice["MessageAttributes"]["event"]["StringValue"] == "recovery"
        for previous in ("SUCCEEDED", None):
            run, aws = run_in_engine(result, previous=previous)
            assert run.status == "SUCCEEDED" and aws.published == []

    def test_without_failure_a_failed_run_sends_nothing_but_still_fails(self) -> None:
        run, aws = run_in_engine(compile_workflow(self.on("success")), fail={"a": ("Custom.Error", "boom")})
        assert (run.status, run.error, run.cause) == ("FAILED", "Custom.Error", "boom")
        assert aws.published == []

    def test_the_spec_form_round_trips(self) -> None:
        from orchestrator.spec import from_dict, to_dict

        wf = from_dict({"name": "w", "notify": {"email": ["a@example.com"], "on": ["failure", "recovery"]},
                        "tasks": [{"name": "t", "lambda": {"handler": "m:f"}}]})
        assert wf.notify is not None and wf.notify.on == ("failure", "recovery")
        assert to_dict(wf)["notify"] == {"email": ["a@example.com"], "on": ["failure", "recovery"]}
