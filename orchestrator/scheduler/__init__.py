"""EventBridge Scheduler semantics on this machine: fire times, catch-up, overlap, backfill.

``Scheduler`` runs inside ``orchestrator serve`` and fires the schedule of every served workflow;
``fires`` says what one fire is (its name, scheduled time and window offset); ``backfill`` starts
one execution per fire of a past range; ``clock`` holds the clocks it runs on.
"""

from __future__ import annotations

from orchestrator.scheduler.clock import FastClock, SchedulerClock, VirtualClock, WallClock, clock_from_env
from orchestrator.scheduler.core import ExecutionService, Scheduler
from orchestrator.scheduler.fires import execution_name, scheduled_time, window_offset

__all__ = [
    "ExecutionService", "FastClock", "Scheduler", "SchedulerClock", "VirtualClock", "WallClock",
    "clock_from_env", "execution_name", "scheduled_time", "window_offset",
]
