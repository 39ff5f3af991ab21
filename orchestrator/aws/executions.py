"""Executions on AWS Step Functions: start, list, describe, history, stop, redrive, wait.

Every function returns plain JSON-ready dicts shaped like the local store's (``orchestrator
executions list|show|history`` print the same keys for local runs): dates are ISO 8601 strings in
UTC with milliseconds, ``input`` and ``output`` are parsed JSON, and ``ResponseMetadata`` is gone.
``client`` is a Step Functions client; by default one for ``region`` (or the configured region).

    >>> iso(datetime(2024, 6, 1, 2, 10, tzinfo=UTC))
    '2024-06-01T02:10:00.000+00:00'
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from orchestrator.aws.errors import AwsError, aws_call
from orchestrator.aws.errors import client as make_client
from orchestrator.limits import EXECUTION_NAME_MAX, LIST_PAGE_MAX

# Statuses in which an execution can still change by itself.
OPEN = frozenset({"RUNNING", "PENDING_REDRIVE"})
STATUSES = ("RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED", "PENDING_REDRIVE")
PAGE_SIZE = LIST_PAGE_MAX  # full pages: fewest calls (a test makes them small)


def iso(value: Any) -> str | None:
    """A boto3 timestamp as the local store writes dates (UTC, milliseconds)."""
    if value is None:
        return None
    if isinstance(value, datetime):
        moment = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        return moment.astimezone(UTC).isoformat(timespec="milliseconds")
    return str(value)


def _json(text: Any) -> Any:
    if not isinstance(text, str):
        return text
    try:
        return json.loads(text)
    except ValueError:  # AWS holds any text a caller gave; show it as it is
        return text


def _sfn(client: Any, region: str | None) -> Any:
    return client if client is not None else make_client("stepfunctions", region)


def list_entry(item: dict[str, Any]) -> dict[str, Any]:
    """A ListExecutions item in the local ``executions list --json`` shape."""
    entry: dict[str, Any] = {
        "executionArn": item["executionArn"], "stateMachineArn": item["stateMachineArn"],
        "name": item["name"], "status": item["status"], "startDate": iso(item.get("startDate"))}
    if item.get("stopDate") is not None:
        entry["stopDate"] = iso(item["stopDate"])
    if item.get("redriveCount"):
        entry["redriveCount"] = item["redriveCount"]
    return entry


def execution_name(state_machine_arn: str, now: datetime | None = None) -> str:
    """A new execution's name, as local runs are named: ``<machine>-<UTC time>-<6 hex>``, so names
    sort by start and say what ran (Step Functions' own default is a bare UUID). The machine part
    is cut so the whole stays within ``EXECUTION_NAME_MAX`` characters.

    >>> execution_name("arn:aws:states:us-east-1:1:stateMachine:greet", datetime(2024, 6, 1, tzinfo=UTC))[:22]
    'greet-20240601T000000-'
    """
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%S")
    machine = state_machine_arn.rsplit(":", 1)[-1][: EXECUTION_NAME_MAX - len(stamp) - 8]
    return f"{machine}-{stamp}-{uuid.uuid4().hex[:6]}"


def start(state_machine_arn: str, input: Any = None, *, name: str | None = None, client: Any = None,
          region: str | None = None) -> dict[str, Any]:
    """StartExecution; ``{"executionArn", "startDate"}``. ``input`` is any JSON value (None → ``{}``);
    ``name`` None → :func:`execution_name`."""
    sfn = _sfn(client, region)
    params: dict[str, Any] = {"stateMachineArn": state_machine_arn,
                              "input": json.dumps({} if input is None else input),
                              "name": name if name is not None else execution_name(state_machine_arn)}
    with aws_call("StartExecution", f"state machine {state_machine_arn}"):
        answer = sfn.start_execution(**params)
    return {"executionArn": answer["executionArn"], "startDate": iso(answer.get("startDate"))}


def list_executions(state_machine_arn: str, *, status: str | None = None, limit: int | None = None,
                    client: Any = None, region: str | None = None) -> list[dict[str, Any]]:
    """ListExecutions, every page (or the first ``limit`` items), newest first.

    ``status`` is one of :data:`STATUSES`. Step Functions already lists newest first; the sort
    makes that hold whatever the pages (and moto) return.
    """
    if status is not None and status not in STATUSES:
        raise AwsError("ListExecutions", f"state machine {state_machine_arn}", f"unknown status {status!r}",
                       fix=f"use one of {', '.join(STATUSES)}")
    sfn = _sfn(client, region)
    params: dict[str, Any] = {"stateMachineArn": state_machine_arn,
                              "PaginationConfig": {"PageSize": min(PAGE_SIZE, limit or PAGE_SIZE)}}
    if status is not None:
        params["statusFilter"] = status
    if limit is not None:
        params["PaginationConfig"]["MaxItems"] = limit
    items: list[dict[str, Any]] = []
    with aws_call("ListExecutions", f"state machine {state_machine_arn}"):
        for page in sfn.get_paginator("list_executions").paginate(**params):
            items += page["executions"]
    entries = [list_entry(i) for i in items]
    entries.sort(key=lambda e: e["startDate"] or "", reverse=True)
    return entries if limit is None else entries[:limit]


def describe(execution_arn: str, *, client: Any = None, region: str | None = None) -> dict[str, Any]:
    """DescribeExecution in the local ``executions show`` shape (absent fields left out)."""
    sfn = _sfn(client, region)
    with aws_call("DescribeExecution", f"execution {execution_arn}"):
        answer = sfn.describe_execution(executionArn=execution_arn)
    described: dict[str, Any] = {
        "executionArn": answer["executionArn"], "stateMachineArn": answer["stateMachineArn"],
        "name": answer.get("name"), "status": answer["status"], "startDate": iso(answer.get("startDate")),
        "stopDate": iso(answer.get("stopDate")), "input": _json(answer.get("input")),
        "output": _json(answer.get("output")), "error": answer.get("error"), "cause": answer.get("cause"),
        "redriveCount": answer.get("redriveCount", 0)}
    return {k: v for k, v in described.items() if v is not None}


def _event(event: dict[str, Any]) -> dict[str, Any]:
    out = dict(event)
    out["timestamp"] = iso(event.get("timestamp"))
    return out


def history(execution_arn: str, *, client: Any = None, region: str | None = None) -> list[dict[str, Any]]:
    """GetExecutionHistory, every page, oldest first (up to ``MAX_HISTORY_EVENTS`` per execution)."""
    sfn = _sfn(client, region)
    events: list[dict[str, Any]] = []
    with aws_call("GetExecutionHistory", f"execution {execution_arn}"):
        paginator = sfn.get_paginator("get_execution_history")
        for page in paginator.paginate(executionArn=execution_arn, reverseOrder=False,
                                       PaginationConfig={"PageSize": PAGE_SIZE}):
            events += (_event(e) for e in page["events"])
    return events


def stop(execution_arn: str, *, error: str | None = None, cause: str | None = None, client: Any = None,
         region: str | None = None) -> dict[str, Any]:
    """StopExecution (the execution becomes ABORTED); ``{"executionArn", "stopDate"}``."""
    sfn = _sfn(client, region)
    params: dict[str, Any] = {"executionArn": execution_arn}
    if error is not None:
        params["error"] = error
    if cause is not None:
        params["cause"] = cause
    with aws_call("StopExecution", f"execution {execution_arn}"):
        answer = sfn.stop_execution(**params)
    return {"executionArn": execution_arn, "stopDate": iso(answer.get("stopDate"))}


def redrive(execution_arn: str, *, client_token: str | None = None, client: Any = None,
            region: str | None = None) -> dict[str, Any]:
    """RedriveExecution: restart a FAILED, TIMED_OUT or ABORTED execution from the states that did
    not succeed; ``{"executionArn", "redriveDate"}``. ``client_token`` makes a retried call a no-op
    (Step Functions keeps tokens for 15 minutes)."""
    sfn = _sfn(client, region)
    params: dict[str, Any] = {"executionArn": execution_arn}
    if client_token is not None:
        params["clientToken"] = client_token
    with aws_call("RedriveExecution", f"execution {execution_arn}"):
        answer = sfn.redrive_execution(**params)
    return {"executionArn": execution_arn, "redriveDate": iso(answer.get("redriveDate"))}


def wait(execution_arn: str, poll: float = 5.0, *, timeout: float | None = None, client: Any = None,
         region: str | None = None, sleep: Callable[[float], None] = time.sleep) -> dict[str, Any]:
    """Describe every ``poll`` seconds until the execution is no longer RUNNING (or PENDING_REDRIVE);
    its last description. With ``timeout``, returns the RUNNING description when time is up."""
    sfn = _sfn(client, region)
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        described = describe(execution_arn, client=sfn)
        if described["status"] not in OPEN or (deadline is not None and time.monotonic() >= deadline):
            return described
        sleep(poll)
