"""What each state of an execution did: its status, its attempts (waiting and running time), its
job or function, its logs, derived from the stored history and the local services' records.

The history is the truth for the state machine (a state entered, a task scheduled, started,
succeeded, failed, retried); local Batch and Lambda add what the history cannot say: when a job
waited for capacity (``RUNNABLE``) before it ran, each Batch attempt's exit code, and the log files.

Events carry a state name only when a state is entered; every other event names the event before
it (``previousEventId``), so the owner of an event is its predecessor's owner — except a state's
exit (it names its state) and a Parallel's or Map's end (``ParallelStateSucceeded``...), whose
predecessor is the last event of a branch: that belongs to the state enclosing the branch's state.

    >>> events = [
    ...     {"id": 1, "previousEventId": 0, "timestamp": "2026-01-01T00:00:00+00:00", "type": "ExecutionStarted"},
    ...     {"id": 2, "previousEventId": 1, "timestamp": "2026-01-01T00:00:00+00:00", "type": "TaskStateEntered",
    ...      "stateEnteredEventDetails": {"name": "load"}},
    ...     {"id": 3, "previousEventId": 2, "timestamp": "2026-01-01T00:00:01+00:00", "type": "TaskScheduled"},
    ...     {"id": 4, "previousEventId": 3, "timestamp": "2026-01-01T00:00:01+00:00", "type": "TaskStarted"},
    ...     {"id": 5, "previousEventId": 4, "timestamp": "2026-01-01T00:00:03+00:00", "type": "TaskSucceeded"},
    ...     {"id": 6, "previousEventId": 5, "timestamp": "2026-01-01T00:00:03+00:00", "type": "TaskStateExited",
    ...      "stateExitedEventDetails": {"name": "load"}}]
    >>> states = derive_states(events, jobs=[], invocations=[], execution_status="RUNNING")
    >>> states["load"].status, states["load"].attempts[0].running_ms
    ('SUCCEEDED', 2000)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

# Statuses a state is drawn in. WAITING: not reached (yet); SCHEDULED: a task submitted, not running.
TERMINAL = ("SUCCEEDED", "FAILED", "CAUGHT", "ABORTED", "TIMED_OUT")
_TASK_FAILED = ("TaskFailed", "TaskTimedOut", "TaskStartFailed", "TaskSubmitFailed")
# A task scheduled this long after it could have been is held back by the compiled structure;
# less is the engine's own latency between states (tens of milliseconds here).
NEEDLESS_WAIT_MS = 500


def epoch_ms(timestamp: Any) -> int | None:
    """An event or job time as epoch milliseconds (ISO text or a number of ms).

    >>> epoch_ms("1970-01-01T00:00:01.500+00:00"), epoch_ms(42), epoch_ms(None)
    (1500, 42, None)
    """
    if timestamp is None:
        return None
    if isinstance(timestamp, int | float):
        return int(timestamp)
    try:
        return int(datetime.fromisoformat(str(timestamp)).timestamp() * 1000)
    except ValueError:
        return None


@dataclass(slots=True, kw_only=True)
class Attempt:
    """One try of a Task state: scheduled → (waiting) → started → (running) → ended."""

    number: int
    run: int  # 0 = the first run, n = the n-th redrive
    scheduled_ms: int | None
    started_ms: int | None = None
    ended_ms: int | None = None
    status: str = "SCHEDULED"
    error: str | None = None
    cause: str | None = None
    exit_code: int | None = None
    job_id: str | None = None
    request_id: str | None = None
    log_paths: list[str] = field(default_factory=list)
    # Batch's own attempts within this one (retryStrategy): [start ms, stop ms, exit code].
    batch_attempts: list[tuple[int | None, int | None, int | None]] = field(default_factory=list)
    reused: bool = False

    @property
    def waiting_ms(self) -> int | None:
        if self.scheduled_ms is None or self.started_ms is None:
            return None
        return max(0, self.started_ms - self.scheduled_ms)

    @property
    def running_ms(self) -> int | None:
        if self.started_ms is None or self.ended_ms is None:
            return None
        return max(0, self.ended_ms - self.started_ms)

    def as_json(self) -> dict[str, Any]:
        """The page's shape; absent fields are left out (a 1,000-task page is a third smaller)."""
        body = {"number": self.number, "run": self.run, "scheduled": self.scheduled_ms, "started": self.started_ms,
                "ended": self.ended_ms, "status": self.status, "error": self.error, "cause": self.cause,
                "exit_code": self.exit_code, "job_id": self.job_id, "request_id": self.request_id,
                "logs": len(self.log_paths), "batch_attempts": [list(b) for b in self.batch_attempts],
                "waiting_ms": self.waiting_ms, "running_ms": self.running_ms, "reused": self.reused}
        return {k: v for k, v in body.items() if v is not None}


