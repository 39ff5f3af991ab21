"""The CLI's AWS commands against moto: output shapes match the local commands'."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aws_fixtures import REGION, echo_functions, fake_credentials  # noqa: F401

from orchestrator.aws import commands, executions
from orchestrator.aws.errors import AwsError, SubstitutionError

SPEC = """
name: greet
tasks:
  - name: hello
    lambda: {handler: "handlers:hello"}
  - name: shout
    lambda: {handler: "handlers:shout"}
    after: [hello]
"""
LIST_KEYS = {"executionArn", "stateMachineArn", "name", "status", "startDate", "stopDate"}


@pytest.fixture()
def project(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A spec, and in moto (running executions) its two functions and a role; (dir, role ARN)."""
    from moto import mock_aws

    (tmp_path / "greet.yaml").write_text(SPEC)
    config = {"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}
    with mock_aws(config=config):  # type: ignore[call-overload]
        role, subs = echo_functions(("hello", "shout"))
        (tmp_path / "subs.json").write_text(json.dumps(subs))
        yield tmp_path, role


def test_deploy_start_list_show_history(project: tuple[Path, str], capsys: pytest.CaptureFixture[str]) -> None:
    path, role = project
    spec, subs = str(path / "greet.yaml"), str(path / "subs.json")
    assert commands.deploy(spec, role, subs, REGION) == 0
    out = capsys.readouterr().out
    machine = "arn:aws:states:us-east-1:123456789012:stateMachine:greet"
    assert "created" in out and machine in out
    assert "https://us-east-1.console.aws.amazon.com/states/home?region=us-east-1#/statemachines/view/" in out

    assert commands.deploy(spec, role, subs, REGION) == 0
    assert "unchanged" in capsys.readouterr().out

    assert commands.executions_list("greet", json_output=True) == 0
    assert json.loads(capsys.readouterr().out) == {"executions": []}

    assert commands.start(spec, '{"word": "hi"}', wait=True, poll=0.02) == 0
    out = capsys.readouterr().out
    assert "SUCCEEDED" in out and "#/v2/executions/details/arn:aws:states:us-east-1:123456789012:execution:greet:" in out

    assert commands.executions_list(machine, json_output=True) == 0
    (entry,) = json.loads(capsys.readouterr().out)["executions"]
    assert set(entry) == LIST_KEYS and entry["status"] == "SUCCEEDED"
    assert commands.executions_list("greet") == 0
    assert entry["name"] in capsys.readouterr().out

    assert commands.executions_show(entry["executionArn"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["status"] == "SUCCEEDED" and shown["input"] == {"word": "hi"} and shown["redriveCount"] == 0
    assert {k: shown[k] for k in LIST_KEYS} == entry

    assert commands.executions_history(entry["executionArn"]) == 0
    events = json.loads(capsys.readouterr().out)["events"]
    assert events[0]["type"] == "ExecutionStarted" and events[-1]["type"] == "ExecutionSucceeded"


def test_deploy_without_substitutions_names_them_all(project: tuple[Path, str]) -> None:
    path, role = project
    with pytest.raises(SubstitutionError, match=r"^Cannot deploy 'greet': 2 placeholders have no value:\n"
                                                r"  \$\{Function_hello\}: .*\n  \$\{Function_shout\}: "):
        commands.deploy(str(path / "greet.yaml"), role, None, REGION)


def test_start_unknown_state_machine(project: tuple[Path, str]) -> None:
    with pytest.raises(AwsError, match=r"^find state machine on 'nope' failed: no state machine of that name in "
                                       r"us-east-1\n    fix: check the name and --region, or deploy it"):
        commands.start("nope", None)


def test_start_bad_input_is_a_user_error(project: tuple[Path, str]) -> None:
    with pytest.raises(commands.InputError, match=r"^--input is not valid JSON"):
        commands.start("greet", "{nope")


def test_redrive_prints_the_console_link(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import boto3
    from botocore.stub import Stubber

    arn = "arn:aws:states:eu-west-1:123456789012:execution:greet:run-1"
    client = boto3.client("stepfunctions", region_name="eu-west-1")
    regions: list[str | None] = []

    def make(service: str, region: str | None = None) -> Any:
        regions.append(region)
        return client

    monkeypatch.setattr(executions, "make_client", make)
    stub = Stubber(client)
    stub.add_response("redrive_execution", {"redriveDate": datetime(2024, 6, 1, tzinfo=UTC)}, {"executionArn": arn})
    with stub:
        assert commands.redrive(arn) == 0
    assert regions == ["eu-west-1"]  # the ARN's region
    out = capsys.readouterr().out
    assert "redriven run-1 at 2024-06-01T00:00:00.000+00:00" in out
    assert f"https://eu-west-1.console.aws.amazon.com/states/home?region=eu-west-1#/v2/executions/details/{arn}" in out


def test_console(capsys: pytest.CaptureFixture[str]) -> None:
    arn = "arn:aws-cn:states:cn-north-1:123456789012:stateMachine:greet"
    assert commands.console(arn) == 0
    assert capsys.readouterr().out == (
        f"https://cn-north-1.console.amazonaws.cn/states/home?region=cn-north-1#/statemachines/view/{arn}\n")
