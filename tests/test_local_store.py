"""The SQLite store and the small pieces around it: resolving EXECUTION, mocks, the runner module."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import threading
from pathlib import Path

import pytest

from orchestrator.engine.errors import StatesError
from orchestrator.local import store as store_module
from orchestrator.local.mocks import MockConfig, MockConfigError
from orchestrator.local.runs import local_arn, local_definition, reconcile
from orchestrator.local.store import ExecutionNotFound, Store, home_dir

REPO = Path(__file__).resolve().parents[1]


def add(store: Store, name: str, start: str, status: str = "SUCCEEDED", pid: int | None = None) -> str:
    arn = f"arn:aws:states:us-east-1:123456789012:execution:wf:{name}"
    store.create_execution(arn=arn, name=name, state_machine_arn="arn:aws:states:us-east-1:123456789012:stateMachine:wf",
                           workflow="wf", parent_arn=None, scope=arn, input={"n": 1}, start_date=start, cwd="/",
                           plan=None, runner_start=None)
    if status != "RUNNING":
        store.finish_execution(arn, status=status, output={}, error=None, cause=None, stop_date=start)
    return arn


def test_home_is_orchestrator_home_or_dot_orchestrator(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("ORCHESTRATOR_HOME", raising=False)
    assert home_dir() == Path(".orchestrator")
    monkeypatch.setenv("ORCHESTRATOR_HOME", str(tmp_path))
    assert home_dir() == tmp_path
    assert home_dir("/x") == Path("/x")


def test_store_uses_wal(tmp_path: Path) -> None:
    store = Store(tmp_path)
    assert store._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store._db.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL


def _wal_fsyncs(monkeypatch: pytest.MonkeyPatch, store: Store, gate: threading.Event | None = None) -> list[int]:
    """Count fsyncs (fdatasyncs where the platform has them) of the store's WAL file (held at
    ``gate`` until it is set)."""
    wal = os.stat(store.path.with_name(store.path.name + "-wal")).st_ino
    synced: list[int] = []
    name = "fdatasync" if hasattr(os, "fdatasync") else "fsync"
    real = getattr(os, name)

    def fsync(fd: int) -> None:
        if gate is not None:
            assert gate.wait(10)
        real(fd)
        synced.append(os.fstat(fd).st_ino)

    monkeypatch.setattr(store_module.os, name, fsync)
    assert wal
    return synced


def test_task_results_are_fsynced_on_the_sync_thread_and_read_back(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    store = Store(tmp_path)
    store.put_result("scope", "M[0]/t#-1", "t", {"ok": 0}, 0)  # the WAL file now exists
    store.sync_results()
    synced = _wal_fsyncs(monkeypatch, store)
    statements: list[str] = []
    store._db.set_trace_callback(statements.append)
    store.put_result("scope", "M[0]/t#0", "t", {"ok": 1}, 0)
    assert not any("synchronous" in s for s in statements)  # an ordinary commit; the fsync follows
    store.sync_results()
    assert synced == [os.stat(tmp_path / "store.sqlite3-wal").st_ino]
    assert Store(tmp_path).get_result("scope", "M[0]/t#0") == (True, {"ok": 1})


def test_sync_results_waits_and_one_fsync_covers_results_committed_meanwhile(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = Store(tmp_path)
    store.put_result("scope", "warm", "t", 0, 0)
    store.sync_results()
    gate = threading.Event()
    synced = _wal_fsyncs(monkeypatch, store, gate)
    store.put_result("scope", "a#0", "a", 1, 0)  # its fsync starts and is held at the gate
    for key in ("b#0", "c#0", "d#0"):
        store.put_result("scope", key, key[0], 2, 0)
    waiter = threading.Thread(target=store.sync_results)
    waiter.start()
    waiter.join(0.2)
    assert waiter.is_alive()  # results are not yet on disk
    gate.set()
    waiter.join(10)
    assert not waiter.is_alive()
    assert 1 <= len(synced) <= 2  # one for "a", at most one more for the three after it


def test_resolve_by_arn_name_or_unique_prefix_newest_first(tmp_path: Path) -> None:
    store = Store(tmp_path)
    old = add(store, "nightly-2024-06-01", "2024-06-01T00:00:00.000+00:00")
    new = add(store, "nightly-2024-06-02", "2024-06-02T00:00:00.000+00:00")
    assert [r.arn for r in store.executions()] == [new, old]
    assert store.resolve(old).name == "nightly-2024-06-01"
    assert store.resolve("nightly-2024-06-02").arn == new
    assert store.resolve("nightly-2024-06-01"[:-1] + "1").arn == old
    with pytest.raises(ExecutionNotFound, match=r"'nightly-2024' matches 2 executions \('nightly-2024-06-02', "
                                                r"'nightly-2024-06-01'\); give more of the name or the full ARN\."):
        store.resolve("nightly-2024")
    with pytest.raises(ExecutionNotFound, match=r"No execution matches 'weekly' in .*The newest is 'nightly-2024-06-02'\."):
        store.resolve("weekly")


def test_list_entry_is_list_executions_shaped(tmp_path: Path) -> None:
    store = Store(tmp_path)
    add(store, "e", "2024-06-01T00:00:00.000+00:00")
    assert store.executions()[0].list_entry() == {
        "executionArn": "arn:aws:states:us-east-1:123456789012:execution:wf:e",
        "stateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:wf", "name": "e",
        "status": "SUCCEEDED", "startDate": "2024-06-01T00:00:00.000+00:00",
        "stopDate": "2024-06-01T00:00:00.000+00:00"}


def test_reconcile_fails_executions_whose_runner_is_gone(tmp_path: Path) -> None:
    store = Store(tmp_path)
    arn = add(store, "orphan", "2024-06-01T00:00:00.000+00:00", status="RUNNING")
    dead = subprocess.Popen(["true"])
    dead.wait()
    store._db.execute("UPDATE executions SET runner_pid=? WHERE arn=?", (dead.pid, arn))
    store.put_job({"JobId": "j1", "JobName": "t", "JobQueue": "q", "Status": "RUNNING", "CreatedAt": 1},
                  execution_arn=arn, state_name="t", log_paths=[], updated_at=1)
    reconcile(store)
    row = store.execution(arn)
    assert (row.status, row.error) == ("FAILED", "Local.RunnerExited")
    assert "orchestrator redrive orphan" in (row.cause or "")
    assert store.jobs(arn)[0]["status"] == "FAILED"
    assert store.events(arn)[-1]["type"] == "ExecutionFailed"
    live = add(store, "live", "2024-06-02T00:00:00.000+00:00", status="RUNNING")  # runner = this process
    reconcile(store)
    assert store.execution(live).status == "RUNNING"


def test_placeholders_become_local_arns_everywhere() -> None:
    definition = {"States": {"T": {"Parameters": {"JobQueue": "${JobQueue_gpu}", "Topic": "${AlertTopicArn}",
                                                  "List": ["${Function_f}"], "Text": "x ${StateMachine_c} y"}}}}
    out = local_definition(definition, "wf")["States"]["T"]["Parameters"]
    assert out == {"JobQueue": "arn:aws:batch:us-east-1:123456789012:job-queue/gpu",
                   "Topic": "arn:aws:sns:us-east-1:123456789012:wf-alerts",
                   "List": ["arn:aws:lambda:us-east-1:123456789012:function:f"],
                   "Text": "x arn:aws:states:us-east-1:123456789012:stateMachine:c y"}
    assert local_arn("JobDefinition_load-db", "wf") == "arn:aws:batch:us-east-1:123456789012:job-definition/load-db:1"


# -- mocks ------------------------------------------------------------------------------------------


def test_mock_responses_follow_invocation_ranges_and_end_after_the_last() -> None:
    config = MockConfig.from_dict({
        "StateMachines": {"wf": {"TestCases": {"Flaky": {"Load": "FailTwiceThenWork"}}}},
        "MockedResponses": {"FailTwiceThenWork": {
            "0-1": {"Throw": {"Error": "Lambda.ServiceException", "Cause": "down"}},
            "2": {"Return": {"Payload": {"ok": True}}}}}})
    case = config.case("wf", "Flaky")
    errors = []
    for _ in range(2):
        with pytest.raises(Exception) as failure:
            case.respond("Load")
        errors.append((failure.value.error, failure.value.cause))  # type: ignore[attr-defined]
    assert errors == [("Lambda.ServiceException", "down")] * 2
    assert case.respond("Load") == {"Payload": {"ok": True}}
    # Step Functions Local: "you must specify a mocked response for every invocation".
    with pytest.raises(StatesError, match="has no response for invocation 3"):
        case.respond("Load")
    assert not case.mocks("Other")


def test_mock_config_errors_name_the_problem(tmp_path: Path) -> None:
    with pytest.raises(MockConfigError, match="cannot read the mock config"):
        MockConfig.load(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    with pytest.raises(MockConfigError, match="not valid JSON"):
        MockConfig.load(bad)
    config = MockConfig.from_dict({"StateMachines": {"wf": {"TestCases": {"T": {"S": "nope"}}}}, "MockedResponses": {}})
    with pytest.raises(MockConfigError, match="maps state 'S' to 'nope', which is not in MockedResponses"):
        config.case("wf", "T")
    with pytest.raises(MockConfigError, match="response key 'first' is not an invocation number or range"):
        MockConfig.from_dict({"StateMachines": {"wf": {"TestCases": {"T": {"S": "r"}}}},
                              "MockedResponses": {"r": {"first": {"Return": 1}}}})


def test_a_test_case_under_another_single_state_machine_name_is_used() -> None:
    config = MockConfig.from_dict({"StateMachines": {"LocalTesting": {"TestCases": {"T": {"S": "r"}}}},
                                   "MockedResponses": {"r": {"0": {"Return": 1}}}})
    assert config.case("my-workflow", "T").respond("S") == 1


def test_an_unusable_home_is_a_clear_error(tmp_path: Path) -> None:
    from orchestrator.local.store import StoreError

    (tmp_path / "file").write_text("not a directory")
    with pytest.raises(StoreError, match=r"Cannot open the local store .*Point ORCHESTRATOR_HOME at a writable"):
        Store(tmp_path / "file" / "home")


def test_a_store_of_the_first_release_gains_the_later_columns(tmp_path: Path) -> None:
    import sqlite3

    old = sqlite3.connect(tmp_path / "store.sqlite3")
    old.executescript("CREATE TABLE jobs (job_id TEXT PRIMARY KEY, job_name TEXT NOT NULL);"
                      "CREATE TABLE invocations (request_id TEXT PRIMARY KEY, function_name TEXT NOT NULL);")
    old.close()
    for _ in range(2):  # migrated once; opening it again changes nothing
        store = Store(tmp_path)
        for table in ("jobs", "invocations"):
            columns = [row[1] for row in store._db.execute(f"PRAGMA table_info({table})")]
            assert columns[-1] == "task_attempt" and columns.count("task_attempt") == 1
        assert not store._db.in_transaction
        store.close()


def test_job_summaries_read_the_described_fields_with_or_without_sqlite_json(tmp_path: Path,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    store = Store(tmp_path)
    arn = add(store, "jobs", "2026-01-01T00:00:00.000+00:00")
    base = {"JobQueue": "q", "Attempts": [{}], "CreatedAt": 1000}
    store.put_job({**base, "JobId": "a", "JobName": "ok", "Status": "SUCCEEDED", "StartedAt": 1100, "StoppedAt": 1350,
                   "Container": {"ExitCode": 0, "LogStreamName": "ok/default/a"}},
                  execution_arn=arn, state_name="ok", log_paths=[], updated_at=1, task_attempt=1)
    store.put_job({**base, "JobId": "b", "JobName": "bad", "Status": "FAILED", "StatusReason": "exited",
                   "CreatedAt": 2000, "StartedAt": 2100, "StoppedAt": 2200.5,
                   "Container": {"ExitCode": 3, "LogStreamName": "bad/default/b"}},
                  execution_arn=arn, state_name=None, log_paths=[], updated_at=1)
    store.put_job({**base, "JobId": "c", "JobName": "queued", "Status": "RUNNABLE", "CreatedAt": 3000},
                  execution_arn=arn, state_name="queued", log_paths=[], updated_at=1, task_attempt=2)
    expected = [
        {"job_id": "a", "state_name": "ok", "job_name": "ok", "status": "SUCCEEDED", "status_reason": None,
         "attempts": 1, "task_attempt": 1, "created_at": 1000, "started_at": 1100, "stopped_at": 1350,
         "exit_code": None, "log_stream": None},  # what a summary shows of a failed job only
        {"job_id": "b", "state_name": None, "job_name": "bad", "status": "FAILED", "status_reason": "exited",
         "attempts": 1, "task_attempt": None, "created_at": 2000, "started_at": 2100, "stopped_at": 2200.5,
         "exit_code": 3, "log_stream": "bad/default/b"},
        {"job_id": "c", "state_name": "queued", "job_name": "queued", "status": "RUNNABLE", "status_reason": None,
         "attempts": 1, "task_attempt": 2, "created_at": 3000, "started_at": None, "stopped_at": None,
         "exit_code": None, "log_stream": None}]
    assert store.job_summaries(arn) == expected

    query = store._query

    def without_json(sql: str, args: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
        if "json_extract" in sql:
            raise sqlite3.OperationalError("no such function: json_extract")
        return query(sql, args)

    monkeypatch.setattr(store, "_query", without_json)
    assert store.job_summaries(arn) == expected


def test_a_runs_jobs_and_invocations_are_read_through_an_index_not_a_scan(tmp_path: Path) -> None:
    Store(tmp_path).close()  # the schema, as every store gets it
    db = sqlite3.connect(tmp_path / "store.sqlite3")
    try:
        for query in ("SELECT job_id FROM jobs WHERE execution_arn=? ORDER BY created_at, rowid",
                      "SELECT request_id FROM invocations WHERE execution_arn=? ORDER BY started_at, rowid"):
            plan = " ".join(str(row[-1]) for row in db.execute(f"EXPLAIN QUERY PLAN {query}", ("arn",)))
            assert "USING INDEX" in plan and "SCAN" not in plan, plan
    finally:
        db.close()
