"""Clocks for the engine: real time, or a discrete-event virtual clock.

Every wait in the engine (Wait states, retry intervals, timeouts, integrations that poll) goes
through ``Clock.wait(event, timeout)``. The real clock just waits on the event. The virtual clock
lets simulated time jump to the earliest pending wake-up, but only when every live thread of the
execution is blocked in the clock: a Parallel branch still computing, or a task blocked in a real
integration, holds time still, so concurrent branches observe one consistent timeline.

Events that a blocked thread waits on must be ``ClockEvent``s made by the clock (``clock.event()``):
setting one tells the clock that its waiter is runnable again, before that thread gets scheduled,
so time never advances past a wake-up that is about to be handled.

>>> clock = VirtualClock()
>>> clock.sleep(3600.0)
True
>>> clock.elapsed()
3600.0
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol


class ClockEvent(threading.Event):
    """A ``threading.Event`` that wakes threads blocked in its clock when it is set."""

    def __init__(self, clock: Clock) -> None:
        super().__init__()
        self._clock = clock

    def set(self) -> None:
        super().set()
        self._clock.notify(self)


class Clock(Protocol):
    def now(self) -> datetime: ...

    def elapsed(self) -> float: ...

    def event(self) -> ClockEvent: ...

    def notify(self, event: threading.Event) -> None: ...

    def wait(self, event: threading.Event | None, timeout: float | None) -> bool:
        """Block until ``event`` is set (→ True) or ``timeout`` seconds pass (→ False)."""
        ...

    def sleep(self, seconds: float, cancel: threading.Event | None = None) -> bool:
        """Sleep; True when the full time passed, False when ``cancel`` was set first."""
        ...

    def thread_started(self) -> None: ...

    def thread_finished(self) -> None: ...

    def detach(self, thread_id: int) -> None:
        """Stop counting a live thread that nothing waits for any more (see ``VirtualClock``)."""
        ...


def start_thread(clock: Clock, target: Callable[[], None], *, name: str) -> threading.Thread:
    """Run ``target`` on a new daemon thread that ``clock`` counts as live until ``target`` ends.

    The one owner of the ``thread_started`` / ``thread_finished`` pairing: started before the
    thread exists (so virtual time cannot move on before the thread's first step), finished
    however ``target`` ends.

    >>> clock = VirtualClock()
    >>> done = clock.event()
    >>> start_thread(clock, lambda: clock.sleep(60) and done.set(), name="sleeper").join()
    >>> done.is_set(), clock.elapsed()
    (True, 60.0)
    """

    def run() -> None:
        try:
            target()
        finally:
            clock.thread_finished()

    clock.thread_started()
    thread = threading.Thread(target=run, name=name, daemon=True)
    try:
        thread.start()
    except BaseException:
        clock.thread_finished()
        raise
    return thread


class _IdleThreads:
    """Daemon threads kept after their work for the next target (real time only).

    A timed Task state runs its integration on a worker thread, and Parallel branches and Map
    iterations run on threads of their own; starting a thread for each costs the runner more
    CPU than handing the work to one that already runs. A thread waits ``IDLE_SECONDS`` for
    more work, then ends, so an idle runner keeps none. A target that never returns keeps its
    thread (the next target gets another one).
    """

    IDLE_SECONDS = 1.0

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._idle: list[_IdleThread] = []

    def run(self, target: Callable[[], None], name: str) -> None:
        with self._lock:
            worker = self._idle.pop() if self._idle else None
        if worker is None:
            worker = _IdleThread(self)
            worker.give(target, name)
            threading.Thread(target=worker.serve, name=name, daemon=True).start()
        else:
            worker.give(target, name)

    def park(self, worker: _IdleThread) -> None:
        with self._lock:
            self._idle.append(worker)

    def retire(self, worker: _IdleThread) -> bool:
        """Take an idle ``worker`` out of the pool; False if it was handed work meanwhile."""
        with self._lock:
            if worker in self._idle:
                self._idle.remove(worker)
                return True
            return False


class _IdleThread:
    __slots__ = ("_pool", "_ready", "_target", "_name")

    def __init__(self, pool: _IdleThreads) -> None:
        self._pool = pool
        self._ready = threading.Semaphore(0)
        self._target: Callable[[], None] | None = None
        self._name = ""

    def give(self, target: Callable[[], None], name: str) -> None:
        self._target, self._name = target, name
        self._ready.release()

    def serve(self) -> None:
        me = threading.current_thread()
        while True:
            if not self._ready.acquire(timeout=self._pool.IDLE_SECONDS):
                if self._pool.retire(self):
                    return
                self._ready.acquire()  # handed work just as it gave up waiting
            target, self._target = self._target, None
            assert target is not None
            me.name = self._name
            target()  # a target that raises ends this thread, as it would end a thread of its own
            self._pool.park(self)


_IDLE_THREADS = _IdleThreads()


def run_on_worker(clock: Clock, target: Callable[[], None], *, name: str) -> int | None:
    """Run ``target`` on another thread that ``clock`` counts as live until it ends, as
    ``start_thread`` does; the thread's id for ``clock.detach``, or None when the clock counts
    no threads (real time: an idle thread kept from an earlier target runs it)."""
    if isinstance(clock, RealClock):
        _IDLE_THREADS.run(target, name)
        return None
    return start_thread(clock, target, name=name).ident


class RealClock:
    """Wall-clock time; waits really block."""

    def __init__(self, start: datetime | None = None) -> None:
        self._t0 = time.monotonic()
        self._start = start or datetime.now(UTC)

    def now(self) -> datetime:
        return self._start + timedelta(seconds=time.monotonic() - self._t0)

    def elapsed(self) -> float:
        return time.monotonic() - self._t0

    def event(self) -> ClockEvent:
        return ClockEvent(self)

    def notify(self, event: threading.Event) -> None:
        return None

    def wait(self, event: threading.Event | None, timeout: float | None) -> bool:
        if event is None:
            if timeout is not None and timeout > 0:
                time.sleep(timeout)
            return False
        return event.wait(None if timeout is None else max(timeout, 0.0))

    def sleep(self, seconds: float, cancel: threading.Event | None = None) -> bool:
        return not self.wait(cancel, seconds)

    def thread_started(self) -> None:
        return None

    def thread_finished(self) -> None:
        return None

    def detach(self, thread_id: int) -> None:
        return None


class _Waiter:
    __slots__ = ("deadline", "event", "runnable", "thread")

    def __init__(self, deadline: float | None, event: threading.Event | None) -> None:
        self.deadline = deadline
        self.event = event
        self.runnable = False
        self.thread = threading.get_ident()


class VirtualClock:
    """Discrete-event simulated time.

    Threads that take part in an execution announce themselves with ``thread_started`` /
    ``thread_finished``. Time advances only when every live thread is blocked in ``wait``.

    A thread blocked *outside* the clock (an integration waiting on a real process) is busy, so
    it holds time still; that is what keeps a real job's ``TimeoutSeconds`` from firing while it
    runs. There is deliberately no real-time bound after which such a thread counts as idle: a
    local Batch job may rightly run for minutes under virtual time, and a bound would let time
    jump to its own deadline and time it out. Instead, once the engine stops waiting for a thread
    (a task abandoned by a timeout, a failed sibling or a stop), ``detach`` removes it from the
    count, so an integration that ignores ``call.cancel`` cannot freeze the rest of the
    execution; its later waits return at once and never move time.
    """

    def __init__(self, start: datetime | None = None) -> None:
        self._start = start or datetime.now(UTC)
        self._now = 0.0
        self._cond = threading.Condition()
        self._live = 0
        self._blocked = 0
        self._waiters: list[_Waiter] = []
        self._deadlines: list[tuple[float, int, _Waiter]] = []
        self._seq = itertools.count()
        self._detached: set[int] = set()

    def now(self) -> datetime:
        return self._start + timedelta(seconds=self._now)

    def elapsed(self) -> float:
        return self._now

    def event(self) -> ClockEvent:
        return ClockEvent(self)

    def notify(self, event: threading.Event) -> None:
        with self._cond:
            for w in self._waiters:
                if w.event is event and not w.runnable:
                    w.runnable = True
                    self._blocked -= 1
            self._cond.notify_all()

    def thread_started(self) -> None:
        with self._cond:
            self._live += 1

    def thread_finished(self) -> None:
        with self._cond:
            me = threading.get_ident()
            if me in self._detached:  # no longer counted since ``detach``
                self._detached.discard(me)
                return
            self._live -= 1
            self._advance()
            self._cond.notify_all()

    def detach(self, thread_id: int) -> None:
        """Stop counting live thread ``thread_id`` (started, not yet finished); nobody waits for it.

        Call it at most once per thread, and only before the thread's ``thread_finished``.
        """
        with self._cond:
            self._detached.add(thread_id)
            self._live -= 1
            for w in self._waiters:
                if w.thread == thread_id and not w.runnable:
                    w.runnable = True
                    self._blocked -= 1
            self._advance()
            self._cond.notify_all()

    def _advance(self) -> None:
        """Jump to the earliest deadline when every live thread is blocked (lock held)."""
        if self._blocked < self._live:
            return
        while self._deadlines:
            deadline, _, waiter = self._deadlines[0]
            if waiter.runnable or waiter not in self._waiters:
                heapq.heappop(self._deadlines)
                continue
            break
        else:
            return
        self._now = max(self._now, deadline)
        while self._deadlines and self._deadlines[0][0] <= self._now:
            _, _, waiter = heapq.heappop(self._deadlines)
            if not waiter.runnable and waiter in self._waiters:
                waiter.runnable = True
                self._blocked -= 1
        self._cond.notify_all()

    def wait(self, event: threading.Event | None, timeout: float | None) -> bool:
        with self._cond:
            if event is not None and event.is_set():
                return True
            if timeout is not None and timeout <= 0 or threading.get_ident() in self._detached:
                return False
            deadline = None if timeout is None else self._now + timeout
            waiter = _Waiter(deadline, event)
            self._waiters.append(waiter)
            if deadline is not None:
                heapq.heappush(self._deadlines, (deadline, next(self._seq), waiter))
            self._blocked += 1
            try:
                while True:
                    if event is not None and event.is_set():
                        return True
                    if waiter.thread in self._detached:
                        return False
                    if waiter.runnable and deadline is not None and self._now >= deadline:
                        return False
                    if waiter.runnable and (event is None or not event.is_set()):
                        # Woken by a notify for another reason; block again.
                        waiter.runnable = False
                        self._blocked += 1
                    self._advance()
                    if waiter.runnable:
                        continue
                    # The timeout is only a guard against a lost notification.
                    self._cond.wait(1.0)
            finally:
                if not waiter.runnable:
                    self._blocked -= 1
                self._waiters.remove(waiter)

    def sleep(self, seconds: float, cancel: threading.Event | None = None) -> bool:
        return not self.wait(cancel, seconds)


class BoundClock:
    """A clock whose ``sleep`` honours one cancel event by default: the one a task gets.

    ``TaskCall.clock.sleep(30)`` returns ``False`` early when the task is abandoned (timeout,
    failed sibling branch, execution stopped), so integrations that poll need no extra wiring.
    """

    def __init__(self, clock: Clock, cancel: threading.Event) -> None:
        self._clock = clock
        self.cancel = cancel

    def now(self) -> datetime:
        return self._clock.now()

    def elapsed(self) -> float:
        return self._clock.elapsed()

    def event(self) -> ClockEvent:
        return self._clock.event()

    def notify(self, event: threading.Event) -> None:
        self._clock.notify(event)

    def wait(self, event: threading.Event | None, timeout: float | None) -> bool:
        return self._clock.wait(event, timeout)

    def sleep(self, seconds: float, cancel: threading.Event | None = None) -> bool:
        return self._clock.sleep(seconds, self.cancel if cancel is None else cancel)

    def thread_started(self) -> None:
        self._clock.thread_started()

    def thread_finished(self) -> None:
        self._clock.thread_finished()

    def detach(self, thread_id: int) -> None:
        self._clock.detach(thread_id)
