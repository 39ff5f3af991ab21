"""run_workflow end to end on the engine: persistence, redrive, a killed runner, mocks, children."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from orchestrator import model
from orchestrator.local.mocks import MockConfig
from orchestrator.local.runs import (
    RedriveError,
    build_plan,
    compile_plan,
    redrive_execution,
    run_plan,
    run_workflow,
)
from orchestrator.local.store import Store

REPO = Path(__file__).resolve().parents[1]


def sh(name: str, script: str, after: tuple[str, ...] = ()) -> model.Task:
    return model.Task(name=name, job=model.BatchJob(image="alpine:3", command=("sh", "-c", script)), after=after)


def chain(log: Path, gate: Path) -> model.Workflow:
    """a → b → c; each appends its name to ``log``; b fails until ``gate`` exists."""
    return model.Workflow(name="chain", tasks=(
        sh("a", f"echo a >> {log}"),
        sh("b", f"test -e {gate} && echo b >> {log}", after=("a",)),
        sh("c", f"echo c >> {log}", after=("b",)),
    ))


def test_run_workflow_runs_batch_and_lambda_tasks_and_stores_everything(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "handlers.py").write_text("def hi(event, context):\n    return {'saw': event['input']}\n")
    wf = model.Workflow(name="mixed", tasks=(
        sh("extract", "echo extracted > out.txt"),
        model.Task(name="check", job=model.LambdaTask(handler="handlers:hi"), after=("extract",)),
    ))
    result = run_workflow(wf, {"day": 1}, home=tmp_path / "home", scheduled_time="2024-06-01T02:10:00+02:00")
    assert result.status == "SUCCEEDED", result.cause
    given = {"day": 1, "scheduled_time": "2024-06-01T00:10:00Z"}
    assert result.output["results"]["check"] == {"Payload": {"saw": given}}
    assert result.output["results"]["extract"]["Status"] == "SUCCEEDED"
    assert (tmp_path / "out.txt").read_text() == "extracted\n"  # jobs run in the project directory
    store = Store(tmp_path / "home")
    (row,) = store.executions()
    assert (row.status, row.name, row.input) == ("SUCCEEDED", result.name, given)
    events = store.events(row.arn)
    assert events == result.history
    assert [e["type"] for e in events][0] == "ExecutionStarted" and events[-1]["type"] == "ExecutionSucceeded"
    assert [e["id"] for e in events] == list(range(1, len(events) + 1))
    assert set(result.logs) == {"extract", "check"}
    (job,) = store.jobs(row.arn)
    names = {e["Name"] for e in job["description"]["Container"]["Environment"]}
    assert "ORCHESTRATOR_HOME" not in names and "ORCHESTRATOR_TASK" in names  # local plumbing stays out


def test_redrive_finishes_without_rerunning_completed_tasks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    log, gate = tmp_path / "log", tmp_path / "gate"
    first = run_workflow(chain(log, gate), home=tmp_path / "home")
    assert first.status == "FAILED"
    assert log.read_text().split() == ["a"]
    gate.touch()
    second = redrive_execution(first.name[:12], home=tmp_path / "home")
    assert second.status == "SUCCEEDED"
    assert log.read_text().split() == ["a", "b", "c"]
    assert second.reused == ("a",) and second.redrive_count == 1
    types = [e["type"] for e in second.history]
    assert types.count("ExecutionRedriven") == 1 and types[-1] == "ExecutionSucceeded"
    redriven = next(e for e in second.history if e["type"] == "ExecutionRedriven")
    assert redriven["executionRedrivenEventDetails"] == {"redriveCount": 1}
    assert [e["id"] for e in second.history] == list(range(1, len(second.history) + 1))
    with pytest.raises(RedriveError, match="succeeded; only FAILED, TIMED_OUT or ABORTED executions can be redriven"):
        redrive_execution(first.name, home=tmp_path / "home")


RUNNER_SCRIPT = """
import sys
from orchestrator import model
from orchestrator.local.runs import run_workflow
log, pidfile, go = sys.argv[1:4]
slow = (f"if [ -e {go} ]; then echo b >> {log}; else sleep 60 & echo $! > {pidfile}.sleep; "
        f"echo $$ > {pidfile}.tmp; mv {pidfile}.tmp {pidfile}; wait; fi")
