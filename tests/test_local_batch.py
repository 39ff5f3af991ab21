"""Local Batch, driven directly through its integration (no engine): lifecycle, shapes, capacity."""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from orchestrator.arns import IntegrationPattern
from orchestrator.engine.clock import RealClock
from orchestrator.engine.integrations import TaskCall, TaskFailure
from orchestrator.local.batch import (
    REASON_EXITED,
    REASON_TIMEOUT,
    REASON_TOO_BIG,
    ComputeEnvironment,
    JobDefinition,
    JobQueue,
    LocalBatch,
    docker_command,
    retry_decision,
)
from orchestrator.local.store import Store

PY = sys.executable


def call(params: dict[str, Any], *, pattern: IntegrationPattern = IntegrationPattern.SYNC,
         cancel: threading.Event | None = None, state: str = "job") -> TaskCall:
    return TaskCall(resource="arn:aws:states:::batch:submitJob.sync", service="batch", action="submitJob",
                    pattern=pattern, sync_version=None, parameters=params, state_name=state,
                    execution_arn="arn:aws:states:us-east-1:123456789012:execution:wf:e1", context={},
                    timeout_seconds=None, heartbeat_seconds=None, attempt=0,
                    cancel=cancel or threading.Event(), clock=RealClock())


def make(tmp_path: Path, *definitions: JobDefinition, compute: list[ComputeEnvironment] | None = None,
         queues: list[JobQueue] | None = None, **kwargs: Any) -> tuple[LocalBatch, list[dict[str, Any]]]:
    updates: list[dict[str, Any]] = []
    batch = LocalBatch(Store(tmp_path / "home"), {d.name: d for d in definitions}, use_docker=False,
                       cwd=str(tmp_path), compute=compute, queues=queues, notice=lambda text: None,
                       on_job=lambda job, arn, state: updates.append(job), timeout_grace=0.5, **kwargs)
    return batch, updates


