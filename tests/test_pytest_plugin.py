"""The pytest plugin, tested with pytest's own pytester: fixtures, readable failures, the scaffold."""

from __future__ import annotations

import importlib.metadata
import os
from pathlib import Path

import pytest

from orchestrator.scaffold import scaffold

pytest_plugins = ["pytester"]
ROOT = Path(__file__).resolve().parents[1]


def _registered() -> bool:
    return any(ep.value == "orchestrator.pytest_plugin" for ep in importlib.metadata.entry_points(group="pytest11"))


def _plugin_args() -> list[str]:
    # Installed (pip install -e .), the entry point loads the plugin; a checkout run without
    # installing it names the plugin instead.
    return [] if _registered() else ["-p", "orchestrator.pytest_plugin"]


@pytest.fixture(autouse=True)
def _importable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))


def test_the_package_registers_the_plugin_through_the_pytest11_entry_point() -> None:
    text = (ROOT / "pyproject.toml").read_text()
    assert '[project.entry-points.pytest11]\norchestrator = "orchestrator.pytest_plugin"' in text
    if not _registered():
        pytest.skip("the package is not installed here (pip install -e .); the entry point is declared")


WORKFLOW_TEST = '''
from orchestrator import Workflow
from orchestrator.testing import fails, returns

wf = Workflow("plugged", notify=["ops@example.com"])
a = wf.batch("a", image="jobs:1", command=["a"])
wf.batch("b", image="jobs:1", command=["b"], after=[a])


def test_passes(workflow_run):
    run = workflow_run(wf, mocks={"a": returns(), "b": returns()})
    run.assert_succeeded()
    assert run.ran == ["a", "b"]


def test_alert_names_the_task(workflow_run):
    run = workflow_run(wf, mocks={"a": fails(exit_code=2), "b": returns()})
    assert run.alert.subject == "plugged failed at a: exit code 2 (attempt 1 of 1)"


def test_wrong_expectation(workflow_run):
    run = workflow_run(wf, mocks={"a": fails("Custom.Error", "disk full"), "b": returns()})
    run.assert_succeeded()
'''


def test_fixtures_work_and_a_wrong_expectation_reads_as_a_timeline(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_flow=WORKFLOW_TEST)
    result = pytester.runpytest_subprocess(*_plugin_args(), "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines([
        "*expected SUCCEEDED, the run ended FAILED",
        "*execution plugged-*: FAILED (Custom.Error)",
        "*  a  FAILED     failed 0s-0s",
        "*  b  NOT RUN    -",
        "*alert: plugged failed at a: Custom.Error: disk full (attempt 1 of 1)",
    ])
    assert "{'" not in result.stdout.str().split("test_wrong_expectation")[-1]  # no dict dump


def test_the_scaffolds_tests_pass_in_a_fresh_directory(pytester: pytest.Pytester) -> None:
    scaffold(pytester.path / "demo")
    os.chdir(pytester.path / "demo")
    result = pytester.runpytest_subprocess(*_plugin_args(), "-p", "no:cacheprovider")
    result.assert_outcomes(passed=3)


ENDPOINT_TEST = '''
import json, time

def test_a_suite_written_for_step_functions_local(sfn_client):
    definition = {"StartAt": "Hi", "States": {"Hi": {"Type": "Pass", "Result": {"ok": True}, "End": True}}}
    arn = sfn_client.create_state_machine(name="hello", definition=json.dumps(definition),
                                          roleArn="arn:aws:iam::123456789012:role/r")["stateMachineArn"]
    execution = sfn_client.start_execution(stateMachineArn=arn, input="{}")["executionArn"]
    deadline = time.monotonic() + 30
    while (described := sfn_client.describe_execution(executionArn=execution))["status"] == "RUNNING":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert described["status"] == "SUCCEEDED" and json.loads(described["output"]) == {"ok": True}
'''


def test_the_endpoint_fixture_serves_a_boto3_client(pytester: pytest.Pytester) -> None:
    pytest.importorskip("boto3")
    pytester.makepyfile(test_endpoint=ENDPOINT_TEST)
    result = pytester.runpytest_subprocess(*_plugin_args(), "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
