"""orchestrator.testing: mocked runs in virtual time, and what the result answers."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator import Workflow
from orchestrator.testing import MockError, fails, returns, run_with_mocks


def nightly() -> Workflow:
    wf = Workflow("nightly", notify=["ops@example.com"])
    load = wf.batch("load", image="jobs:1", command=["load"], retries={"attempts": 2, "interval": "10m"})
    check = wf.lambda_("check", handler="handlers:check", timeout="1m", after=[load])
    wf.batch("report", image="jobs:1", command=["report"], after=[check])
    return wf


def test_everything_mocked_succeeds_in_order_with_inputs_and_outputs(tmp_path: Path) -> None:
    run = run_with_mocks(nightly(), {"day": "2026-12-01"}, home=tmp_path,
                         mocks={"load": returns(), "check": returns({"rows": 3}, delay=30), "report": returns()})
    run.assert_succeeded()
    assert run.ran == ["load", "check", "report"]
    run.assert_order("load", "check", "report")
    assert run.task("check").attempts[0].parameters["Payload"]["input"]["day"] == "2026-12-01"
    assert run.task("check").attempts[0].output["Payload"] == {"rows": 3}
    assert run.task("check").attempts[0].ended - run.task("check").attempts[0].started == 30  # virtual time
    assert run.alert is None


def test_a_failure_on_the_first_attempt_only_is_retried(tmp_path: Path) -> None:
    run = run_with_mocks(nightly(), home=tmp_path, mocks={
        "load": fails(exit_code=137, attempt=1), "check": returns({"rows": 1}), "report": returns()})
    run.assert_succeeded()
    assert run.attempts("load") == 2
    assert [a.status for a in run.task("load").attempts] == ["FAILED", "SUCCEEDED"]
    assert run.task("load").attempts[1].started - run.task("load").attempts[0].ended >= 600  # the 10m interval


def test_a_failing_job_alerts_with_its_exit_code_and_log(tmp_path: Path) -> None:
    run = run_with_mocks(nightly(), home=tmp_path, mocks={
        "load": fails(exit_code=3, log=["reading", "boom"]), "check": returns(), "report": returns()})
    assert (run.status, run.error) == ("FAILED", "States.TaskFailed")
    assert run.ran == ["load"] and run.task("report").status == "NOT RUN"
    assert run.alert is not None
    assert run.alert.subject == "nightly failed at load: exit code 3 (attempt 3 of 3)"
    assert run.alert.body.split("\n")[-4:-2] == [" | reading", " | boom"]
    assert run.alert.attributes["task"]["StringValue"] == "load"


def test_the_timeline_is_what_a_failed_assertion_shows(tmp_path: Path) -> None:
    run = run_with_mocks(nightly(), home=tmp_path, mocks={"load": fails("Custom.Error", "no input"),
                                                          "check": returns(), "report": returns()})
    with pytest.raises(AssertionError) as failed:
        run.assert_succeeded()
    text = str(failed.value)
    assert text.startswith("expected SUCCEEDED, the run ended FAILED\nexecution ")
    assert "  load    FAILED     failed 0s-0s, failed 10m" not in text  # seconds, not durations
    assert "  report  NOT RUN    -" in text
    assert "alert: nightly failed at load: Custom.Error: no input (attempt 3 of 3)" in text
    assert repr(run).startswith("<WorkflowRun\nexecution ")


def test_a_mock_of_a_task_the_workflow_lacks_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(MockError, match=r"^mocks name 'lod', which workflow 'nightly' does not have "
                                        r"\(tasks: load, check, report\); correct the task name\.$"):
        run_with_mocks(nightly(), home=tmp_path, mocks={"lod": returns()})
    with pytest.raises(MockError, match=r"^the mock of 'load' is dict, not a mock"):
        run_with_mocks(nightly(), home=tmp_path, mocks={"load": {"Return": 1}})  # type: ignore[dict-item]


def test_a_mock_config_file_works_too(tmp_path: Path) -> None:
    import json

    config = tmp_path / "mocks.json"
    config.write_text(json.dumps({
        "StateMachines": {"nightly": {"TestCases": {"ok": {"load": "job", "check": "fn", "report": "job"}}}},
        "MockedResponses": {"job": {"0": {"Return": {"JobId": "1", "Status": "SUCCEEDED"}}},
                            "fn": {"0": {"Return": {"Payload": {"rows": 2}}}}}}))
    run = run_with_mocks(nightly(), home=tmp_path / "home", mock_config=config, test_case="ok")
    run.assert_succeeded()
    assert run.ran == ["load", "check", "report"]
