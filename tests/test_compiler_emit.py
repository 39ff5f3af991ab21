"""emit.py: Task states written from their kind's stencil are what the typed builders and the
plain serialisers give, on workflows of every shape the stencils treat apart."""

from __future__ import annotations

import dataclasses
import json
from typing import Any
from unittest import mock

import pytest
from compiler_support import batch, lam
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orchestrator import model
from orchestrator.compiler import (
    CompileResult,
    alerts,
    asl,
    compact,
    compile_workflow,
    dumps,
    emit,
    render,
    tasks,
)
from orchestrator.compiler.serialise import text_at
from orchestrator.compiler.sp import Leaf
from orchestrator.errors import CompileError

# Names of every class the stencils treat apart: identifiers, hyphens, a leading digit or
# underscore or hyphen, one character, names like the stand-ins, and names outside the plain class.
NAMES = ("a", "b", "_u", "-h", "7x", "9-y", "QQ", "ZZ", "QQQ", "ZZZ", "Q-Z", "load", "load-a", "load_b",
         "x1", "ab_cd", "j", "with space", "dot.name", "ü", 'quote"d', "back\\slash", "x\ue000y")
TEXTS = ("Step ü", 'say "hi"\n', "d" * 120, "QQQ", "\ue002", "{{ not a template", "${JobQueue_x}")
ENVIRONMENTS = ({}, {"MODE": "fast"}, {"DAY": "{{ date - 1 }}"}, {"RUN": "{{ execution_name }}", "X": "y"},
                {"R": "{{ input.region }}"}, {"S": "QQQ"})
COMMANDS = (("run",), ("run", "--day", "{{ date }}"), ("go", "{{ hour }}"), ("echo", "QQQ"), ())
RETRIES = (None, model.Retry(attempts=2), model.Retry(attempts=0),
           model.Retry(attempts=3, interval=5, backoff_rate=1.5, max_delay=60, jitter=model.Jitter.FULL),
           model.Retry(attempts=1, errors=("States.Timeout", "Custom.Error")))


@st.composite
def jobs(draw: Any) -> model.Job:
    kind = draw(st.sampled_from(["batch", "batch", "lambda", "python"]))
    if kind == "batch":
        return model.BatchJob(
            image=draw(st.sampled_from(["img:1", "img:2"])),
            command=draw(st.sampled_from(COMMANDS)),
            environment=draw(st.sampled_from(ENVIRONMENTS)),
            queue=draw(st.sampled_from([None, "fast"])),
            array_size=draw(st.sampled_from([None, 4])),
            vcpus=draw(st.sampled_from([1.0, 2.0])),
        )
    if kind == "lambda":
        return model.LambdaTask(handler="m:f")
    return model.PythonTask(function="m:g", environment=draw(st.sampled_from(ENVIRONMENTS)))


@st.composite
def workflows(draw: Any) -> tuple[model.Workflow, int | None]:
    """A workflow and, for some, a definition limit small enough to split it into children."""
    n = draw(st.integers(min_value=1, max_value=40))
    pool = draw(st.lists(jobs(), min_size=1, max_size=3))
    names: list[str] = []
    for i in range(n):
        name = draw(st.sampled_from(NAMES)) + draw(st.sampled_from(["", str(i), f"-{i}", f"_{i}0"]))
        names.append(name if name not in names else f"t{i}")
    task_list = []
    for i, name in enumerate(names):
        after = tuple(draw(st.lists(st.sampled_from(names[:i]), unique=True, max_size=3))) if i else ()
        job = draw(st.sampled_from(pool))
        timeout = draw(st.sampled_from([None, 30, 600, 3600, 7200]))
        if isinstance(job, model.LambdaTask) and timeout is not None:
            timeout = min(timeout, 600)
        task_list.append(model.Task(
            name=name, job=job, after=after, timeout=timeout,
            retry=draw(st.sampled_from(RETRIES)),
            description=draw(st.sampled_from((None, None, *TEXTS))),
            expected_duration=float(draw(st.integers(1, 100))),
        ))
    notify = draw(st.sampled_from([
        None, model.Notify(email=("a@b.c",)), model.Notify(topic_arn="arn:aws:sns:eu-west-1:123456789012:t"),
        model.Notify(email=("a@b.c",), on=("failure", "success")), model.Notify(email=("a@b.c",), on=("recovery",)),
    ]))
    schedule = draw(st.sampled_from([
        None, model.Schedule(expression="cron(0 2 * * ? *)", timezone="Europe/Berlin"),
        model.Schedule(expression="rate(1 hour)", overlap="allow"),
    ]))
    wf = model.Workflow(
        name=draw(st.sampled_from(["wf", "nightly-sales", "wf ü"])),
        tasks=tuple(task_list),
        description=draw(st.sampled_from([None, "A workflow"])),
        notify=notify,
        schedule=schedule,
        timeout=draw(st.sampled_from([None, 86_400])),
        defaults=draw(st.sampled_from([
            model.Defaults(), model.Defaults(timeout=1200, retry=model.Retry(attempts=1)),
            model.Defaults(queue="slow", image="py:3"),
        ])),
        tags=draw(st.sampled_from([{}, {"team": "data"}, {"stage": "QQQ"}, {"odd": "\ue000"}])),
    )
    return wf, draw(st.sampled_from([None, None, 40_000, 90_000]))


