"""orchestrator schedules: what the scheduler has served, its next and last fires; pause/resume."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from scheduler_fakes import FakeService, workflow

from orchestrator.cli import main
from orchestrator.local.store import Store
from orchestrator.scheduler import Scheduler, VirtualClock
from orchestrator.scheduler.commands import describe

T0 = datetime(2026, 6, 1, tzinfo=UTC)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ORCHESTRATOR_HOME", str(tmp_path))
    clock = VirtualClock(T0)
    service = FakeService(clock, [workflow(expression="cron(0 * * * ? *)"),
                                  workflow("daily", expression="cron(30 2 * * ? *)", timezone="Europe/Berlin")],
                          duration=timedelta(minutes=90))
    Scheduler(service, Store(tmp_path), clock=clock).run_until(T0 + timedelta(hours=1, minutes=5))
    return tmp_path


def test_describe_lists_next_fires_last_fire_and_status(home: Path) -> None:
    rows = {r["workflow"]: r for r in describe(Store(home), T0 + timedelta(hours=1, minutes=5), 2)}
    assert rows["hourly"]["nextFires"] == ["2026-06-01T02:00:00Z", "2026-06-01T03:00:00Z"]
    assert rows["hourly"]["lastFire"] == {"scheduledTime": "2026-06-01T01:00:00Z", "status": "SKIPPED",
                                          "executionName": "hourly-20260601T010000Z",
                                          "detail": "hourly-20260601T000000Z was still running"}
    assert rows["daily"] | {"stateMachineArn": None} == {
        "workflow": "daily", "stateMachineArn": None, "expression": "cron(30 2 * * ? *)",
        "timezone": "Europe/Berlin", "status": "active", "overlap": "skip", "catchUp": "none",
        "nextFires": ["2026-06-02T00:30:00Z", "2026-06-03T00:30:00Z"],
        "lastFire": {"scheduledTime": "2026-06-01T00:30:00Z", "status": "STARTED",
                     "executionName": "daily-20260601T003000Z", "detail": None}}


def test_schedules_command_table_and_json(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schedules", "--json", "--count", "1"]) == 0
    listed = json.loads(capsys.readouterr().out)["schedules"]
    assert [(r["workflow"], r["status"], len(r["nextFires"])) for r in listed] == [("daily", "active", 1),
                                                                                   ("hourly", "active", 1)]
    assert main(["schedules"]) == 0
    out = capsys.readouterr().out
    assert "cron(30 2 * * ? *)" in out and "Europe/Berlin" in out and "SKIPPED" in out


def test_pause_and_resume_from_the_command_line(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schedules", "pause", "hourly"]) == 0
    assert capsys.readouterr().out == "paused hourly: no fires until `orchestrator schedules resume hourly`\n"
    assert Store(home).schedules()["hourly"]["paused"] == 1
    assert main(["schedules", "--json"]) == 0
    assert {r["workflow"]: r["status"] for r in json.loads(capsys.readouterr().out)["schedules"]}["hourly"] == "paused"
    assert main(["schedules", "resume", "hourly"]) == 0
    assert capsys.readouterr().out.startswith("resumed hourly: fires from now on")
    assert Store(home).schedules()["hourly"]["paused"] == 0


def test_pause_of_an_unknown_workflow(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schedules", "pause", "hourley"]) == 1
    assert capsys.readouterr().err == ("error: no served schedule for workflow 'hourley'; served schedules: daily, "
                                       "hourly. `orchestrator schedules` lists them\n")
    assert main(["schedules", "resume"]) == 1
    assert capsys.readouterr().err == "error: name the workflow to resume: orchestrator schedules resume WORKFLOW\n"


def test_no_schedules_yet(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("ORCHESTRATOR_HOME", str(tmp_path))
    assert main(["schedules"]) == 0
    assert capsys.readouterr().out.startswith("no schedules yet: `orchestrator serve` registers")
