"""The virtual clock: time advances only when every live thread is blocked in it."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from orchestrator.engine.clock import RealClock, VirtualClock
from orchestrator.engine.retry import delay, matches


def spin_until(condition: Callable[[], bool]) -> None:
    """Yield the CPU (no real sleep) until ``condition`` holds."""
    deadline = time.monotonic() + 5
    while not condition():
        assert time.monotonic() < deadline, "condition never held"
        time.sleep(0)


def test_sleep_jumps_at_once() -> None:
    clock = VirtualClock()
    t = time.perf_counter()
    assert clock.sleep(86_400.0) is True
    assert clock.elapsed() == 86_400.0
    assert time.perf_counter() - t < 0.5


def test_threads_wake_in_deadline_order_and_time_waits_for_busy_threads() -> None:
    clock = VirtualClock()
    order: list[tuple[str, float]] = []
    busy = threading.Event()
    release = threading.Event()

    def sleeper(name: str, seconds: float) -> None:
        try:
            clock.sleep(seconds)
            order.append((name, clock.elapsed()))
        finally:
            clock.thread_finished()

    def worker() -> None:
        try:
            busy.set()
            release.wait(5)  # busy outside the clock: virtual time must not move
            order.append(("worker", clock.elapsed()))
        finally:
            clock.thread_finished()

    threads = [threading.Thread(target=sleeper, args=("late", 20.0)),
               threading.Thread(target=sleeper, args=("early", 5.0)),
               threading.Thread(target=worker)]
    for _ in threads:
        clock.thread_started()
    for t in threads:
        t.start()
    assert busy.wait(5)
    spin_until(lambda: clock._blocked == 2)  # both sleepers are parked in the clock
    assert order == [] and clock.elapsed() == 0.0
    release.set()
    for t in threads:
        t.join(5)
    assert order == [("worker", 0.0), ("early", 5.0), ("late", 20.0)]


def test_event_set_wakes_a_waiter_before_its_deadline() -> None:
    clock = VirtualClock()
    event = clock.event()
    result: list[bool] = []

    def waiter() -> None:
        try:
            result.append(clock.wait(event, 100.0))
        finally:
            clock.thread_finished()

    clock.thread_started()  # the waiter
    clock.thread_started()  # this thread, busy until it sets the event
    t = threading.Thread(target=waiter)
    t.start()
    spin_until(lambda: clock._blocked == 1)
    event.set()
    clock.thread_finished()
    t.join(5)
    assert result == [True] and clock.elapsed() == 0.0


def test_real_clock_cancelled_sleep_returns_false() -> None:
    clock = RealClock()
    cancel = clock.event()
    cancel.set()
    assert clock.sleep(10.0, cancel) is False


def test_error_matching_and_backoff() -> None:
    assert matches(["States.ALL"], "Anything")
    assert not matches(["States.ALL"], "States.Runtime")
    assert not matches(["States.Runtime"], "States.Runtime")  # as AWS recorded
    assert not matches(["States.TaskFailed"], "States.HeartbeatTimeout")
    assert matches(["States.Timeout"], "States.HeartbeatTimeout")
    assert [delay({"IntervalSeconds": 1}, n) for n in range(4)] == [1.0, 2.0, 4.0, 8.0]
    assert delay({"IntervalSeconds": 3, "BackoffRate": 1}, 5) == 3.0
