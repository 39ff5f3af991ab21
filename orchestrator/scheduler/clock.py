"""The scheduler's clocks: the wall clock, a fast clock for tests with real processes, and a
virtual one that jumps straight to the next wake-up.

The scheduler only asks two things of a clock: what time it is, and to sleep until an instant
unless woken. Sleeping is one ``Event.wait`` with the time left, so an idle scheduler costs no
CPU however many schedules it holds.

``ORCHESTRATOR_SCHEDULER_CLOCK=START[,SPEED[,SINCE]]`` makes ``orchestrator serve``'s scheduler
read START (ISO-8601 with a zone) at the wall-clock instant SINCE (Unix seconds; default: when
the process started) and run SPEED (default 1) times as fast as the wall clock from there. Every
process given the same value shares one timeline, so a test with real processes — restarted, or
two on one store — sees hours of fires in seconds.

    >>> clock = clock_from_env({"ORCHESTRATOR_SCHEDULER_CLOCK": "2026-03-29T00:00:00Z,60"})
    >>> clock.now() >= datetime(2026, 3, 29, tzinfo=UTC)
    True
    >>> shared = clock_from_env({"ORCHESTRATOR_SCHEDULER_CLOCK": f"2026-03-29T00:00:00Z,60,{time.time() - 60}"})
    >>> shared.now() >= datetime(2026, 3, 29, 1, tzinfo=UTC)   # an hour on after a minute
    True
    >>> v = VirtualClock(datetime(2026, 1, 1, tzinfo=UTC))
    >>> v.wait(threading.Event(), datetime(2026, 1, 2, tzinfo=UTC)); v.now().day
    2
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Protocol

from orchestrator.errors import OrchestratorError

CLOCK_ENV = "ORCHESTRATOR_SCHEDULER_CLOCK"


class SchedulerClock(Protocol):
    def now(self) -> datetime:
        """The current time, aware (UTC)."""
        ...

    def wait(self, wake: threading.Event, until: datetime) -> None:
        """Return at ``until`` (this clock's time), or earlier when ``wake`` is set."""
        ...


class FastClock:
    """The wall clock's pace times ``speed``: ``start`` at the Unix time ``since`` (default now)."""

    def __init__(self, start: datetime, speed: float = 1.0, since: float | None = None) -> None:
        self._start = start
        self._since = time.time() if since is None else since
        self.speed = speed

    def now(self) -> datetime:
        return self._start + timedelta(seconds=(time.time() - self._since) * self.speed)

    def wait(self, wake: threading.Event, until: datetime) -> None:
        left = (until - self.now()).total_seconds() / self.speed
        if left > 0:
            wake.wait(left)


class WallClock:
    """Real time; what ``serve`` uses unless ``ORCHESTRATOR_SCHEDULER_CLOCK`` says otherwise."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def wait(self, wake: threading.Event, until: datetime) -> None:
        left = (until - self.now()).total_seconds()
        if left > 0:
            wake.wait(left)


class VirtualClock:
    """Simulated time for tests: a wait jumps to its end at once (unless woken first)."""

    def __init__(self, start: datetime) -> None:
        self._now = start

    def now(self) -> datetime:
        return self._now

    def set(self, when: datetime) -> None:
        self._now = max(self._now, when)

    def wait(self, wake: threading.Event, until: datetime) -> None:
        if not wake.is_set():
            self.set(until)


def clock_from_env(environ: Mapping[str, str] | None = None) -> SchedulerClock:
    """The clock ``ORCHESTRATOR_SCHEDULER_CLOCK`` asks for, or the wall clock."""
    text = (os.environ if environ is None else environ).get(CLOCK_ENV, "").strip()
    if not text:
        return WallClock()
    parts = [part.strip() for part in text.split(",")]
    start: datetime | None = None
    speed, since = 0.0, None
    try:
        if len(parts) <= 3:
            start = datetime.fromisoformat(parts[0].replace("Z", "+00:00"))
            speed = float(parts[1]) if len(parts) > 1 and parts[1] else 1.0
            since = float(parts[2]) if len(parts) > 2 and parts[2] else None
    except ValueError:
        start = None
    if start is None or start.tzinfo is None or not speed > 0:
        raise OrchestratorError(
            f"{CLOCK_ENV}={text!r} is not START[,SPEED[,SINCE]] (START an ISO-8601 time with a zone, SPEED a "
            f"positive factor, SINCE Unix seconds); e.g. {CLOCK_ENV}=2026-03-29T00:00:00Z,60")
    return FastClock(start.astimezone(UTC), speed, since)
