"""``python -m orchestrator.batch_entry``: a Python task run as a Batch job."""

from __future__ import annotations

import doctest
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from orchestrator import batch_entry
from orchestrator.local.store import Store

REPO = Path(__file__).resolve().parents[1]
TASKS = ("def double(event, context):\n    return {'x': event['input']['x'] * 2, 'job': context.aws_request_id}\n"
         "def echo(event):\n    return event\n"
         "def fail(event):\n    raise RuntimeError('no')\n")
ENV = ("ORCHESTRATOR_EVENT", "ORCHESTRATOR_EVENT_FILE", "ORCHESTRATOR_EXECUTION_ID", "ORCHESTRATOR_HOME",
       "ORCHESTRATOR_RESULT_FILE", "ORCHESTRATOR_SCHEDULED_TIME", "ORCHESTRATOR_WORKFLOW", "ORCHESTRATOR_TASK",
       "AWS_BATCH_JOB_ID")


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory with ``tasks.py`` and none of the entry's environment variables set."""
    (tmp_path / "tasks.py").write_text(TASKS)
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "tasks", raising=False)
    for name in ENV:
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def last_json(out: str) -> object:
    return json.loads(out.splitlines()[-1])


def test_docstring_examples() -> None:
    result = doctest.testmod(batch_entry)
    assert result.attempted > 0 and result.failed == 0


# -- where the event comes from, first found --------------------------------------------------


def test_event_from_the_command_line_first(project: Path, monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("ORCHESTRATOR_EVENT", '{"from": "environment"}')
    assert batch_entry.main(["tasks:echo", "--event", '{"from": "argv"}']) == 0
    assert last_json(capsys.readouterr().out) == {"from": "argv"}


def test_event_file_then_environment(project: Path, monkeypatch: pytest.MonkeyPatch,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    (project / "event.json").write_text('{"from": "file"}')
    assert batch_entry.main(["tasks:echo", "--event-file", "event.json"]) == 0
    assert last_json(capsys.readouterr().out) == {"from": "file"}
    monkeypatch.setenv("ORCHESTRATOR_EVENT_FILE", "event.json")
    assert batch_entry.main(["tasks:echo"]) == 0
    assert last_json(capsys.readouterr().out) == {"from": "file"}
    monkeypatch.setenv("ORCHESTRATOR_EVENT", '{"from": "environment"}')
    assert batch_entry.main(["tasks:echo"]) == 0
    assert last_json(capsys.readouterr().out) == {"from": "environment"}


def test_event_built_from_the_execution_in_the_local_store(project: Path, monkeypatch: pytest.MonkeyPatch,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    store = Store(project / "home")
    arn = "arn:aws:states:us-east-1:123456789012:execution:wf:e1"
    store.create_execution(arn=arn, name="e1", state_machine_arn="arn:aws:states:us-east-1:123456789012:stateMachine:wf",
                           workflow="wf", parent_arn=None, scope=arn, input={"x": 5},
                           start_date="2024-06-01T00:00:00.000+00:00", cwd=str(project), plan=None, runner_start=None)
    monkeypatch.setenv("ORCHESTRATOR_HOME", str(project / "home"))
    monkeypatch.setenv("ORCHESTRATOR_EXECUTION_ID", arn)
    monkeypatch.setenv("ORCHESTRATOR_WORKFLOW", "wf")
    monkeypatch.setenv("ORCHESTRATOR_TASK", "t")
    monkeypatch.setenv("ORCHESTRATOR_SCHEDULED_TIME", "2024-06-01T02:10:00Z")
    assert batch_entry.main(["tasks:echo"]) == 0
    assert last_json(capsys.readouterr().out) == {
        "workflow": "wf", "task": "t", "function": "tasks:echo",
        "input": {"x": 5, "scheduled_time": "2024-06-01T02:10:00Z"},
        "execution": {"Id": arn, "Name": "e1"}}


def test_a_child_machines_input_is_unwrapped(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    wrapped = {"input": {"x": 1}, "results": {}, "AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID": "arn:parent"}
    monkeypatch.setattr(batch_entry, "_execution_input", lambda execution_id: (wrapped, True))
    monkeypatch.setenv("ORCHESTRATOR_EXECUTION_ID", "arn:aws:states:us-east-1:123456789012:execution:wf-part-1:c")
    event = batch_entry.load_event(batch_entry.argparse.Namespace(event=None, event_file=None), "tasks:echo")
    assert event["input"] == {"x": 1}


# -- calling the function --------------------------------------------------------------------


def test_the_context_is_passed_when_the_function_takes_it(project: Path, monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("AWS_BATCH_JOB_ID", "job-7")
    assert batch_entry.main(["tasks:double", "--event", '{"input": {"x": 21}}']) == 0
    assert last_json(capsys.readouterr().out) == {"x": 42, "job": "job-7"}


def test_an_exception_in_the_function_exits_1_with_its_traceback(project: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    assert batch_entry.main(["tasks:fail", "--event", "{}"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" in err and err.rstrip().endswith("RuntimeError: no")


# -- what cannot start is one line, not a traceback ---------------------------------------------


def test_an_event_that_is_not_json(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert batch_entry.main(["tasks:echo", "--event", "{x"]) == batch_entry.USAGE_ERROR
    assert capsys.readouterr().err == (
        "orchestrator.batch_entry: --event is not JSON (Expecting property name enclosed in double quotes: "
        "line 1 column 2 (char 1)); fix: pass a JSON value, e.g. --event '{\"input\": {}}'\n")


def test_an_event_file_that_cannot_be_read(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert batch_entry.main(["tasks:echo", "--event-file", "missing.json"]) == batch_entry.USAGE_ERROR
    assert capsys.readouterr().err == (
        "orchestrator.batch_entry: --event-file 'missing.json' cannot be read: No such file or directory\n")


def test_a_function_that_cannot_be_imported(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert batch_entry.main(["tasks:nowhere", "--event", "{}"]) == batch_entry.USAGE_ERROR
    assert capsys.readouterr().err == (
        "orchestrator.batch_entry: cannot import the task's function 'tasks:nowhere': module 'tasks' has no "
        "attribute 'nowhere'; fix: name it as module:function (or path/to/file.py:function) importable from "
        "the working directory\n")


# -- as the container runs it -------------------------------------------------------------------


def test_python_m_prints_and_writes_the_result(tmp_path: Path) -> None:
    (tmp_path / "tasks.py").write_text(TASKS)
    result_file = tmp_path / "result.json"
    env = {**{k: v for k, v in os.environ.items() if k not in ENV}, "PYTHONPATH": str(REPO),
           "ORCHESTRATOR_EVENT": '{"input": {"x": 21}}', "AWS_BATCH_JOB_ID": "job-1",
           "ORCHESTRATOR_RESULT_FILE": str(result_file)}
    done = subprocess.run([sys.executable, "-m", "orchestrator.batch_entry", "tasks:double"], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert last_json(done.stdout) == {"x": 42, "job": "job-1"}
    assert json.loads(result_file.read_text()) == {"x": 42, "job": "job-1"}