wf = model.Workflow(name="killme", tasks=(
    model.Task(name="a", job=model.BatchJob(image="x", command=("sh", "-c", f"echo a >> {log}"))),
    model.Task(name="b", job=model.BatchJob(image="x", command=("sh", "-c", slow)), after=("a",)),
    model.Task(name="c", job=model.BatchJob(image="x", command=("sh", "-c", f"echo c >> {log}")), after=("b",)),
))
run_workflow(wf, name="killme-1")
"""


def _gone(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def test_killed_runner_loses_nothing_its_job_dies_and_redrive_finishes(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    log, pidfile, go = tmp_path / "log", tmp_path / "b.pid", tmp_path / "go"
    (tmp_path / "run.py").write_text(RUNNER_SCRIPT)
    env = {**os.environ, "PYTHONPATH": str(REPO), "ORCHESTRATOR_HOME": str(tmp_path / "home")}
    runner = subprocess.Popen([sys.executable, "run.py", str(log), str(pidfile), str(go)], cwd=tmp_path, env=env,
                              stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while not pidfile.exists():
        assert time.monotonic() < deadline and runner.poll() is None, "job b never started"
        time.sleep(0.02)
    job_pid = int(pidfile.read_text())
    grandchild = int((tmp_path / "b.pid.sleep").read_text())  # in the job's group, not its direct child
    os.kill(runner.pid, signal.SIGKILL)
    runner.wait()
    deadline = time.monotonic() + 15  # the watchdog wakes at once; a loaded machine may schedule it late
    while not (_gone(job_pid) and _gone(grandchild)):
        assert time.monotonic() < deadline, "job b (or its child) outlived the runner"
        time.sleep(0.02)

    store = Store(tmp_path / "home")
    row = store.resolve("killme-1")
    assert row.status == "RUNNING"  # as the runner left it
    types = [e["type"] for e in store.events(row.arn)]
    assert "TaskSucceeded" in types  # a's completion was committed before the kill

    go.touch()
    result = redrive_execution("killme", home=tmp_path / "home")
    assert result.status == "SUCCEEDED"
    assert log.read_text().split() == ["a", "b", "c"]  # a ran once, b was re-run, c ran
    assert result.reused == ("a",)
    history = store.events(row.arn)
    failed = [e for e in history if e["type"] == "ExecutionFailed"]
    assert failed[0]["executionFailedEventDetails"]["error"] == "Local.RunnerExited"


def test_mock_config_returns_and_throws_per_invocation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    log = tmp_path / "log"
    wf = model.Workflow(name="mocked", tasks=(
        sh("a", f"echo a >> {log}"), sh("b", f"echo b >> {log}", after=("a",))))
    config = MockConfig.from_dict({
        "StateMachines": {"mocked": {"TestCases": {
            "HappyPath": {"a": "JobDone"},
            "BFails": {"b": "JobFails"}}}},
        "MockedResponses": {
            "JobDone": {"0": {"Return": {"JobId": "mock-1", "Status": "SUCCEEDED"}}},
            "JobFails": {"0-1": {"Throw": {"Error": "States.TaskFailed", "Cause": "mocked failure"}}}}})
    happy = run_workflow(wf, home=tmp_path / "home", mock_config=config, test_case="HappyPath")
    assert happy.status == "SUCCEEDED"
    assert happy.output["results"]["a"] == {"JobId": "mock-1", "Status": "SUCCEEDED"}
    assert log.read_text().split() == ["b"]  # a was mocked, b ran for real
    failing = run_workflow(wf, home=tmp_path / "home", mock_config=config, test_case="BFails")
    assert failing.status == "FAILED"
    assert log.read_text().split() == ["b", "a"]


def test_unknown_test_case_lists_the_defined_ones(tmp_path: Path) -> None:
    config = MockConfig.from_dict({"StateMachines": {"wf": {"TestCases": {"A": {}}}}, "MockedResponses": {}})
    with pytest.raises(Exception, match=r"no test case 'B' for state machine 'wf' \(defined: wf/A\)"):
        config.case("wf", "B")


CHILD_PLAN_MAIN = {
    "StartAt": "Part 1",
    "States": {
        "Part 1": {"Type": "Task", "Resource": "arn:aws:states:::states:startExecution.sync:2",
                   "Parameters": {"StateMachineArn": "${StateMachine_split-part-1}", "Input": {"n.$": "$.n"}},
                   "ResultSelector": {"out.$": "$.Output"}, "End": True}}}
CHILD_PLAN_CHILD = {
    "StartAt": "work",
    "States": {
        "work": {"Type": "Task", "Resource": "arn:aws:states:::batch:submitJob.sync",
                 "Parameters": {"JobName": "work", "JobQueue": "${JobQueue_default}",
                                "JobDefinition": "${JobDefinition_work}"},
                 "ResultSelector": {"Status.$": "$.Status"}, "ResultPath": "$.work", "End": True}}}


def test_child_state_machines_run_locally_through_start_execution_sync(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    wf = model.Workflow(name="split", tasks=(sh("work", "echo worked"),))
    plan = build_plan(wf, {"split": CHILD_PLAN_MAIN, "split-part-1": CHILD_PLAN_CHILD}, "split", str(tmp_path))
    assert plan["definitions"]["split"]["States"]["Part 1"]["Parameters"]["StateMachineArn"] == \
        "arn:aws:states:us-east-1:123456789012:stateMachine:split-part-1"
    result = run_plan(plan, {"n": 7}, home=tmp_path / "home")
    assert result.status == "SUCCEEDED", result.cause
    assert result.output == {"out": {"n": 7, "work": {"Status": "SUCCEEDED"}}}
    store = Store(tmp_path / "home")
    (child,) = store.children(result.execution_arn)
    assert child.status == "SUCCEEDED" and child.state_machine_arn.endswith(":stateMachine:split-part-1")
    assert "work" in result.logs


def test_a_child_name_already_used_fails_like_aws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    wf = model.Workflow(name="split", tasks=(sh("work", "true"),))
    main = {"StartAt": "Part 1", "States": {"Part 1": {
        **CHILD_PLAN_MAIN["States"]["Part 1"], "Parameters": {
            **CHILD_PLAN_MAIN["States"]["Part 1"]["Parameters"], "Name": "fixed"}}}}
    plan = build_plan(wf, {"split": main, "split-part-1": CHILD_PLAN_CHILD}, "split", str(tmp_path))
    assert run_plan(plan, {"n": 1}, home=tmp_path / "home").status == "SUCCEEDED"
    again = run_plan(plan, {"n": 1}, home=tmp_path / "home")
    assert (again.status, again.error) == ("FAILED", "StepFunctions.ExecutionAlreadyExistsException")
    assert again.cause == "Execution Already Exists: 'arn:aws:states:us-east-1:123456789012:execution:split-part-1:fixed'"


def test_python_task_on_batch_runs_through_orchestrator_runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "longjob.py").write_text(textwrap.dedent("""
        def main(event, context):
            with open("seen.json", "w") as f:
                import json; json.dump(event["input"], f)
            return {"ok": True}
    """))
    wf = model.Workflow(name="pyjob", tasks=(
        model.Task(name="long", job=model.PythonTask(function="longjob:main"), timeout=3600),))
    result = run_workflow(wf, {"k": "v"}, home=tmp_path / "home", scheduled_time="2024-06-01T00:00:00Z")
    assert result.status == "SUCCEEDED", result.cause
    assert json.loads((tmp_path / "seen.json").read_text()) == {"k": "v", "scheduled_time": "2024-06-01T00:00:00Z"}


def test_failure_alert_goes_to_the_outbox_and_is_sent_again_if_redrive_fails_again(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ORCHESTRATOR_SNS_WEBHOOK", raising=False)
    monkeypatch.delenv("ORCHESTRATOR_SMTP_HOST", raising=False)
    wf = model.Workflow(name="alerting", notify=model.Notify(email=("ops@example.com",)),
                        tasks=(sh("ok", "true"), sh("broken", "echo broken-output; exit 7", after=("ok",))))
    printed: list[str] = []
    first = run_workflow(wf, home=tmp_path / "home", notice=printed.append)
    assert first.status == "FAILED"
    store = Store(tmp_path / "home")
    (message,) = store.messages(first.execution_arn)
    assert message["topic_arn"] == "arn:aws:sns:us-east-1:123456789012:alerting-alerts"
    assert "broken" in (message["subject"] or "") and "broken/default/" in message["message"]
    assert any(line.startswith("[sns] alerting-alerts: ") for line in printed)
    second = redrive_execution(first.name, home=tmp_path / "home", notice=printed.append)
    assert second.status == "FAILED" and second.reused == ("ok",)
    assert len(store.messages(first.execution_arn)) == 2  # alerts are never replayed from the first run


def test_queue_priorities_and_names_reach_the_jobs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    wf = model.Workflow(name="queued", queues=(model.Queue(name="urgent", priority=50),), tasks=(
        model.Task(name="q", job=model.BatchJob(image="x", command=("sh", "-c", "echo $AWS_BATCH_JQ_NAME"),
                                                queue="urgent")),))
    result = run_workflow(wf, home=tmp_path / "home")
    assert result.status == "SUCCEEDED", result.cause
    assert Path(result.logs["q"][0]).read_text() == "urgent\n"


def test_virtual_time_runs_jobs_for_real(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    wf = model.Workflow(name="vt", tasks=(sh("one", "echo one > one.txt"),))
    assert run_workflow(wf, home=tmp_path / "home", virtual_time=True).status == "SUCCEEDED"
    assert (tmp_path / "one.txt").exists()


def test_run_workflow_accepts_a_spec_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "wf.yaml").write_text(
        "name: from-file\ntasks:\n  - name: only\n    batch: {image: alpine, command: [sh, -c, 'echo $ORCHESTRATOR_TASK']}\n")
    result = run_workflow("wf.yaml", home=tmp_path / "home")
    assert result.status == "SUCCEEDED", result.cause
    assert Path(result.logs["only"][0]).read_text() == "only\n"


def test_static_job_settings_reach_the_job_from_its_job_definition(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    # The compiled state sends neither command nor environment (the job definition has them, on
    # AWS as here); the job still gets both, and Batch's retry strategy.
    monkeypatch.chdir(tmp_path)
    job = model.BatchJob(image="alpine:3", command=("sh", "-c", "echo $MODE $ORCHESTRATOR_WORKFLOW $ORCHESTRATOR_TASK"),
                         environment={"MODE": "fast"})
    wf = model.Workflow(name="static", tasks=(model.Task(name="show", job=job, timeout=120),))
    plan = compile_plan(wf, str(tmp_path))
    parameters = plan["definitions"]["static"]["States"]["show"]["Parameters"]
    assert "Command" not in parameters["ContainerOverrides"] and "RetryStrategy" not in parameters
    settings = plan["job_definitions"]["show"]
    assert (settings["timeout"], settings["retry_attempts"]) == (120, 3)
    assert settings["evaluate_on_exit"][-1] == {"OnReason": "*", "Action": "EXIT"}
    result = run_plan(plan, {}, home=tmp_path / "home")
    assert result.status == "SUCCEEDED", result.cause
    assert Path(result.logs["show"][0]).read_text() == "fast static show\n"


INTERRUPT_SCRIPT = """
import signal, sys
signal.signal(signal.SIGINT, signal.default_int_handler)
from orchestrator import model
from orchestrator.errors import OrchestratorError
from orchestrator.local.runs import run_workflow
wf = model.Workflow(name="interrupted", tasks=(
    model.Task(name="nap", job=model.BatchJob(image="x", command=("sh", "-c", "echo $$ > nap.pid; sleep 60"))),))
