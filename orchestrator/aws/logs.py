"""``orchestrator aws logs EXECUTION [TASK] [--follow]``: the CloudWatch Logs of an execution's
Batch jobs and Lambda invocations, in the shape of the local ``orchestrator logs``: one section
per job attempt or invocation, headed by task, service and stream.

Where each log is, found from the execution's history (nothing is guessed from names):

* a Batch task's ``TaskSubmitted`` / ``TaskSucceeded`` / ``TaskFailed`` carries the job id;
  DescribeJobs gives each attempt's log stream and the job's log group (the ``awslogs-group`` of
  its log configuration, Batch's ``/aws/batch/job`` when none is set);
* a Lambda task's ``TaskScheduled`` names the function, whose configuration names its log group
  (``/aws/lambda/<name>`` by default); the invocation is the ``START RequestId`` ..
  ``REPORT RequestId`` lines of the request id in the task's result, within the time the task
  ran.

Reading is bounded: at most :data:`MAX_EVENTS` log events per section, and it says when more
were left out.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from orchestrator.aws import executions
from orchestrator.aws.errors import AwsError, aws_call
from orchestrator.aws.errors import client as make_client

BATCH_LOG_GROUP = "/aws/batch/job"
MAX_EVENTS = 10_000
FOLLOW_POLL_SECONDS = 5.0
_TASK_ENDS = ("TaskSucceeded", "TaskFailed", "TaskTimedOut")


@dataclass(frozen=True, slots=True, kw_only=True)
class Section:
    """One log to print: a job attempt's stream, or one Lambda invocation in its group."""

    task: str
    service: str  # "batch" | "lambda"
    group: str
    stream: str | None = None  # a Batch attempt's stream; None: search the group (Lambda)
    start_ms: int | None = None
    end_ms: int | None = None
    request_id: str | None = None

    @property
    def title(self) -> str:
        return f"{self.task} ({self.service}) {self.stream or self.group}"


def _millis(value: Any) -> int | None:
    if isinstance(value, datetime):
        return int(value.timestamp() * 1000)
    if isinstance(value, str):
        return int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() * 1000)
    return None


def _json(text: Any) -> Any:
    try:
        return json.loads(text) if isinstance(text, str) else None
    except ValueError:
        return None


def _details(event: Mapping[str, Any]) -> Mapping[str, Any]:
    for key, value in event.items():
        if key.endswith("EventDetails") and isinstance(value, Mapping):
            return value
    return {}


@dataclass(slots=True)
class _Task:
    name: str
    resource_type: str
    parameters: Any
    started_ms: int | None = None
    ended_ms: int | None = None
    job_ids: list[str] = field(default_factory=list)
    request_id: str | None = None


def tasks_of(events: Sequence[Mapping[str, Any]]) -> list[_Task]:
    """Every Task state run of the history, in order, with what locates its logs."""
    by_id = {e["id"]: e for e in events}
    scheduled: dict[int, _Task] = {}

    def owner(event: Mapping[str, Any]) -> _Task | None:
        seen = 0
        previous = event.get("previousEventId")
        while previous in by_id and seen < len(events):  # the chain back to its TaskScheduled
            if previous in scheduled:
                return scheduled[previous]
            previous = by_id[previous].get("previousEventId")
            seen += 1
        return None

    for event in events:
        kind = event["type"]
        if kind == "TaskScheduled":
            entered = by_id.get(event.get("previousEventId"), {})
            name = entered.get("stateEnteredEventDetails", {}).get("name", "?")
            details = _details(event)
            scheduled[event["id"]] = _Task(name=name, resource_type=details.get("resourceType", ""),
                                           parameters=_json(details.get("parameters")))
            continue
        task = owner(event) if kind.startswith("Task") else None
        if task is None:
            continue
        if kind == "TaskStarted":
            task.started_ms = _millis(event.get("timestamp"))
        output = _json(_details(event).get("output") or _details(event).get("cause"))
        if isinstance(output, Mapping):
            job_id = output.get("JobId") or output.get("jobId")
            if job_id and task.resource_type == "batch" and job_id not in task.job_ids:
                task.job_ids.append(str(job_id))
            metadata = output.get("SdkResponseMetadata") or {}
            if isinstance(metadata, Mapping) and metadata.get("RequestId"):
                task.request_id = str(metadata["RequestId"])
        if kind in _TASK_ENDS:
            task.ended_ms = _millis(event.get("timestamp"))
    return list(scheduled.values())


