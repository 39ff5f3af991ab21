"""``orchestrator aws logs``: where an execution's logs are, from its history, and reading them
from CloudWatch Logs (moto's), one section per job attempt or invocation."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from aws_fixtures import REGION, fake_credentials  # noqa: F401

from orchestrator.aws import logs as cloudwatch
from orchestrator.aws.errors import AwsError

EXECUTION = f"arn:aws:states:{REGION}:123456789012:execution:nightly:run-1"
FUNCTION = f"arn:aws:lambda:{REGION}:123456789012:function:check"
# CloudWatch Logs (and moto) refuse events older than 14 days: the run is an hour ago.
T0 = datetime.fromtimestamp(int(time.time()) - 3600, UTC)


def at(seconds: int) -> datetime:
    return datetime.fromtimestamp(T0.timestamp() + seconds, UTC)


def ms(seconds: int) -> int:
    return int(at(seconds).timestamp() * 1000)


JOB = {"JobId": "job-1", "JobName": "load"}
HISTORY: list[dict[str, Any]] = [
    {"id": 1, "type": "ExecutionStarted", "timestamp": at(0)},
    {"id": 2, "previousEventId": 1, "type": "TaskStateEntered", "timestamp": at(0),
     "stateEnteredEventDetails": {"name": "load-sales"}},
    {"id": 3, "previousEventId": 2, "type": "TaskScheduled", "timestamp": at(0),
     "taskScheduledEventDetails": {"resourceType": "batch", "resource": "submitJob.sync",
                                   "parameters": json.dumps({"JobName": "load"})}},
    {"id": 4, "previousEventId": 3, "type": "TaskStarted", "timestamp": at(1)},
    {"id": 5, "previousEventId": 4, "type": "TaskSubmitted", "timestamp": at(1),
     "taskSubmittedEventDetails": {"output": json.dumps(JOB)}},
    {"id": 6, "previousEventId": 5, "type": "TaskSucceeded", "timestamp": at(60),
     "taskSucceededEventDetails": {"output": json.dumps({**JOB, "Status": "SUCCEEDED"})}},
    {"id": 7, "previousEventId": 6, "type": "TaskStateExited", "timestamp": at(60)},
    {"id": 8, "previousEventId": 7, "type": "TaskStateEntered", "timestamp": at(60),
     "stateEnteredEventDetails": {"name": "check-freshness"}},
    {"id": 9, "previousEventId": 8, "type": "TaskScheduled", "timestamp": at(60),
     "taskScheduledEventDetails": {"resourceType": "lambda", "resource": "invoke",
                                   "parameters": json.dumps({"FunctionName": FUNCTION, "Payload": {}})}},
    {"id": 10, "previousEventId": 9, "type": "TaskStarted", "timestamp": at(61)},
    {"id": 11, "previousEventId": 10, "type": "TaskSucceeded", "timestamp": at(63),
     "taskSucceededEventDetails": {"output": json.dumps({"Payload": {"ok": True},
                                                         "SdkResponseMetadata": {"RequestId": "req-2"}})}},
]


class FakeBatch:
    def describe_jobs(self, *, jobs: list[str]) -> dict[str, Any]:
        assert jobs == ["job-1"]
        return {"jobs": [{"jobId": "job-1", "attempts": [
            {"container": {"logStreamName": "load-sales/default/attempt-1"}},
            {"container": {"logStreamName": "load-sales/default/attempt-2"}}],
            "container": {"logStreamName": "load-sales/default/attempt-2",
                          "logConfiguration": {"logDriver": "awslogs",
                                               "options": {"awslogs-group": "/nightly/jobs"}}}}]}


class FakeLambda:
    def get_function_configuration(self, *, FunctionName: str) -> dict[str, Any]:  # noqa: N803 - boto3's name
        assert FunctionName == FUNCTION
        return {"FunctionName": "check", "LoggingConfig": {"LogGroup": "/nightly/check"}}


@pytest.fixture()
def logs() -> Iterator[Any]:
    import boto3
    from moto import mock_aws

    with mock_aws():
        client = boto3.client("logs", region_name=REGION)
        client.create_log_group(logGroupName="/nightly/jobs")
        for attempt, lines in (("attempt-1", ["loading", "spot reclaimed"]), ("attempt-2", ["loading", "done"])):
            stream = f"load-sales/default/{attempt}"
            client.create_log_stream(logGroupName="/nightly/jobs", logStreamName=stream)
            client.put_log_events(logGroupName="/nightly/jobs", logStreamName=stream, logEvents=[
                {"timestamp": ms(2 + i), "message": line} for i, line in enumerate(lines)])
        client.create_log_group(logGroupName="/nightly/check")
        client.create_log_stream(logGroupName="/nightly/check", logStreamName="2024/06/01/[$LATEST]abc")
        client.put_log_events(logGroupName="/nightly/check", logStreamName="2024/06/01/[$LATEST]abc", logEvents=[
            {"timestamp": ms(61), "message": "START RequestId: req-1 Version: $LATEST"},
            {"timestamp": ms(61), "message": "someone else's run"},
            {"timestamp": ms(61), "message": "REPORT RequestId: req-1 Duration: 3 ms"},
            {"timestamp": ms(62), "message": "START RequestId: req-2 Version: $LATEST"},
            {"timestamp": ms(62), "message": "fresh: 3 hours old"},
            {"timestamp": ms(62), "message": "REPORT RequestId: req-2 Duration: 5 ms"},
        ])
        yield client


def test_sections_come_from_the_history() -> None:
    found = cloudwatch.sections(HISTORY, batch=FakeBatch(), lambda_=FakeLambda())
    assert [s.title for s in found] == [
        "load-sales (batch) load-sales/default/attempt-1",
        "load-sales (batch) load-sales/default/attempt-2",
        "check-freshness (lambda) /nightly/check",
    ]
    assert (found[2].start_ms, found[2].end_ms, found[2].request_id) == (ms(61), ms(63), "req-2")


def test_each_attempt_and_only_this_invocation_is_read(logs: Any) -> None:
    found = cloudwatch.sections(HISTORY, batch=FakeBatch(), lambda_=FakeLambda())
    texts = [[e["message"] for e in cloudwatch.read(s, logs)] for s in found]
    assert texts == [["loading", "spot reclaimed"], ["loading", "done"],
                     ["START RequestId: req-2 Version: $LATEST", "fresh: 3 hours old",
                      "REPORT RequestId: req-2 Duration: 5 ms"]]


@pytest.fixture()
def wired(monkeypatch: pytest.MonkeyPatch, logs: Any) -> None:
    monkeypatch.setattr(cloudwatch.executions, "describe", lambda arn, client: {"status": "SUCCEEDED"})
    monkeypatch.setattr(cloudwatch.executions, "history", lambda arn, client: HISTORY)
    fakes = {"batch": FakeBatch(), "lambda": FakeLambda(), "logs": logs, "stepfunctions": object()}
    monkeypatch.setattr(cloudwatch, "make_client", lambda service, region=None: fakes[service])


def run(task: str | None = None, *, follow: bool = False) -> str:
    out: list[str] = []
    cloudwatch.print_logs(EXECUTION, task, follow=follow, write=out.append,
                          rule=lambda title: out.append(f"--- {title}\n"), sleep=lambda _: None)
    return "".join(out)


def test_print_has_the_shape_of_local_logs(wired: None) -> None:
    assert run("load-sales") == (
        "--- load-sales (batch) load-sales/default/attempt-1\nloading\nspot reclaimed\n"
        "--- load-sales (batch) load-sales/default/attempt-2\nloading\ndone\n"
    )


def test_follow_of_a_finished_execution_prints_once_and_returns(wired: None) -> None:
    assert run(follow=True).count("--- ") == 3


def test_a_task_without_logs_names_those_with_logs(wired: None) -> None:
    with pytest.raises(AwsError, match=r"no logs for task 'report'\n    fix: tasks with logs: "
                                       r"check-freshness, load-sales$"):
        run("report")
