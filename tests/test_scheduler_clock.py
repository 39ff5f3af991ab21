"""The scheduler's clocks and ORCHESTRATOR_SCHEDULER_CLOCK."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest

from orchestrator.errors import OrchestratorError
from orchestrator.scheduler.clock import FastClock, VirtualClock, WallClock, clock_from_env

T0 = datetime(2026, 3, 29, tzinfo=UTC)


def test_env_clock_shares_one_timeline_across_processes() -> None:
    since = time.time() - 10
    one = clock_from_env({"ORCHESTRATOR_SCHEDULER_CLOCK": f"2026-03-29T00:00:00Z,60,{since}"})
    two = clock_from_env({"ORCHESTRATOR_SCHEDULER_CLOCK": f"2026-03-29T02:00:00+02:00, 60, {since}"})
    assert abs((one.now() - two.now()).total_seconds()) < 5
    assert T0 + timedelta(minutes=9) < one.now() < T0 + timedelta(minutes=12)
    assert isinstance(clock_from_env({}), WallClock)


@pytest.mark.parametrize("value", ["yesterday", "2026-03-29T00:00:00", "2026-03-29T00:00:00Z,0",
                                   "2026-03-29T00:00:00Z,fast", "2026-03-29T00:00:00Z,1,2,3"])
def test_bad_env_clock(value: str) -> None:
    with pytest.raises(OrchestratorError) as caught:
        clock_from_env({"ORCHESTRATOR_SCHEDULER_CLOCK": value})
    assert str(caught.value) == (
        f"ORCHESTRATOR_SCHEDULER_CLOCK={value!r} is not START[,SPEED[,SINCE]] (START an ISO-8601 time with a "
        "zone, SPEED a positive factor, SINCE Unix seconds); e.g. ORCHESTRATOR_SCHEDULER_CLOCK=2026-03-29T00:00:00Z,60")


def test_fast_clock_sleeps_scaled_and_wakes_early() -> None:
    clock = FastClock(T0, speed=3600)
    began = time.monotonic()
    clock.wait(threading.Event(), clock.now() + timedelta(minutes=30))  # half a second
    assert 0.3 < time.monotonic() - began < 3
    woken = threading.Event()
    woken.set()
    began = time.monotonic()
    clock.wait(woken, clock.now() + timedelta(days=1))
    assert time.monotonic() - began < 0.5


def test_virtual_clock_jumps_unless_woken() -> None:
    clock = VirtualClock(T0)
    woken = threading.Event()
    woken.set()
    clock.wait(woken, T0 + timedelta(hours=1))
    assert clock.now() == T0
    clock.wait(threading.Event(), T0 + timedelta(hours=1))
    assert clock.now() == T0 + timedelta(hours=1)
    clock.set(T0)  # never backwards
    assert clock.now() == T0 + timedelta(hours=1)