def compiled(wf: model.Workflow, max_bytes: int | None, *, stencils: bool) -> CompileResult:
    limits = {} if max_bytes is None else {"max_definition_bytes": max_bytes}
    if stencils:
        return compile_workflow(wf, **limits)
    with mock.patch.object(emit.Stencils, "get", lambda self, *args, **kwargs: None):
        return compile_workflow(wf, **limits)


def outputs(result: CompileResult) -> dict[str, Any]:
    return {
        "definitions": repr(result.definitions),  # repr: 1 and 1.0 and True differ, as do list and tuple
        "deployed": result.deployed,
        "texts": result.texts,
        "report": (repr(result.report.machines), result.report.result_bytes, str(result.report)),
        "placeholders": result.placeholders,
    }


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(workflows())
def test_stencils_write_what_the_builders_and_serialisers_give(drawn: tuple[model.Workflow, int | None]) -> None:
    wf, max_bytes = drawn
    kinds = tasks.kinds_of(wf.tasks)
    assert kinds == {t.name: tasks.kind_key(t) for t in wf.tasks}
    assert all(kinds[a.name] is kinds[b.name] for a in wf.tasks for b in wf.tasks if kinds[a.name] == kinds[b.name])
    fast = compiled(wf, max_bytes, stencils=True)
    plain = compiled(wf, max_bytes, stencils=False)
    assert outputs(fast) == outputs(plain)
    for name, definition in fast.definitions.items():
        assert fast.deployed[name] == compact(definition)
        assert fast.texts[name] == dumps(definition)


def test_the_bench_shape_is_written_from_stencils() -> None:
    """The property above must not pass by never using a stencil."""
    job = model.BatchJob(image="img:1", command=("run",))
    wf = model.Workflow(name="w", tasks=tuple(
        model.Task(name=f"t{i}", job=job, after=(f"t{i // 3}",) if i else ()) for i in range(60)))
    context = render.Context(wf)
    machine = render.render_machine(wf, render.from_sp(_tree(wf)), child=False, context=context)
    placed = [s for s in machine.graph.walk() if isinstance(s, emit.StencilTask)]
    assert len(placed) == 60
    assert 0 < len(context.stencils) <= 8  # one per name length, Output path and Next/End
    assert outputs(compiled(wf, None, stencils=True)) == outputs(compiled(wf, None, stencils=False))


def _tree(wf: model.Workflow) -> Any:
    from orchestrator.compiler.decompose import decompose

    return decompose([t.name for t in wf.tasks], wf.dependencies)


# --- one stencil, many names and targets ----------------------------------------------------------

TARGETS = ("next-task", "Parallel 12 results", 'a "quoted" one', "ü-ß", "x\ue000\ue002y", "tab\there", "b\\s")


@st.composite
def placed_states(draw: Any) -> tuple[model.Task, model.Workflow, str | None, str | None, str | None]:
    wf, _ = draw(workflows())
    candidates = [t for t in wf.tasks if tasks.kind_key(t) is not None]
    if not candidates:
        candidates = [model.Task(name="load-a", job=model.BatchJob(image="i", command=("x",)))]
        wf = dataclasses.replace(wf, tasks=(*wf.tasks, *candidates))
    task = draw(st.sampled_from(candidates))
    next = draw(st.sampled_from((None, *TARGETS)))
    catch = draw(st.sampled_from((None, "Describe failure", *TARGETS)))
    output_path = draw(st.sampled_from((None, "$.results")))
    return task, wf, next, catch, output_path


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(placed_states(), st.integers(0, 60), st.integers(0, 40))
def test_a_stencil_fills_in_any_name_of_its_kind_and_any_targets(
    placed: tuple[model.Task, model.Workflow, str | None, str | None, str | None], indent: int, extra: int
) -> None:
    task, wf, next, catch, output_path = placed
    stencils = emit.Stencils(wf, tasks.kinds_of(wf.tasks))
    stencil = stencils.get(task, output_path=output_path, next=next is not None, catch=catch is not None)
    if stencil is None:  # refused: the stand-ins occur in the job's own text
        return
    # Every task of the same kind: the one the stencil was made from and others named alike.
    for other in [t for t in wf.tasks if tasks.kind_key(t) == tasks.kind_key(task)]:
        expected = tasks.render_task(other, wf, next=next, catch_to=catch, output_path=output_path).render()
        state = emit.StencilTask(name=other.name, next=next, catch_to=catch, stencil=stencil)
        built = state.render()
        assert repr(built) == repr(expected)
        next_text = "" if next is None else json.dumps(next, ensure_ascii=False)[1:-1]
        catch_text = "" if catch is None else json.dumps(catch, ensure_ascii=False)[1:-1]
        assert stencil.compact(other.name, next_text, catch_text) == compact(expected)
        column = indent + extra
        filler = stencil.readable_filler(indent, column, len(next_text), len(catch_text))
        if filler is not None:
            assert filler(other.name, next_text, catch_text) == text_at(expected, indent, column)


