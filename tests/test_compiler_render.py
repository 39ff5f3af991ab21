"""SP tree → states: golden files, schema, structure properties, and runs in moto."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from compiler_support import (
    assert_dependencies_hold,
    batch,
    iter_states,
    lam,
    run_in_engine,
    run_in_moto,
    schema_errors,
    task_states,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import orchestrator
from orchestrator import model
from orchestrator.compiler import compile_workflow, render
from orchestrator.engine import validate_definition
from orchestrator.spec import from_dict
from orchestrator.spec.discover import load_paths

ROOT = Path(__file__).parent.parent
FIXTURES = Path(__file__).parent / "fixtures" / "compiler"
SMALL = FIXTURES / "compiler-small.yaml"


def nesting(expression: str) -> int:
    """How deeply intrinsic calls nest (Step Functions allows 10)."""
    depth = deepest = 0
    for char in expression:
        depth += {"(": 1, ")": -1}.get(char, 0)
        deepest = max(deepest, depth)
    return deepest


def example_workflows() -> list[model.Workflow]:
    import sys

    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    return [wf for _, workflows in load_paths([ROOT / "state_machines", FIXTURES]) for wf in workflows]


class TestGolden:
    def test_fixture_matches_golden_file(self) -> None:
        result = compile_workflow(orchestrator.load(SMALL))
        expected = (FIXTURES / "compiler-small.asl.json").read_text()
        assert result.texts["compiler-small"] == expected, (
            "stale golden file: python tests/regenerate_golden.py"
        )

    def test_every_example_validates_and_keeps_every_task_once(self) -> None:
        workflows = example_workflows()
        assert any(wf.name == "compiler-small" for wf in workflows)
        for wf in workflows:
            result = compile_workflow(wf)
            for name, definition in result.definitions.items():
                assert schema_errors(definition) == [], name
                validate_definition(definition)  # the engine's ValidateStateMachineDefinition
            assert sorted(task_states(result)) == sorted(t.name for t in wf.tasks)
            assert_dependencies_hold(wf, result)

    def test_write_is_byte_identical(self, tmp_path: Path) -> None:
        wf = orchestrator.load(SMALL)
        first = [p.read_bytes() for p in compile_workflow(wf).write(tmp_path / "a")]
        second = [p.read_bytes() for p in compile_workflow(orchestrator.load(SMALL)).write(tmp_path / "b")]
        assert first == second
        assert first[0].endswith(b"}\n")
        assert (tmp_path / "a" / "compiler-small.asl.json").exists()


class TestStructure:
    def test_wrap_then_tasks_then_failure_path(self) -> None:
        result = compile_workflow(orchestrator.load(SMALL))
        main = result.definitions["compiler-small"]
        assert main["StartAt"] == "Default scheduled time"
        assert main["States"]["Default scheduled time"] == {
            "Type": "Pass", "Parameters": {"scheduled_time.$": "$$.Execution.StartTime"}, "Next": "Wrap input"}
        assert main["States"]["Wrap input"]["Parameters"] == {
            "input.$": "States.JsonMerge($, $$.Execution.Input, false)", "results": {}}
        assert main["TimeoutSeconds"] == 7200
        assert result.placeholders == {
            "${AlertTopicArn}",
            "${JobLogGroup}",  # the failure path reads the failed job's log tail
            "${JobQueue_main}",
            "${JobDefinition_extract-a}",
            "${JobDefinition_extract-b}",
            "${JobDefinition_report}",
            "${Function_check}",
            "${Function_publish}",
        }

    def test_parallel_passes_only_needed_results_and_merges_them_back(self) -> None:
        wf = model.Workflow(
            name="wf",
            tasks=(batch("x"), lam("w"), lam("b", ("x",)), batch("c", ("x", "w")), lam("d", ("b", "c"))),
        )
        main = compile_workflow(wf).definitions["wf"]
        par_name = "Parallel 2"  # Parallel 1 runs x and w, Parallel 2 runs b and c
        par = main["States"][par_name]
        # Only what Lambda tasks inside read from outside goes in; branch outputs are small.
        assert par["Parameters"] == {
            "input.$": "$.input",
            "results": {"x.$": "$.results.x"},  # c (Batch) reads no results, b (Lambda) reads x
        }
        assert par["ResultSelector"] == {
            "results.$": "States.JsonMerge(States.ArrayGetItem($, 0), States.ArrayGetItem($, 1), false)"
        }
        assert par["ResultPath"] == "$.branch_results"
        merge = main["States"][par["Next"]]
        assert merge == {
            "Type": "Pass",
            "Parameters": {
                "input.$": "$.input",
                "results.$": "States.JsonMerge($.results, $.branch_results.results, false)",
            },
            "Next": "d",
        }
        for branch in par["Branches"]:
            last = [s for s in branch["States"].values() if s.get("End")]
            assert [s["OutputPath"] for s in last] == ["$.results"]
        assert par["Catch"] == [
            {"ErrorEquals": ["States.ALL"], "ResultPath": "$.branch_error", "Next": "Describe failure"}
        ]
        # Tasks inside branches are caught by their branch's Fail, not by the alert path.
        branch = par["Branches"][0]
        first = branch["States"][branch["StartAt"]]
        assert first["Catch"][0]["Next"] == f"{par_name} branch 1 failed"

    def test_wide_parallel_is_regrouped_to_keep_intrinsics_within_nesting_limit(self) -> None:
        n = render.MAX_BRANCHES * 2 + 1
        wf = model.Workflow(name="wide", tasks=tuple(lam(f"t{i}") for i in range(n)))
        main = compile_workflow(wf).definitions["wide"]
        outer = [s for _, s in iter_states(main) if s["Type"] == "Parallel"]
        assert all(len(p["Branches"]) <= render.MAX_BRANCHES for p in outer)
        for p in outer:
            assert nesting(p["ResultSelector"]["results.$"]) <= 10

    def test_merge_expression_is_balanced(self) -> None:
        assert render.merge_expression(1) == "States.ArrayGetItem($, 0)"
        assert nesting(render.merge_expression(8)) == 4  # 3 merge levels + ArrayGetItem
        assert nesting(render.merge_expression(render.MAX_BRANCHES)) <= 10


# -- properties over random DAGs -------------------------------------------------------------


@st.composite
def specs(draw: Any) -> dict[str, Any]:
    n = draw(st.integers(min_value=1, max_value=12))
    names = [f"t{i}" if i % 3 else f"{i}-job" for i in range(n)]
    tasks = []
    for i, name in enumerate(names):
        after = draw(st.lists(st.sampled_from(names[:i]), unique=True, max_size=3)) if i else []
        kind = draw(st.sampled_from(["batch", "lambda"]))
        body: dict[str, Any] = (
            {"batch": {"image": "img", "command": ["run", name]}}
            if kind == "batch"
            else {"lambda": {"handler": "m:f"}}
        )
        task = {"name": name, **body, "after": after, "expected_duration": draw(st.integers(1, 100))}
        if draw(st.booleans()):
            task["retries"] = draw(st.integers(0, 3))
        tasks.append(task)
    return {"name": "random", "tasks": tasks, "notify": {"email": ["ops@example.com"]}}


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(specs())
def test_random_dags_compile_with_every_task_once_and_every_dependency(spec: dict[str, Any]) -> None:
    wf = from_dict(spec)
    result = compile_workflow(wf)
    assert sorted(task_states(result)) == sorted(t.name for t in wf.tasks)
    assert_dependencies_hold(wf, result)
    for definition in result.definitions.values():
        assert schema_errors(definition) == []
        validate_definition(definition)
    again = compile_workflow(from_dict(json.loads(json.dumps(spec))))
    assert again.texts == result.texts


# -- moto's interpreter ----------------------------------------------------------------------


@pytest.mark.parametrize("source", ["fixture", "n-shape"])
def test_runs_in_moto_in_dependency_order(source: str) -> None:
    if source == "fixture":
        wf = orchestrator.load(SMALL)
    else:
        wf = model.Workflow(
            name="n-shape",
            tasks=(
                batch("a"),
                lam("b"),
                lam("c", after=("a", "b")),
                batch("d", after=("b",)),
                lam("e", after=("c", "d")),
            ),
        )
    result = compile_workflow(wf)
    described, events = run_in_moto(result, {"day": "2024-01-01"})
    assert described["status"] == "SUCCEEDED", described
    entered: dict[str, int] = {}
    exited: dict[str, int] = {}
    for i, event in enumerate(events):
        if event["type"] == "TaskStateEntered":
            entered[event["stateEnteredEventDetails"]["name"]] = i
        elif event["type"] == "TaskStateExited":
            exited[event["stateExitedEventDetails"]["name"]] = i
    assert set(entered) == set(exited) == {t.name for t in wf.tasks}
    for task in wf.tasks:
        for dep in task.after:
            assert exited[dep] < entered[task.name], f"{task.name} entered before {dep} finished"
    output = json.loads(described["output"])
    # The start time filled in as scheduled_time (contract 5): moto computes the intrinsics too.
    scheduled = output["input"].pop("scheduled_time")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|\+00:00)", scheduled), scheduled
    assert output["input"] == {"day": "2024-01-01"}
    assert set(output["results"]) == {t.name for t in wf.tasks}
    for t in wf.tasks:
        if t.runs_on == "batch":
            assert output["results"][t.name]["Status"] == "SUCCEEDED"


# -- random DAGs end to end in the embedded engine -------------------------------------------


def _descendants(wf: model.Workflow, name: str) -> set[str]:
    out: set[str] = set()
    todo = [name]
    while todo:
        current = todo.pop()
        for t in wf.tasks:
            if current in t.after and t.name not in out:
                out.add(t.name)
                todo.append(t.name)
    return out


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(specs(), st.booleans(), st.data())
def test_random_dags_run_in_engine(spec: dict[str, Any], split: bool, data: st.DataObject) -> None:
    wf = from_dict(spec)
    limits = {"max_definition_bytes": 40_000, "max_history_events": 300} if split else {}
    result = compile_workflow(wf, **limits)  # type: ignore[arg-type]
    fail = data.draw(st.sampled_from([None, *[t.name for t in wf.tasks]]))
    run, aws = run_in_engine(result, fail={fail: ("Custom.Error", "boom")} if fail else {})
    order = {name: i for i, name in enumerate(aws.started)}
    for task in wf.tasks:
        if task.name in order:
            assert all(order.get(dep, 10**9) < order[task.name] for dep in task.after)
    if fail is None:
        assert run.status == "SUCCEEDED", (run.error, run.cause)
        assert set(order) == {t.name for t in wf.tasks}
        for task in wf.tasks:
            if task.runs_on == "lambda":
                assert set(aws.payloads[task.name].get("upstream", {})) == set(task.after)
        assert aws.published == []
    else:
        assert (run.status, run.error, run.cause) == ("FAILED", "Custom.Error", "boom")
        assert len(aws.published) == 1
        assert aws.published[0]["Subject"].startswith(f"{spec['name']} failed at {fail}: ")
        assert not (_descendants(wf, fail) & set(order))
