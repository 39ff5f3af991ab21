"""Stored-result keys for redrive: Map iterations (nested too), loops, and the first run never replays."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from orchestrator import model
from orchestrator.local.identity import TaskIdentity
from orchestrator.local.runs import build_plan, redrive_execution, run_plan
from orchestrator.local.store import Store


def job_state(next_state: str | None = None, **extra: Any) -> dict[str, Any]:
    """A Batch task running the ``work`` job with ``N`` (from ``$.n``) in its environment."""
    state: dict[str, Any] = {
        "Type": "Task", "Resource": "arn:aws:states:::batch:submitJob.sync",
        "Parameters": {"JobName": "work", "JobQueue": "${JobQueue_default}", "JobDefinition": "${JobDefinition_work}",
                       "ContainerOverrides": {"Environment": [{"Name": "N", "Value.$": "$.n"}]}},
        "ResultSelector": {"Status.$": "$.Status"}, **extra}
    if next_state is None:
        state["End"] = True
    else:
        state["Next"] = next_state
    return state


def plan_for(tmp_path: Path, definition: dict[str, Any], script: str) -> dict[str, Any]:
    wf = model.Workflow(name="keys", tasks=(
        model.Task(name="work", job=model.BatchJob(image="x", command=("sh", "-c", script))),))
    return build_plan(wf, {"keys": definition}, "keys", str(tmp_path))


def nested_map(concurrency: int) -> dict[str, Any]:
    inner = {"StartAt": "work", "States": {"work": job_state()}}
    outer_processor = {"StartAt": "Inner", "States": {"Inner": {
        "Type": "Map", "ItemsPath": "$.inner", "MaxConcurrency": concurrency,
        "ItemSelector": {"n.$": "States.Format('{}-{}', $.o, $$.Map.Item.Value)"},
        "ItemProcessor": {"ProcessorConfig": {"Mode": "INLINE"}, **inner}, "End": True}}}
    return {"StartAt": "Outer", "States": {"Outer": {
        "Type": "Map", "ItemsPath": "$.items", "MaxConcurrency": concurrency,
        "ItemProcessor": {"ProcessorConfig": {"Mode": "INLINE"}, **outer_processor}, "End": True}}}


ITEMS = {"items": [{"o": 0, "inner": [0, 1]}, {"o": 1, "inner": [0, 1]}]}


@pytest.mark.parametrize("concurrency", [1, 0])
def test_nested_map_redrive_reruns_only_the_failed_iteration(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                             concurrency: int) -> None:
    monkeypatch.chdir(tmp_path)
    log, gate = tmp_path / "log", tmp_path / "gate"
    # 1-1 fails only once every iteration has run (within 10 s): a failed iteration stops the
    # Map's others, and on a loaded machine they could otherwise be stopped before they start.
    wait = f'for _ in $(seq 100); do [ "$(wc -l < {log})" -ge 4 ] && break; sleep 0.1; done'
    script = f'echo $N >> {log}; [ "$N" != 1-1 ] || {{ {wait}; test -e {gate}; }}'
    plan = plan_for(tmp_path, nested_map(concurrency), script)
    first = run_plan(plan, ITEMS, home=tmp_path / "home")
    assert first.status == "FAILED"
    assert sorted(log.read_text().split()) == ["0-0", "0-1", "1-0", "1-1"]
    keys = {key for key, in Store(tmp_path / "home")._query("SELECT key FROM task_results")}
    assert keys == {"Outer[0]/Inner[0]/work#0", "Outer[0]/Inner[1]/work#0", "Outer[1]/Inner[0]/work#0"}
    gate.touch()
    second = redrive_execution(first.name, home=tmp_path / "home")
    assert second.status == "SUCCEEDED", second.cause
    assert sorted(log.read_text().split()) == ["0-0", "0-1", "1-0", "1-1", "1-1"]  # only 1-1 ran again
    assert len(second.reused) == 3
    assert second.output == [[{"Status": "SUCCEEDED"}] * 2] * 2


def test_first_run_never_replays_a_stored_result(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Same state, same parameters, one at a time: each Map iteration and each loop pass runs."""
    monkeypatch.chdir(tmp_path)
    log = tmp_path / "log"
    loop = {"StartAt": "Init", "States": {
        "Init": {"Type": "Pass", "Result": {"n": "x", "left": [1, 2]}, "Next": "work"},
        "work": job_state("More", ResultPath=None),
        "More": {"Type": "Choice", "Choices": [{"Variable": "$.left[0]", "IsPresent": True, "Next": "Pop"}],
                 "Default": "Fan"},
        "Pop": {"Type": "Pass", "Parameters": {"n": "x", "left.$": "$.left[1:]"}, "Next": "work"},
        "Fan": {"Type": "Map", "ItemsPath": "$.left", "MaxConcurrency": 1, "ItemSelector": {"n": "x"},
                "ItemProcessor": {"StartAt": "again", "States": {"again": {**job_state(), "Parameters": {
                    **job_state()["Parameters"], "JobName": "again"}}}},
                "End": True}}}
    loop["States"]["Fan"]["ItemsPath"] = "$.items"
    loop["States"]["Init"]["Result"]["items"] = [1, 2, 3]
    loop["States"]["Pop"]["Parameters"]["items.$"] = "$.items"
    plan = plan_for(tmp_path, loop, f"echo $N >> {log}")
    result = run_plan(plan, {}, home=tmp_path / "home")
    assert result.status == "SUCCEEDED", result.cause
    assert log.read_text().split() == ["x"] * 6  # 3 loop passes + 3 Map iterations
    assert result.reused == ()


