"""The local scheduler: EventBridge Scheduler for the workflows ``orchestrator serve`` serves.

One thread sleeps until the earliest next fire of every schedule (one ``Event.wait``: an idle
scheduler holding a thousand schedules costs no CPU), then, for each schedule due:

1. walks its fire times (``spec.cron.fire_times``, the same ones ``orchestrator show`` prints)
   from the last fire persisted in the store up to now; a fire whose start (its time plus its
   flexible-window offset) passed more than a minute ago was *missed* (the process was down),
   and ``catch_up`` decides which missed ones still start;
2. claims those fires and moves the schedule's last fire forward in one transaction. A fire's row
   is keyed by workflow and scheduled time, so of two schedulers on one store only one wins it;
3. starts each fire it won through the service as ``<workflow>-<UTC stamp>`` with
   ``{"scheduled_time": ...}`` as input, unless ``overlap`` says otherwise because a run of the
   workflow is still going (``skip``: the fire is recorded as skipped; ``queue``: it starts when
   the running one has finished, oldest first).

A scheduler killed between 2 and 3 leaves claimed rows; the next scheduler to wake finds their
owner dead and starts them under the same name, so StartExecution's ExecutionAlreadyExists makes
a second start harmless. A first-seen, edited, re-enabled or resumed schedule counts from that
moment: a gap is never backfilled by itself (``orchestrator backfill`` does that on request).

    >>> from datetime import UTC, datetime
    >>> import tempfile
    >>> from orchestrator.local.store import Store
    >>> class NoService:
    ...     def served_workflows(self): return []
    >>> clock = VirtualClock(datetime(2026, 1, 1, tzinfo=UTC))
    >>> Scheduler(NoService(), Store(tempfile.mkdtemp()), clock=clock).tick().isoformat()
    '2026-01-01T00:01:00+00:00'
"""

from __future__ import annotations

import dataclasses
import json
import os
import threading
import traceback
from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from orchestrator import model
from orchestrator.local.procs import process_start_time, runner_alive
from orchestrator.local.store import Store
from orchestrator.logical_time import with_scheduled_time
from orchestrator.scheduler.clock import SchedulerClock, VirtualClock, clock_from_env
from orchestrator.scheduler.fires import (
    ON_TIME,
    catch_up,
    execution_name,
    parse_scheduled_time,
    scheduled_time,
    window_offset,
)
from orchestrator.spec.cron import fire_times

if TYPE_CHECKING:  # importing the server loads botocore's model; `orchestrator schedules` needs none of it
    from orchestrator.server.service import ServedWorkflow

# The longest the scheduler sleeps: it then re-reads the served workflows and the store, so a
# state machine created through the endpoint, or a pause from `orchestrator schedules`, is seen.
REFRESH = timedelta(seconds=60)
# How often a queued fire checks whether the run it waits for has finished (only while one waits).
QUEUE_POLL = timedelta(seconds=5)
# After a bug in a tick, wait this long before the next one rather than spin.
AFTER_BUG = timedelta(seconds=5)
_TICK = timedelta(microseconds=1)

# Fire statuses in the store.
CLAIMED, STARTED, SKIPPED, QUEUED, FAILED = "CLAIMED", "STARTED", "SKIPPED", "QUEUED", "FAILED"
# What becomes of one fire: (workflow, scheduled time, status, execution ARN, detail).
FireResult = tuple[str, str, str, str | None, str | None]


class ExecutionService(Protocol):
    """The part of ``orchestrator.server.service.Service`` the scheduler uses (tests pass a fake):
    the served workflows, and API operations taking and returning the API's request and response
    shapes, raising ``ServiceError`` with AWS's code."""

    def served_workflows(self) -> Iterable[ServedWorkflow]: ...

    def start_execution(self, request: Mapping[str, Any]) -> Mapping[str, Any]: ...

    def list_executions(self, request: Mapping[str, Any]) -> Mapping[str, Any]: ...


@dataclass
class _Entry:
    """One served schedule as the scheduler holds it: where its fire times stand."""

    workflow: str
    state_machine_arn: str
    schedule: model.Schedule
    generation: int
    anchor: datetime
    last_fire: str | None
    active: bool
    times: Iterator[datetime]
    next_fire: datetime | None = None
    next_start: datetime | None = None

    def advance(self) -> None:
        self.next_fire = next(self.times, None)
        self.next_start = None if self.next_fire is None else (
            self.next_fire + window_offset(self.workflow, self.schedule, self.next_fire))