def eventually(check: Any, timeout: float = 10.0) -> None:
    """Poll ``check()`` until it is true (robust on a loaded machine, fast on an idle one)."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.01)


def submit(name: str = "job", definition: str = "jd", **extra: Any) -> dict[str, Any]:
    return {"JobName": name, "JobQueue": "arn:aws:batch:us-east-1:123456789012:job-queue/default",
            "JobDefinition": f"arn:aws:batch:us-east-1:123456789012:job-definition/{definition}:1", **extra}


# -- lifecycle and result shape -------------------------------------------------------------------


def test_sync_result_is_describe_jobs_shaped_and_statuses_follow_aws_lifecycle(tmp_path: Path) -> None:
    batch, updates = make(tmp_path, JobDefinition(name="jd", command=("true",)))
    job = batch(call(submit()))
    assert job["Status"] == "SUCCEEDED"
    assert job["JobArn"] == f"arn:aws:batch:us-east-1:123456789012:job/{job['JobId']}"
    assert job["JobQueue"] == "arn:aws:batch:us-east-1:123456789012:job-queue/default"
    assert job["JobDefinition"] == "arn:aws:batch:us-east-1:123456789012:job-definition/jd:1"
    assert job["Container"]["ExitCode"] == 0
    assert job["Container"]["LogStreamName"].startswith("jd/default/")
    assert job["Attempts"][0]["Container"]["ExitCode"] == 0
    assert job["CreatedAt"] <= job["StartedAt"] <= job["StoppedAt"]
    statuses = [u["Status"] for u in updates]
    assert statuses == ["SUBMITTED", "PENDING", "RUNNABLE", "STARTING", "RUNNING", "SUCCEEDED"]


def test_job_environment_has_batch_variables_overrides_and_runs_in_project_dir(tmp_path: Path) -> None:
    script = ("import json, os; print(json.dumps({k: os.environ.get(k) for k in ['AWS_BATCH_JOB_ID', "
              "'AWS_BATCH_JOB_ATTEMPT', 'AWS_BATCH_CE_NAME', 'AWS_BATCH_JQ_NAME', 'MANAGED_BY_AWS', 'FROM_DEF', "
              "'FROM_OVERRIDE']}) + ' ' + os.getcwd())")
    batch, _ = make(tmp_path, JobDefinition(name="jd", command=(PY, "-c", script), environment={"FROM_DEF": "d"}))
    job = batch(call(submit(ContainerOverrides={"Environment": [{"Name": "FROM_OVERRIDE", "Value": "o"}]})))
    log = Path(batch.store.logs_dir / "batch" / job["Container"]["LogStreamName"]).read_text()
    env_text, cwd = log.strip().rsplit(" ", 1)
    env = json.loads(env_text)
    assert env == {"AWS_BATCH_JOB_ID": job["JobId"], "AWS_BATCH_JOB_ATTEMPT": "1", "AWS_BATCH_CE_NAME": "local",
                   "AWS_BATCH_JQ_NAME": "default", "MANAGED_BY_AWS": "STARTED_BY_STEP_FUNCTIONS",
                   "FROM_DEF": "d", "FROM_OVERRIDE": "o"}
    assert cwd == str(tmp_path)


def test_failed_job_is_states_task_failed_with_the_job_as_cause(tmp_path: Path) -> None:
    batch, _ = make(tmp_path, JobDefinition(name="jd", command=("sh", "-c", "echo oops; exit 3")))
    with pytest.raises(TaskFailure) as failure:
        batch(call(submit()))
    assert failure.value.error == "States.TaskFailed"
    job = json.loads(failure.value.cause or "")
    assert job["Status"] == "FAILED"
    assert job["StatusReason"] == REASON_EXITED
    assert job["Container"]["ExitCode"] == 3
    assert job["Attempts"][0]["StatusReason"] == REASON_EXITED


def test_missing_executable_fails_to_start(tmp_path: Path) -> None:
    batch, _ = make(tmp_path, JobDefinition(name="jd", command=("no-such-binary-xyz",)))
    with pytest.raises(TaskFailure) as failure:
        batch(call(submit()))
    job = json.loads(failure.value.cause or "")
    assert job["StatusReason"] == "Task failed to start"
    assert job["Attempts"][0]["Container"]["Reason"].startswith("CannotStartContainerError")


def test_unknown_job_definition_is_a_client_error_naming_the_known_ones(tmp_path: Path) -> None:
    batch, _ = make(tmp_path, JobDefinition(name="jd", command=("true",)))
    with pytest.raises(TaskFailure, match=r"Job definition 'nope' does not exist locally \(known: jd\)"):
        batch(call(submit(definition="x") | {"JobDefinition": "nope"}))


def test_request_response_returns_ids_at_once(tmp_path: Path) -> None:
    batch, _ = make(tmp_path, JobDefinition(name="jd", command=("true",)))
    out = batch(call(submit(), pattern=IntegrationPattern.REQUEST_RESPONSE))
    assert set(out) == {"JobArn", "JobId", "JobName"}
    eventually(lambda: batch.describe_job(out["JobId"])["Status"] == "SUCCEEDED")


# -- timeouts, retries, cancellation ----------------------------------------------------------------


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie still answers kill(0); read its state
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_attempt_duration_kills_the_whole_process_tree(tmp_path: Path) -> None:
    pidfile = tmp_path / "child.pid"
    # The job starts a grandchild that ignores nothing and would outlive a plain kill of the job.
    script = f"sleep 30 & echo $! > {pidfile}; wait"
    batch, _ = make(tmp_path, JobDefinition(name="jd", command=("sh", "-c", script)))
    t0 = time.monotonic()
    with pytest.raises(TaskFailure) as failure:
        batch(call(submit(Timeout={"AttemptDurationSeconds": 1})))
    assert time.monotonic() - t0 < 10  # 1 s, SIGTERM, 0.5 s grace, SIGKILL: far less on an idle machine
    job = json.loads(failure.value.cause or "")
    assert job["StatusReason"] == REASON_TIMEOUT
    grandchild = int(pidfile.read_text())
    eventually(lambda: not _alive(grandchild))  # SIGKILL is delivered when the process is next scheduled


def test_attempt_duration_also_kills_processes_that_left_the_jobs_group(tmp_path: Path) -> None:
    pidfile = tmp_path / "escaped.pid"
    # setsid puts the sleeper in a new session and group, out of reach of killpg.
    script = f"setsid sh -c 'echo $$ > {pidfile}.tmp; mv {pidfile}.tmp {pidfile}; exec sleep 30' & wait; sleep 30"
    batch, _ = make(tmp_path, JobDefinition(name="jd", command=("sh", "-c", script)))
    with pytest.raises(TaskFailure) as failure:
        batch(call(submit(Timeout={"AttemptDurationSeconds": 2})))
    job = json.loads(failure.value.cause or "")
    assert (job["Status"], job["StatusReason"]) == ("FAILED", REASON_TIMEOUT)
    assert job["Attempts"][0]["StatusReason"] == REASON_TIMEOUT
    escaped = int(pidfile.read_text())
    eventually(lambda: not _alive(escaped))


def test_what_a_job_leaves_running_in_its_group_ends_with_it(tmp_path: Path) -> None:
    pidfile = tmp_path / "left.pid"
    batch, _ = make(tmp_path, JobDefinition(name="jd", command=("sh", "-c", f"sleep 30 & echo $! > {pidfile}")))
    assert batch(call(submit()))["Status"] == "SUCCEEDED"
    left = int(pidfile.read_text())
    eventually(lambda: not _alive(left))


def test_retry_strategy_retries_then_succeeds_with_attempts_recorded(tmp_path: Path) -> None:
    marker = tmp_path / "tries"
    script = f"echo x >> {marker}; test $(wc -l < {marker}) -ge 3"
    batch, _ = make(tmp_path, JobDefinition(name="jd", command=("sh", "-c", script)))
    job = batch(call(submit(RetryStrategy={"Attempts": 3})))
    assert job["Status"] == "SUCCEEDED"
    assert [a["Container"]["ExitCode"] for a in job["Attempts"]] == [1, 1, 0]


def test_evaluate_on_exit_exit_stops_retrying(tmp_path: Path) -> None:
    batch, _ = make(tmp_path, JobDefinition(name="jd", command=("sh", "-c", "exit 2")))
    strategy = {"Attempts": 5, "EvaluateOnExit": [{"OnExitCode": "3", "Action": "RETRY"},
                                                   {"OnReason": "*", "Action": "EXIT"}]}
    with pytest.raises(TaskFailure) as failure:
        batch(call(submit(RetryStrategy=strategy)))
    assert len(json.loads(failure.value.cause or "")["Attempts"]) == 1


def test_the_job_definitions_retry_strategy_applies_when_submit_job_sets_none(tmp_path: Path) -> None:
    # Compiled Task states leave retryStrategy to the job definition, as on AWS.
    marker = tmp_path / "tries"
    script = f"echo x >> {marker}; test $(wc -l < {marker}) -ge 3"
    batch, _ = make(tmp_path, JobDefinition(name="jd", command=("sh", "-c", script), retry_attempts=3))
    job = batch(call(submit()))
    assert job["Status"] == "SUCCEEDED" and len(job["Attempts"]) == 3
    exits = JobDefinition(name="jd2", command=("sh", "-c", "exit 2"), retry_attempts=5,
                          evaluate_on_exit=({"OnExitCode": "3", "Action": "RETRY"}, {"OnReason": "*", "Action": "EXIT"}))
    batch, _ = make(tmp_path, exits)
    with pytest.raises(TaskFailure) as failure:
        batch(call(submit(definition="jd2")))
    assert len(json.loads(failure.value.cause or "")["Attempts"]) == 1
    # SubmitJob's own strategy replaces the definition's.
    batch, _ = make(tmp_path, exits)
    with pytest.raises(TaskFailure) as failure:
        batch(call(submit(definition="jd2", RetryStrategy={"Attempts": 2})))
    assert len(json.loads(failure.value.cause or "")["Attempts"]) == 2


def test_retry_decision_matches_globs_in_order_and_retries_when_nothing_matches() -> None:
    rules = {"EvaluateOnExit": [{"OnStatusReason": "Host EC2*", "Action": "RETRY"},
                                {"OnExitCode": "1*", "Action": "exit"}]}
    assert retry_decision(rules, exit_code=None, reason="", status_reason="Host EC2 (instance i-1) terminated.") == "RETRY"
    assert retry_decision(rules, exit_code=12, reason="", status_reason=REASON_EXITED) == "EXIT"
    assert retry_decision(rules, exit_code=2, reason="", status_reason=REASON_EXITED) == "RETRY"


def test_cancel_stops_a_running_job(tmp_path: Path) -> None:
    batch, _ = make(tmp_path, JobDefinition(name="jd", command=("sleep", "30")))
    cancel = threading.Event()
    threading.Timer(0.3, cancel.set).start()
    t0 = time.monotonic()
    with pytest.raises(TaskFailure):
        batch(call(submit(), cancel=cancel))
    assert time.monotonic() - t0 < 5


def test_wait_cancelled_returns_once_the_cancelled_jobs_processes_are_gone(tmp_path: Path) -> None:
    # The job ignores SIGTERM, so stopping it takes the whole grace period (0.5 s) and a SIGKILL:
    # a stopped run (Ctrl-C) must not return, and so exit, while its job still lives.
    pidfile = tmp_path / "job.pid"
    batch, _ = make(tmp_path, JobDefinition(name="jd", command=(
        "sh", "-c", f"trap '' TERM; echo $$ > {pidfile}; while :; do sleep 0.05; done")))
    cancel = threading.Event()
    failures: list[BaseException] = []

    def run() -> None:
        try:
            batch(call(submit(), cancel=cancel))
        except TaskFailure as failure:
            failures.append(failure)

    worker = threading.Thread(target=run)
    worker.start()
    eventually(lambda: pidfile.exists() and pidfile.read_text().strip() != "")
    pid = int(pidfile.read_text())
    assert batch.wait_cancelled(0.0)  # nothing cancelled yet: nothing to wait for
    cancel.set()
    t0 = time.monotonic()
    assert batch.wait_cancelled(batch.stop_seconds)
    assert time.monotonic() - t0 >= 0.4  # it waited out the grace period
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # killed and reaped
    worker.join(5)
    assert len(failures) == 1


# -- arrays, dependencies, capacity, priorities ---------------------------------------------------------


def test_array_job_runs_children_with_their_index_and_fails_if_one_fails(tmp_path: Path) -> None:
    out = tmp_path / "idx"
    script = f"echo $AWS_BATCH_JOB_ARRAY_INDEX >> {out}; test $AWS_BATCH_JOB_ARRAY_INDEX != 2"
    batch, _ = make(tmp_path, JobDefinition(name="jd", command=("sh", "-c", script)))
    with pytest.raises(TaskFailure) as failure:
        batch(call(submit(ArrayProperties={"Size": 4})))
    job = json.loads(failure.value.cause or "")
    assert job["ArrayProperties"] == {"Size": 4, "StatusSummary": {"SUCCEEDED": 3, "FAILED": 1}}
    assert sorted(out.read_text().split()) == ["0", "1", "2", "3"]


def test_array_children_run_at_the_same_time(tmp_path: Path) -> None:
    # Each child waits (up to 15 s) until all three have started: only parallel children succeed.
    script = (f"touch {tmp_path}/started-$AWS_BATCH_JOB_ARRAY_INDEX; i=0; "
              f"while [ $(ls {tmp_path} | grep -c '^started-') -lt 3 ]; do "
              "i=$((i+1)); [ $i -lt 300 ] || exit 1; sleep 0.05; done")
    batch, _ = make(tmp_path, JobDefinition(name="jd", command=("sh", "-c", script), vcpus=1),
                    compute=[ComputeEnvironment("ce", 4, 8192)])
    job = batch(call(submit(ArrayProperties={"Size": 3})))
    assert job["Status"] == "SUCCEEDED"
    assert job["ArrayProperties"] == {"Size": 3, "StatusSummary": {"SUCCEEDED": 3}}


def test_depends_on_a_running_job_waits_for_it(tmp_path: Path) -> None:
    order = tmp_path / "order"
    batch, _ = make(tmp_path, JobDefinition(name="slow", command=("sh", "-c", f"sleep 0.5; echo slow >> {order}")),
                    JobDefinition(name="next", command=("sh", "-c", f"echo next >> {order}")))
    first = batch(call(submit(definition="slow"), pattern=IntegrationPattern.REQUEST_RESPONSE))
    job = batch(call(submit(definition="next", DependsOn=[{"JobId": first["JobId"]}])))
    assert job["Status"] == "SUCCEEDED" and job["DependsOn"] == [{"JobId": first["JobId"]}]
    assert order.read_text().split() == ["slow", "next"]


def test_depends_on_waits_for_and_fails_with_its_dependency(tmp_path: Path) -> None:
    batch, _ = make(tmp_path, JobDefinition(name="ok", command=("true",)), JobDefinition(name="bad", command=("false",)))
    first = batch(call(submit(definition="bad"), pattern=IntegrationPattern.REQUEST_RESPONSE))
    with pytest.raises(TaskFailure) as failure:
        batch(call(submit(definition="ok", DependsOn=[{"JobId": first["JobId"]}])))
    assert json.loads(failure.value.cause or "")["StatusReason"] == "Dependent Job failed"


def test_capacity_limits_concurrency_and_higher_priority_queue_goes_first(tmp_path: Path) -> None:
    order = tmp_path / "order"
    blocker = tmp_path / "go"
    ce = [ComputeEnvironment("small", vcpus=1, memory=4096)]
    queues = [JobQueue(name="low", priority=1, compute_environments=("small",)),
              JobQueue(name="high", priority=10, compute_environments=("small",))]
    wait_then_log = f"while [ ! -e {blocker} ]; do sleep 0.01; done; echo $AWS_BATCH_JQ_NAME >> {order}"
    batch, _ = make(tmp_path, JobDefinition(name="jd", command=("sh", "-c", wait_then_log)), compute=ce, queues=queues)
    first = batch(call(submit(), pattern=IntegrationPattern.REQUEST_RESPONSE))  # holds the only vCPU
    eventually(lambda: batch.describe_job(first["JobId"])["Status"] == "RUNNING")
    low = batch(call(submit() | {"JobQueue": "low"}, pattern=IntegrationPattern.REQUEST_RESPONSE))
    eventually(lambda: batch.describe_job(low["JobId"])["Status"] == "RUNNABLE")
    high = batch(call(submit() | {"JobQueue": "high"}, pattern=IntegrationPattern.REQUEST_RESPONSE))
    eventually(lambda: batch.describe_job(high["JobId"])["Status"] == "RUNNABLE")
    time.sleep(0.1)
    assert batch.describe_job(low["JobId"])["Status"] == "RUNNABLE"  # still waiting for capacity
    blocker.touch()
    eventually(lambda: all(batch.describe_job(j["JobId"])["Status"] == "SUCCEEDED" for j in (first, low, high)))
    assert order.read_text().split() == ["default", "high", "low"]


def test_a_job_bigger_than_every_compute_environment_fails_with_aws_reason(tmp_path: Path) -> None:
    notices: list[str] = []
    batch = LocalBatch(Store(tmp_path / "home"), {"jd": JobDefinition(name="jd", command=("true",), vcpus=64)},
                       use_docker=False, cwd=str(tmp_path), compute=[ComputeEnvironment("small", vcpus=2, memory=4096)],
                       notice=notices.append)
    with pytest.raises(TaskFailure) as failure:
        batch(call(submit()))
    assert json.loads(failure.value.cause or "")["StatusReason"] == REASON_TOO_BIG
    assert notices == ["Batch job job needs 64 vCPUs and 2048 MiB; this machine offers 2 vCPUs and 4096 MiB. "
                       "To run it here anyway: ORCHESTRATOR_LOCAL_VCPUS=64 ORCHESTRATOR_LOCAL_MEMORY=4096"]


def test_docker_command_mounts_the_project_and_passes_limits_and_environment() -> None:
    args = docker_command(image="python:3.12", command=["python", "job.py"], env={"A": "1"}, vcpus=0.5,
                          memory=1024, cwd="/proj", container="orchestrator-abc")
    assert args == ["docker", "run", "--rm", "--name", "orchestrator-abc", "--cpus", "0.5", "--memory", "1024m",
                    "-v", "/proj:/proj", "-w", "/proj", "-e", "A=1", "python:3.12", "python", "job.py"]


def test_jobs_and_their_logs_are_in_the_store(tmp_path: Path) -> None:
    batch, _ = make(tmp_path, JobDefinition(name="jd", command=("echo", "hello")))
    batch(call(submit()))
    (job,) = batch.store.jobs("arn:aws:states:us-east-1:123456789012:execution:wf:e1")
    assert job["status"] == "SUCCEEDED" and job["state_name"] == "job"
    assert Path(job["log_paths"][0]).read_text() == "hello\n"


def test_queue_max_vcpus_caps_its_running_jobs(tmp_path: Path) -> None:
    gate = tmp_path / "go"
    queues = [JobQueue(name="capped", max_vcpus=1, compute_environments=("local",))]
    batch, _ = make(tmp_path, JobDefinition(name="jd", command=("sh", "-c", f"while [ ! -e {gate} ]; do sleep 0.01; done")),
                    compute=[ComputeEnvironment("local", vcpus=8, memory=65536)], queues=queues)
    capped = submit() | {"JobQueue": "capped"}
    one = batch(call(capped, pattern=IntegrationPattern.REQUEST_RESPONSE))
    two = batch(call(capped, pattern=IntegrationPattern.REQUEST_RESPONSE))
    statuses = lambda: sorted(batch.describe_job(j["JobId"])["Status"] for j in (one, two))  # noqa: E731
    eventually(lambda: statuses() == ["RUNNABLE", "RUNNING"])
    time.sleep(0.1)
    assert statuses() == ["RUNNABLE", "RUNNING"]  # 8 vCPUs free, but the queue allows 1
    gate.touch()
    eventually(lambda: statuses() == ["SUCCEEDED", "SUCCEEDED"])


def test_an_undeclared_queue_keeps_its_name(tmp_path: Path) -> None:
    batch, _ = make(tmp_path, JobDefinition(name="jd", command=("sh", "-c", "echo $AWS_BATCH_JQ_NAME")))
    job = batch(call(submit() | {"JobQueue": "arn:aws:batch:us-east-1:123456789012:job-queue/etl"}))
    assert job["JobQueue"].endswith("job-queue/etl")
    assert Path(batch.store.logs_dir / "batch" / job["Container"]["LogStreamName"]).read_text() == "etl\n"


def test_host_process_fallback_is_announced_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no docker command: no engine
    monkeypatch.setenv("ORCHESTRATOR_CONTAINERS", "auto")
    notes: list[str] = []
    batch = LocalBatch(Store(tmp_path / "home"), {"jd": JobDefinition(name="jd", image="alpine:3",
                                                                      command=("/bin/true",))},
                       cwd=str(tmp_path), notice=notes.append)
    batch(call(submit()))
    batch(call(submit()))
    assert notes == [f"Batch jobs run as host processes in {tmp_path}: no `docker` command on PATH "
                     "(ORCHESTRATOR_CONTAINERS=always fails them instead, =never silences this)."]


def test_never_runs_processes_without_a_word(tmp_path: Path) -> None:
    notes: list[str] = []
    batch = LocalBatch(Store(tmp_path / "home"), {"jd": JobDefinition(name="jd", image="alpine:3", command=("true",))},
                       use_docker=False, cwd=str(tmp_path), notice=notes.append)
    assert batch(call(submit()))["Status"] == "SUCCEEDED"
    assert notes == []


def test_always_without_an_engine_fails_like_batch_with_cannot_pull(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setenv("ORCHESTRATOR_CONTAINERS", "always")
    batch = LocalBatch(Store(tmp_path / "home"), {"jd": JobDefinition(name="jd", image="alpine:3", command=("true",),
                                                                      retry_attempts=2)},
                       cwd=str(tmp_path), notice=lambda text: None)
    with pytest.raises(TaskFailure) as failed:
        batch(call(submit()))
    job = json.loads(failed.value.cause)
    reason = "CannotPullContainerError: no `docker` command on PATH"
    assert job["StatusReason"] == reason
    # Batch retries it (no evaluateOnExit here), and each attempt says why in its container reason.
    assert [a["Container"]["Reason"] for a in job["Attempts"]] == [reason, reason]


def test_a_bad_container_setting_is_an_error_naming_the_choices(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from orchestrator.local.images import ContainerSettingError

    monkeypatch.setenv("ORCHESTRATOR_CONTAINERS", "sometimes")
    with pytest.raises(ContainerSettingError, match=r"^ORCHESTRATOR_CONTAINERS='sometimes' is not a container "
                                                    r"mode; use one of auto, always, never \(for example "
                                                    r"ORCHESTRATOR_CONTAINERS=auto\)$"):
        LocalBatch(Store(tmp_path / "home"), {}, cwd=str(tmp_path))


def test_docker_command_passes_secrets_by_name_only() -> None:
    args = docker_command(image="i", command=["c"], env={}, vcpus=1, memory=512, cwd="/p", container="n",
                          secrets=("DB_PASSWORD",))
    assert args[-4:] == ["-e", "DB_PASSWORD", "i", "c"]
