"""Logical time (contract 5): scheduled_time in the input, and in every Batch job's environment."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from orchestrator import model
from orchestrator.cli import main
from orchestrator.inputs import InputError
from orchestrator.local.runs import compile_plan, run_plan, run_workflow
from orchestrator.logical_time import format_scheduled_time, parse_scheduled_time, with_scheduled_time

# The job writes what it was given: its environment, and its command line after the shell.
PRINT_ENV = 'printf "%s\\n%s\\n" "$ORCHESTRATOR_SCHEDULED_TIME" "$ORCHESTRATOR_EXECUTION_NAME" > env.txt'


def env_workflow() -> model.Workflow:
    return model.Workflow(name="stamp", tasks=(
        model.Task(name="print-env", job=model.BatchJob(image="alpine:3", command=("sh", "-c", PRINT_ENV))),))


def printed(tmp_path: Path) -> list[str]:
    return (tmp_path / "env.txt").read_text().splitlines()


class TestValues:
    def test_utc_text_to_the_second_like_scheduler(self) -> None:
        assert format_scheduled_time(datetime(2026, 3, 29, 1, 0, tzinfo=UTC)) == "2026-03-29T01:00:00Z"
        assert format_scheduled_time(datetime(2026, 3, 29, 1, 0, 0, 250_000, tzinfo=UTC)) == "2026-03-29T01:00:00.250Z"

    def test_offsets_become_utc(self) -> None:
        when = parse_scheduled_time("2026-03-29T03:00:00+02:00")
        assert when == datetime(2026, 3, 29, 1, tzinfo=UTC)
        assert parse_scheduled_time(datetime(2026, 1, 1, tzinfo=timezone(timedelta(hours=-5)))).hour == 5

    def test_a_time_without_a_zone_is_refused(self) -> None:
        with pytest.raises(InputError, match=r"^--scheduled-time: 2026-03-29T01:00:00 has no time zone; add one, "
                                             r"e\.g\. '2026-03-29T01:00:00Z' for UTC\.$"):
            with_scheduled_time({}, "2026-03-29T01:00:00")

    def test_text_that_is_not_a_time_is_refused(self) -> None:
        with pytest.raises(InputError, match=r"^input field 'scheduled_time': 'yesterday' is not an ISO-8601 "
                                             r"time; write it like '2026-03-29T01:00:00Z'\.$"):
            with_scheduled_time({"scheduled_time": "yesterday"})
        with pytest.raises(InputError, match=r"^input field 'scheduled_time': expected ISO-8601 text like "
                                             r"'2026-03-29T01:00:00Z', got int\.$"):
            with_scheduled_time({"scheduled_time": 1})

    def test_given_time_wins_over_none_and_input_keeps_its_own(self) -> None:
        now = datetime(2026, 5, 1, 12, 0, 30, 999, tzinfo=UTC)
        assert with_scheduled_time(None, now=now) == {"scheduled_time": "2026-05-01T12:00:30Z"}
        assert with_scheduled_time({"a": 1}, "2026-01-01T00:00:00Z", now=now) == {
            "a": 1, "scheduled_time": "2026-01-01T00:00:00Z"}
        assert with_scheduled_time({"scheduled_time": "2026-01-01T01:00:00+01:00"}, now=now) == {
            "scheduled_time": "2026-01-01T00:00:00Z"}
        # The same instant written twice is one answer, not a conflict.
        assert with_scheduled_time({"scheduled_time": "2026-01-01T00:00:00Z"}, "2026-01-01T01:00:00+01:00") == {
            "scheduled_time": "2026-01-01T00:00:00Z"}

    def test_two_different_times_are_an_error(self) -> None:
        with pytest.raises(InputError, match=r"^The input's 'scheduled_time' is '2026-01-01T00:00:00Z' but "
                                             r"--scheduled-time is '2026-01-02T00:00:00Z'; give only one\.$"):
            with_scheduled_time({"scheduled_time": "2026-01-01T00:00:00Z"}, "2026-01-02T00:00:00Z")

    def test_input_that_is_not_an_object_cannot_carry_it(self) -> None:
        with pytest.raises(InputError, match=r"^The execution input must be a JSON object to carry "
                                             r"'scheduled_time'; got list\. Wrap it: --input '\{\"value\": \.\.\.\}'\.$"):
            with_scheduled_time([1, 2])


class TestBatchJobEnvironment:
    """The compiled Batch Task state passes the time in ContainerOverrides; local Batch runs the
    job as a process here, so the job's own environment is what is checked."""

    def test_scheduled_time_and_execution_name_reach_the_job(self, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.chdir(tmp_path)
        result = run_workflow(env_workflow(), {"region": "eu"}, home=tmp_path / "home",
                              scheduled_time="2026-03-29T03:00:00+02:00", name="stamp-fire-1")
        assert result.status == "SUCCEEDED", result.cause
        assert printed(tmp_path) == ["2026-03-29T01:00:00Z", "stamp-fire-1"]
        assert result.output["input"] == {"region": "eu", "scheduled_time": "2026-03-29T01:00:00Z"}

    def test_a_manual_start_is_stamped_with_its_start_time(self, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.chdir(tmp_path)
        before = datetime.now(UTC).replace(microsecond=0)
        result = run_workflow(env_workflow(), home=tmp_path / "home")
        after = datetime.now(UTC)
        assert result.status == "SUCCEEDED", result.cause
        stamped, name = printed(tmp_path)
        assert before <= parse_scheduled_time(stamped) <= after
        assert stamped.endswith("Z") and name == result.name

    def test_a_start_without_one_gets_the_machine_start_time(self, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
        """run_plan passes the input as it is: the compiled first state fills the time in, as on AWS
        for a start from the console."""
        monkeypatch.chdir(tmp_path)
        plan = compile_plan(env_workflow(), str(tmp_path))
        result = run_plan(plan, {}, home=tmp_path / "home", name="by-hand")
        assert result.status == "SUCCEEDED", result.cause
        stamped, name = printed(tmp_path)
        started = next(e for e in result.history if e["type"] == "ExecutionStarted")["timestamp"]
        assert parse_scheduled_time(stamped) == parse_scheduled_time(started)
        assert name == "by-hand"
        assert json.loads(next(e for e in result.history if e["type"] == "ExecutionStarted")
                          ["executionStartedEventDetails"]["input"]) == {}

    def test_run_plan_passes_a_given_time(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.chdir(tmp_path)
        plan = compile_plan(env_workflow(), str(tmp_path))
        result = run_plan(plan, None, home=tmp_path / "home", scheduled_time="2025-12-31T23:00:00Z")
        assert result.status == "SUCCEEDED", result.cause
        assert printed(tmp_path)[0] == "2025-12-31T23:00:00Z"


class TestCommandLine:
    def test_run_takes_scheduled_time(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture[str]) -> None:
        monkeypatch.chdir(tmp_path)
        monkeypatch.setenv("ORCHESTRATOR_HOME", str(tmp_path / "home"))
        (tmp_path / "stamp.yaml").write_text(
            "name: stamp\ntasks:\n  - name: print-env\n    batch: {image: 'alpine:3', command: [sh, -c, "
            + json.dumps(PRINT_ENV) + "]}\n")
        assert main(["run", "stamp.yaml", "--scheduled-time", "2026-06-01T02:10:00Z"]) == 0
        assert printed(tmp_path)[0] == "2026-06-01T02:10:00Z"

    def test_a_bad_scheduled_time_is_an_error_not_a_traceback(self, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
        monkeypatch.chdir(tmp_path)
        monkeypatch.setenv("ORCHESTRATOR_HOME", str(tmp_path / "home"))
        (tmp_path / "stamp.yaml").write_text(
            "name: stamp\ntasks:\n  - name: t\n    batch: {image: 'alpine:3', command: ['true']}\n")
        assert main(["run", "stamp.yaml", "--scheduled-time", "tomorrow"]) == 1
        assert capsys.readouterr().err == (
            "error: --scheduled-time: 'tomorrow' is not an ISO-8601 time; write it like '2026-03-29T01:00:00Z'.\n")


def test_examples_in_docstrings() -> None:
    import doctest

    from orchestrator import logical_time

    assert doctest.testmod(logical_time).failed == 0