def test_identity_follows_iterations_and_joins() -> None:
    ids = TaskIdentity()
    events = [
        (1, 0, "MapStateEntered", {"name": "M"}), (2, 1, "MapStateStarted", None),
        (3, 2, "MapIterationStarted", {"name": "M", "index": 0}),
        (4, 3, "TaskStateEntered", {"name": "t"}), (5, 4, "TaskScheduled", {"parameters": '{"a": 1}'}),
        (6, 5, "MapIterationSucceeded", {"name": "M", "index": 0}),
        (7, 6, "MapStateSucceeded", None), (8, 7, "TaskStateEntered", {"name": "after"}),
        (9, 8, "TaskScheduled", {"parameters": "{}"})]
    for event_id, previous, kind, details in events:
        event: dict[str, Any] = {"id": event_id, "previousEventId": previous, "type": kind}
        if kind.endswith("StateEntered"):
            event["stateEnteredEventDetails"] = details
        elif details is not None:
            event[kind[0].lower() + kind[1:] + "EventDetails"] = details
        ids.observe(event)
    assert ids.claim("t", {"a": 1}) == "M[0]/t"
    assert ids.claim("after", {}) == "after"
    assert ids.claim("after", {}) is None  # claimed once; an unknown call is never stored or replayed


# -- a retried Map or Parallel: its new …StateStarted points into the failing iteration -------------


def _lambda(parameters: dict[str, Any], end: bool = True) -> dict[str, Any]:
    return {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Parameters": parameters, "End": end}


def _map(name: str, items_path: str, concurrency: int, processor: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"Type": "Map", "ItemsPath": items_path, "MaxConcurrency": concurrency,
            "ItemSelector": {"n.$": f"States.Format('{{}}{name}{{}}', $.p, $$.Map.Item.Value)"},
            "ItemProcessor": processor, **extra}


RETRY = [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 1, "MaxAttempts": 2}]
WORK = {"StartAt": "work", "States": {"work": _lambda({"n.$": "$.n"})}}


def _retried_map(concurrency: int) -> tuple[dict[str, Any], dict[str, Any], dict[str, str]]:
    """M retries; its iteration 1 fails once. Expected key per n."""
    definition = {"StartAt": "M", "States": {
        "M": _map("M", "$.items", concurrency, WORK, Retry=RETRY, Next="after"),
        "after": _lambda({"n": "after"})}}
    return definition, {"p": "", "items": [0, 1, 2]}, {
        "M0": "M[0]/work", "M1": "M[1]/work", "M2": "M[2]/work", "after": "after"}


def _retried_inner_map(concurrency: int) -> tuple[dict[str, Any], dict[str, Any], dict[str, str]]:
    """Outer (no Retry) → Inner (Retry); Outer[1]/Inner[1] fails once."""
    inner = {"StartAt": "Inner", "States": {"Inner": _map("I", "$.inner", concurrency, WORK, Retry=RETRY, End=True)}}
    definition = {"StartAt": "Outer", "States": {"Outer": {
        "Type": "Map", "ItemsPath": "$.items", "MaxConcurrency": concurrency,
        "ItemSelector": {"p.$": "States.Format('{}', $$.Map.Item.Value)", "inner": [0, 1]},
        "ItemProcessor": inner, "End": True}}}
    return definition, {"items": [0, 1]}, {f"{o}I{i}": f"Outer[{o}]/Inner[{i}]/work" for o in (0, 1) for i in (0, 1)}


