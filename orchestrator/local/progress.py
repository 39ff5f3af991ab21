"""The live progress view of a local run: one row per Task state, refreshed as events arrive.

It listens to two streams: the execution history (a state entered, a task scheduled, succeeded,
failed, retried) and local Batch's job updates (RUNNABLE, STARTING, RUNNING, with the queue),
so a job waiting for capacity shows as RUNNABLE rather than just "running".
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from orchestrator.engine.integrations import parse_resource

STYLE = {"SUCCEEDED": "green", "FAILED": "red", "CAUGHT": "red", "RUNNING": "cyan", "RUNNABLE": "yellow",
         "STARTING": "cyan", "PENDING": "dim", "SUBMITTED": "dim", "WAITING": "dim", "REUSED": "green", "STOPPED": "yellow",
         "NOT RUN": "dim"}
NOT_RUN = "NOT RUN"
# A workflow with more Task states than this shows the ones not done (running, waiting for
# capacity, failed, stopped) and counts the rest in the caption: rich lays out every row of a
# table on each refresh (8 a second) before cropping it to the screen, and 200 rows took 50-150 ms
# a render here, holding the GIL the engine needs. The summary after the run lists every task.
SHOWN_ROWS_MAX = 30
_DONE_OR_NOT_STARTED = frozenset({"WAITING", "SUCCEEDED", "REUSED", NOT_RUN})


def alert_path(plan: Mapping[str, Any]) -> frozenset[str]:
    """The failure path's service calls (the log tail read, the alert): not tasks of the workflow.

    A compiled workflow's plan names them; for any other plan (a plain ASL machine, an execution
    stored before plans named them) they are the compiler's, read on first use: importing the
    compiler costs ~20 ms that a run with a kept plan or a plain ASL run need not pay before then.
    """
    named = plan.get("alert_path")
    return frozenset(named) if isinstance(named, list) else _compiled_alert_path()


@functools.cache
def _compiled_alert_path() -> frozenset[str]:
    from orchestrator.local.runs import failure_path_states

    return frozenset(failure_path_states())


def task_states(definition: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(state name, resource) of every Task state, branches and Map processors included, in order."""
    found: list[tuple[str, str]] = []
    for name, state in (definition.get("States") or {}).items():
        kind = state.get("Type")
        if kind == "Task":
            found.append((name, str(state.get("Resource", ""))))
        for branch in state.get("Branches") or ():
            found.extend(task_states(branch))
        for key in ("Iterator", "ItemProcessor"):
            if isinstance(state.get(key), Mapping):
                found.extend(task_states(state[key]))
    return found


def attempt_label(attempt: int, batch_attempts: int = 1) -> str:
    """The attempt column: the Task state's attempt, and the Batch job's own when it retried.

    >>> attempt_label(2), attempt_label(1, 3)
    ('2', '1 (Batch: 3)')
    """
    return str(attempt) if batch_attempts <= 1 else f"{attempt} (Batch: {batch_attempts})"


def _kind(resource: str) -> str:
    """The kind column: the service a Task calls (``arn:aws:states:::sqs:…`` is sqs, not a child).

    >>> _kind("arn:aws:states:::sqs:sendMessage"), _kind("arn:aws:states:::states:startExecution.sync:2")
    ('sqs', 'child')
    >>> _kind("arn:aws:states:::aws-sdk:comprehend:detectSentiment")
    'comprehend'
    """
    parsed = parse_resource(resource)
    if parsed.activity:
        return "activity"
    service = parsed.service.removeprefix("aws-sdk:")
    return {"states": "child", "unknown": "task"}.get(service, service)


@dataclass(slots=True)
class Row:
    name: str
    kind: str
    status: str = "WAITING"
    queue: str = ""
    attempt: int = 0
    batch_attempt: int = 0
    started: float | None = None
    ended: float | None = None

    def elapsed(self, now: float) -> str:
        if self.started is None:
            return ""
        return f"{(self.ended or now) - self.started:.1f}s"


