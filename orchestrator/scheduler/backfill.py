"""``orchestrator backfill``: one execution per fire of a past range, each named from its fire and
carrying its own ``scheduled_time``, here or on AWS.

An execution's name is the one the scheduler would have given the fire
(``fires.execution_name``), so a fire that already ran (by the scheduler, or an earlier backfill)
is found and left alone: running the same backfill twice starts nothing new.

    >>> from datetime import UTC, datetime
    >>> from orchestrator import model
    >>> s = model.Schedule(expression="cron(0 2 * * ? *)", timezone="Europe/Berlin")
    >>> [t.isoformat() for t in range_fires(s, datetime(2026, 3, 28, tzinfo=UTC), datetime(2026, 3, 30, tzinfo=UTC))]
    ['2026-03-28T02:00:00+01:00']
"""

from __future__ import annotations

import os
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from orchestrator import model
from orchestrator.errors import OrchestratorError
from orchestrator.logical_time import with_scheduled_time
from orchestrator.scheduler.fires import execution_name, scheduled_time
from orchestrator.spec.cron import fire_times

# A backfill starts at most this many executions; a longer range is split by the user (each part
# is idempotent, so parts can be run in any order).
BACKFILL_MAX_FIRES = 10_000
# How often a full --max-parallel batch on AWS asks whether one of its runs has finished.
AWS_POLL_SECONDS = 5.0

Target = Literal["local", "aws"]


class BackfillError(OrchestratorError):
    """A backfill that cannot be made as asked (no schedule, bad range, too many fires)."""


@dataclass(frozen=True, slots=True)
class Outcome:
    name: str
    scheduled_time: str
    action: str  # "started" | "exists"
    status: str | None = None  # a local run's end status; an existing execution's status


def parse_time(text: str, flag: str, zone: str) -> datetime:
    """``--start`` / ``--end``: an ISO-8601 date or time; without an offset, in the workflow's zone.

    >>> parse_time("2026-03-01", "--start", "Europe/Berlin").isoformat()
    '2026-02-28T23:00:00+00:00'
    """
    try:
        when = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise BackfillError(f"{flag} {text!r} is not an ISO-8601 date or time; e.g. {flag} 2026-03-01 or "
                            f"{flag} 2026-03-01T02:00:00Z (without an offset: in the workflow's time zone "
                            f"{zone})") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=ZoneInfo(zone))
    return when.astimezone(UTC)


def range_fires(schedule: model.Schedule, start: datetime, end: datetime) -> list[datetime]:
    """The fire times from ``start`` up to (not including) ``end``; a rate counts from ``start``."""
    if end <= start:
        raise BackfillError(f"--end {end.isoformat()} is not after --start {start.isoformat()}; the range runs "
                            "from --start up to, not including, --end")
    found: list[datetime] = []
    for when in fire_times(schedule, start, anchor=start, inclusive=True):
        if when >= end:
            break
        if len(found) == BACKFILL_MAX_FIRES:
            raise BackfillError(
                f"{start.isoformat()} to {end.isoformat()} holds more than {BACKFILL_MAX_FIRES} fires of "
                f"{schedule.expression}; backfill it in parts (each part can be rerun safely), e.g. a month at a time")
        found.append(when)
    return found


def backfill(wf: model.Workflow, start: datetime, end: datetime, *, max_parallel: int = 1,
             target: Target = "local", home: str | os.PathLike[str] | None = None, region: str | None = None,
             client: Any = None, notice: Callable[[Outcome], None] | None = None,
             sleep: Callable[[float], None] = time.sleep) -> list[Outcome]:
    """Start every fire of ``wf``'s schedule in [start, end) that has no execution yet."""
    if wf.schedule is None:
        raise BackfillError(f"workflow {wf.name!r} has no schedule, so it has no fire times to backfill; give it "
                            'one, e.g. schedule: "cron(0 2 * * ? *)"')
    if max_parallel < 1:
        raise BackfillError(f"--max-parallel must be at least 1; got {max_parallel}")
    fires = range_fires(wf.schedule, start, end)
    tell = notice or (lambda outcome: None)
    if target == "aws":
        return _aws(wf, fires, max_parallel, region, client, tell, sleep)
    return _local(wf, fires, max_parallel, home, tell)


def _local(wf: model.Workflow, fires: list[datetime], max_parallel: int, home: str | os.PathLike[str] | None,
           tell: Callable[[Outcome], None]) -> list[Outcome]:
    from orchestrator.local.runs import run_workflow
    from orchestrator.local.store import Store

    store = Store(home)

    def one(when: datetime) -> Outcome:
        name, stamp = execution_name(wf.name, when), scheduled_time(when)
        existing = store.execution_named(wf.name, name)
        if existing is not None:
            outcome = Outcome(name, stamp, "exists", existing.status)
        else:
            result = run_workflow(wf, home=store.home, name=name, scheduled_time=stamp)
            outcome = Outcome(name, stamp, "started", result.status)
        tell(outcome)
        return outcome

    with ThreadPoolExecutor(max_workers=max_parallel, thread_name_prefix="backfill") as pool:
        return list(pool.map(one, fires))


def _aws(wf: model.Workflow, fires: list[datetime], max_parallel: int, region: str | None, client: Any,
         tell: Callable[[Outcome], None], sleep: Callable[[float], None]) -> list[Outcome]:
    from orchestrator.aws import executions
    from orchestrator.aws.commands import _state_machine_arn
    from orchestrator.aws.errors import AwsError
    from orchestrator.aws.errors import client as make_client

    sfn = client if client is not None else make_client("stepfunctions", region)
    machine = _state_machine_arn(sfn, wf.name)
    outcomes: list[Outcome] = []
    running: deque[str] = deque()
    for when in fires:
        name, stamp = execution_name(wf.name, when), scheduled_time(when)
        arn = machine.replace(":stateMachine:", ":execution:", 1) + f":{name}"
        try:
            existing = executions.describe(arn, client=sfn)
        except AwsError as error:
            if error.code != "ExecutionDoesNotExist":
                raise
        else:
            outcomes.append(Outcome(name, stamp, "exists", existing["status"]))
            tell(outcomes[-1])
            continue
        while len(running) >= max_parallel:  # wait for a slot: drop runs that have finished
            still = [a for a in running if executions.describe(a, client=sfn)["status"] in executions.OPEN]
            running = deque(still)
            if len(running) >= max_parallel:
                sleep(AWS_POLL_SECONDS)
        try:
            started = executions.start(machine, with_scheduled_time(None, stamp), name=name, client=sfn)
        except AwsError as error:
            if error.code != "ExecutionAlreadyExists":  # started meanwhile, by the schedule itself
                raise
            outcomes.append(Outcome(name, stamp, "exists"))
        else:
            running.append(started["executionArn"])
            outcomes.append(Outcome(name, stamp, "started", "RUNNING"))
        tell(outcomes[-1])
    return outcomes