@dataclass(slots=True, kw_only=True)
class StateRun:
    """One state of the execution as the latest run left it, with every attempt of every run."""

    name: str
    type: str
    status: str = "WAITING"
    entered_ms: int | None = None
    exited_ms: int | None = None
    entries: int = 0
    error: str | None = None
    cause: str | None = None
    input: str | None = None
    output: str | None = None
    attempts: list[Attempt] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "type": self.type, "status": self.status, "entered": self.entered_ms,
                "exited": self.exited_ms, "entries": self.entries, "error": self.error, "cause": self.cause,
                "attempts": [a.as_json() for a in self.attempts]}


def _details(event: Mapping[str, Any]) -> Mapping[str, Any]:
    kind = str(event.get("type", ""))
    if kind.endswith("StateEntered"):
        found = event.get("stateEnteredEventDetails")
    elif kind.endswith("StateExited"):
        found = event.get("stateExitedEventDetails")
    else:  # TaskFailed → taskFailedEventDetails, ExecutionRedriven → executionRedrivenEventDetails, ...
        found = event.get(kind[:1].lower() + kind[1:] + "EventDetails")
    return found if isinstance(found, Mapping) else {}


def enclosing(definition: Mapping[str, Any] | None) -> dict[str, str]:
    """Each state inside a Parallel branch or a Map's item processor → the Parallel or Map.

    >>> enclosing({"States": {"p": {"Type": "Parallel", "Branches": [{"States": {"x": {"Type": "Pass"}}}]}}})
    {'x': 'p'}
    """
    found: dict[str, str] = {}
    if not isinstance(definition, Mapping):
        return found
    for name, state in (definition.get("States") or {}).items():
        if not isinstance(state, Mapping):
            continue
        inner = list(state.get("Branches") or ())
        inner += [state[k] for k in ("ItemProcessor", "Iterator") if isinstance(state.get(k), Mapping)]
        for machine in inner:
            for child in (machine.get("States") or {}) if isinstance(machine, Mapping) else ():
                found[child] = name
            found.update(enclosing(machine))
    return found


_CONTAINER_END = ("StateSucceeded", "StateFailed", "StateAborted")