def schedule_json(schedule: model.Schedule) -> str:
    return json.dumps(dataclasses.asdict(schedule), sort_keys=True)


def schedule_from_json(text: str) -> model.Schedule:
    return model.Schedule(**json.loads(text))


def stored_times(row: Mapping[str, Any], after: datetime | None = None) -> Iterator[datetime]:
    """The fire times of a stored schedule row after its last fire (and after ``after``)."""
    schedule = schedule_from_json(row["schedule"])
    anchor = parse_scheduled_time(row["anchor"])
    start = parse_scheduled_time(row["last_fire"]) if row["last_fire"] else anchor - _TICK
    if after is not None and after > start:
        start = after
    return fire_times(schedule, start, anchor=anchor)


class Scheduler:
    """Fires the schedules of ``service.served_workflows()``; state lives in ``store``.

    ``start()`` runs it on a thread until ``stop()``; ``tick()`` does one round at the clock's
    time and returns when the next is due (what tests in virtual time call, see ``run_until``).
    """

    def __init__(self, service: ExecutionService, store: Store, *, clock: SchedulerClock | None = None,
                 notice: Callable[[str], None] | None = None) -> None:
        self.service = service
        self.store = store
        self.clock = clock if clock is not None else clock_from_env()
        self.notice = notice or (lambda text: None)
        self._entries: dict[str, _Entry] = {}
        self._owner = (os.getpid(), process_start_time(os.getpid()))
        self._texts: dict[str, tuple[model.Schedule, str]] = {}
        self._synced: datetime | None = None
        self._resync = False  # wake() asks for a full re-read at once
        self._queued = False  # whether fires may be waiting (overlap "queue"): only then is the store asked
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = False
        self._thread: threading.Thread | None = None

    # -- running -------------------------------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="scheduler", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stopping = True
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def wake(self) -> None:
        """Look again now (the served workflows changed)."""
        self._resync = True
        self._wake.set()

    def _loop(self) -> None:
        while not self._stopping:
            self._wake.clear()
            try:
                until = self.tick()
            except Exception:  # a bug: say so loudly, but a scheduler that stops firing is worse
                self.notice("[scheduler] internal error, retrying in 5 s:\n" + traceback.format_exc())
                until = self.clock.now() + AFTER_BUG
            if self._stopping:
                break
            self.clock.wait(self._wake, until)

    def run_until(self, until: datetime) -> None:
        """Virtual time only: tick at every wake-up up to ``until``, then stop the clock there."""
        if not isinstance(self.clock, VirtualClock):
            raise TypeError("run_until needs a VirtualClock")
        while True:
            wake = self.tick()
            if wake > until:
                self.clock.set(until)
                return
            self.clock.set(wake)

    # -- one round -----------------------------------------------------------------------------
    def tick(self) -> datetime:
        """Start whatever is due now; the time of the next wake-up."""
        with self._lock:
            now = self.clock.now()
            if self._synced is None or now - self._synced >= REFRESH or self._resync:
                self._resync = False
                self._sync(now)
                self._recover(now)  # a dead peer's claims: looked for once a minute
                self._queued = bool(self.store.schedule_fires(statuses=(QUEUED,), limit=1))
            if self._queued:
                self._drain(now)  # first: a queued fire goes before a new one
            due = [e for e in self._entries.values() if e.active and e.next_start is not None and e.next_start <= now]
            if due:
                self._fire(due, now)
            wake = min(now + (QUEUE_POLL if self._queued else REFRESH),
                       self._synced + REFRESH if self._synced else now)
            for entry in self._entries.values():
                if entry.active and entry.next_start is not None and entry.next_start < wake:
                    wake = entry.next_start
            return max(wake, now)

    def _sync(self, now: datetime) -> None:
        """Bring the entries in line with the served workflows and the store (every minute, and
        when woken; between syncs a due schedule's own row is read before it fires)."""
        self._synced = now
        served: dict[str, ServedWorkflow] = {}
        for item in self.service.served_workflows():
            if item.workflow.schedule is not None:
                served[item.workflow.name] = item
        rows = self.store.schedules()
        for name, item in served.items():
            schedule = item.workflow.schedule
            assert schedule is not None
            cached = self._texts.get(name)
            if cached is None or cached[0] != schedule:
                cached = self._texts[name] = (schedule, schedule_json(schedule))
            row = rows.get(name)
            if row is None or (row["schedule"], row["state_machine_arn"]) != (cached[1], item.state_machine_arn):
                row = self.store.register_schedule(
                    workflow=name, state_machine_arn=item.state_machine_arn, expression=schedule.expression,
                    timezone=schedule.timezone, schedule=cached[1], enabled=schedule.enabled, now=scheduled_time(now))
            self._refresh(name, item.state_machine_arn, schedule, row)
        for name in set(self._entries) - set(served):
            del self._entries[name]
            self._texts.pop(name, None)

    def _refresh(self, name: str, state_machine_arn: str, schedule: model.Schedule, row: Mapping[str, Any]) -> _Entry:
        """The entry for ``name`` in line with its stored ``row``, rebuilt if the row moved on."""
        entry = self._entries.get(name)
        if (entry is None or entry.schedule != schedule or entry.generation != row["generation"]
                or entry.last_fire != row["last_fire"] or entry.state_machine_arn != state_machine_arn):
            entry = _Entry(workflow=name, state_machine_arn=state_machine_arn, schedule=schedule,
                           generation=row["generation"], anchor=parse_scheduled_time(row["anchor"]),
                           last_fire=row["last_fire"], active=False, times=stored_times(row))
            entry.advance()
            self._entries[name] = entry
        entry.active = schedule.enabled and not row["paused"]
        return entry

    def _fire(self, due: list[_Entry], now: datetime) -> None:
        """Fire every due entry: decide, claim all in one transaction, start, record all."""
        # A pause or a reset by another process since the last sync is seen here, before firing.
        rows = (self.store.schedules() if len(due) > 1
                else {e.workflow: r for e in due if (r := self.store.schedule(e.workflow)) is not None})
        claims: list[tuple[str, int, list[tuple[str, str]], str]] = []
        entries: dict[str, _Entry] = {}
        for stale in due:
            row = rows.get(stale.workflow)
            if row is None:
                continue
            entry = self._refresh(stale.workflow, stale.state_machine_arn, stale.schedule, row)
            if not entry.active or entry.next_start is None or entry.next_start > now:
                continue
            chosen, last_due = self._due_fires(entry, now)
            if last_due is None:
                continue
            claims.append((entry.workflow, entry.generation,
                           [(scheduled_time(when), execution_name(entry.workflow, when)) for when in chosen],
                           scheduled_time(last_due)))
            entries[entry.workflow] = entry
            # What the store now holds, unless another scheduler got further (a sync sees that).
            entry.last_fire = max(entry.last_fire or "", scheduled_time(last_due))
        won = self.store.claim_fires(claims, owner_pid=self._owner[0], owner_start=self._owner[1],
                                     now=scheduled_time(now))
        results = [self._launch(entries[workflow], parse_scheduled_time(stamp), now)
                   for workflow, stamps in won.items() for stamp in stamps]
        self.store.finish_fires(results, now=scheduled_time(now))
        self._queued = self._queued or any(result[2] == QUEUED for result in results)

    def _due_fires(self, entry: _Entry, now: datetime) -> tuple[list[datetime], datetime | None]:
        """Advance ``entry`` past every fire due by ``now``: the ones to start (on time, or missed
        and chosen by ``catch_up``) and the last one passed (None if none was due)."""
        schedule = entry.schedule
        window = timedelta(minutes=schedule.flexible_window or 0)
        # Only fires this recent can still be started; jump over older ones rather than walk
        # (a year of rate(1 minute) is half a million fires).
        if schedule.catch_up == "none":
            horizon: datetime | None = now - ON_TIME - window
        elif schedule.starting_deadline is not None:
            horizon = now - timedelta(seconds=schedule.starting_deadline) - window
        else:
            horizon = None
        last_due: datetime | None = None
        jumped = False
        if horizon is not None and entry.next_fire is not None and entry.next_fire < horizon:
            last_due, jumped = horizon, True
            entry.times = fire_times(schedule, horizon, anchor=entry.anchor)
            entry.advance()
        keep = 0 if schedule.catch_up == "none" else 1 if schedule.catch_up == "latest" else schedule.catch_up_limit
        missed: deque[datetime] = deque(maxlen=keep)
        missed_count = 0
        on_time: list[datetime] = []
        while entry.next_fire is not None and entry.next_start is not None and entry.next_start <= now:
            last_due = entry.next_fire
            if now - entry.next_start < ON_TIME:
                on_time.append(entry.next_fire)
            else:
                missed.append(entry.next_fire)
                missed_count += 1
            entry.advance()
        chosen = catch_up(schedule, missed, now) + on_time
        if missed_count or jumped:
            self.notice(f"[scheduler] {entry.workflow}: fires missed while no scheduler ran; catch_up "
                        f"{schedule.catch_up!r} starts {len(chosen) - len(on_time)} of them")
        return chosen, last_due

    # -- starting ------------------------------------------------------------------------------
    def _running(self, state_machine_arn: str) -> list[str]:
        answer = self.service.list_executions({"stateMachineArn": state_machine_arn, "statusFilter": "RUNNING"})
        return [str(item["name"]) for item in answer.get("executions", [])]

    def _launch(self, entry: _Entry, when: datetime, now: datetime) -> FireResult:
        """Start a claimed fire, unless ``overlap`` holds it back; what to record of it."""
        stamp = scheduled_time(when)
        if entry.schedule.overlap != "allow":
            running = self._running(entry.state_machine_arn)
            if execution_name(entry.workflow, when) in running:  # a claim resumed after a crash: it did start
                return (entry.workflow, stamp, STARTED, None, "already started")
            ahead = entry.schedule.overlap == "queue" and self.store.schedule_fires(
                entry.workflow, statuses=(QUEUED,), limit=1)
            if running or ahead:
                detail = f"{running[0]} was still running" if running else "earlier fires were queued"
                if entry.schedule.overlap == "skip":
                    self.notice(f"[scheduler] {entry.workflow}: skipped the {stamp} fire ({detail}; overlap 'skip')")
                    return (entry.workflow, stamp, SKIPPED, None, detail)
                return (entry.workflow, stamp, QUEUED, None, detail)
        return self._start(entry, when)

    def _start(self, entry: _Entry, when: datetime) -> FireResult:
        # Imported here: importing the server package loads botocore's model.
        from orchestrator.server.errors import ServiceError

        stamp, name = scheduled_time(when), execution_name(entry.workflow, when)
        request = {"stateMachineArn": entry.state_machine_arn, "name": name,
                   "input": json.dumps(with_scheduled_time(None, stamp))}
        try:
            answer = self.service.start_execution(request)
        except ServiceError as error:
            if error.code == "ExecutionAlreadyExists":  # started before a restart, or by backfill
                return (entry.workflow, stamp, STARTED, None, "already started")
            self.notice(f"[scheduler] {entry.workflow}: could not start {name}: {error}")
            return (entry.workflow, stamp, FAILED, None, str(error))
        self.notice(f"[scheduler] {entry.workflow}: started {name}")
        return (entry.workflow, stamp, STARTED, str(answer["executionArn"]), None)

    def _drain(self, now: datetime) -> None:
        """Start the oldest queued fire of each workflow whose previous run has finished."""
        queued: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for row in self.store.schedule_fires(statuses=(QUEUED,)):
            queued[row["workflow"]].append(row)
        for workflow, rows in queued.items():
            entry = self._entries.get(workflow)
            if entry is None or not entry.active or self._running(entry.state_machine_arn):
                continue
            first = rows[0]
            if self.store.take_fire(workflow, first["scheduled_time"], status=QUEUED, owner=None,
                                    owner_pid=self._owner[0], owner_start=self._owner[1], now=scheduled_time(now)):
                self.store.finish_fires([self._start(entry, parse_scheduled_time(first["scheduled_time"]))],
                                        now=scheduled_time(now))
        self._queued = bool(self.store.schedule_fires(statuses=(QUEUED,), limit=1))

    def _recover(self, now: datetime) -> None:
        """Start fires a scheduler that has since died had claimed but not started."""
        for row in self.store.schedule_fires(statuses=(CLAIMED,)):
            owner = (row["owner_pid"], row["owner_start"])
            if owner == self._owner or (owner[0] is not None and runner_alive(owner[0], owner[1])):
                continue
            entry = self._entries.get(row["workflow"])
            if entry is None:
                continue
            if self.store.take_fire(row["workflow"], row["scheduled_time"], status=CLAIMED, owner=owner,
                                    owner_pid=self._owner[0], owner_start=self._owner[1], now=scheduled_time(now)):
                self.notice(f"[scheduler] {row['workflow']}: resuming the {row['scheduled_time']} fire "
                            f"a stopped scheduler (pid {owner[0]}) had claimed")
                result = self._launch(entry, parse_scheduled_time(row["scheduled_time"]), now)
                self.store.finish_fires([result], now=scheduled_time(now))
                self._queued = self._queued or result[2] == QUEUED
