"""The compiler's pipeline (``orchestrator.compiler``): its passes listed once, run in order."""

from __future__ import annotations

from orchestrator import compiler, model
from orchestrator.compiler import PASSES, compile_workflow


def test_the_passes_in_order() -> None:
    assert [p.__name__ for p in PASSES] == ["_decompose", "_lay_out", "_fit", "_finish"]


def test_running_the_passes_by_hand_is_compile_workflow() -> None:
    job = model.BatchJob(image="alpine:3", command=("true",))
    wf = model.Workflow(name="n", tasks=(
        model.Task(name="a", job=job), model.Task(name="b", job=job),
        model.Task(name="c", job=job, after=("a",)), model.Task(name="d", job=job, after=("a", "b"))))
    state = compiler._Job(wf, compiler.MAX_HISTORY_EVENTS, compiler.MAX_DEFINITION_BYTES)
    value: object = wf
    for compiler_pass in PASSES:
        value = compiler_pass(state, value)
    assert isinstance(value, compiler.CompileResult)
    assert value.texts == compile_workflow(wf).texts
    assert state.depth == 3  # Series(Parallel(Series(a, Parallel(c, d)), b)...) nests three deep