try:
    run_workflow(wf, name="interrupted-1")
except OrchestratorError as error:
    print(error)
"""


def test_ctrl_c_aborts_the_execution_and_stops_its_jobs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "run.py").write_text(INTERRUPT_SCRIPT)
    env = {**os.environ, "PYTHONPATH": str(REPO), "ORCHESTRATOR_HOME": str(tmp_path / "home")}
    runner = subprocess.Popen([sys.executable, "run.py"], cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, text=True)
    pidfile = tmp_path / "nap.pid"
    deadline = time.monotonic() + 20
    while not pidfile.exists() or not pidfile.read_text().strip():
        assert time.monotonic() < deadline and runner.poll() is None
        time.sleep(0.02)
    runner.send_signal(signal.SIGINT)
    out, _ = runner.communicate(timeout=20)
    assert "Interrupted: execution 'interrupted-1' is ABORTED; `orchestrator redrive interrupted-1`" in out
    assert _gone(int(pidfile.read_text()))
    assert Store(tmp_path / "home").resolve("interrupted-1").status == "ABORTED"


def test_an_unhandled_lambda_exception_fails_the_execution_as_on_aws(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "quota.py").write_text(
        "class QuotaExceeded(Exception):\n    pass\n\n"
        "def handler(event, context):\n    raise QuotaExceeded('daily quota of 5 reached')\n")
    wf = model.Workflow(name="quota", tasks=(model.Task(name="call", job=model.LambdaTask(handler="quota:handler")),))
    result = run_workflow(wf, home=tmp_path / "home")
    assert (result.status, result.error) == ("FAILED", "QuotaExceeded")
    cause = json.loads(result.cause or "")
    assert list(cause) == ["errorMessage", "errorType", "requestId", "stackTrace"]
    assert (cause["errorMessage"], cause["errorType"]) == ("daily quota of 5 reached", "QuotaExceeded")
    assert cause["stackTrace"][-1].endswith("raise QuotaExceeded('daily quota of 5 reached')\n")
    failed = next(e for e in result.history if e["type"] == "TaskFailed")
    assert failed["taskFailedEventDetails"]["error"] == "QuotaExceeded"


def test_distributed_map_items_are_stored_child_executions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    """Each item of a DISTRIBUTED Map (items read from local "S3") is a child execution with its
    own row and history, visible to ``executions list/show/history``; its tasks are never stored."""
    from orchestrator.engine.itemio import local_path
    from orchestrator.local import commands

    home = tmp_path / "home"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ORCHESTRATOR_HOME", str(home))  # the Store and the local S3 root
    items = local_path("inputs", "items.json")
    items.parent.mkdir(parents=True)
    items.write_text(json.dumps([{"n": "a"}, {"n": "b"}, {"n": "c"}]))
    wf = model.Workflow(name="fan", tasks=(sh("work", f'echo $N >> {tmp_path / "log"}; [ "$N" != b ]'),))
    work = {"Type": "Task", "Resource": "arn:aws:states:::batch:submitJob.sync", "End": True,
            "Parameters": {"JobName": "work", "JobQueue": "${JobQueue_default}",
                           "JobDefinition": "${JobDefinition_work}",
                           "ContainerOverrides": {"Environment": [{"Name": "N", "Value.$": "$.n"}]}},
            "ResultSelector": {"Status.$": "$.Status"}}
    definition = {"StartAt": "Fan", "States": {"Fan": {
        "Type": "Map", "Label": "Items", "ToleratedFailureCount": 1, "MaxConcurrency": 2, "End": True,
        "ItemReader": {"Resource": "arn:aws:states:::s3:getObject", "ReaderConfig": {"InputType": "JSON"},
                       "Parameters": {"Bucket": "inputs", "Key": "items.json"}},
        "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                          "StartAt": "work", "States": {"work": work}}}}}
    plan = build_plan(wf, {"fan": definition}, "fan", str(tmp_path))
    result = run_plan(plan, {}, home=home, name="fan-1")
    assert result.status == "SUCCEEDED", result.cause
    assert sorted((tmp_path / "log").read_text().split()) == ["a", "b", "c"]
    assert [e["type"] for e in result.history if e["type"].startswith("MapRun")] == ["MapRunStarted", "MapRunSucceeded"]

    store = Store(home)
    children = store.children(result.execution_arn)
    assert len(children) == 3
    by_item = {c.input["n"]: c for c in children}
    assert sorted(by_item) == ["a", "b", "c"]
    prefix = "arn:aws:states:us-east-1:123456789012"
    for n, child in by_item.items():
        assert child.parent_arn == result.execution_arn
        assert child.arn == f"{prefix}:execution:fan/Items:{child.name}"
        assert child.state_machine_arn == f"{prefix}:stateMachine:fan/Items"
        events = store.events(child.arn)
        assert [e["id"] for e in events] == list(range(1, len(events) + 1))
        assert events[0]["type"] == "ExecutionStarted"
        assert json.loads(events[0]["executionStartedEventDetails"]["input"]) == {"n": n}
        assert [e["stateEnteredEventDetails"]["name"] for e in events if e["type"] == "TaskStateEntered"] == ["work"]
        assert len(store.jobs(child.arn)) == 1  # the job belongs to the child execution
        if n == "b":
            assert (child.status, child.error) == ("FAILED", "States.TaskFailed")
            assert events[-1]["type"] == "ExecutionFailed" and child.stop_date is not None
        else:
            assert (child.status, child.output) == ("SUCCEEDED", {"Status": "SUCCEEDED"})
            assert events[-1]["type"] == "ExecutionSucceeded"
    assert result.output[0] == {"Status": "SUCCEEDED"} and result.output[2] == {"Status": "SUCCEEDED"}
    assert store._query("SELECT key FROM task_results") == []  # Map Run children are never replayed
    assert sorted(result.logs) == ["work"] and len(result.logs["work"]) == 3

    assert commands.executions_list(json_output=True) == 0
    listed = json.loads(capsys.readouterr().out)["executions"]
    assert {e["executionArn"] for e in listed} == {result.execution_arn} | {c.arn for c in children}
    assert commands.executions_show("fan-1") == 0
    assert sorted(json.loads(capsys.readouterr().out)["childExecutions"]) == sorted(c.arn for c in children)
    assert commands.executions_show(by_item["b"].name) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["status"] == "FAILED" and shown["parentExecutionArn"] == result.execution_arn
    assert commands.executions_history(by_item["a"].arn) == 0
    history = json.loads(capsys.readouterr().out)["events"]
    assert history == store.events(by_item["a"].arn)
    assert commands.executions_list() == 0
    assert "└ fan/Items:" in capsys.readouterr().out


def test_no_task_starts_before_the_results_completed_ahead_of_it_are_on_disk(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The fsync of a result runs on the store's sync thread; a slow one (0.2 s here) holds up the
    # next task, not the bookkeeping in between.
    from orchestrator.local import store as store_module
    from orchestrator.local.runs import LocalRun, plain_plan

    synced: list[float] = []
    name = "fdatasync" if hasattr(os, "fdatasync") else "fsync"  # what the store syncs its WAL with
    real = getattr(os, name)

    def slow_fsync(fd: int) -> None:
        time.sleep(0.2)
        real(fd)
        synced.append(time.monotonic())

    monkeypatch.setattr(store_module.os, name, slow_fsync)
    started: list[float] = []

    class Recorder:
        def __call__(self, call: object) -> dict[str, object]:
            started.append(time.monotonic())
            return {"Payload": {"ok": True}}

        def close(self) -> None:
            pass

    task = {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Parameters": {"FunctionName": "f"}}
    definition = {"StartAt": "a", "States": {"a": {**task, "Next": "b"}, "b": {**task, "End": True}}}
    store = Store(tmp_path / "home")
    run = LocalRun(store, plain_plan("m", definition, cwd=str(tmp_path)), lambda_=Recorder(),  # type: ignore[arg-type]
                   notice=lambda text: None)
    result = run.run_execution("m", {}, name="x", scope="m:x", parent_arn=None)
    run.close()
    assert result.status == "SUCCEEDED"
    assert len(started) == 2 and synced and synced[0] <= started[1]
    assert len(synced) == 2  # closing the run waited for the last one
    assert store.get_result("m:x", "a#0") == (True, {"Payload": {"ok": True}})


# -- kept plans (cached_plan) ---------------------------------------------------------------------


def lambda_workflow(timeout: int) -> model.Workflow:
    return model.Workflow(name="kept", tasks=(
        model.Task(name="check", job=model.LambdaTask(handler="handlers:hi"), timeout=timeout),))


def test_a_workflow_run_again_unchanged_reuses_its_compiled_plan(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from orchestrator.local import runs

    store = Store(tmp_path / "home")
    first = runs.cached_plan(store, lambda_workflow(60), str(tmp_path))
    assert first == compile_plan(lambda_workflow(60), str(tmp_path))

    def no_compiler(wf: model.Workflow, cwd: str) -> dict[str, object]:
        raise AssertionError(f"compiled {wf.name} again")

    monkeypatch.setattr(runs, "compile_plan", no_compiler)
    assert runs.cached_plan(Store(tmp_path / "home"), lambda_workflow(60), str(tmp_path)) == first
    # Anything the plan is a function of compiles again: a field of the workflow, the directory.
    with pytest.raises(AssertionError, match="compiled kept again"):
        runs.cached_plan(store, lambda_workflow(61), str(tmp_path))
    with pytest.raises(AssertionError, match="compiled kept again"):
        runs.cached_plan(store, lambda_workflow(60), str(tmp_path / "elsewhere"))


@pytest.mark.parametrize("row", ["{\"definitions\": ", "[1, 2]", "{}", "{\"main\": \"x\", \"definitions\": {}}"],
                         ids=["cut-short", "not-an-object", "empty", "main-not-defined"])
def test_a_kept_plan_row_that_is_no_plan_compiles_again(tmp_path: Path, row: str) -> None:
    # The kept plan is a cache: a row a hand or a cut-short write spoiled is a miss, not an error.
    from orchestrator.local import runs

    store = Store(tmp_path / "home")
    wf, cwd = lambda_workflow(60), str(tmp_path)
    good = runs.cached_plan(store, wf, cwd)
    with store._tx() as db:
        db.execute("UPDATE compiled_plans SET plan=?, registered=? WHERE key=?", (row, row, runs.plan_key(wf, cwd)))
    # What it registered reads as a mapping whatever the row holds (a mismatch only registers again).
    assert isinstance(store.registered_revisions(runs.plan_key(wf, cwd)), dict)
    assert runs.cached_plan(store, wf, cwd) == good
    assert store.compiled_plan(runs.plan_key(wf, cwd)) == good


def test_an_edited_package_source_compiles_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from orchestrator.local import runs

    fingerprint = runs._package_fingerprint()
    assert "local/runs.py " in fingerprint and "compiler/asl.py " in fingerprint
    store = Store(tmp_path / "home")
    runs.cached_plan(store, lambda_workflow(60), str(tmp_path))
    monkeypatch.setattr(runs, "_package_fingerprint", lambda: "another compiler")
    calls: list[str] = []
    real = runs.compile_plan
    monkeypatch.setattr(runs, "compile_plan", lambda wf, cwd: calls.append(wf.name) or real(wf, cwd))
    runs.cached_plan(store, lambda_workflow(60), str(tmp_path))
    assert calls == ["kept"]


def test_every_field_of_the_model_is_in_its_repr() -> None:
    # cached_plan keys a plan by repr(workflow): a field left out of the repr would make two
    # different workflows share one plan.
    import dataclasses

    classes = [c for c in vars(model).values() if isinstance(c, type) and dataclasses.is_dataclass(c)
               and c.__module__ == model.__name__]
    assert model.Workflow in classes and model.Task in classes
    hidden = [f"{c.__name__}.{f.name}" for c in classes for f in dataclasses.fields(c) if not f.repr]
    assert hidden == []


def test_the_store_keeps_the_newest_compiled_plans(tmp_path: Path) -> None:
    from orchestrator.local.store import COMPILED_PLANS_KEPT

    store = Store(tmp_path)
    for n in range(COMPILED_PLANS_KEPT + 3):
        store.put_compiled_plan(f"k{n}", {"n": n})
    assert store.compiled_plan("k0") is None and store.compiled_plan("k2") is None
    assert store.compiled_plan("k3") == {"n": 3}
    assert store.compiled_plan(f"k{COMPILED_PLANS_KEPT + 2}") == {"n": COMPILED_PLANS_KEPT + 2}


def test_a_kept_plan_registers_its_state_machines_again_only_when_someone_changed_them(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import dataclasses

    from orchestrator.local import runs

    monkeypatch.chdir(tmp_path)
    (tmp_path / "handlers.py").write_text("def hi(event, context):\n    return 1\n")
    home = tmp_path / "home"
    assert run_workflow(lambda_workflow(60), home=home).status == "SUCCEEDED"
    registered: list[str] = []
    real = runs.register_plan
    monkeypatch.setattr(runs, "register_plan", lambda store, plan: registered.append(plan["main"]) or real(store, plan))
    assert run_workflow(lambda_workflow(60), home=home).status == "SUCCEEDED"
    assert registered == []  # the rows are the revisions this plan wrote
    store = Store(home)
    (machine,) = store.state_machines()
    store.put_state_machine(dataclasses.replace(machine, definition="{}", revision_id="edited elsewhere"))
    assert run_workflow(lambda_workflow(60), home=home).status == "SUCCEEDED"
    assert registered == ["kept"]
    (machine,) = store.state_machines()
    assert json.loads(machine.definition) == compile_plan(lambda_workflow(60), str(tmp_path))["definitions"]["kept"]
    assert run_workflow(lambda_workflow(60), home=home).status == "SUCCEEDED"
    assert registered == ["kept"]
