"""``orchestrator serve`` as a process: project workflows, the shared store, SIGTERM and redrive."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from orchestrator.server.serve import ServeError, check_access, serve
from tests.server_support import client

ROOT = Path(__file__).resolve().parent.parent
WORKFLOW = """\
name: two-steps
tasks:
  - name: first
    batch: {image: "alpine:3", command: ["sh", "-c", "echo ran >> first.count"]}
  - name: second
    batch: {image: "alpine:3", command: ["sh", "-c", "while [ ! -f go ]; do sleep 0.05; done"]}
    after: [first]
"""


def env(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "ORCHESTRATOR_HOME": str(tmp_path / "home"),
            "ORCHESTRATOR_LOCAL_DOCKER": "0"}


def cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "orchestrator.cli", *args], cwd=tmp_path, env=env(tmp_path),
                          capture_output=True, text=True, timeout=120)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    def __init__(self, tmp_path: Path, *args: str) -> None:
        self.port = free_port()
        self.log = (tmp_path / f"serve-{self.port}.log").open("w")
        self.proc = subprocess.Popen([sys.executable, "-m", "orchestrator.cli", "serve", *args, "--port",
                                      str(self.port)], cwd=tmp_path, env=env(tmp_path), stdout=self.log,
                                     stderr=subprocess.STDOUT)
        self.sfn = client(f"http://127.0.0.1:{self.port}")
        deadline = time.monotonic() + 60
        while True:
            try:
                self.sfn.list_state_machines()
                return
            except Exception:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"serve did not start: {Path(self.log.name).read_text()}") from None
                time.sleep(0.05)

    def stop(self, sig: int = signal.SIGTERM) -> int:
        self.proc.send_signal(sig)
        code = self.proc.wait(60)
        self.log.close()
        return code


@pytest.fixture()
def project(tmp_path: Path) -> Iterator[Path]:
    (tmp_path / "wf.yaml").write_text(WORKFLOW)
    yield tmp_path


def until(predicate: Any, what: str, timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def second_is_running(sfn: Any, arn: str) -> bool:
    types = [e["type"] for e in sfn.get_execution_history(executionArn=arn)["events"]]
    return types.count("TaskStarted") == 2  # the first task succeeded; the second one's job runs


def test_a_project_workflow_through_the_api_then_sigterm_then_redrive(project: Path) -> None:
    server = Server(project, "wf.yaml")
    sfn = server.sfn
    machine = "arn:aws:states:us-east-1:123456789012:stateMachine:two-steps"
    assert [m["stateMachineArn"] for m in sfn.list_state_machines()["stateMachines"]] == [machine]
    arn = sfn.start_execution(stateMachineArn=machine, name="api-run")["executionArn"]
    until(lambda: second_is_running(sfn, arn), "the second task to start")
    listed = json.loads(cli(project, "executions", "list", "--json").stdout)
    assert [(e["name"], e["status"]) for e in listed["executions"]] == [("api-run", "RUNNING")]
    assert server.stop() == 0
    log = Path(server.log.name).read_text()
    assert "stopped while running: api-run — `orchestrator redrive api-run`" in log
    listed = json.loads(cli(project, "executions", "list", "--json").stdout)
    assert [(e["name"], e["status"]) for e in listed["executions"]] == [("api-run", "FAILED")]
    shown = cli(project, "executions", "show", "api-run").stdout
    assert "Local.RunnerExited" in shown
    (project / "go").touch()
    redriven = cli(project, "redrive", "api-run")
    assert redriven.returncode == 0, redriven.stderr
    assert (project / "first.count").read_text() == "ran\n"  # completed before the stop: not run again
    listed = json.loads(cli(project, "executions", "list", "--json").stdout)
    assert [(e["name"], e["status"]) for e in listed["executions"]] == [("api-run", "SUCCEEDED")]


def test_the_next_serve_resumes_what_the_last_one_left(project: Path) -> None:
    server = Server(project, "wf.yaml")
    machine = "arn:aws:states:us-east-1:123456789012:stateMachine:two-steps"
    arn = server.sfn.start_execution(stateMachineArn=machine, name="left")["executionArn"]
    until(lambda: second_is_running(server.sfn, arn), "the second task to start")
    assert server.stop() == 0
    (project / "go").touch()
    again = Server(project, "wf.yaml")
    try:
        done = until(lambda: (d := again.sfn.describe_execution(executionArn=arn))["status"] != "RUNNING" and d,
                     "the resumed execution to end")
        assert (done["status"], done["redriveCount"]) == ("SUCCEEDED", 1)
    finally:
        assert again.stop() == 0
    assert (project / "first.count").read_text() == "ran\n"


def test_orchestrator_run_shows_up_in_the_api(project: Path) -> None:
    (project / "go").touch()
    ran = cli(project, "run", "wf.yaml")
    assert ran.returncode == 0, ran.stderr
    server = Server(project)
    try:
        machine = "arn:aws:states:us-east-1:123456789012:stateMachine:two-steps"
        assert [m["name"] for m in server.sfn.list_state_machines()["stateMachines"]] == ["two-steps"]
        executions = server.sfn.list_executions(stateMachineArn=machine)["executions"]
        assert [e["status"] for e in executions] == ["SUCCEEDED"]
        assert server.sfn.describe_execution(executionArn=executions[0]["executionArn"])["status"] == "SUCCEEDED"
    finally:
        assert server.stop(signal.SIGINT) == 0  # Ctrl-C stops it as cleanly as SIGTERM


def test_an_open_address_needs_an_access_key() -> None:
    with pytest.raises(ServeError, match="Refusing to serve on 0.0.0.0 without an access key: anyone who can "
                                         "reach it could run jobs on this machine. Add --access-key-id KEY"):
        serve([], host="0.0.0.0", port=free_port())
    with pytest.raises(ServeError, match="--access-key-id and --secret-access-key go together"):
        check_access("127.0.0.1", "AKID", None)
    assert check_access("127.0.0.1", None, None) is None
    assert check_access("0.0.0.0", "AKID", "secret") is not None


def test_the_cli_refuses_an_open_address_without_a_key(tmp_path: Path) -> None:
    refused = cli(tmp_path, "serve", "--host", "0.0.0.0", "--port", str(free_port()))
    assert refused.returncode == 1
    assert refused.stderr.startswith("error: Refusing to serve on 0.0.0.0 without an access key")
