"""The virtual clock: time advances only when every live thread is blocked in it."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from orchestrator.engine import TaskCall, TaskFailure, start
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


# --- integrations that ignore cancel ------------------------------------------------------------

def _stubborn(release: threading.Event, called: threading.Event | None = None) -> Callable[[TaskCall], Any]:
    """An integration that ignores ``call.cancel`` and blocks outside the clock until released;
    ``FunctionName: "boom"`` fails once the stubborn one is running."""
    def integration(call: TaskCall) -> Any:
        if call.parameters.get("FunctionName") == "boom":
            assert called is not None and called.wait(10)
            raise TaskFailure("Boom", "sibling failed")
        if called is not None:
            called.set()
        release.wait(30)
        return "late"
    return integration


def test_an_abandoned_integration_that_ignores_cancel_does_not_freeze_virtual_time() -> None:
    release, called = threading.Event(), threading.Event()
    task = {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Parameters": {"FunctionName": "stuck"},
            "TimeoutSeconds": 7200, "End": True}
    boom = {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Parameters": {"FunctionName": "boom"},
            "End": True}
    definition = {"StartAt": "P", "States": {
        "P": {"Type": "Parallel", "Next": "Done", "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Cool"}],
              "Branches": [{"StartAt": "Boom", "States": {"Boom": boom}},
                           {"StartAt": "Stuck", "States": {"Stuck": task}}]},
        "Cool": {"Type": "Wait", "Seconds": 3600, "Next": "Done"},
        "Done": {"Type": "Succeed"}}}
    try:
        execution = start(definition, virtual_time=True,
                          integrations={"lambda:invoke": _stubborn(release, called)})
        # Before: the stuck worker counted as busy forever, so the Wait never ended.
        run = execution.wait(10)
        assert run.status == "SUCCEEDED"
        assert run.stop_time is not None and run.start_time is not None
        assert (run.stop_time - run.start_time).total_seconds() >= 3600
    finally:
        release.set()


def test_a_running_integration_holds_virtual_time_until_it_returns_or_is_stopped() -> None:
    """By design a task busy outside the clock is not timed out in virtual time (a real job under
    virtual time must not be); StopExecution still ends such an execution at once."""
    release = threading.Event()
    task = {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Parameters": {},
            "TimeoutSeconds": 60, "End": True}
    definition = {"StartAt": "Stuck", "States": {"Stuck": task}}
    try:
        execution = start(definition, virtual_time=True, integrations={"lambda:invoke": _stubborn(release)})
        spin_until(lambda: any(e["type"] == "TaskStarted" for e in execution.history))
        with pytest.raises(TimeoutError):
            execution.wait(0.2)
        execution.stop("Ops.Stop", "stuck")
        run = execution.wait(10)
        assert (run.status, run.error) == ("ABORTED", "Ops.Stop")
    finally:
        release.set()


def test_detached_thread_no_longer_holds_time_and_its_waits_return_at_once() -> None:
    clock = VirtualClock()
    release = threading.Event()
    ident: list[int] = []

    def busy() -> None:
        ident.append(threading.get_ident())
        release.wait(30)  # blocked outside the clock
        assert clock.wait(clock.event(), 100.0) is False  # detached: returns at once, time unmoved
        clock.thread_finished()

    clock.thread_started()
    threading.Thread(target=busy, daemon=True).start()
    spin_until(lambda: bool(ident))
    clock.thread_started()
    done = threading.Event()

    def sleeper() -> None:
        clock.sleep(50.0)
        done.set()
        clock.thread_finished()

    threading.Thread(target=sleeper, daemon=True).start()
    assert not done.wait(0.2) and clock.elapsed() == 0.0  # the busy thread holds time still
    clock.detach(ident[0])
    assert done.wait(5) and clock.elapsed() == 50.0
    release.set()


def test_start_thread_stops_counting_a_thread_whose_target_raised(monkeypatch: pytest.MonkeyPatch) -> None:
    from orchestrator.engine.clock import start_thread

    raised: list[BaseException | None] = []
    monkeypatch.setattr(threading, "excepthook", lambda args: raised.append(args.exc_value))
    clock = VirtualClock()

    def boom() -> None:
        raise RuntimeError("integration bug")

    start_thread(clock, boom, name="boom").join(5)
    # Were the raising thread still counted as live, virtual time could never pass 10 s here.
    sleeper = start_thread(clock, lambda: clock.sleep(10), name="sleeper")
    sleeper.join(5)
    assert not sleeper.is_alive() and clock.elapsed() == 10
    assert [str(e) for e in raised] == ["integration bug"]


def test_real_clock_workers_reuse_an_idle_thread_and_never_queue_behind_a_busy_one() -> None:
    from orchestrator.engine import clock as clock_module
    from orchestrator.engine.clock import run_on_worker

    clock = RealClock()
    seen: list[int] = []
    done = [threading.Event() for _ in range(3)]

    def record(i: int) -> None:
        seen.append(threading.get_ident())
        done[i].set()

    assert run_on_worker(clock, lambda: record(0), name="first") is None  # real time counts no threads
    assert done[0].wait(10)
    deadline = time.monotonic() + 10
    while not clock_module._IDLE_THREADS._idle:  # the first thread parks once its target returned
        assert time.monotonic() < deadline
        time.sleep(0.001)
    run_on_worker(clock, lambda: record(1), name="second")
    assert done[1].wait(10)
    release = threading.Event()
    run_on_worker(clock, lambda: release.wait(10), name="busy")  # holds whichever thread it got
    run_on_worker(clock, lambda: record(2), name="third")
    assert done[2].wait(10)  # ran beside the busy target, not after it
    release.set()
    assert len(seen) == 3 and seen[0] == seen[1]
