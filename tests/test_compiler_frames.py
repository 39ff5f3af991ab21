"""The interpreter settings the compiler's passes run under: set for the block, restored after it."""

from __future__ import annotations

import gc
import sys

import pytest

from orchestrator.compiler import frames


def test_paused_gc_restores_the_collector_even_when_the_block_raises() -> None:
    assert gc.isenabled()
    with pytest.raises(RuntimeError), frames.paused_gc():
        assert not gc.isenabled()
        raise RuntimeError("boom")
    assert gc.isenabled()


def test_paused_gc_leaves_a_paused_collector_paused() -> None:
    gc.disable()
    try:
        with frames.paused_gc():
            pass
        assert not gc.isenabled()  # the outer pause (compile_workflow's) is not ended by an inner one
    finally:
        gc.enable()


def test_recursion_limit_only_lifts_and_restores() -> None:
    before = sys.getrecursionlimit()
    with frames.recursion_limit(before + 1234):
        assert sys.getrecursionlimit() == before + 1234
        with frames.recursion_limit(10):  # never lowered
            assert sys.getrecursionlimit() == before + 1234
        assert sys.getrecursionlimit() == before + 1234
    assert sys.getrecursionlimit() == before


def test_a_deep_chain_decomposes_without_touching_the_callers_limit() -> None:
    from orchestrator.compiler.decompose import decompose

    before = sys.getrecursionlimit()
    tasks = [f"t{i}" for i in range(3000)]
    node = decompose(tasks, {t: [tasks[i - 1]] for i, t in enumerate(tasks) if i}, {})
    assert node is not None
    assert sys.getrecursionlimit() == before and gc.isenabled()


def test_examples_in_docstrings() -> None:
    import doctest

    assert doctest.testmod(frames).failed == 0


# -- Beside: the second core ----------------------------------------------------------------

@pytest.fixture
def forking(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fork where the machine can. Other tests of the session may leave idle daemon threads
    behind (which keep every compile serial); these tests fork only for the compiler's own
    pure-Python work, so such threads are let be."""
    if not frames._can_fork():
        pytest.skip("needs os.fork and two CPUs")
    monkeypatch.setattr(frames, "_may_fork", frames._can_fork)


def test_beside_hands_back_what_the_child_computed(forking: None) -> None:
    beside = frames.Beside.start(lambda: b"x" * 300_000)  # more than a pipe holds at once
    assert beside is not None
    assert beside.result() == b"x" * 300_000
    beside.close()  # after result(): nothing left to stop


def test_beside_reports_a_failed_child_as_none(forking: None) -> None:
    def boom() -> bytes:
        raise RuntimeError("the child fails")

    beside = frames.Beside.start(boom)
    assert beside is not None
    assert beside.result() is None


def test_beside_close_stops_and_reaps_a_child_still_working(forking: None) -> None:
    import os
    import time

    beside = frames.Beside.start(lambda: (time.sleep(60), b"")[1])
    assert beside is not None
    pid = beside._pid
    assert pid is not None
    beside.close()
    with pytest.raises(ChildProcessError):  # reaped: no zombie left behind
        os.waitpid(pid, os.WNOHANG)


def test_beside_does_not_fork_beside_another_thread() -> None:
    import threading

    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        assert not frames._may_fork()
        assert frames.Beside.start(lambda: b"") is None
    finally:
        stop.set()
        thread.join()


def _layered(n: int, seed: int) -> tuple[list[str], dict[str, list[str]], dict[str, float]]:
    import random

    rng = random.Random(seed)
    tasks = [f"t{i}" for i in range(n)]
    width = max(2, round(n**0.5))
    after = {tasks[i]: sorted({tasks[rng.randrange(max(0, i - 2 * width), i - (i % width) or 1)]
                               for _ in range(3)} - {tasks[i]})
             for i in range(width, n)}
    weights = {t: round(rng.uniform(1, 50), 2) for t in tasks}
    return tasks, after, weights


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_reversed_search_beside_gives_the_serial_answer(
    forking: None, monkeypatch: pytest.MonkeyPatch, seed: int
) -> None:
    from orchestrator.compiler import decompose as module

    tasks, after, weights = _layered(400, seed)
    monkeypatch.setattr(module, "_FORK_MIN_TASKS", 10**9)
    serial = module.decompose(tasks, after, weights)
    assert module.ratio(tasks, after, weights, serial) > 1.0  # not exact forwards: the reversed answer is read
    forks: list[bool] = []
    start = frames.Beside.start

    def counted(work: object) -> frames.Beside | None:
        beside = start(work)  # type: ignore[arg-type]
        forks.append(beside is not None)
        return beside

    monkeypatch.setattr(module, "_FORK_MIN_TASKS", 0)
    monkeypatch.setattr(frames.Beside, "start", staticmethod(counted))
    assert module.decompose(tasks, after, weights) == serial
    assert forks and all(forks)


def test_packed_results_round_trip_and_a_search_that_gave_up_gives_up_again() -> None:
    from orchestrator.compiler import decompose as module

    tasks, after, weights = _layered(200, 4)
    node = module.decompose(tasks, after, weights)
    found = module._built(node, 12.5, 7)
    back = module._unpacked(module._packed(lambda: found, tasks), tasks)
    assert back is not None and (back.node, back.span, back.parallels) == (node, 12.5, 7)

    def gives_up() -> module._Result:
        raise module._TooDeep

    with pytest.raises(module._TooDeep):
        module._unpacked(module._packed(gives_up, tasks), tasks)
    assert module._unpacked(None, tasks) is None  # a failed child: the caller searches itself