def test_a_stand_in_found_in_the_job_refuses_the_stencil() -> None:
    # The workflow's tags, in every Batch state, hold the first stand-in of 3-character
    # identifiers ("QQQ"): filling the name would change the tag too, so the stencil is refused
    # and such states are built by the builders, still the same.
    job = model.BatchJob(image="img:1", command=("run",))
    wf = model.Workflow(name="w", tasks=(model.Task(name="ZZZ", job=job), model.Task(name="abcd", job=job)),
                        tags={"stage": "QQQ"})
    stencils = emit.Stencils(wf, tasks.kinds_of(wf.tasks))
    assert stencils.get(wf.tasks[0], output_path=None, next=True, catch=True) is None
    assert stencils.get(wf.tasks[1], output_path=None, next=True, catch=True) is not None
    result = compile_workflow(wf)
    assert outputs(result) == outputs(compiled(wf, None, stencils=False))


def test_names_outside_the_plain_class_have_no_stencil() -> None:
    job = model.BatchJob(image="img", command=("x",))
    for name in ("with space", "dot.name", "ü"):
        assert tasks.kind_key(model.Task(name=name, job=job)) is None
    assert tasks.kind_key(lam("fn")) is None
    assert tasks.kinds_of([batch("a1"), lam("fn")]) == {"a1": tasks.kind_key(batch("a1")), "fn": None}


def test_the_writer_writes_both_texts_of_a_machine_with_targets_of_every_kind() -> None:
    # Next targets that need escaping or hold the stand-in characters, in series and in Parallels.
    job = model.BatchJob(image="img:1", command=("run",))
    names = ["a1", 'q"1', "b2", "x\ue000", "c3", "ü4", "d5"]
    wf = model.Workflow(name="w", tasks=tuple(
        model.Task(name=n, job=job, after=(names[i - 1],) if i % 3 else ()) for i, n in enumerate(names)))
    machine = render.render_machine(wf, render.Seq(tuple(Leaf(n) for n in names)), child=False)
    definition = machine.render()
    writer = emit.Writer()
    assert repr(writer.render(machine)) == repr((definition, compact(definition)))
    assert writer.readable(machine, definition) == dumps(definition)
    assert any(isinstance(s, emit.StencilTask) for s in machine.graph.walk())


@pytest.mark.parametrize("n", [1, 2, 300])
def test_fixed_sizes_compile_alike_with_and_without_stencils(n: int) -> None:
    job = model.BatchJob(image="img:1", command=("run",), environment={"DAY": "{{ date }}"})
    wf = model.Workflow(name="w", tasks=tuple(
        model.Task(name=f"task-{i}", job=job, after=(f"task-{i // 2}",) if i else (), retry=model.Retry())
        for i in range(n)), notify=model.Notify(email=("a@b.c",)))
    assert outputs(compiled(wf, 60_000, stencils=True)) == outputs(compiled(wf, 60_000, stencils=False))


def test_names_of_one_length_in_every_class_keep_apart() -> None:
    # Same length, same job: only the first character's class and being an identifier or not
    # tell these apart (a "j" prefix in JobName, brackets in the result paths).
    job = model.BatchJob(image="img:1", command=("run",))
    names = ["ab-c", "ab_c", "abcd", "7abc", "7a-c", "_abc", "-abc", "-a_c", "QQQQ", "ZZ-Z", "Q_Z9"]
    wf = model.Workflow(name="w", tasks=tuple(
        model.Task(name=n, job=job, after=(names[i - 1],) if i % 2 else ()) for i, n in enumerate(names)))
    assert len({tasks.kind_key(t) for t in wf.tasks}) == 4  # first character alphanumeric or not, x identifier or not
    for max_bytes in (None, 20_000):
        assert outputs(compiled(wf, max_bytes, stencils=True)) == outputs(compiled(wf, max_bytes, stencils=False))


