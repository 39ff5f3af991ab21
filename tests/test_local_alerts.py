"""The compiled alert path run for real on this machine: a failing job's alert carries its log tail."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator import model
from orchestrator.compiler import alerts
from orchestrator.local.progress import NOT_RUN, ProgressView
from orchestrator.local.runs import compile_plan, run_workflow
from orchestrator.local.store import Store


def failing(tmp_path: Path) -> model.Workflow:
    return model.Workflow(name="boom-wf", notify=model.Notify(email=("ops@example.com",)), tasks=(
        model.Task(name="prepare", job=model.BatchJob(image="alpine:3", command=("sh", "-c", "echo preparing"))),
        model.Task(name="crunch", after=("prepare",), retry=model.Retry(attempts=1, interval=1),
                   job=model.BatchJob(image="alpine:3",
                                      command=("sh", "-c", "seq 1 30; echo boom >&2; exit 3"))),
        model.Task(name="publish", after=("crunch",), job=model.BatchJob(image="alpine:3", command=("true",))),
    ))


def test_a_failing_batch_job_alerts_once_with_its_reason_and_last_lines(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    run = run_workflow(failing(tmp_path), home=tmp_path / "home", virtual_time=True, notice=lambda text: None)
    assert (run.status, run.error) == ("FAILED", "States.TaskFailed")
    (message,) = Store(tmp_path / "home").messages(run.execution_arn)
    assert message["subject"] == "boom-wf failed at crunch: exit code 3 (attempt 2 of 2)"
    body = message["message"].split("\n")
    assert body[:3] == ["boom-wf failed at crunch: exit code 3 (attempt 2 of 2)", "", "Workflow: boom-wf"]
    assert body[3] == f"Execution: {run.name}"
    assert "Reason: exit code 3 (Essential container in task exited)" in body
    tail = body[body.index("Last log lines:") + 1:body.index("Last log lines:") + 1 + alerts.LOG_TAIL_LINES]
    assert tail[-1] == " | boom" and tail[0] == " | 12"  # the last 20 of 31 lines, from the attempt's own file
    assert body[-1].startswith(f"Redrive: orchestrator redrive {run.name} ")
    assert "JobDefinition" not in message["message"]  # no DescribeJobs JSON in the alert


def test_tasks_never_reached_show_as_not_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    wf = failing(tmp_path)
    view = ProgressView(compile_plan(wf, str(tmp_path)))
    from rich.console import Console

    view.console = Console(file=open(tmp_path / "out.txt", "w"), width=120)  # noqa: SIM115
    with view:
        view.status = "FAILED"
    assert view.rows["publish"].status == NOT_RUN
    assert alerts.NOTIFY not in (tmp_path / "out.txt").read_text()  # the alert path was not reached


def test_a_timed_out_run_alerts_in_the_same_layout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    wf = model.Workflow(name="slow-wf", notify=model.Notify(email=("ops@example.com",)), timeout=1, tasks=(
        model.Task(name="wait", job=model.BatchJob(image="alpine:3", command=("sleep", "30"))),))
    run = run_workflow(wf, home=tmp_path / "home", notice=lambda text: None)
    assert run.status == "TIMED_OUT"
    (message,) = Store(tmp_path / "home").messages(run.execution_arn)
    assert message["subject"] == "slow-wf ended TIMED_OUT: the workflow's timeout of 1s was reached"
    body = message["message"].split("\n")
    assert body[2:4] == ["Workflow: slow-wf", f"Execution: {run.name}"]
    assert "Reason: the execution ended TIMED_OUT: the workflow's timeout of 1s was reached" in body
    assert body[-1].startswith(f"Redrive: orchestrator redrive {run.name} ")
