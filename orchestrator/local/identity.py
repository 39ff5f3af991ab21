"""Which task a Task-state call is: its state name inside every enclosing Map iteration.

Redrive returns a stored result instead of running a task again, so each stored result needs a
key that is the same on every run and different for every distinct task. The state name alone is
not enough: inside a Map each iteration runs the same states, and Maps nest. ``$$.Map.Item`` does
not help either — AWS (and the engine) expose it only to ``ItemSelector``, not to the states of
an iteration — so the iteration path is read from the execution history instead:

* ``MapIterationStarted`` (``name``, ``index``) opens a path component ``name[index]``; every
  event inherits the path of the event its ``previousEventId`` names, and the iteration's end
  event closes the component again.
* Some events of a Map or Parallel state point into its branches, as on AWS: after it succeeds,
  ``…StateSucceeded`` and ``…StateExited`` point at the newest event of its branches; after a
  branch fails, ``…StateFailed`` and a retry's ``…StateStarted`` point at the failing branch's
  last state event (inside that iteration, whose ``name[index]`` is still open). Those events,
  and an event whose ``previousEventId`` is 0 (``ExecutionStarted`` and the first state's
  Entered event), take instead the path of the last event the same thread recorded, which is the
  Map/Parallel's own (the engine records a state's events on the thread that runs the state; an
  iteration run on that thread ends with its ``MapIteration…`` event, which closes its
  component again), or the top level when the thread has recorded nothing yet.
* ``TaskScheduled`` carries the call's parameters; the integration is then called either on the
  same thread or on a worker thread. A call is matched to the scheduled entry of its own thread
  first, else to the oldest one of the same state with equal parameters. Two concurrent calls
  with the same state name and equal parameters in different iterations are interchangeable, so
  either match keeps "completed tasks are not run again" true.

A call that cannot be placed (inside a DISTRIBUTED Map, whose child workflows record their events
elsewhere) gets no key: it always runs, and is never stored or replayed.

    >>> ids = TaskIdentity()
    >>> ids.observe({"id": 1, "previousEventId": 0, "type": "MapIterationStarted",
    ...              "mapIterationStartedEventDetails": {"name": "Fan", "index": 2}})
    >>> ids.observe({"id": 2, "previousEventId": 1, "type": "TaskStateEntered",
    ...              "stateEnteredEventDetails": {"name": "work"}})
    >>> ids.observe({"id": 3, "previousEventId": 2, "type": "TaskScheduled",
    ...              "taskScheduledEventDetails": {"parameters": "{\\"n\\": 2}"}})
    >>> ids.claim("work", {"n": 2})
    'Fan[2]/work'
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

_ITERATION_END = ("MapIterationSucceeded", "MapIterationFailed", "MapIterationAborted")
# Events of a Map/Parallel state whose previousEventId may point inside one of its branches.
_JOINS = ("MapStateStarted", "MapStateSucceeded", "MapStateFailed", "MapStateAborted", "MapStateExited",
          "ParallelStateStarted", "ParallelStateSucceeded", "ParallelStateFailed", "ParallelStateAborted",
          "ParallelStateExited")
_SCHEDULED = {"TaskScheduled": ("taskScheduledEventDetails", "parameters"),
              "LambdaFunctionScheduled": ("lambdaFunctionScheduledEventDetails", "input")}


@dataclass(slots=True)
class _Scheduled:
    thread: int
    path: tuple[str, ...]
    text: Any  # the parameters as the event recorded them (JSON text), parsed only to match another thread's call

    def parameters(self) -> Any:
        if not isinstance(self.text, str):
            return self.text
        try:
            return json.loads(self.text)
        except ValueError:
            return self.text


class TaskIdentity:
    """Follows one execution's history events and names each Task call by its iteration path."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._path_of: dict[int, tuple[str, ...]] = {0: ()}
        self._state_of: dict[int, str] = {}
        self._pending: dict[str, list[_Scheduled]] = {}
        self._local = threading.local()

    def observe(self, event: Mapping[str, Any]) -> None:
        """Record one history event (called on the thread that recorded it, in order)."""
        kind = str(event.get("type", ""))
        event_id = int(event.get("id", 0))
        previous = int(event.get("previousEventId") or 0)
        with self._lock:
            inherited = self._path_of.get(previous, ())
            state = self._state_of.get(previous)
            if kind == "MapIterationStarted":
                details = event.get("mapIterationStartedEventDetails") or {}
                path = (*inherited, f"{details.get('name')}[{details.get('index')}]")
            elif kind in _ITERATION_END:
                details = event.get(kind[0].lower() + kind[1:] + "EventDetails") or {}
                component = f"{details.get('name')}[{details.get('index')}]"
                path = inherited[:inherited.index(component)] if component in inherited else inherited[:-1]
            elif kind in _JOINS or previous == 0:
                path = getattr(self._local, "path", ())
            else:
                path = inherited
            if kind.endswith("StateEntered"):
                state = str((event.get("stateEnteredEventDetails") or {}).get("name"))
            self._path_of[event_id] = path
            if state is not None:
                self._state_of[event_id] = state
            if kind in _SCHEDULED and state is not None:
                key, field = _SCHEDULED[kind]
                text = (event.get(key) or {}).get(field)
                self._pending.setdefault(state, []).append(_Scheduled(threading.get_ident(), path, text))
        self._local.path = path

    def claim(self, state_name: str, parameters: Any) -> str | None:
        """The key of a call about to run (``Outer[1]/Inner[0]/state``), or None if unknown."""
        me = threading.get_ident()
        with self._lock:
            entries = self._pending.get(state_name) or []
            # The newest entry of this thread: the call runs on the thread that scheduled it.
            pick = next((i for i in range(len(entries) - 1, -1, -1) if entries[i].thread == me), None)
            if pick is None:
                pick = next((i for i, e in enumerate(entries) if e.parameters() == parameters), None)
            if pick is None and len(entries) == 1:
                pick = 0
            if pick is None:
                return None
            entry = entries.pop(pick)
        return "/".join((*entry.path, state_name))
