"""serialise.py: the two JSON serialisations, the compiled texts being exactly those, and a guard
on how much work compiling a 2,000-task workflow does (counted, not timed, so it cannot flake on
a busy machine)."""

from __future__ import annotations

import gc
import json
import random
from typing import Any

import pytest
from compiler_support import batch, lam

from orchestrator import model
from orchestrator.compiler import (
    LINE_WIDTH,
    compact,
    compile_workflow,
    dumps,
    emit,
    quotas,
    render,
    serialise,
)
from orchestrator.errors import CompileError

# --- dumps --------------------------------------------------------------------------------------


def reference_dumps(value: Any) -> str:
    """The layout rule stated as plainly as possible: a value goes on one line when its one-line
    form fits before LINE_WIDTH, otherwise its items go one per line, indented by two."""

    def one_line(v: Any) -> str:
        if isinstance(v, dict):
            return (
                "{"
                + ", ".join(f"{json.dumps(k, ensure_ascii=False)}: {one_line(x)}" for k, x in v.items())
                + "}"
            )
        if isinstance(v, list):
            return "[" + ", ".join(one_line(x) for x in v) + "]"
        return json.dumps(v, ensure_ascii=False)

    def block(v: Any, indent: int, column: int) -> str:
        flat = one_line(v)
        if len(flat) <= LINE_WIDTH - column or not isinstance(v, (dict, list)) or not v:
            return flat
        pad = " " * (indent + 2)
        if isinstance(v, dict):
            items = []
            for k, x in v.items():
                key = json.dumps(k, ensure_ascii=False)
                items.append(f"{pad}{key}: {block(x, indent + 2, indent + 4 + len(key))}")
            return "{\n" + ",\n".join(items) + "\n" + " " * indent + "}"
        return (
            "[\n" + ",\n".join(pad + block(x, indent + 2, indent + 2) for x in v) + "\n" + " " * indent + "]"
        )

    return block(value, 0, 0) + "\n"


def random_json(rnd: random.Random, depth: int = 0) -> Any:
    roll = rnd.random()
    if depth > 5 or roll < 0.4:
        return rnd.choice(["x", "y" * rnd.randint(0, 70), 'é"\\\n', 0, -3, 2.5, 10**20, True, False, None])
    if roll < 0.7:
        return {
            rnd.choice(["k", "Key", "ü", "a" * rnd.randint(1, 30)]) + str(i): random_json(rnd, depth + 1)
            for i in range(rnd.randint(0, 6))
        }
    return [random_json(rnd, depth + 1) for _ in range(rnd.randint(0, 7))]


def test_dumps_follows_the_layout_rule_on_random_documents() -> None:
    rnd = random.Random(20_240_601)
    for _ in range(3_000):
        value = {"v": random_json(rnd)}
        assert dumps(value) == reference_dumps(value)


@pytest.mark.parametrize("width", [LINE_WIDTH - 2, LINE_WIDTH - 1, LINE_WIDTH, LINE_WIDTH + 1])
def test_dumps_breaks_exactly_at_the_line_width(width: int) -> None:
    # {"k": "<text>"} is width characters long on one line.
    value = {"k": "x" * (width - len('{"k": ""}'))}
    expected = reference_dumps(value)
    assert dumps(value) == expected
    assert (expected.count("\n") == 1) == (width <= LINE_WIDTH)


def test_dumps_of_parallels_nested_deep() -> None:
    value: dict[str, Any] = {"end": True}
    for i in range(60):
        value = {"Branches": [{"StartAt": f"s{i}", "States": value}], "pad": "p" * 120}
    assert dumps(value) == reference_dumps(value)


# --- the compiled texts -------------------------------------------------------------------------


def mixed_workflow() -> model.Workflow:
    """Names of every class the stencils treat apart (identifier, hyphen, leading digit or
    underscore, one character, names that look like the stand-ins), shared and own jobs, retries,
    timeouts, descriptions, Lambda and Python tasks, in series and in Parallels."""
    shared = model.BatchJob(image="img:1", command=("run", "QQQ"), environment={"MODE": "ZZ"})
    other = model.BatchJob(image="img:2", command=("go",), vcpus=2, memory=4096, queue="fast")
    names = [
        "a",
        "b",
        "_u",
        "-h",
        "7x",
        "9-y",
        "QQ",
        "ZZ",
        "QQQ",
        "ZZZ",
        "load",
        "save",
        "load-a",
        "load-b",
        "load_c",
        "load_d",
        "Q-Z",
        "x1",
        "x2",
        "x3",
    ]
    tasks: list[model.Task] = []
    for i, name in enumerate(names):
        after = (names[i - 1],) if i % 3 == 0 and i else ()
        job = shared if i % 2 else other
        extra: dict[str, Any] = {}
        if i % 5 == 0:
            extra["retry"] = model.Retry(attempts=2)
        if i % 7 == 0:
            extra["timeout"] = 3600
        if i % 4 == 0:
            extra["description"] = "Step ü " + "d" * (i * 3)
        tasks.append(model.Task(name=name, job=job, after=after, **extra))
    tasks.append(lam("fn", after=("x1",)))
    tasks.append(batch("own", after=("fn",)))
    tasks.append(model.Task(name="py", job=model.PythonTask(function="m:f"), after=("own",), timeout=7200))
    # A tag every Batch state carries holds the first stand-in of 3-character identifiers.
    return model.Workflow(name="mixed", tasks=tuple(tasks), tags={"stage": "QQQ"})


