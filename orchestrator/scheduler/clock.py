"""The scheduler's clocks: the wall clock, a fast clock for tests with real processes, and a
virtual one that jumps straight to the next wake-up.

The scheduler only asks two things of a clock: what time it is, and to sleep until an instant
unless woken. Sleeping is one ``Event.wait`` with the time left, so an idle scheduler costs no
CPU however many schedules it holds.

``ORCHESTRATOR_SCHEDULER_CLOCK=START[,SPEED]`` (START ISO-8601 with a zone, SPEED a factor,
default 1) makes ``orchestrator serve``'s scheduler start its clock at START and run SPEED times
as fast as the wall clock, so a test with real processes sees hours of fires in seconds.

    >>> clock = clock_from_env({"ORCHESTRATOR_SCHEDULER_CLOCK": "2026-03-29T00:00:00Z,60"})
    >>> clock.now() >= datetime(2026, 3, 29, tzinfo=UTC)
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
    """The wall clock's pace times ``speed``, from ``start`` (default: now at 1x, the wall clock)."""

    def __init__(self, start: datetime | None = None, speed: float = 1.0) -> None:
        self._start = start if start is not None else datetime.now(UTC)
        self._t0 = time.monotonic()
        self.speed = speed

    def now(self) -> datetime:
        return self._start + timedelta(seconds=(time.monotonic() - self._t0) * self.speed)

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
    start_text, _, speed_text = text.partition(",")
    try:
        start = datetime.fromisoformat(start_text.strip().replace("Z", "+00:00"))
        speed = float(speed_text) if speed_text.strip() else 1.0
    except ValueError:
        start, speed = None, 0.0
    if start is None or start.tzinfo is None or not speed > 0:
        raise OrchestratorError(
            f"{CLOCK_ENV}={text!r} is not START[,SPEED] (START an ISO-8601 time with a zone, SPEED a "
            f"positive factor); e.g. {CLOCK_ENV}=2026-03-29T00:00:00Z,60")
    return FastClock(start.astimezone(UTC), speed)
