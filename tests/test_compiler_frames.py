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