def test_compiled_texts_are_what_compact_and_dumps_write() -> None:
    result = compile_workflow(mixed_workflow())
    for name, definition in result.definitions.items():
        assert result.deployed[name] == compact(definition)
        assert result.texts[name] == dumps(definition)


def test_compiled_texts_survive_splitting_into_children() -> None:
    rnd = random.Random(3)
    job = model.BatchJob(image="img:1", command=("run",))
    names = [rnd.choice(["t", "job-", "_s", "9n"]) + str(i) for i in range(300)]
    tasks = tuple(
        model.Task(name=n, job=job, after=tuple({names[rnd.randrange(i)] for _ in range(2)}) if i else ())
        for i, n in enumerate(names)
    )
    result = compile_workflow(model.Workflow(name="split", tasks=tasks), max_definition_bytes=150_000)
    assert len(result.definitions) > 3
    for name, definition in result.definitions.items():
        assert result.deployed[name] == compact(definition)
        assert result.texts[name] == dumps(definition)


# --- work done for 2,000 tasks ------------------------------------------------------------------


def layered_workflow(n: int, *, width: int = 40, seed: int = 11) -> model.Workflow:
    rnd = random.Random(seed)
    job = model.BatchJob(image="img:1", command=("run",))
    names = [f"task-{i}" for i in range(n)]
    tasks = []
    for i, name in enumerate(names):
        layer = i // width
        after = (
            tuple(
                sorted(
                    {
                        names[rnd.randrange((layer - 1) * width, layer * width)]
                        for _ in range(rnd.randint(1, 3))
                    }
                )
            )
            if layer
            else ()
        )
        tasks.append(
            model.Task(name=name, job=job, after=after, expected_duration=float(rnd.randint(10, 100)))
        )
    return model.Workflow(name="guard", tasks=tuple(tasks))


class Counter:
    def __init__(self) -> None:
        self.counts: dict[str, int] = {}

    def wrap(self, monkeypatch: pytest.MonkeyPatch, owner: Any, name: str, label: str) -> None:
        original = getattr(owner, name)

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.counts[label] = self.counts.get(label, 0) + 1
            return original(*args, **kwargs)

        monkeypatch.setattr(owner, name, counted)

    def __getitem__(self, name: str) -> int:
        return self.counts.get(name, 0)


def test_compiling_2000_tasks_renders_each_kind_once_and_plans_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Before: every task rendered and serialised alone to cost it, ~30 values visited per Task
    state, and the renderer's tables rebuilt for every machine; then every state built by the
    typed builders. Bounds are loose multiples of what the compiler does now, far below what the
    old one did."""
    wf = layered_workflow(2_000)
    counter = Counter()
    counter.wrap(monkeypatch, serialise, "_emit", "values")  # JSON values serialised in Python
    counter.wrap(monkeypatch, serialise, "_flat", "one-line attempts")
    counter.wrap(monkeypatch, quotas.LeafCost, "of", "costed")  # task states serialised to cost them
    counter.wrap(monkeypatch, quotas.Planner, "__init__", "plans")  # one more per re-plan
    counter.wrap(monkeypatch, render.Context, "__init__", "contexts")
    counter.wrap(monkeypatch, emit.Stencil, "make", "stencils")
    counter.wrap(monkeypatch, emit, "_filler", "fillers")  # compact and readable texts of stencils
    counter.wrap(monkeypatch, render, "render_task", "built")  # Task states built by the builders
    result = compile_workflow(wf)
    states = result.report.states
    assert len(result.definitions) > 1, "the guard should cover splitting"
    assert counter["costed"] == 4  # one per kind: the names are 6 to 9 characters long
    assert counter["plans"] == 1
    assert counter["contexts"] == 1
    assert counter["stencils"] <= 8  # per kind (4), Output path, and Next or End
    assert counter["built"] == 0
    # One per stencil, and one per place (nesting depth) and target length in use: not one per task.
    assert counter["fillers"] <= len(wf.tasks) // 40
    assert counter["values"] <= states // 2, f"{counter['values']} values serialised for {states} states"
    assert counter["one-line attempts"] <= states // 2
    for name, definition in result.definitions.items():
        assert result.deployed[name] == compact(definition)
        assert result.texts[name] == dumps(definition)


def test_compiling_pauses_the_garbage_collector_and_restores_it() -> None:
    wf = layered_workflow(50)
    assert gc.isenabled()
    compile_workflow(wf)
    assert gc.isenabled()
    gc.disable()
    try:
        compile_workflow(wf)
        assert not gc.isenabled()
    finally:
        gc.enable()
    with pytest.raises(CompileError):  # an unknown dependency fails inside the compiler
        compile_workflow(
            model.Workflow(name="bad", tasks=(model.Task(name="a", job=wf.tasks[0].job, after=("nope",)),))
        )
    assert gc.isenabled()
