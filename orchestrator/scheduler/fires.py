"""What one fire is: its scheduled time, its execution name, its flexible-window offset, and
which missed fires a catch-up starts. Pure functions of the schedule and the time, so every
scheduler process (and ``backfill``) computes the same answers.

    >>> from datetime import UTC, datetime
    >>> when = datetime(2026, 3, 29, 1, 0, tzinfo=UTC)
    >>> execution_name("nightly-sales", when)
    'nightly-sales-20260329T010000Z'
    >>> scheduled_time(when)
    '2026-03-29T01:00:00Z'
"""

from __future__ import annotations

import hashlib
from collections import deque
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from orchestrator import logical_time, model
from orchestrator.limits import EXECUTION_NAME_MAX
from orchestrator.logical_time import format_scheduled_time

# EventBridge Scheduler invokes within the minute of a fire (60-second precision): a fire started
# later than this after its time (plus its window offset) was missed, not merely late.
ON_TIME = timedelta(seconds=60)
_STAMP = "%Y%m%dT%H%M%SZ"


def scheduled_time(when: datetime) -> str:
    """The ``scheduled_time`` an execution's input carries (``logical_time``'s one format: ISO-8601
    UTC to the second, as EventBridge Scheduler's ``<aws.scheduler.scheduled-time>``)."""
    return format_scheduled_time(when)


def parse_scheduled_time(text: str) -> datetime:
    """The inverse of :func:`scheduled_time`.

    >>> parse_scheduled_time("2026-03-29T01:00:00Z").isoformat()
    '2026-03-29T01:00:00+00:00'
    """
    return logical_time.parse_scheduled_time(text)


def execution_name(workflow: str, when: datetime) -> str:
    """The execution name of ``workflow``'s fire at ``when``: ``<workflow>-<UTC stamp>``, the
    workflow cut so the whole fits Step Functions' 80 characters. Names are unique per state
    machine, so starting a fire twice is refused (ExecutionAlreadyExists) rather than run twice.

    >>> len(execution_name("w" * 100, datetime(2026, 1, 1, tzinfo=UTC)))
    80
    """
    stamp = when.astimezone(UTC).strftime(_STAMP)
    return f"{workflow[: EXECUTION_NAME_MAX - len(stamp) - 1]}-{stamp}"


def window_offset(workflow: str, schedule: model.Schedule, when: datetime) -> timedelta:
    """How long after ``when`` this fire starts within the schedule's flexible window.

    EventBridge picks a random moment in the window; here it is a hash of the workflow, the
    expression and the fire time, so a restarted scheduler (or a second one) picks the same.

    >>> s = model.Schedule(expression="rate(1 hour)", flexible_window=15)
    >>> t = datetime(2026, 1, 1, tzinfo=UTC)
    >>> window_offset("w", s, t) == window_offset("w", s, t) < timedelta(minutes=15)
    True
    """
    if not schedule.flexible_window:
        return timedelta(0)
    key = f"{workflow}\0{schedule.expression}\0{schedule.timezone}\0{scheduled_time(when)}"
    digest = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big")
    return timedelta(seconds=digest % (schedule.flexible_window * 60))


def catch_up(schedule: model.Schedule, missed: Iterable[datetime], now: datetime) -> list[datetime]:
    """Which of the ``missed`` fires (oldest first) to start now, per ``schedule.catch_up``: none,
    the latest, or all — never one older than ``starting_deadline``, at most ``catch_up_limit``
    (the most recent ones).

    >>> s = model.Schedule(expression="rate(1 hour)", catch_up="all", catch_up_limit=2)
    >>> hours = [datetime(2026, 1, 1, h, tzinfo=UTC) for h in range(5)]
    >>> [t.hour for t in catch_up(s, hours, datetime(2026, 1, 1, 6, tzinfo=UTC))]
    [3, 4]
    """
    if schedule.catch_up == "none":
        return []
    limit = 1 if schedule.catch_up == "latest" else schedule.catch_up_limit
    recent: deque[datetime] = deque(maxlen=limit)
    oldest = None if schedule.starting_deadline is None else now - timedelta(seconds=schedule.starting_deadline)
    for when in missed:
        if oldest is None or when >= oldest:
            recent.append(when)
    return list(recent)
