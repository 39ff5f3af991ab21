"""RunResult: its history and logs are read from the store when asked for, whenever that is."""

from __future__ import annotations

import copy
import dataclasses
import pickle
from pathlib import Path

from orchestrator import model
from orchestrator.local.runs import RunResult, compile_plan, run_plan
from orchestrator.local.store import Store


def _run(tmp_path: Path) -> RunResult:
    wf = model.Workflow(name="pair", tasks=(
        model.Task(name="first", job=model.BatchJob(image="alpine:3", command=("sh", "-c", "echo one"))),
        model.Task(name="second", job=model.BatchJob(image="alpine:3", command=("sh", "-c", "echo two")),
                   after=("first",)),
    ))
    result = run_plan(compile_plan(wf, str(tmp_path)), {}, home=tmp_path / "home")
    assert result.status == "SUCCEEDED", result.cause
    return result


def _stored(tmp_path: Path, result: RunResult) -> tuple[list[dict[str, object]], dict[str, list[str]]]:
    store = Store(tmp_path / "home")
    try:
        logs = {job["state_name"]: job["log_paths"] for job in store.jobs(result.execution_arn)}
        return store.events(result.execution_arn), logs
    finally:
        store.close()


def test_history_and_logs_are_what_the_store_holds(tmp_path: Path) -> None:
    result = _run(tmp_path)
    events, logs = _stored(tmp_path, result)
    assert result.history == events and events[-1]["type"] == "ExecutionSucceeded"
    assert result.logs == logs and Path(result.logs["second"][0]).read_text() == "two\n"
    assert result.history is result.history  # read once, then kept


def test_they_are_read_from_the_home_once_the_run_closed_its_store(tmp_path: Path) -> None:
    result = _run(tmp_path)
    result._store.close()  # type: ignore[union-attr]  # as orchestrator run does after its summary
    events, logs = _stored(tmp_path, result)
    assert result.history == events and result.logs == logs


def test_given_values_are_kept_and_copies_carry_them(tmp_path: Path) -> None:
    given = RunResult(execution_arn="arn", name="n", status="FAILED", output=None, error="E", cause="C",
                      history=[{"id": 1}], home=tmp_path, logs={"t": ["log"]})
    assert (given.history, given.logs) == ([{"id": 1}], {"t": ["log"]})
    assert "history=[{'id': 1}]" in repr(given)

    result = _run(tmp_path)
    events, _ = _stored(tmp_path, result)
    for copied in (copy.deepcopy(result), pickle.loads(pickle.dumps(result)), dataclasses.replace(result)):
        assert copied == result and copied.history == events
    assert dataclasses.replace(result, history=[]).history == []
