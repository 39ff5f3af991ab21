"""The failure path: one alert naming the failed task, then FAILED with the original error.

These run in the embedded engine: the alert states are JSONata, which moto's interpreter only
evaluates with a Java runtime (jpype) that the test environment does not have.
"""

from __future__ import annotations

import json

import pytest
from compiler_support import batch, iter_states, lam, run_in_engine

from orchestrator import model
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
        assert alert["Subject"] == "Failed: diamond / b"
        message = alert["Message"]
        assert "Workflow: diamond" in message
        assert "Failed task: b" in message
        assert "Error: States.TaskFailed" in message
        assert "Essential container in task exited" in message
        assert "Batch log stream: b/default/0123abcd" in message
        assert (
            "https://console.aws.amazon.com/states/home?region=us-east-1#/v2/executions/details/arn:aws:states:"
            in message
        )
        assert "d" not in aws.started

    def test_failure_at_top_level(self) -> None:
        run, aws = run_in_engine(compile_workflow(diamond()), fail={"a": ("Custom.Error", "boom")})
        assert (run.status, run.error, run.cause) == ("FAILED", "Custom.Error", "boom")
        assert len(aws.published) == 1
        assert "Failed task: a" in aws.published[0]["Message"]
        assert "Batch log stream: (none)" in aws.published[0]["Message"]

    def test_long_cause_and_subject_are_trimmed(self) -> None:
        wf = model.Workflow(name="w" * 80, notify=model.Notify(), tasks=(lam("x" * 80),))
        cause = "c" * 10_000
        run, aws = run_in_engine(compile_workflow(wf), fail={"x" * 80: ("E", cause)})
        assert run.cause == cause  # the execution keeps the whole cause
        assert len(aws.published[0]["Subject"]) <= 99
        assert f"Cause: {'c' * alerts.CAUSE_IN_MESSAGE_MAX}\n" in aws.published[0]["Message"]

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
        assert aws.published[0]["Subject"] == "Failed: nested / d"
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
    assert aws.published[0]["Subject"] == "Failed: n?chtlich / a"
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
