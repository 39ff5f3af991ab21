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
    assert entry["executionArn"] == f"arn:aws:states:us-east-1:000000000000:execution:greet:{entry['name']}"

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
