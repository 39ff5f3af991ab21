"""The local scheduler in virtual time: fire instants, DST, catch-up, overlap, restarts, two
schedulers on one store, pause and edits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from scheduler_fakes import FakeService, machine_arn, workflow

from orchestrator.local.store import Store
from orchestrator.scheduler import Scheduler, VirtualClock, scheduled_time
from orchestrator.scheduler.fires import window_offset
from orchestrator.spec import next_fire_times

BERLIN = ZoneInfo("Europe/Berlin")
T0 = datetime(2026, 6, 1, tzinfo=UTC)


def hours(start: datetime, *offsets: int) -> list[str]:
    return [scheduled_time(start + timedelta(hours=h)) for h in offsets]


def make(tmp_path: Path, wfs: list, start: datetime = T0, **kw) -> tuple[Scheduler, FakeService, VirtualClock]:
    clock = VirtualClock(start)
    service = FakeService(clock, wfs, **kw)
    return Scheduler(service, Store(tmp_path), clock=clock), service, clock


# -- fire instants -------------------------------------------------------------------------------
def berlin_hours(start: datetime, end: datetime) -> list[str]:
    """An independent oracle: every UTC hour whose Berlin wall time is on the hour and not seen
    before (the autumn repeat fires once, at its first occurrence)."""
    seen, out, t = set(), [], start
    while t < end:
        wall = t.astimezone(BERLIN).replace(tzinfo=None)
        if wall.minute == 0 and wall not in seen:
            out.append(scheduled_time(t))
        seen.add(wall)
        t += timedelta(minutes=30)
    return out


@pytest.mark.parametrize(("start", "count"), [
    # Spring: 02:00 does not exist, so the 23-hour Sunday has 23 fires and the week's 168 real
    # hours 168. Autumn: 02:00 happens twice and fires once, so 168 real hours have 167 fires.
    (datetime(2026, 3, 26, tzinfo=UTC), 168),
    (datetime(2026, 10, 22, tzinfo=UTC), 167),
])
def test_a_week_of_an_hourly_cron_in_berlin_fires_the_expected_instants(tmp_path: Path, start: datetime,
                                                                         count: int) -> None:
    wf = workflow(expression="cron(0 * * * ? *)", timezone="Europe/Berlin")
    scheduler, service, _ = make(tmp_path, [wf], start)
    end = start + timedelta(days=7)
    scheduler.run_until(end - timedelta(seconds=1))
    fired = service.times()
    assert fired == berlin_hours(start, end)
    assert len(fired) == count
    shown = next_fire_times(wf.schedule, count + 1, after=start - timedelta(microseconds=1))  # what `show` prints
    assert fired == [scheduled_time(t) for t in shown if t < end]
    # Started at their instant, each once, named from it.
    assert all(s.at.isoformat().replace("+00:00", "Z") == s.scheduled_time for s in service.started)
    assert len({s.name for s in service.started}) == count
    assert service.started[0].name == f"hourly-{start.strftime('%Y%m%dT%H%M%SZ')}"


def test_spring_gap_and_autumn_repeat_at_the_changing_hour(tmp_path: Path) -> None:
    wf = workflow(expression="cron(30 2 * * ? *)", timezone="Europe/Berlin")
    scheduler, service, _ = make(tmp_path, [wf], datetime(2026, 3, 27, tzinfo=UTC))
    scheduler.run_until(datetime(2026, 3, 31, tzinfo=UTC))
    # 02:30 on 29 March does not exist in Berlin: skipped, not moved.
    assert service.times() == ["2026-03-27T01:30:00Z", "2026-03-28T01:30:00Z", "2026-03-30T00:30:00Z"]
    scheduler, service, _ = make(tmp_path / "autumn", [wf], datetime(2026, 10, 24, tzinfo=UTC))
    scheduler.run_until(datetime(2026, 10, 27, tzinfo=UTC))
    # 02:30 happens twice on 25 October: once, at the first (CEST, 00:30 UTC).
    assert service.times() == ["2026-10-24T00:30:00Z", "2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z"]


def test_rate_counts_from_when_the_schedule_is_first_seen_and_survives_a_restart(tmp_path: Path) -> None:
    wf = workflow(expression="rate(1 hour)")
    start = T0 + timedelta(minutes=17, seconds=30)
    scheduler, service, clock = make(tmp_path, [wf], start)
    scheduler.run_until(start + timedelta(hours=2, minutes=1))
    assert service.times() == hours(start, 0, 1, 2)
    again = Scheduler(service, Store(tmp_path), clock=clock)  # a restart: same anchor, nothing doubled
    again.run_until(start + timedelta(hours=4, minutes=1))
    assert service.times() == hours(start, 0, 1, 2, 3, 4)


def test_at_fires_once(tmp_path: Path) -> None:
    wf = workflow(expression="at(2026-06-01T09:00:00)", timezone="Europe/Berlin")
    scheduler, service, _ = make(tmp_path, [wf])
    scheduler.run_until(T0 + timedelta(days=3))
    assert service.times() == ["2026-06-01T07:00:00Z"]


def test_flexible_window_offset_is_fixed_per_fire_across_a_restart(tmp_path: Path) -> None:
    wf = workflow(expression="cron(0 * * * ? *)", flexible_window=30)
    scheduler, service, clock = make(tmp_path, [wf])
    scheduler.run_until(T0 + timedelta(hours=3, minutes=59))
    first = [(s.scheduled_time, s.at) for s in service.started]
    assert wf.schedule is not None
    for stamp, at in first:
        when = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
        assert at == when + window_offset("hourly", wf.schedule, when)
    assert len({at - datetime.fromisoformat(s.replace("Z", "+00:00")) for s, at in first}) > 1
    # A second store and scheduler compute the very same start instants.
    clock2 = VirtualClock(T0)
    other = FakeService(clock2, [wf])
    Scheduler(other, Store(tmp_path / "b"), clock=clock2).run_until(T0 + timedelta(hours=3, minutes=59))
    assert [(s.scheduled_time, s.at) for s in other.started] == first


# -- catch-up ------------------------------------------------------------------------------------
@pytest.mark.parametrize(("options", "caught_up"), [
    ({"catch_up": "none"}, []),
    ({"catch_up": "latest"}, [8]),
    ({"catch_up": "all"}, [4, 5, 6, 7, 8]),
    ({"catch_up": "all", "catch_up_limit": 2}, [7, 8]),
    ({"catch_up": "all", "starting_deadline": 9000}, [6, 7, 8]),  # 2.5 h before 08:10: from 05:40
    ({"catch_up": "latest", "starting_deadline": 300}, []),
])
def test_catch_up_after_an_outage(tmp_path: Path, options: dict, caught_up: list[int]) -> None:
    wf = workflow(expression="cron(0 * * * ? *)", overlap="allow", **options)
    scheduler, service, clock = make(tmp_path, [wf])
    scheduler.run_until(T0 + timedelta(hours=3, minutes=30))  # fires 0..3, then the process dies
    clock.set(T0 + timedelta(hours=8, minutes=10))
    Scheduler(service, Store(tmp_path), clock=clock).run_until(T0 + timedelta(hours=10, minutes=30))
    assert service.times() == hours(T0, 0, 1, 2, 3) + hours(T0, *caught_up) + hours(T0, 9, 10)
    if caught_up:  # started at once when the scheduler came back
        assert {s.at for s in service.started[4:4 + len(caught_up)]} == {T0 + timedelta(hours=8, minutes=10)}


def test_catch_up_all_after_a_long_outage_is_bounded_and_quick(tmp_path: Path) -> None:
    wf = workflow(expression="rate(1 minute)", overlap="allow", catch_up="all", catch_up_limit=3)
    scheduler, service, clock = make(tmp_path, [wf])
    scheduler.run_until(T0)
    clock.set(T0 + timedelta(days=200))  # 288,000 fires missed
    Scheduler(service, Store(tmp_path), clock=clock).run_until(T0 + timedelta(days=200))
    back = T0 + timedelta(days=200)
    # The last three missed (a minute late is missed), then the one due now.
    assert service.times() == [scheduled_time(t) for t in (
        T0, back - timedelta(minutes=3), back - timedelta(minutes=2), back - timedelta(minutes=1), back)]


# -- overlap -------------------------------------------------------------------------------------
@pytest.mark.parametrize(("overlap", "expected"), [
    # Runs last 90 minutes, fires come every hour.
    ("allow", [("00", "00:00"), ("01", "01:00"), ("02", "02:00"), ("03", "03:00"), ("04", "04:00")]),
    ("skip", [("00", "00:00"), ("02", "02:00"), ("04", "04:00")]),
    # Each queued fire starts when the run before it ends (seen within the 5 s poll).
    ("queue", [("00", "00:00"), ("01", "01:30"), ("02", "03:00"), ("03", "04:30")]),
])
def test_overlap_with_runs_that_outlast_their_period(tmp_path: Path, overlap: str,
                                                     expected: list[tuple[str, str]]) -> None:
    wf = workflow(expression="cron(0 * * * ? *)", overlap=overlap)
    scheduler, service, _ = make(tmp_path, [wf], duration=timedelta(minutes=90))
    scheduler.run_until(T0 + timedelta(hours=4, minutes=40))
    got = [(s.scheduled_time[11:13], s.at.strftime("%H:%M")) for s in service.started]
    assert got == expected
    statuses = {f["scheduled_time"][11:13]: f["status"] for f in scheduler.store.schedule_fires("hourly")}
    if overlap == "skip":
        assert statuses == {"00": "STARTED", "01": "SKIPPED", "02": "STARTED", "03": "SKIPPED", "04": "STARTED"}
    if overlap == "queue":
        assert statuses["04"] == "QUEUED"


# -- several schedulers, restarts, crashes --------------------------------------------------------
def test_two_schedulers_on_one_store_start_each_fire_once(tmp_path: Path) -> None:
    wf = workflow(expression="rate(5 minutes)", overlap="allow")
    clock = VirtualClock(T0)
    service = FakeService(clock, [wf])
    one, two = (Scheduler(service, Store(tmp_path), clock=clock) for _ in range(2))
    until = T0 + timedelta(hours=1)
    while clock.now() < until:
        wake = min(one.tick(), two.tick())
        clock.set(min(wake, until))
    assert service.times() == [scheduled_time(T0 + timedelta(minutes=5 * i)) for i in range(12)]
    assert {s.name for s in service.started} == {f["execution_name"] for f in one.store.schedule_fires()}


def test_a_claimed_fire_of_a_dead_scheduler_is_started_under_its_name(tmp_path: Path) -> None:
    wf = workflow(expression="cron(0 * * * ? *)", overlap="allow")
    scheduler, service, clock = make(tmp_path, [wf])
    scheduler.tick()  # registers the schedule
    store = scheduler.store
    generation = store.schedules()["hourly"]["generation"]
    # A scheduler (pid 1 never matches: its start time differs) claimed 01:00 and died.
    stamp = scheduled_time(T0 + timedelta(hours=1))
    assert store.claim_fires([("hourly", generation, [(stamp, "hourly-20260601T010000Z")], stamp)],
                             owner_pid=2**22 + 1, owner_start="0", now=stamp) == {"hourly": [stamp]}
    clock.set(T0 + timedelta(hours=1, minutes=20))
    scheduler.run_until(T0 + timedelta(hours=1, minutes=30))
    assert service.times() == hours(T0, 0, 1)
    assert [f["status"] for f in store.schedule_fires("hourly")] == ["STARTED", "STARTED"]


def test_an_execution_that_already_exists_counts_as_started(tmp_path: Path) -> None:
    wf = workflow(expression="cron(0 * * * ? *)", overlap="allow")
    scheduler, service, _ = make(tmp_path, [wf])
    service.start_execution({"stateMachineArn": machine_arn("hourly"), "name": "hourly-20260601T010000Z",
                             "input": '{"scheduled_time": "2026-06-01T01:00:00Z"}'})  # e.g. by backfill
    scheduler.run_until(T0 + timedelta(hours=1, minutes=30))
    fires = scheduler.store.schedule_fires("hourly")
    assert [(f["status"], f["detail"]) for f in fires] == [("STARTED", None), ("STARTED", "already started")]


# -- pause, disable, edit: never a backfill by themselves -------------------------------------------
def test_pause_and_resume_do_not_backfill_the_gap(tmp_path: Path) -> None:
    wf = workflow(expression="cron(0 * * * ? *)", catch_up="all", overlap="allow")
    scheduler, service, clock = make(tmp_path, [wf])
    scheduler.run_until(T0 + timedelta(hours=1, minutes=30))
    assert scheduler.store.pause_schedule("hourly", True, scheduled_time(clock.now()))
    scheduler.run_until(T0 + timedelta(hours=4, minutes=30))
    assert scheduler.store.pause_schedule("hourly", False, scheduled_time(clock.now()))
    scheduler.run_until(T0 + timedelta(hours=6, minutes=30))
    assert service.times() == hours(T0, 0, 1, 5, 6)
    assert not scheduler.store.pause_schedule("nope", True, "2026-01-01T00:00:00Z")


def test_disabling_or_editing_a_schedule_does_not_backfill(tmp_path: Path) -> None:
    wf = workflow(expression="cron(0 * * * ? *)", catch_up="all", overlap="allow")
    scheduler, service, clock = make(tmp_path, [wf])
    scheduler.run_until(T0 + timedelta(hours=1, minutes=30))
    service.workflows = [workflow(expression="cron(0 * * * ? *)", catch_up="all", overlap="allow", enabled=False)]
    scheduler.run_until(T0 + timedelta(hours=3, minutes=30))
    service.workflows = [wf]
    scheduler.run_until(T0 + timedelta(hours=4, minutes=30))
    assert service.times() == hours(T0, 0, 1, 4)
    # Edited while no scheduler ran: the new expression counts from when it is first seen.
    clock.set(T0 + timedelta(hours=8, minutes=10))
    service.workflows = [workflow(expression="cron(30 * * * ? *)", catch_up="all", overlap="allow")]
    Scheduler(service, Store(tmp_path), clock=clock).run_until(T0 + timedelta(hours=9, minutes=40))
    assert service.times() == hours(T0, 0, 1, 4) + [scheduled_time(T0 + timedelta(hours=h, minutes=30))
                                                    for h in (8, 9)]


def test_idle_scheduler_sleeps_until_the_next_fire_or_a_minute(tmp_path: Path) -> None:
    scheduler, _, _ = make(tmp_path, [workflow(expression="cron(0 3 * * ? *)")])
    assert scheduler.tick() == T0 + timedelta(minutes=1)
    scheduler, _, _ = make(tmp_path / "b", [workflow(expression="rate(1 minute)")], T0 + timedelta(seconds=10))
    assert scheduler.tick() == T0 + timedelta(minutes=1, seconds=10)


def test_a_pause_from_another_process_holds_the_next_fire_even_between_syncs(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from orchestrator.scheduler import core

    monkeypatch.setattr(core, "REFRESH", timedelta(hours=1))  # no full re-read before the next fire
    scheduler, service, clock = make(tmp_path, [workflow(expression="cron(* * * * ? *)")])
    scheduler.run_until(T0 + timedelta(seconds=10))
    assert Store(tmp_path).pause_schedule("hourly", True, scheduled_time(clock.now()))  # e.g. the CLI
    scheduler.run_until(T0 + timedelta(minutes=5))
    assert service.times() == hours(T0, 0)


def test_a_resumed_claim_whose_run_already_started_is_not_skipped_by_its_own_run(tmp_path: Path) -> None:
    wf = workflow(expression="cron(0 * * * ? *)")  # overlap: skip
    scheduler, service, clock = make(tmp_path, [wf], duration=timedelta(hours=2))
    scheduler.tick()
    store = scheduler.store
    stamp = scheduled_time(T0 + timedelta(hours=1))
    # A scheduler claimed 01:00, started it, and was killed before recording that.
    store.claim_fires([("hourly", store.schedules()["hourly"]["generation"], [(stamp, "hourly-20260601T010000Z")],
                        stamp)], owner_pid=2**22 + 1, owner_start="0", now=stamp)
    clock.set(T0 + timedelta(hours=1))
    service.start_execution({"stateMachineArn": machine_arn("hourly"), "name": "hourly-20260601T010000Z",
                             "input": '{"scheduled_time": "2026-06-01T01:00:00Z"}'})
    scheduler.run_until(T0 + timedelta(hours=1, minutes=10))
    (fire,) = [f for f in store.schedule_fires("hourly") if f["scheduled_time"] == stamp]
    assert (fire["status"], fire["detail"]) == ("STARTED", "already started")


def test_wake_picks_up_a_newly_served_workflow_at_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from orchestrator.scheduler import core

    monkeypatch.setattr(core, "REFRESH", timedelta(hours=1))
    scheduler, service, clock = make(tmp_path, [])
    scheduler.tick()
    service.workflows = [workflow(expression="rate(1 minute)")]
    clock.set(T0 + timedelta(minutes=1))
    scheduler.tick()
    assert service.times() == []  # not re-read yet
    scheduler.wake()
    scheduler.tick()
    assert service.times() == [scheduled_time(T0 + timedelta(minutes=1))]
