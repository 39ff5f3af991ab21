"""The shipped examples run end to end on the embedded default, doing their real work.

Each runs in a scratch working directory (jobs write ``data/`` and ``reports/`` there) with this
checkout on PYTHONPATH, as ``orchestrator run state_machines/<example>`` does from the repository.
"""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import pytest

from orchestrator.local.runs import run_workflow

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    monkeypatch.setenv("ORCHESTRATOR_HOME", str(tmp_path / ".orchestrator"))
    monkeypatch.setenv("ORCHESTRATOR_CONTAINERS", "never")
    return tmp_path


def _task_order(history: list[dict[str, object]]) -> list[str]:
    names: list[str] = []
    for event in history:
        if event["type"] == "TaskStateEntered":
            details = event["stateEnteredEventDetails"]
            assert isinstance(details, dict)
            if details["name"] != "Check overlap":  # the overlap guard, not a task of the DAG
                names.append(str(details["name"]))
    return names


def test_nightly_sales_builds_the_database_and_the_report(workdir: Path) -> None:
    run = run_workflow(ROOT / "state_machines" / "nightly_sales.py")
    assert run.status == "SUCCEEDED", (run.error, run.cause)
    order = _task_order(run.history)
    assert order == ["load-sales", "optimize-db", "check-freshness", "weekly-report"]
    # The schedule's overlap guard asked the local store first (overlap: skip by default).
    assert run.history[1]["stateEnteredEventDetails"]["name"] == "Check overlap"
    db = sqlite3.connect(workdir / "data" / "sales.db")
    assert db.execute("SELECT COUNT(DISTINCT day) FROM orders").fetchone()[0] == 14
    report = next((workdir / "reports").glob("weekly-sales-*.md")).read_text()
    assert report.startswith("# Weekly sales since") and "| north |" in report
    freshness = run.output["results"]["check-freshness"]["Payload"]
    assert freshness["fresh"] is True


def test_etl_fanout_honours_every_dependency(workdir: Path) -> None:
    run = run_workflow(ROOT / "state_machines" / "etl_fanout.py")
    assert run.status == "SUCCEEDED", (run.error, run.cause)
    order = _task_order(run.history)
    assert len(order) == 14
    from orchestrator import load

    wf = load(ROOT / "state_machines" / "etl_fanout.py")
    ended = {}
    entered = {}
    for event in run.history:
        name = None
        if event["type"] == "TaskStateEntered":
            name = event["stateEnteredEventDetails"]["name"]  # type: ignore[index]
            entered[name] = event["id"]
        elif event["type"] == "TaskStateExited":
            name = event["stateExitedEventDetails"]["name"]  # type: ignore[index]
            ended[name] = event["id"]
    for task in wf.tasks:
        for upstream in task.after:
            assert ended[upstream] < entered[task.name], f"{task.name} started before {upstream} ended"
    dashboard = json.loads((workdir / "data" / "etl" / "dashboard.json").read_text())
    assert [row["region"] for row in dashboard] == ["east", "north", "south", "west"]


def test_yaml_example_runs(workdir: Path) -> None:
    run = run_workflow(ROOT / "state_machines" / "disk_hygiene.yaml")
    assert run.status == "SUCCEEDED", (run.error, run.cause)
    assert list((workdir / "data" / "backups").glob("data-*.tgz"))


def test_a_failing_check_fails_the_run_with_one_alert(workdir: Path) -> None:
    # The freshness check fails on an empty orders table: the run must fail with the task's own
    # error, after exactly one alert, and the report must not be written.
    (workdir / "data").mkdir()
    db = sqlite3.connect(workdir / "data" / "sales.db")
    db.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, day TEXT, region TEXT, product TEXT, "
               "quantity INTEGER, amount REAL, loaded_at TEXT)")
    db.commit()
    from dataclasses import replace

    from orchestrator import load

    wf = load(ROOT / "state_machines" / "nightly_sales.py")
    wf = replace(wf, tasks=tuple(t for t in wf.tasks if t.name != "load-sales"))
    wf = replace(wf, tasks=tuple(replace(t, after=()) if t.name == "optimize-db" else t for t in wf.tasks))
    run = run_workflow(wf)
    assert run.status == "FAILED"
    assert run.error == "RuntimeError"
    assert "the orders table is empty" in (run.cause or "")
    assert not (workdir / "reports").exists()
    published = [e for e in run.history if e["type"] == "TaskSucceeded"
                 and e["taskSucceededEventDetails"]["resourceType"] == "sns"]  # type: ignore[index]
    assert len(published) == 1
