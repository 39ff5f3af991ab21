"""The CLI's local commands: run, executions list/show/history, logs, redrive; errors without tracebacks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from orchestrator.errors import OrchestratorError
from orchestrator.local import commands
from orchestrator.local.store import ExecutionNotFound

SPEC = """
name: greet
tasks:
  - name: hello
    batch: {image: "alpine:3", command: ["sh", "-c", "echo hello from batch; test -e gate"]}
  - name: shout
    lambda: {handler: "handlers:shout"}
    after: [hello]
"""


@pytest.fixture()
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ORCHESTRATOR_HOME", str(tmp_path / ".orchestrator"))
    (tmp_path / "greet.yaml").write_text(SPEC)
    (tmp_path / "handlers.py").write_text(
        "def shout(event, context):\n    print('shouting')\n    return event['input']['word'].upper()\n")
    return tmp_path


def test_run_list_show_history_logs_and_redrive(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert commands.run("greet.yaml", '{"word": "hi"}') == 1  # no gate yet: hello fails
    out = capsys.readouterr().out
    assert "FAILED" in out and "orchestrator redrive greet-" in out

    assert commands.executions_list(json_output=True) == 0
    (entry,) = json.loads(capsys.readouterr().out)["executions"]
    assert set(entry) == {"executionArn", "stateMachineArn", "name", "status", "startDate", "stopDate"}
    assert entry["status"] == "FAILED"
    assert entry["executionArn"] == f"arn:aws:states:us-east-1:123456789012:execution:greet:{entry['name']}"

    (project / "gate").touch()
    assert commands.redrive(entry["name"][:10]) == 0
    assert "SUCCEEDED" in capsys.readouterr().out

    assert commands.executions_show(entry["executionArn"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["status"] == "SUCCEEDED" and shown["output"]["results"]["shout"] == {"Payload": "HI"}
    assert shown["redriveCount"] == 1

    assert commands.executions_history(entry["name"]) == 0
    events = json.loads(capsys.readouterr().out)["events"]
    assert events[0]["type"] == "ExecutionStarted" and events[-1]["type"] == "ExecutionSucceeded"

    assert commands.logs(entry["name"]) == 0
    logs = capsys.readouterr().out
    assert logs.count("hello from batch") == 2 and "shouting" in logs  # both attempts of hello

    assert commands.logs(entry["name"], "shout") == 0
    assert "hello from batch" not in capsys.readouterr().out
    with pytest.raises(OrchestratorError, match="has no logs for task 'nope'; tasks with logs: hello, shout"):
        commands.logs(entry["name"], "nope")


def test_unknown_and_ambiguous_executions_are_clear_errors(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(ExecutionNotFound, match=r"No execution matches 'nope' .* There are none yet"):
        commands.executions_show("nope")
    (project / "gate").touch()
    commands.run("greet.yaml", '{"word": "a"}')
    commands.run("greet.yaml", '{"word": "b"}')
    with pytest.raises(ExecutionNotFound, match=r"'greet-' matches 2 executions .*give more of the name"):
        commands.executions_history("greet-")
    capsys.readouterr()
    assert commands.executions_list(json_output=False) == 0
    assert capsys.readouterr().out.count("SUCCEEDED") == 2


def test_bad_input_json_is_an_orchestrator_error(project: Path) -> None:
    with pytest.raises(OrchestratorError, match="--input is not valid JSON"):
        commands.run("greet.yaml", "{nope")


def test_input_from_a_file(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "gate").touch()
    (project / "input.json").write_text('{"word": "file"}')
    assert commands.run("greet.yaml", "@input.json") == 0
    with pytest.raises(OrchestratorError, match="cannot read missing.json"):
        commands.run("greet.yaml", "@missing.json")


RETRIED = """
name: retried
tasks:
  - name: flaky
    batch: {image: "alpine:3", command: ["sh", "-c", "test -e tried || { touch tried; exit 3; }"]}
    retries: {attempts: 2, interval: 1s}
  - name: mocked
    lambda: {handler: "handlers:shout"}
    after: [flaky]
"""
MOCKS = {"StateMachines": {"retried": {"TestCases": {
    "MockedShout": {"mocked": "ThrowThenReturn"}, "Typo": {"mocekd": "ThrowThenReturn"}}}},
    "MockedResponses": {"ThrowThenReturn": {
        "0": {"Throw": {"Error": "Lambda.ServiceException", "Cause": "mocked"}},
        "1-2": {"Return": {"Payload": "SHOUTED"}}}}}


def test_summary_numbers_each_task_attempt_and_lists_mocked_calls(project: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    (project / "retried.yaml").write_text(RETRIED)
    (project / "mocks.json").write_text(json.dumps(MOCKS))
    assert commands.run("retried.yaml", None, "mocks.json", "MockedShout") == 0
    out = capsys.readouterr().out
    rows = [[cell.strip() for cell in line.split("│")[1:-1]] for line in out.splitlines()
            if line.startswith("│") and line.split("│")[1].strip()]
    assert [(r[0], r[1], r[2], r[3]) for r in rows] == [
        ("flaky", "batch", "FAILED", "1"), ("flaky", "batch", "SUCCEEDED", "2"),
        ("mocked", "mock", "FAILED", "1"), ("mocked", "mock", "SUCCEEDED", "2")]
    assert "(exit code 3)" in out


def test_a_test_case_that_mocks_no_such_state_is_an_error(project: Path) -> None:
    (project / "retried.yaml").write_text(RETRIED)
    (project / "mocks.json").write_text(json.dumps(MOCKS))
    with pytest.raises(OrchestratorError, match=r"mocks.json: test case 'Typo' mocks 'mocekd', which is not a Task "
                                                r"state of 'retried' \(Task states: flaky, mocked"):
        commands.run("retried.yaml", None, "mocks.json", "Typo")


def test_run_closes_its_store_so_the_wal_is_checkpointed_at_exit(project: Path) -> None:
    # The run's connections are closed by the command (a Connection lives in a reference cycle,
    # and the heap is frozen at exit): the last close folds the WAL into the database file.
    import os
    import subprocess
    import sys

    (project / "gate").write_text("")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    done = subprocess.run([sys.executable, "-m", "orchestrator.cli", "run", "greet.yaml", "--input", '{"word": "hi"}'],
                          cwd=project, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    home = project / ".orchestrator"
    assert sorted(p.name for p in home.iterdir() if p.name.startswith("store")) == ["store.sqlite3"]
    assert commands.executions_list(json_output=True) == 0