def sections(events: Sequence[Mapping[str, Any]], *, batch: Any, lambda_: Any) -> list[Section]:
    """The logs of the execution whose history is ``events`` (clients for Batch and Lambda)."""
    found: list[Section] = []
    for task in tasks_of(events):
        if task.resource_type == "batch" and task.job_ids:
            with aws_call("DescribeJobs", f"the jobs of task '{task.name}'"):
                jobs = batch.describe_jobs(jobs=task.job_ids)["jobs"]
            for job in jobs:
                container = job.get("container", {})
                options = container.get("logConfiguration", {}).get("options", {})
                group = options.get("awslogs-group", BATCH_LOG_GROUP)
                streams = [a.get("container", {}).get("logStreamName") for a in job.get("attempts", ())]
                streams.append(container.get("logStreamName"))
                for stream in dict.fromkeys(s for s in streams if s):
                    found.append(Section(task=task.name, service="batch", group=group, stream=stream))
        elif task.resource_type == "lambda" and isinstance(task.parameters, Mapping):
            function = str(task.parameters.get("FunctionName", ""))
            if not function:
                continue
            with aws_call("GetFunctionConfiguration", f"function {function} of task '{task.name}'"):
                config = lambda_.get_function_configuration(FunctionName=function)
            group = config.get("LoggingConfig", {}).get("LogGroup") or f"/aws/lambda/{config['FunctionName']}"
            found.append(Section(task=task.name, service="lambda", group=group, start_ms=task.started_ms,
                                 end_ms=task.ended_ms, request_id=task.request_id))
    return found


def read(section: Section, logs: Any) -> Iterator[dict[str, Any]]:
    """The log events of ``section``, oldest first, at most :data:`MAX_EVENTS`."""
    params: dict[str, Any] = {"logGroupName": section.group, "interleaved": True}
    if section.stream is not None:
        params["logStreamNames"] = [section.stream]
    if section.start_ms is not None:
        params["startTime"] = section.start_ms
    if section.end_ms is not None:
        params["endTime"] = section.end_ms + 1
    count = 0
    inside: set[str] = set()
    with aws_call("FilterLogEvents", f"log group {section.group}"):
        for page in logs.get_paginator("filter_log_events").paginate(**params):
            for event in page["events"]:
                message = str(event.get("message", ""))
                if section.request_id is not None:
                    # One invocation's lines in its stream: from START RequestId to REPORT RequestId.
                    stream = str(event.get("logStreamName", ""))
                    if f"START RequestId: {section.request_id}" in message:
                        inside.add(stream)
                    if stream not in inside:
                        continue
                    if f"REPORT RequestId: {section.request_id}" in message:
                        inside.discard(stream)
                count += 1
                if count > MAX_EVENTS:
                    yield {"eventId": "", "message": f"... more than {MAX_EVENTS:,} events; the rest is left out\n"}
                    return
                yield event


def _line(message: str) -> str:
    return message if message.endswith("\n") else message + "\n"


def print_logs(execution_arn: str, task: str | None = None, *, follow: bool = False,
               write: Callable[[str], None], rule: Callable[[str], None],
               region: str | None = None, poll: float = FOLLOW_POLL_SECONDS,
               sleep: Callable[[float], None] = time.sleep) -> int:
    """Print the execution's logs (only ``task``'s when given); with ``follow``, keep printing
    new lines until the execution ends."""
    sfn = make_client("stepfunctions", region)
    batch, lambda_, logs = make_client("batch", region), make_client("lambda", region), make_client("logs", region)
    printed: dict[str, set[str]] = {}
    while True:
        status = executions.describe(execution_arn, client=sfn)["status"]
        found = sections(executions.history(execution_arn, client=sfn), batch=batch, lambda_=lambda_)
        names = sorted({s.task for s in found})
        if task is not None:
            found = [s for s in found if s.task == task]
            if not found and not follow:
                raise AwsError("read logs", f"execution {execution_arn}", f"no logs for task {task!r}",
                               fix=f"tasks with logs: {', '.join(names) or 'none'}")
        if not found and not follow:
            write(f"Execution {execution_arn.rsplit(':', 1)[-1]!r} has no job or function logs.\n")
            return 0
        for section in found:
            seen = printed.get(section.title)
            new = [e for e in read(section, logs) if seen is None or e.get("eventId") not in seen]
            if seen is None:
                rule(section.title)
                seen = printed.setdefault(section.title, set())
            for event in new:
                seen.add(str(event.get("eventId")))
                write(_line(str(event.get("message", ""))))
        if not follow or status not in executions.OPEN:
            return 0
        sleep(poll)