def derive_states(events: Iterable[Mapping[str, Any]], *, jobs: Iterable[Mapping[str, Any]],
                  invocations: Iterable[Mapping[str, Any]], execution_status: str,
                  parents: Mapping[str, str] | None = None) -> dict[str, StateRun]:
    """Every state the history reached, by name, in the order first reached.

    A redrive (``ExecutionRedriven``) starts a new run: each state's status is what the latest run
    did (not reached again yet: WAITING), while attempts accumulate with their run number. A state
    entered more than once (a loop, each iteration of a Map) keeps one row whose attempts are
    numbered per entry, as the Task state's own retries count them. A state still open when the
    execution ended was stopped with it (ABORTED, or the execution's TIMED_OUT).
    """
    # Each event's owner: (state name, id of the event that entered it), so that interleaved
    # entries of one state (parallel Map iterations) keep their attempts apart.
    owner: dict[int, tuple[str, int]] = {}
    states: dict[str, StateRun] = {}
    open_attempt: dict[tuple[str, int], Attempt] = {}
    tries: dict[tuple[str, int], int] = {}
    kinds: dict[int, str] = {}
    current: dict[str, tuple[str, int]] = {}  # the latest entry of each state name
    parents = parents or {}
    run = 0
    for event in events:
        kind = str(event.get("type", ""))
        event_id = int(event.get("id") or 0)
        kinds[event_id] = kind
        details = _details(event)
        if kind == "ExecutionRedriven":
            # The redrive runs the machine again from its start (completed tasks answer from their
            # stored results), so every state it reaches is entered again: start from WAITING.
            run = int(details.get("redriveCount") or run + 1)
            for state in states.values():
                state.status, state.error, state.cause = "WAITING", None, None
            open_attempt.clear()
            continue
        if kind.endswith("StateEntered"):
            name = str(details.get("name"))
            owner[event_id] = current[name] = (name, event_id)
            entered = states.get(name)
            if entered is None:
                entered = states[name] = StateRun(name=name, type=kind.removesuffix("StateEntered"))
            state = entered
            state.entries += 1
            state.entered_ms, state.exited_ms = epoch_ms(event.get("timestamp")), None
            state.status, state.error, state.cause = "RUNNING", None, None
            state.input = details.get("input")
            if state.type == "Fail":
                state.status = "FAILED"
            elif state.type == "Succeed":
                state.status = "SUCCEEDED"
            continue
        previous = int(event.get("previousEventId") or 0)
        entry = owner.get(previous, ("", 0))
        if kind.endswith("StateExited") and details.get("name") in current:
            entry = current[str(details["name"])]
        elif kind.startswith(("Parallel", "Map")) and kind.endswith(_CONTAINER_END):
            # The branch's last event came before: climb from its state to the enclosing container.
            container = kind[:-len(next(e for e in _CONTAINER_END if kind.endswith(e)))]
            name = entry[0]
            if kinds.get(previous, "").endswith("StateExited") or states.get(name) is None or \
                    states[name].type != container:
                name = parents.get(name, name)
                for _ in range(len(parents)):  # bounded: a name reused inside its own branch loops
                    if name not in parents or (name in states and states[name].type == container):
                        break
                    name = parents[name]
            entry = current.get(name, entry)
        owner[event_id] = entry
        name = entry[0]
        found = states.get(name)
        if found is None:
            continue
        state = found
        at = epoch_ms(event.get("timestamp"))
        if kind == "TaskScheduled":
            tries[entry] = tries.get(entry, 0) + 1
            attempt = Attempt(number=tries[entry], run=run, scheduled_ms=at)
            state.attempts.append(attempt)
            open_attempt[entry] = attempt
            state.status = "SCHEDULED"
        elif kind == "TaskStarted" and entry in open_attempt:
            open_attempt[entry].started_ms = at
            open_attempt[entry].status = "RUNNING"
            state.status = "RUNNING"
        elif kind == "TaskSucceeded" and entry in open_attempt:
            attempt = open_attempt.pop(entry)
            attempt.ended_ms, attempt.status = at, "SUCCEEDED"
        elif kind in _TASK_FAILED:
            if entry in open_attempt:
                attempt = open_attempt.pop(entry)
            else:  # failed before it was scheduled (e.g. its parameters could not be resolved)
                tries[entry] = tries.get(entry, 0) + 1
                attempt = Attempt(number=tries[entry], run=run, scheduled_ms=at)
            if attempt not in state.attempts:
                state.attempts.append(attempt)
            attempt.ended_ms = at
            attempt.status = "TIMED_OUT" if kind == "TaskTimedOut" else "FAILED"
            attempt.error, attempt.cause = details.get("error"), details.get("cause")
            state.error, state.cause = attempt.error, attempt.cause
            state.status = "FAILED"
        elif kind.endswith("StateFailed") or kind.endswith("StateAborted"):
            state.status = "FAILED" if kind.endswith("Failed") else "ABORTED"
            state.error = state.error or details.get("error")
            state.cause = state.cause or details.get("cause")
        elif kind.endswith("StateExited"):
            state.exited_ms = at
            state.output = details.get("output")
            # A failure caught by a Catch exits the state: it failed, and the run went on.
            state.status = "CAUGHT" if state.status == "FAILED" and state.type in ("Task", "Parallel", "Map") else (
                "FAILED" if state.type == "Fail" else "SUCCEEDED")
    stopped = {"ABORTED": "ABORTED", "TIMED_OUT": "TIMED_OUT", "FAILED": "ABORTED"}.get(execution_status)
    if stopped is not None:
        for state in states.values():
            if state.status in ("RUNNING", "SCHEDULED"):
                state.status = stopped
            for attempt in state.attempts:
                if attempt.status in ("RUNNING", "SCHEDULED"):
                    attempt.status = stopped
    _attach_jobs(states, jobs)
    _attach_invocations(states, invocations)
    for state in states.values():
        for attempt in state.attempts:
            # A redrive answers a task that succeeded before from its stored result, with no job.
            attempt.reused = (attempt.run > 0 and attempt.job_id is None and attempt.request_id is None
                              and any(a.run < attempt.run and a.status == "SUCCEEDED" for a in state.attempts))
    return states


def _attempt_for(states: Mapping[str, StateRun], state_name: str | None, task_attempt: Any,
                 at_ms: int | None) -> Attempt | None:
    """The Task attempt a job or invocation belongs to: by its recorded attempt number, else by time."""
    state = states.get(state_name or "")
    if state is None or not state.attempts:
        return None
    if isinstance(task_attempt, int):
        # Attempt numbers restart on every redrive: the latest with that number scheduled before it.
        numbered = [a for a in state.attempts if a.number == task_attempt]
        before = [a for a in numbered if at_ms is None or (a.scheduled_ms or 0) <= at_ms + 1000]
        if before or numbered:
            return (before or numbered)[-1]
    if at_ms is None:
        return state.attempts[-1]
    earlier = [a for a in state.attempts if (a.scheduled_ms or 0) <= at_ms + 1000]
    return earlier[-1] if earlier else state.attempts[0]