class ProgressView:
    """A rich Live table; use as a context manager around the run."""

    def __init__(self, plan: Mapping[str, Any], console: Console | None = None) -> None:
        self.console = console or Console(stderr=True)
        self.rows: dict[str, Row] = {}
        definitions = plan.get("definitions") or {}
        ordered = [plan.get("main")] + [n for n in definitions if n != plan.get("main")]
        for machine in ordered:
            for name, resource in task_states(definitions.get(machine) or {}):
                self.rows.setdefault(name, Row(name, _kind(resource)))
        self._state_of: dict[tuple[str, int], str] = {}
        self._attempt_of: dict[tuple[str, int], int] = {}
        self._lock = threading.Lock()
        self._live: Live | None = None
        self._main_arn: str | None = None
        self._plan = plan
        self.status = "RUNNING"

    def __enter__(self) -> ProgressView:
        self._live = Live(get_renderable=self.render, console=self.console, refresh_per_second=8,
                          transient=False)
        self._live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            if self.status in ("RUNNING", "ABORTED", "FAILED", "TIMED_OUT"):
                # What was still running was stopped with the execution (or by a sibling's failure).
                for row in self.rows.values():
                    if row.status == "WAITING":
                        row.status = NOT_RUN  # never reached: the run ended first
                    elif row.status not in ("SUCCEEDED", "FAILED", "REUSED"):
                        row.status, row.ended = "STOPPED", row.ended or time.monotonic()
        if self._live is not None:
            self._live.refresh()
            self._live.__exit__(None, None, None)
            self._live = None
            if not self.console.is_terminal:
                self.console.line()  # rich ends a non-terminal Live without a newline

    def notice(self, text: str) -> None:
        self.console.print(Text(text, style="yellow"))

    def _row(self, name: str | None) -> Row | None:
        if name is None:
            return None
        return self.rows.get(name)

    def on_event(self, arn: str, event: Mapping[str, Any]) -> None:
        kind = str(event.get("type", ""))
        event_id = int(event.get("id", 0))
        now = time.monotonic()
        with self._lock:
            if kind.endswith("StateEntered"):
                name = (event.get("stateEnteredEventDetails") or {}).get("name")
                state = str(name)
            else:
                state = self._state_of.get((arn, int(event.get("previousEventId") or 0)), "")
            self._state_of[(arn, event_id)] = state
            # A retry's TaskScheduled follows the failed attempt's events; a new entry starts at 0.
            previous = int(event.get("previousEventId") or 0)
            attempt = 0 if kind.endswith("StateEntered") else self._attempt_of.get((arn, previous), 0)
            if kind == "TaskScheduled":
                attempt += 1
            self._attempt_of[(arn, event_id)] = attempt
            row = self._row(state)
            if self._main_arn is None:
                self._main_arn = arn  # the main execution's events come first
            if arn == self._main_arn and kind.startswith("Execution") and kind not in (
                    "ExecutionStarted", "ExecutionRedriven"):
                self.status = kind.removeprefix("Execution").upper().replace("TIMEDOUT", "TIMED_OUT")
            if row is None:
                return
            if kind == "TaskStateEntered":
                row.status, row.started, row.ended = "PENDING", row.started or now, None
            elif kind == "TaskScheduled":
                row.attempt, row.batch_attempt = attempt, 0
                row.status = "RUNNING" if row.kind != "batch" else "SUBMITTED"
            elif kind == "TaskSucceeded":
                row.status, row.ended = ("REUSED" if row.status == "REUSED" else "SUCCEEDED"), now
            elif kind in ("TaskFailed", "TaskTimedOut", "TaskStartFailed", "TaskSubmitFailed"):
                row.status, row.ended = "FAILED", now
            elif kind == "TaskStateExited" and row.status not in ("SUCCEEDED", "FAILED", "REUSED"):
                row.status, row.ended = "SUCCEEDED", now

    def on_reuse(self, state_name: str) -> None:
        """A redrive returned this task's stored result instead of running it."""
        with self._lock:
            row = self._row(state_name)
            if row is not None:
                row.status = "REUSED"

    def on_job(self, job: Mapping[str, Any], execution_arn: str | None, state_name: str | None) -> None:
        with self._lock:
            row = self._row(state_name)
            if row is None or "Index" in (job.get("ArrayProperties") or {}):
                return
            row.queue = str(job.get("JobQueue", "")).rsplit("/", 1)[-1]
            if row.status not in ("SUCCEEDED",):
                row.status = str(job.get("Status", row.status))
            row.batch_attempt = len(job.get("Attempts") or []) + (
                1 if job.get("Status") in ("STARTING", "RUNNING") else 0)

    def render(self) -> Group:
        now = time.monotonic()
        table = Table(title=f"execution: {self.status}", title_justify="left", caption_justify="left", expand=False)
        for column in ("task", "kind", "state", "queue", "attempt", "elapsed"):
            table.add_column(column, justify="right" if column in ("attempt", "elapsed") else "left")
        with self._lock:
            # The alert path is shown only when a failure reached it.
            alerts = alert_path(self._plan)
            rows = [row for row in self.rows.values()
                    if not (row.name in alerts and row.status in ("WAITING", NOT_RUN))]
            shown = rows
            if len(rows) > SHOWN_ROWS_MAX:
                shown = [row for row in rows if row.status not in _DONE_OR_NOT_STARTED][:SHOWN_ROWS_MAX]
                counts: dict[str, int] = {}
                for row in rows:
                    counts[row.status] = counts.get(row.status, 0) + 1
                table.caption = (f"{len(rows)} tasks: " + ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
                                 + f"; {len(rows) - len(shown)} done or not started are not listed")
            cells = [(row.name, row.kind, row.status, row.queue,
                      attempt_label(row.attempt, row.batch_attempt) if row.attempt else "", row.elapsed(now))
                     for row in shown]
        for name, kind, status, queue, attempt, elapsed in cells:
            table.add_row(name, kind, Text(status, style=STYLE.get(status, "")), queue, attempt, elapsed)
        return Group(table)
