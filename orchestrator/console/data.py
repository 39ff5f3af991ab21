"""The console's read model: what its pages show, read from the one store the endpoint writes.

Nothing here keeps state of its own or writes anything: every figure is computed from the stored
executions, history, jobs, invocations and messages when asked, so the console can never
disagree with ``orchestrator executions`` or the Step Functions API.

    >>> import tempfile
    >>> from orchestrator.local.store import Store
    >>> executions_page(Store(tempfile.mkdtemp()), {})["executions"]
    []
"""

from __future__ import annotations

import json
import os
import statistics
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from orchestrator import arns, model
from orchestrator.console.layout import layout_text
from orchestrator.console.timeline import StateRun, critical_path, derive_states, enclosing, epoch_ms
from orchestrator.errors import OrchestratorError
from orchestrator.local.commands import describe_cause
from orchestrator.local.store import ExecutionNotFound, Store

STATUSES = ("RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED", "PENDING_REDRIVE")
REDRIVABLE = ("FAILED", "TIMED_OUT", "ABORTED")
PAGE_SIZE, MAX_PAGE_SIZE = 50, 500
RECENT_RUNS = 10
# Success rate and usual duration over this many latest finished runs.
STATS_WINDOW = 50
MAX_HISTORY_PAGE = 10_000
LOG_CHUNK = 64 * 1024  # at most this many bytes of a log per request
TAIL_LINES, MAX_TAIL_LINES = 40, 1000


class ConsoleRequestError(OrchestratorError):
    """A console API request the console cannot answer: a bad filter, an unknown execution or log."""

    def __init__(self, message: str, *, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


class ServedWorkflow(Protocol):
    """One workflow ``orchestrator serve`` serves (``Service.served_workflows()``)."""

    @property
    def workflow(self) -> model.Workflow: ...

    @property
    def state_machine_arn(self) -> str: ...


class ConsoleService(Protocol):
    """What the console uses of the endpoint's ``Service``: its store and its served workflows."""

    @property
    def store(self) -> Store: ...

    def served_workflows(self) -> Sequence[ServedWorkflow]: ...


# -- parsing query parameters ------------------------------------------------------------------


def _iso_utc(value: str, name: str) -> str:
    """A time filter as the store writes dates (UTC, milliseconds), so text comparison orders them."""
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ConsoleRequestError(f"{name}={value!r} is not an ISO-8601 time; give e.g. "
                                  f"{name}=2026-01-31T00:00:00Z") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC).isoformat(timespec="milliseconds")


def _int(value: str | None, name: str, default: int, low: int, high: int) -> int:
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise ConsoleRequestError(f"{name}={value!r} is not a whole number; give {name}={default}") from None
    if not low <= number <= high:
        raise ConsoleRequestError(f"{name}={number} is out of range; give a number from {low} to {high}")
    return number


def _cursor(value: str | None) -> tuple[str, int] | None:
    if not value:
        return None
    date, _, rowid = value.rpartition("|")
    if not date or not rowid.isdigit():
        raise ConsoleRequestError(f"page={value!r} is not a page cursor; use the 'next' value a previous page returned")
    return date, int(rowid)


# -- executions --------------------------------------------------------------------------------


def _duration_ms(start: str | None, stop: str | None) -> int | None:
    begin, end = epoch_ms(start), epoch_ms(stop)
    return None if begin is None or end is None else max(0, end - begin)


def _entry(row: Mapping[str, Any]) -> dict[str, Any]:
    return {"arn": row["arn"], "name": row["name"], "workflow": row["workflow"], "status": row["status"],
            "start": row["start_date"], "stop": row["stop_date"], "redrive_count": row["redrive_count"],
            "error": row["error"], "duration_ms": _duration_ms(row["start_date"], row["stop_date"])}


