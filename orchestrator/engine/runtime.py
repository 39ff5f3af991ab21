"""Shared runtime objects of one execution: the ``Runtime`` and the per-branch ``Scope``.

A ``Scope`` is one thread of control: the top-level state machine, a Parallel branch or a Map
iteration. It holds that branch's variables (a copy of the outer ones, so assignments inside
never leak outward), the id of the last history event on the branch (for ``previousEventId``),
and a cancel event set when the branch is abandoned: the execution stopped or timed out, or a
sibling branch failed. Cancellation propagates to child scopes and to running tasks.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from orchestrator.engine.clock import Clock, ClockEvent
from orchestrator.engine.history import History
from orchestrator.engine.integrations import Integration

if TYPE_CHECKING:
    from orchestrator.engine.states import Handler


class Cancelled(Exception):
    """The branch was abandoned; unwinds it without recording a failure."""


def iso_time(t: datetime) -> str:
    """Timestamps as AWS writes them in the context object: ``2024-01-01T00:00:00.000Z``."""
    t = t.astimezone(UTC)
    if t.year < 1000:  # strftime's year is not zero-padded there, isoformat's is
        return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"
    return t.isoformat(timespec="milliseconds")[:-6] + "Z"  # "+00:00" → "Z"; a third of strftime's cost


@dataclass(eq=False)
class Scope:
    variables: dict[str, Any]
    previous: int
    cancel: ClockEvent
    parent: Scope | None = None
    children: list[Scope] = field(default_factory=list)
    extra_events: list[threading.Event] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def child(self, clock: Clock, previous: int, variables: dict[str, Any] | None = None) -> Scope:
        scope = Scope(variables=dict(self.variables) if variables is None else variables,
                      previous=previous, cancel=clock.event(), parent=self)
        with self.lock:
            self.children.append(scope)
            cancelled = self.cancel.is_set()
        if cancelled:
            scope.abandon()
        return scope

    def release(self, child: Scope) -> None:
        with self.lock:
            if child in self.children:
                self.children.remove(child)

    def watch(self, event: threading.Event) -> None:
        """Also set ``event`` when this scope is abandoned (a task's cancel or wake-up event)."""
        with self.lock:
            self.extra_events.append(event)
            cancelled = self.cancel.is_set()
        if cancelled:
            event.set()

    def unwatch(self, event: threading.Event) -> None:
        with self.lock:
            if event in self.extra_events:
                self.extra_events.remove(event)

    def abandon(self) -> None:
        with self.lock:
            children = list(self.children)
            extra = list(self.extra_events)
        self.cancel.set()
        for e in extra:
            e.set()
        for c in children:
            c.abandon()

    @property
    def cancelled(self) -> bool:
        return self.cancel.is_set()

    def check(self) -> None:
        if self.cancel.is_set():
            raise Cancelled()


@dataclass(eq=False)
class Runtime:
    """Everything an execution's states share."""

    clock: Clock
    history: History
    integrations: Mapping[str, Integration]
    execution_arn: str
    execution_name: str
    state_machine_arn: str
    state_machine_name: str
    role_arn: str
    start_time: datetime
    input: Any
    # The state-type table (``interpreter.HANDLERS``): passed in rather than imported, because
    # the handlers themselves run nested machines through ``states.run_machine``.
    handlers: Mapping[str, Handler]
    express: bool = False
    rng: random.Random = field(default_factory=random.Random)
    # Step Functions Local's WAIT_TIME_SCALE: Wait states and retry intervals last this many
    # times their stated time (0: no waiting); task and execution timeouts are not scaled.
    wait_time_scale: float = 1.0
    tokens: dict[str, Callable[[str, Any], None]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    # Events of distributed Map child executions: ``(child_execution_arn, event)``.
    on_child_event: Callable[[str, Mapping[str, Any]], None] | None = None
    # ``start_time`` with its ``iso_time`` text, made on first use (every state's context has it).
    _start_iso: tuple[datetime, str] | None = field(default=None, init=False, repr=False)

    def history_last(self) -> int:
        return len(self.history)

    def context(self, state_name: str, entered: datetime | str, retry_count: int | None = 0,
                extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The ``$$`` context object of a state; ``entered`` as a datetime or as ``iso_time`` gave it."""
        start = self._start_iso
        if start is None or start[0] is not self.start_time:
            start = self._start_iso = (self.start_time, iso_time(self.start_time))
        ctx: dict[str, Any] = {
            "Execution": {
                "Id": self.execution_arn,
                "Input": self.input,
                "Name": self.execution_name,
                "RoleArn": self.role_arn,
                "StartTime": start[1],
                "RedriveCount": 0,
            },
            "State": {"EnteredTime": entered if isinstance(entered, str) else iso_time(entered), "Name": state_name},
            "StateMachine": {"Id": self.state_machine_arn, "Name": self.state_machine_name},
        }
        if self.express:
            del ctx["Execution"]["RedriveCount"]  # EXPRESS executions cannot be redriven
        if retry_count is not None:
            ctx["State"]["RetryCount"] = retry_count
        if extra:
            ctx.update(extra)
        return ctx