def _attach_jobs(states: Mapping[str, StateRun], jobs: Iterable[Mapping[str, Any]]) -> None:
    for job in jobs:
        description = job.get("description") or {}
        if "Index" in (description.get("ArrayProperties") or {}):
            continue  # an array child: its parent job stands for the attempt
        created = epoch_ms(description.get("CreatedAt"))
        attempt = _attempt_for(states, job.get("state_name"), job.get("task_attempt"), created)
        if attempt is None:
            continue
        attempt.job_id = str(job.get("job_id"))
        attempt.log_paths = list(job.get("log_paths") or [])
        batch = description.get("Attempts") or []
        attempt.batch_attempts = [(epoch_ms(a.get("StartedAt")), epoch_ms(a.get("StoppedAt")),
                                   (a.get("Container") or {}).get("ExitCode")) for a in batch]
        running_start = epoch_ms(description.get("StartedAt"))
        if attempt.batch_attempts:
            attempt.exit_code = attempt.batch_attempts[-1][2]
            running_start = running_start or attempt.batch_attempts[0][0]
        if running_start is not None:
            # The job's own start: the time before it was waiting for capacity (RUNNABLE).
            attempt.started_ms = running_start
        if job.get("status") in ("SUBMITTED", "PENDING", "RUNNABLE", "STARTING") and attempt.status == "RUNNING":
            attempt.status = str(job.get("status"))
            if attempt.started_ms is not None and running_start is None:
                attempt.started_ms = None


def _attach_invocations(states: Mapping[str, StateRun], invocations: Iterable[Mapping[str, Any]]) -> None:
    for invocation in invocations:
        started = epoch_ms(invocation.get("started_at"))
        attempt = _attempt_for(states, invocation.get("state_name"), invocation.get("task_attempt"), started)
        if attempt is None:
            continue
        attempt.request_id = str(invocation.get("request_id"))
        if invocation.get("log_path"):
            attempt.log_paths = [str(invocation["log_path"])]
        if started is not None:
            attempt.started_ms = started
        if invocation.get("error") and attempt.error is None:
            attempt.error = str(invocation["error"])


def critical_path(states: Mapping[str, StateRun], dependencies: Mapping[str, Iterable[str]],
                  start_ms: int | None) -> tuple[list[str], dict[str, int]]:
    """The chain of tasks that set when the latest run ended, and each task's needless wait.

    ``dependencies`` is the workflow's DAG (task → the tasks it runs ``after``; a task's Task state
    has its name). A task could start once its last dependency ended (or the run started); it was
    scheduled later (by half a second or more) only because the compiled structure made it wait (a
    Parallel barrier). The
    path goes back from the last task to end, each step to the dependency that ended last.

    >>> from orchestrator.console.timeline import Attempt, StateRun
    >>> a = StateRun(name="a", type="Task", attempts=[Attempt(number=1, run=0, scheduled_ms=0, ended_ms=10)])
    >>> b = StateRun(name="b", type="Task", attempts=[Attempt(number=1, run=0, scheduled_ms=4010, ended_ms=5000)])
    >>> critical_path({"a": a, "b": b}, {"a": [], "b": ["a"]}, 0)
    (['a', 'b'], {'b': 4000})
    """
    latest = max((a.run for s in states.values() for a in s.attempts), default=0)
    first: dict[str, int] = {}
    end: dict[str, int] = {}
    for name, state in states.items():
        if name not in dependencies:
            continue  # not a task of the workflow (the alert path's publish, a child machine's start)
        tries = [a for a in state.attempts if a.run == latest]
        scheduled = [a.scheduled_ms for a in tries if a.scheduled_ms is not None]
        ended = [a.ended_ms for a in tries if a.ended_ms is not None]
        if scheduled:
            first[name] = min(scheduled)
        if ended:
            end[name] = max(ended)
    run_start = start_ms if latest == 0 else min(first.values(), default=start_ms)
    waits: dict[str, int] = {}
    for name, begin in first.items():
        after = [d for d in dependencies.get(name, ()) if d in end]
        ready = max((end[d] for d in after), default=run_start)
        if ready is not None and begin - ready >= NEEDLESS_WAIT_MS:
            waits[name] = begin - ready
    path: list[str] = []
    current = max(end, key=lambda n: end[n]) if end else None
    while current is not None and current not in path:
        path.append(current)
        before = [d for d in dependencies.get(current, ()) if d in end]
        current = max(before, key=lambda n: end[n]) if before else None
    return path[::-1], waits