def executions_page(store: Store, params: Mapping[str, str]) -> dict[str, Any]:
    """A page of executions, newest first: filters ``workflow``, ``status``, ``since``, ``until``,
    ``q`` (name contains), ``limit``, and ``page`` (the ``next`` cursor of the page before)."""
    status = params.get("status") or None
    if status is not None and status not in STATUSES:
        raise ConsoleRequestError(f"status={status!r} is not an execution status; give one of {', '.join(STATUSES)}")
    since = _iso_utc(params["since"], "since") if params.get("since") else None
    until = _iso_utc(params["until"], "until") if params.get("until") else None
    limit = _int(params.get("limit"), "limit", PAGE_SIZE, 1, MAX_PAGE_SIZE)
    rows, total, cursor = store.execution_page(
        workflow=params.get("workflow") or None, status=status, since=since, until=until,
        search=params.get("q") or None, before=_cursor(params.get("page")), limit=limit)
    return {"executions": [_entry(r) for r in rows], "total": total,
            "next": None if cursor is None else f"{cursor[0]}|{cursor[1]}"}


# -- workflows ---------------------------------------------------------------------------------


def _schedule(wf: model.Workflow, now: datetime, stored: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The schedule as the local scheduler holds it (``orchestrator schedules``: status, last fire,
    next starts); before the scheduler has seen it, its next fire times from the expression."""
    if wf.schedule is None:
        return None
    schedule = wf.schedule
    if stored is not None:
        last = stored.get("lastFire") or {}
        return {"expression": schedule.expression, "timezone": schedule.timezone, "status": stored["status"],
                "overlap": schedule.overlap, "next": list(stored["nextFires"]),
                "last_fire": last.get("scheduledTime"), "last_fire_status": last.get("status")}
    from orchestrator.spec.cron import next_fire_times

    fires = next_fire_times(schedule, 3, now) if schedule.enabled else []
    return {"expression": schedule.expression, "timezone": schedule.timezone,
            "status": "active" if schedule.enabled else "disabled", "overlap": schedule.overlap,
            "next": [f.isoformat() for f in fires], "last_fire": None, "last_fire_status": None}


def workflow_summary(store: Store, served: ServedWorkflow, now: datetime | None = None,
                     stored_schedule: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """One row of the workflows page: schedule, the last runs, success rate, latest vs usual duration."""
    wf = served.workflow
    rows, total, _ = store.execution_page(workflow=wf.name, limit=STATS_WINDOW)
    finished = [r for r in rows if r["status"] != "RUNNING"]
    succeeded = [r for r in finished if r["status"] == "SUCCEEDED"]
    durations = [d for d in (_duration_ms(r["start_date"], r["stop_date"]) for r in succeeded) if d is not None]
    latest = rows[0] if rows else None
    latest_ms = _duration_ms(latest["start_date"], latest["stop_date"]) if latest else None
    # "Usual" leaves out the latest run, so a slow latest run stands out against it.
    usual_pool = durations[1:] if latest is not None and latest["status"] == "SUCCEEDED" else durations
    return {
        "name": wf.name, "description": wf.description, "state_machine_arn": served.state_machine_arn,
        "tasks": len(wf.tasks), "schedule": _schedule(wf, now or datetime.now(UTC), stored_schedule),
        "last_start": latest["start_date"] if latest else None,
        "recent": [_entry(r) for r in rows[:RECENT_RUNS]], "executions": total,
        "running": sum(1 for r in rows if r["status"] == "RUNNING"),
        "success": {"succeeded": len(succeeded), "finished": len(finished),
                    "rate": round(len(succeeded) / len(finished), 4) if finished else None},
        "latest": None if latest is None else {"status": latest["status"], "duration_ms": latest_ms},
        "usual_duration_ms": int(statistics.median(usual_pool)) if usual_pool else None,
    }


def dependencies(service: ConsoleService, workflow: str) -> dict[str, tuple[str, ...]] | None:
    """The DAG of a served workflow by name (None when it is not served: no critical path then)."""
    for served in service.served_workflows():
        if served.workflow.name == workflow:
            return {task.name: tuple(task.after) for task in served.workflow.tasks}
    return None


def workflows(service: ConsoleService) -> dict[str, Any]:
    from orchestrator.scheduler.clock import clock_from_env
    from orchestrator.scheduler.commands import describe

    now = clock_from_env().now()  # the scheduler's clock (a fast clock in tests and demos)
    stored = {row["workflow"]: row for row in describe(service.store, now)}
    return {"workflows": [workflow_summary(service.store, s, now, stored.get(s.workflow.name))
                          for s in service.served_workflows()]}


# -- one execution -----------------------------------------------------------------------------


def _execution(store: Store, arn: str) -> Any:
    try:
        return store.execution(arn)
    except ExecutionNotFound:
        raise ConsoleRequestError(f"No execution {arn!r} in the store {store.path}; pick one on /executions",
                                  status=404) from None


def _definition(store: Store, row: Any) -> Any:
    """The definition the execution runs: its plan's (the main execution or a split child's)."""
    machine = row.state_machine_arn.rsplit(":", 1)[-1]
    plan = row.plan
    current = row
    while plan is None and current.parent_arn is not None:
        current = store.execution(current.parent_arn)
        plan = current.plan
    if not isinstance(plan, Mapping):
        return None
    definitions = plan.get("definitions") or {}
    return definitions.get(machine) or definitions.get(plan.get("main"))


def version(store: Store, arn: str) -> str:
    """Changes whenever what the execution page shows can have changed: a poll answers 'unchanged',
    and the states derived from the history are kept under it (everything they read is in it)."""
    row = store.execution(arn)
    jobs = store.jobs(arn)
    stamp = max((int((j.get("description") or {}).get("CreatedAt") or 0) + len(j.get("log_paths") or ())
                 for j in jobs), default=0)
    job_states = "".join(str(j.get("status", ""))[:2] for j in jobs)
    calls = "".join(f"{str(i.get('status', ''))[:2]}{int(bool(i.get('log_path')))}" for i in store.invocations(arn))
    return (f"{store.last_event_id(arn)}:{row.status}:{row.redrive_count}:{stamp}:{job_states}:{calls}:"
            f"{len(store.children(arn))}")


def _links(arn: str, state: StateRun, definition_states: Mapping[str, Any]) -> dict[str, str]:
    """AWS console pages for a task, when the execution is on AWS (not the local account)."""
    parts = arn.split(":")
    if len(parts) < 5 or parts[4] == arns.ACCOUNT:
        return {}  # local: no AWS page to link (and the AWS package is not even imported)
    from orchestrator.aws import links

    try:
        parsed = links.Arn.parse(arn)
        found: dict[str, str] = {"execution": links.execution_url(arn)}
        for attempt in state.attempts:
            if attempt.job_id:
                found["batch_job"] = links.batch_job_url(attempt.job_id, parsed.region)
        resource = (definition_states.get(state.name) or {}).get("Resource", "")
        function = ((definition_states.get(state.name) or {}).get("Parameters") or {}).get("FunctionName")
        if ":lambda:" in str(resource) and isinstance(function, str) and function.startswith("arn:"):
            found["function"] = links.lambda_function_url(function)
        return found
    except OrchestratorError:
        return {}


def _flat_states(definition: Any) -> dict[str, Any]:
    found: dict[str, Any] = {}
    if not isinstance(definition, Mapping):
        return found
    for name, state in (definition.get("States") or {}).items():
        found[name] = state
        for branch in state.get("Branches") or ():
            found.update(_flat_states(branch))
        for key in ("ItemProcessor", "Iterator"):
            if isinstance(state.get(key), Mapping):
                found.update(_flat_states(state[key]))
    return found


def execution_detail(store: Store, arn: str, *, graph: bool = True,
                     dependencies: Mapping[str, Sequence[str]] | None = None) -> dict[str, Any]:
    """Everything the execution page shows; ``graph`` adds the laid-out state machine;
    ``dependencies`` (the workflow's DAG, when it is served) adds the critical path and waits."""
    row = _execution(store, arn)
    definition = _definition(store, row)
    current = version(store, arn)
    states, event_count = _derived(store, row, current, definition)
    flat = _flat_states(definition)
    # A split workflow's child runs in the scope "<parent scope>/<task>#<n>" (local.runs), so each
    # child is shown under the Task state that started it.
    children = [{"arn": c.arn, "name": c.name, "status": c.status, "start": c.start_date, "stop": c.stop_date,
                 "state": c.scope.rsplit("/", 1)[-1].split("#", 1)[0] if c.scope.startswith(row.scope + "/") else None}
                for c in store.children(arn)]
    state_list = []
    for state in states.values():
        item = state.as_json()
        for attempt in item["attempts"]:
            if attempt.get("cause"):
                attempt["summary"] = describe_cause(attempt["cause"])
        item["links"] = _links(arn, state, flat)
        item["logs"] = sum(len(a.log_paths) for a in state.attempts)
        state_list.append(item)
    failed = _failed_task(row, states)
    path, waits = critical_path(states, dependencies or {}, epoch_ms(row.start_date))
    for item in state_list:
        if item["name"] in waits:
            item["blocked_ms"] = waits[item["name"]]
    detail: dict[str, Any] = {
        "execution": {"arn": row.arn, "name": row.name, "workflow": row.workflow, "status": row.status,
                      "state_machine_arn": row.state_machine_arn, "parent_arn": row.parent_arn,
                      "start": row.start_date, "stop": row.stop_date, "input": row.input, "output": row.output,
                      "error": row.error, "cause": row.cause, "redrive_count": row.redrive_count,
                      "redrivable": row.status in REDRIVABLE and row.parent_arn is None,
                      "duration_ms": _duration_ms(row.start_date, row.stop_date)},
        "version": current, "states": state_list, "children": children,
        "alerts": alerts(store, arn), "failed": failed, "events": event_count,
        "critical_path": path if dependencies else []}
    if failed is not None and failed.get("state"):
        detail["failed"]["log_tail"] = log_tail(store, arn, failed["state"], TAIL_LINES)
    if graph:
        detail["graph"] = layout_text(json.dumps(definition, sort_keys=True)) if definition is not None else None
    return detail


_DERIVED: OrderedDict[tuple[str, str, str], tuple[dict[str, StateRun], int]] = OrderedDict()
_DERIVED_LOCK = threading.Lock()
DERIVED_CACHE = 16  # executions whose derived states are kept (a 1,000-task one is a few MB)


def _derived(store: Store, row: Any, current: str, definition: Any) -> tuple[dict[str, StateRun], int]:
    """The states derived from the history, kept per ``version``: reading and deriving 5,000
    events is most of a 1,000-task page's server time, and a finished run's never change."""
    key = (str(store.path), row.arn, current)
    with _DERIVED_LOCK:
        if key in _DERIVED:
            _DERIVED.move_to_end(key)
            return _DERIVED[key]
    events = store.events(row.arn)
    found = (derive_states(events, jobs=store.jobs(row.arn), invocations=store.invocations(row.arn),
                           execution_status=row.status, parents=enclosing(definition)), len(events))
    with _DERIVED_LOCK:
        _DERIVED[key] = found
        while len(_DERIVED) > DERIVED_CACHE:
            _DERIVED.popitem(last=False)
    return found


def _failed_task(row: Any, states: Mapping[str, StateRun]) -> dict[str, Any] | None:
    """The Task that failed the run: the last to fail (a caught failure counts: the alert path ran)."""
    if row.status not in REDRIVABLE:
        return None
    failing = [s for s in states.values() if s.type == "Task" and s.status in ("FAILED", "CAUGHT", "TIMED_OUT")
               and s.attempts]
    failing.sort(key=lambda s: max((a.ended_ms or 0) for a in s.attempts))
    if not failing:
        return {"state": None, "error": row.error, "cause": row.cause,
                "summary": describe_cause(row.cause) if row.cause else None}
    state = failing[-1]
    last = state.attempts[-1]
    cause = last.cause or row.cause
    return {"state": state.name, "error": last.error or row.error, "cause": cause,
            "summary": describe_cause(cause) if cause else None, "exit_code": last.exit_code,
            "attempts": len(state.attempts)}


def history(store: Store, arn: str, params: Mapping[str, str]) -> dict[str, Any]:
    """History events after ``after`` (an event id), at most ``limit``, as GetExecutionHistory has them."""
    _execution(store, arn)
    after = _int(params.get("after"), "after", 0, 0, 10**9)
    limit = _int(params.get("limit"), "limit", 500, 1, MAX_HISTORY_PAGE)
    events = store.events_after(arn, after, limit + 1)
    return {"events": events[:limit], "more": len(events) > limit}


def alerts(store: Store, arn: str) -> list[dict[str, Any]]:
    """The SNS messages the run (and its child executions) sent, with their deliveries."""
    arns = [arn] + [c.arn for c in store.children(arn)]
    sent = []
    for a in arns:
        for message in store.messages(a):
            item = dict(message)
            item["deliveries"] = store.deliveries(message["message_id"])
            sent.append(item)
    return sent


# -- logs --------------------------------------------------------------------------------------


def _log_files(store: Store, arn: str, state_name: str) -> list[str]:
    paths: list[str] = []
    for job in store.jobs(arn):
        if job.get("state_name") == state_name:
            paths.extend(p for p in job.get("log_paths") or () if p not in paths)
    for invocation in store.invocations(arn):
        path = invocation.get("log_path")
        if invocation.get("state_name") == state_name and path and path not in paths:
            paths.append(str(path))
    return paths


def _log_path(store: Store, arn: str, state_name: str, attempt: int | None) -> tuple[Path, int] | None:
    """The log file of one attempt (the latest when ``attempt`` is None), only ever one the store names."""
    paths = _log_files(store, arn, state_name)
    if not paths:
        return None
    index = len(paths) - 1 if attempt is None else attempt - 1
    if not 0 <= index < len(paths):
        raise ConsoleRequestError(f"task {state_name!r} has {len(paths)} log(s); give attempt=1 to {len(paths)}",
                                  status=404)
    return Path(paths[index]), len(paths)


def log_chunk(store: Store, arn: str, params: Mapping[str, str]) -> dict[str, Any]:
    """Up to 64 KiB of a task's log from byte ``offset`` (the live tail polls with the ``next`` offset)."""
    _execution(store, arn)
    state_name = params.get("task") or ""
    if not state_name:
        raise ConsoleRequestError("name the task whose log to read: task=NAME")
    attempt = _int(params.get("attempt"), "attempt", 0, 0, 10**6) or None
    offset = _int(params.get("offset"), "offset", 0, 0, 2**62)
    found = _log_path(store, arn, state_name, attempt)
    if found is None:
        return {"task": state_name, "text": "", "next": 0, "size": 0, "logs": 0, "path": None}
    path, count = found
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as handle:
            if offset > size:
                offset = 0  # the file was replaced: start again
            handle.seek(offset)
            data = handle.read(LOG_CHUNK)
    except FileNotFoundError:
        return {"task": state_name, "text": "", "next": 0, "size": 0, "logs": count, "path": path.name,
                "missing": True}
    # Never split a UTF-8 character between two chunks.
    end = len(data)
    if len(data) == LOG_CHUNK:
        while end > 0 and (data[end - 1] & 0xC0) == 0x80:
            end -= 1
        if end > 0 and data[end - 1] >= 0xC0:
            end -= 1
        end = end or len(data)
    return {"task": state_name, "text": data[:end].decode("utf-8", "replace"), "next": offset + end,
            "size": size, "logs": count, "path": path.name}


def log_tail(store: Store, arn: str, state_name: str, lines: int) -> list[str]:
    """The last ``lines`` lines of a task's latest log, reading only the end of the file."""
    found = _log_path(store, arn, state_name, None)
    if found is None:
        return []
    path = found[0]
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as handle:
            handle.seek(max(0, size - LOG_CHUNK))
            data = handle.read(LOG_CHUNK)
    except FileNotFoundError:
        return []
    text = data.decode("utf-8", "replace").splitlines()
    if size > LOG_CHUNK:
        text = text[1:]  # the first line read may be cut
    return text[-lines:]


def tail(store: Store, arn: str, params: Mapping[str, str]) -> dict[str, Any]:
    _execution(store, arn)
    state_name = params.get("task") or ""
    if not state_name:
        raise ConsoleRequestError("name the task whose log to read: task=NAME")
    lines = _int(params.get("lines"), "lines", TAIL_LINES, 1, MAX_TAIL_LINES)
    return {"task": state_name, "lines": log_tail(store, arn, state_name, lines)}
