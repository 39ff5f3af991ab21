"""What ``orchestrator schedules`` and ``orchestrator backfill`` do; the CLI only wires them.

``schedules`` reads the store ``serve``'s scheduler writes: every schedule it has served, its next
fires, its last fire and what became of it. ``pause`` and ``resume`` write there too; a running
scheduler sees them at its next wake-up (within a minute, and always before a fire).
"""

from __future__ import annotations

import json
import os
import sys
from datetime import datetime
from itertools import islice
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Column, Table

from orchestrator.errors import OrchestratorError
from orchestrator.local.store import Store
from orchestrator.scheduler.backfill import Outcome, Target, backfill, parse_time
from orchestrator.scheduler.clock import clock_from_env
from orchestrator.scheduler.core import schedule_from_json, stored_times
from orchestrator.scheduler.fires import scheduled_time, window_offset


class ScheduleNotFound(OrchestratorError):
    """``pause`` / ``resume`` of a workflow the scheduler has not served."""


def describe(store: Store, now: datetime, count: int = 3) -> list[dict[str, Any]]:
    """Each stored schedule: its workflow, expression, status, last fire and next ``count`` starts."""
    described = []
    for name, row in store.schedules().items():
        schedule = schedule_from_json(row["schedule"])
        upcoming = [when + window_offset(name, schedule, when) for when in islice(stored_times(row, now), count)]
        last = store.schedule_fires(name, limit=1)
        if not row["enabled"]:
            status = "disabled"
        elif row["paused"]:
            status = "paused"
        elif not upcoming:
            status = "finished"
        else:
            status = "active"
        described.append({
            "workflow": name, "stateMachineArn": row["state_machine_arn"], "expression": schedule.expression,
            "timezone": schedule.timezone, "status": status, "overlap": schedule.overlap,
            "catchUp": schedule.catch_up,
            "nextFires": [scheduled_time(t) for t in upcoming],
            "lastFire": None if not last else {
                "scheduledTime": last[0]["scheduled_time"], "status": last[0]["status"],
                "executionName": last[0]["execution_name"], "detail": last[0]["detail"]}})
    return described


def schedules_list(*, json_output: bool = False, count: int = 3, home: str | os.PathLike[str] | None = None,
                   now: datetime | None = None) -> int:
    store = Store(home)
    rows = describe(store, now or clock_from_env().now(), count)  # the clock `serve`'s scheduler reads
    if json_output:
        print(json.dumps({"schedules": rows}, indent=2))
        return 0
    # Times and expressions are copied from here: never wrapped, so a pipe gets them whole.
    console = Console(highlight=False, width=None if sys.stdout.isatty() else 200)
    if not rows:
        console.print(f"no schedules yet: `orchestrator serve` registers the schedules of the workflows it "
                      f"serves (store: {store.path})", soft_wrap=True)
        return 0
    table = Table(*(Column(name, no_wrap=True) for name in ("workflow", "schedule", "status", "last fire",
                                                           "next fires")), box=box.SIMPLE)
    for row in rows:
        last = row["lastFire"]
        last_text = "-" if last is None else f"{last['scheduledTime']}\n{last['status']}" + (
            f" ({last['detail']})" if last["detail"] else "")
        table.add_row(row["workflow"], f"{row['expression']}\n{row['timezone']}", row["status"], last_text,
                      "\n".join(row["nextFires"]) or "-")
    console.print(table)
    return 0


def schedules_pause(workflow: str | None, paused: bool, *, home: str | os.PathLike[str] | None = None,
                    now: datetime | None = None) -> int:
    verb = "pause" if paused else "resume"
    if workflow is None:
        raise ScheduleNotFound(f"name the workflow to {verb}: orchestrator schedules {verb} WORKFLOW")
    store = Store(home)
    if not store.pause_schedule(workflow, paused, scheduled_time(now or clock_from_env().now())):
        known = ", ".join(store.schedules()) or "none yet (start `orchestrator serve`)"
        raise ScheduleNotFound(f"no served schedule for workflow {workflow!r}; served schedules: {known}. "
                               "`orchestrator schedules` lists them")
    if paused:
        print(f"paused {workflow}: no fires until `orchestrator schedules resume {workflow}`")
    else:
        print(f"resumed {workflow}: fires from now on (the paused time is not caught up; "
              f"`orchestrator backfill` runs it on request)")
    return 0


def backfill_command(path: str, workflow: str | None, start: str, end: str, *, max_parallel: int = 1,
                     target: Target = "local", region: str | None = None,
                     home: str | os.PathLike[str] | None = None) -> int:
    from orchestrator.spec import select

    wf = select(path, workflow)
    zone = wf.schedule.timezone if wf.schedule is not None else "UTC"
    begin, finish = parse_time(start, "--start", zone), parse_time(end, "--end", zone)

    def tell(outcome: Outcome) -> None:
        what = "started" if outcome.action == "started" else "exists "
        status = f" {outcome.status}" if outcome.status else ""
        print(f"{what} {outcome.name}{status}", flush=True)

    outcomes = backfill(wf, begin, finish, max_parallel=max_parallel, target=target, home=home, region=region,
                        notice=tell)
    started = [o for o in outcomes if o.action == "started"]
    failed = [o for o in started if o.status not in ("SUCCEEDED", "RUNNING")]
    print(f"backfill {wf.name}: {len(outcomes)} fire(s) from {scheduled_time(begin)} to {scheduled_time(finish)}: "
          f"{len(started)} started, {len(outcomes) - len(started)} already there"
          + (f", {len(failed)} did not succeed" if failed else ""))
    return 1 if failed else 0