def _retried_parallel(concurrency: int) -> tuple[dict[str, Any], dict[str, Any], dict[str, str]]:
    """P retries; its second branch holds the Map whose iteration 1 fails once."""
    definition = {"StartAt": "P", "States": {"P": {
        "Type": "Parallel", "Retry": RETRY, "Next": "after", "Branches": [
            {"StartAt": "solo", "States": {"solo": _lambda({"n": "solo"})}},
            {"StartAt": "M", "States": {"M": _map("M", "$.items", concurrency, WORK, End=True)}}]},
        "after": _lambda({"n": "after"})}}
    return definition, {"p": "", "items": [0, 1, 2]}, {
        "solo": "solo", "M0": "M[0]/work", "M1": "M[1]/work", "M2": "M[2]/work", "after": "after"}


@pytest.mark.parametrize("shape", [_retried_map, _retried_inner_map, _retried_parallel])
@pytest.mark.parametrize("concurrency", [1, 0])
def test_a_retried_map_or_parallel_keeps_every_key(shape: Any, concurrency: int) -> None:
    """The retry's ``MapStateStarted``/``ParallelStateStarted`` points into the failed iteration
    (AWS's rule); the keys of the retry's tasks must not gain that iteration as a prefix."""
    import threading

    from orchestrator.engine import execute
    from orchestrator.engine.integrations import TaskCall, TaskFailure

    definition, input_, expected = shape(concurrency)
    ids = TaskIdentity()
    claimed: list[tuple[str, str | None]] = []
    lock = threading.Lock()

    def work(call: TaskCall) -> Any:
        n = str(call.parameters["n"])
        key = ids.claim(call.state_name, call.parameters)
        with lock:
            claimed.append((n, key))
            if n in ("M1", "1I1") and [c for c, _ in claimed].count(n) == 1:
                raise TaskFailure("Boom", "the first attempt fails")
        return n

    result = execute(definition, input_, virtual_time=True, integrations={"lambda:invoke": work},
                     on_event=ids.observe)
    assert result.status == "SUCCEEDED", result.cause
    assert {n for n, _ in claimed} == set(expected)
    assert [(n, key) for n, key in claimed if key != expected[n]] == []
    failing = next(n for n in ("M1", "1I1") if n in expected)
    assert [n for n, _ in claimed].count(failing) == 2  # the failed attempt, then the retry's


def test_redrive_after_a_retried_map_reuses_each_iteration_by_its_own_key(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """Map M retries after iteration 1 fails once; the run then fails later, at ``last``.

    The first run stores each completion under M[i]/work#n (iteration 0 completed twice: before
    and in the retry); the redrive reruns only ``last``, and each item gets its own result back.
    """
    monkeypatch.chdir(tmp_path)
    log, once, gate = tmp_path / "log", tmp_path / "once", tmp_path / "gate"
    script = (f'echo $N >> {log}; if [ "$N" = 1 ] && [ ! -e {once} ]; then touch {once}; exit 1; fi; '
              f'[ "$N" != last ] || test -e {gate}')
    work = job_state()
    work["Parameters"]["JobName.$"] = "States.Format('work-{}', $.n)"
    del work["Parameters"]["JobName"]
    work["ResultSelector"] = {"Status.$": "$.Status", "JobName.$": "$.JobName"}
    last = job_state(ResultPath="$.last")
    last["Parameters"]["ContainerOverrides"]["Environment"][0] = {"Name": "N", "Value": "last"}
    definition = {"StartAt": "M", "States": {
        "M": {"Type": "Map", "ItemsPath": "$.items", "MaxConcurrency": 1, "ResultPath": "$.done",
              "ItemSelector": {"n.$": "States.Format('{}', $$.Map.Item.Value)"},
              "Retry": [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 1, "MaxAttempts": 1}],
              "ItemProcessor": {"StartAt": "work", "States": {"work": work}}, "Next": "last"},
        "last": last}}
    plan = plan_for(tmp_path, definition, script)
    first = run_plan(plan, {"items": [0, 1, 2]}, home=tmp_path / "home", virtual_time=True)
    assert first.status == "FAILED"
    assert log.read_text().split() == ["0", "1", "0", "1", "2", "last"]
    keys = {key for key, in Store(tmp_path / "home")._query("SELECT key FROM task_results")}
    assert keys == {"M[0]/work#0", "M[0]/work#1", "M[1]/work#0", "M[2]/work#0"}

    gate.touch()
    second = redrive_execution(first.name, home=tmp_path / "home")
    assert second.status == "SUCCEEDED", second.cause
    assert log.read_text().split() == ["0", "1", "0", "1", "2", "last", "last"]  # only last ran again
    assert second.reused == ("work", "work", "work")
    assert second.output["done"] == [{"Status": "SUCCEEDED", "JobName": f"work-{i}"} for i in range(3)]
