"""Execution history in the shape of GetExecutionHistory's ``events``.

Each event is ``{"id", "previousEventId", "timestamp", "type", "<camelType>EventDetails"}``;
ids count from 1 in the order events happen, and ``previousEventId`` points at the event that
came before it on the same branch of control, as AWS numbers them (checked against histories
recorded on AWS): the first state's Entered event points at 0, not at ``ExecutionStarted``; a
Parallel branch's first event points at its ``ParallelStateStarted``; after a Parallel or Map
succeeds, both ``…StateSucceeded`` and ``…StateExited`` point at the newest event of its own
branches; after it fails, ``…StateFailed`` (or a retry's ``…StateStarted``) points at the last
state event of the failing branch. A distributed Map's child executions have histories of
their own (``concurrency._run_distributed``).

>>> h = History(lambda: datetime(2024, 1, 1, tzinfo=UTC))
>>> h.add("ExecutionStarted", 0, {"input": "{}", "inputDetails": {"truncated": False}})
1
>>> h.events[0]["executionStartedEventDetails"]["input"]
'{}'
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

# GetExecutionHistory names the details field after the event type, except for these.
_DETAILS_KEY = {
    "PassStateEntered": "stateEnteredEventDetails",
    "PassStateExited": "stateExitedEventDetails",
}
_NO_DETAILS = frozenset({
    "ParallelStateStarted", "ParallelStateSucceeded", "ParallelStateAborted", "MapStateSucceeded",
    "MapStateAborted", "LambdaFunctionStarted", "WaitStateAborted", "ParallelStateFailed",
    "MapStateFailed", "MapRunSucceeded",
})

def details_key(event_type: str) -> str:
    if event_type.endswith("StateEntered"):
        return "stateEnteredEventDetails"
    if event_type.endswith("StateExited"):
        return "stateExitedEventDetails"
    if event_type.startswith("MapIteration"):
        return event_type[0].lower() + event_type[1:] + "EventDetails"
    return _DETAILS_KEY.get(event_type, event_type[0].lower() + event_type[1:] + "EventDetails")


class History:
    """Thread-safe, append-only event list; events after the terminal one are dropped."""

    def __init__(self, now: Callable[[], datetime],
                 on_event: Callable[[Mapping[str, Any]], None] | None = None) -> None:
        self._now = now
        # Re-entrant: an on_event callback may read the history while an event is being added.
        self._lock = threading.RLock()
        self._closed = False
        self.events: list[dict[str, Any]] = []
        self._on_event = on_event

    def add(self, event_type: str, previous: int, details: Mapping[str, Any] | None = None,
            *, final: bool = False, at: datetime | None = None) -> int:
        """Append an event stamped now, or ``at`` (``ExecutionStarted`` carries the execution's
        start time, the instant ``$$.Execution.StartTime`` gives, as on AWS)."""
        with self._lock:
            if self._closed:
                return previous
            event: dict[str, Any] = {
                "id": len(self.events) + 1,
                "previousEventId": previous,
                "timestamp": (self._now() if at is None else at).astimezone(UTC),
                "type": event_type,
            }
            if details is not None and event_type not in _NO_DETAILS:
                event[details_key(event_type)] = {k: v for k, v in details.items() if v is not None}
            self.events.append(event)
            if final:
                self._closed = True
            # Delivered under the lock so that listeners see events in id order even when
            # Parallel branches and Map iterations add them concurrently.
            if self._on_event is not None:
                self._on_event(event)
            return int(event["id"])

    @property
    def closed(self) -> bool:
        return self._closed

    def __len__(self) -> int:
        return len(self.events)