def test_the_docstring_examples_run() -> None:
    import doctest

    for module in (emit, render):
        assert doctest.testmod(module).failed == 0, module.__name__


def test_fan_out_branches_are_written_from_one_filler(monkeypatch: pytest.MonkeyPatch) -> None:
    # 300 branches of one task each (and its Fail state), regrouped into Parallels of Parallels:
    # a filler per stencil, place and Fail name length ("branch 9" to "branch 128"), not per branch.
    job = model.BatchJob(image="img:1", command=("run",))
    wf = model.Workflow(name="w", tasks=(
        model.Task(name="start", job=job),
        *(model.Task(name=f"t{i}", job=job, after=("start",)) for i in range(10, 310)),
    ))
    made: list[object] = []
    original = emit._branch_filler
    monkeypatch.setattr(emit, "_branch_filler", lambda *args: made.append(args) or original(*args))
    result = compile_workflow(wf)
    assert 1 <= len(made) <= 8
    for name, definition in result.definitions.items():
        assert result.texts[name] == dumps(definition)


@given(st.lists(st.sampled_from(["QQ", "\ue000", "\ue002", "a", "{", "}", "{x}", "\\", '"', "é"]), max_size=30))
def test_a_filler_writes_the_text_with_its_holes_filled(pieces: list[str]) -> None:
    text = "".join(pieces)
    holes = ("QQ", "\ue000", "\ue002")
    filler = emit._filler(text, holes)
    if filler is None:
        assert not any(h in text for h in holes)
        return
    expected = text.replace("QQ", "N").replace("\ue000", "x{}").replace("\ue002", "c\\\\")
    assert filler("N", "x{}", "c\\\\") == expected


def test_one_readable_filler_serves_every_next_target_of_a_state_never_on_one_line() -> None:
    job = model.BatchJob(image="img:1", command=("run",))
    wf = model.Workflow(name="w", tasks=(model.Task(name="load-a", job=job),))
    stencil = emit.Stencils(wf, tasks.kinds_of(wf.tasks)).get(wf.tasks[0], output_path=None, next=True, catch=True)
    assert stencil is not None and stencil.long
    fillers = set()
    for next in ("b", "Parallel 12 results", "ü" * 40, 'q"' * 30, "x" * 80):
        next_text = json.dumps(next, ensure_ascii=False)[1:-1]
        for indent in (0, 8, 64):
            filler = stencil.readable_filler(indent, indent + 10, len(next_text), len("Describe failure"))
            assert filler is not None
            fillers.add((indent, id(filler)))
            expected = tasks.render_task(wf.tasks[0], wf, next=next, catch_to="Describe failure").render()
            assert filler("load-a", next_text, "Describe failure") == text_at(expected, indent, indent + 10)
    assert len(fillers) == 3  # one per place, whatever the Next target


def test_a_task_branch_is_checked_by_its_shape() -> None:
    job = model.BatchJob(image="img:1", command=("run",))
    wf = model.Workflow(name="w", tasks=(model.Task(name="t1", job=job),))
    stencil = emit.Stencils(wf, tasks.kinds_of(wf.tasks)).get(wf.tasks[0], "$.results", next=False, catch=True)
    assert stencil is not None
    fail = alerts.branch_fail("Parallel 1 branch 1 failed", nested=False)
    branch = emit.TaskBranch.of(emit.StencilTask(name="t1", catch_to=fail.name, stencil=stencil), fail)
    assert type(branch) is emit.TaskBranch
    plain = asl.Graph(start_at="t1", states=branch.states)
    assert (branch.start_at, branch.states, list(branch.scopes())) == (plain.start_at, plain.states, [branch])
    assert branch.state(fail.name) is fail and branch.render() == plain.render()
    # Any other shape is a plain Graph, checked in full.
    with pytest.raises(CompileError, match="State 't1' goes to 'elsewhere', which is not in its scope."):
        emit.TaskBranch.of(emit.StencilTask(name="t1", catch_to="elsewhere", stencil=stencil), fail)
    with pytest.raises(CompileError, match="State 't1' is defined twice in the same scope."):
        emit.TaskBranch.of(emit.StencilTask(name="t1", catch_to="t1", stencil=stencil),
                           alerts.branch_fail("t1", nested=False))
    with pytest.raises(CompileError, match="State name '.*' must be 1..80 characters. Received 81."):
        emit.TaskBranch.of(emit.StencilTask(name="t1", catch_to="f" * 81, stencil=stencil),
                           alerts.branch_fail("f" * 81, nested=False))
