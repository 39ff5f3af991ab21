"""The console's HTTP API and pages (orchestrator.console.routes) through Starlette's TestClient."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from orchestrator.console import routes
from orchestrator.local.store import Store
from tests.console_support import (
    ACCOUNT_ARN,
    T0,
    FakeService,
    Served,
    add_execution,
    event,
    failed_history,
    workflow,
)

LOOPBACK = "http://127.0.0.1:8083"


@pytest.fixture()
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "home")


def client(store: Store, served: list[Served] | None = None, base_url: str = LOOPBACK) -> TestClient:
    return TestClient(Starlette(routes=routes(FakeService(store, served))), base_url=base_url)


def job(store: Store, arn: str, state: str, log: Path, *, attempt: int = 1, exit_code: int = 3) -> None:
    created = int(T0.timestamp() * 1000) + 1000
    store.put_job({"JobId": f"job-{state}-{attempt}", "JobName": state, "JobQueue": "default", "Status": "FAILED",
                   "CreatedAt": created, "Attempts": [{"StartedAt": created + 500, "StoppedAt": created + 2000,
                                                       "Container": {"ExitCode": exit_code}}]},
                  execution_arn=arn, state_name=state, log_paths=[str(log)], updated_at=created, task_attempt=attempt)


# -- pages --------------------------------------------------------------------------------------


def test_pages_are_shells_with_stable_urls_and_strict_headers(store: Store) -> None:
    c = client(store)
    for path, page in (("/", "workflows"), ("/executions", "executions"),
                       (f"/executions/{ACCOUNT_ARN}:execution:nightly:a", "execution")):
        response = c.get(path)
        assert response.status_code == 200
        assert f'data-page="{page}"' in response.text
        assert response.headers["x-frame-options"] == "DENY"
        assert "script-src 'self'" in response.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert f'data-arn="{ACCOUNT_ARN}:execution:nightly:a"' in c.get(f"/executions/{ACCOUNT_ARN}:execution:nightly:a").text


def test_an_execution_url_cannot_inject_markup(store: Store) -> None:
    response = client(store).get('/executions/x"><script>alert(1)</script>')
    assert "<script>alert" not in response.text
    assert 'data-arn="x&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"' in response.text


def test_static_assets_are_served_by_the_package(store: Store) -> None:
    c = client(store)
    script = c.get("/console/static/console.js")
    assert script.status_code == 200 and "AWSStepFunctions." in script.text
    assert c.get("/console/static/console.css").status_code == 200
    assert c.get("/console/static/ASSETS.md").status_code == 200
    # Nothing the page loads comes from elsewhere.
    page = c.get("/").text
    assert "http://" not in page.replace("http://www.w3.org", "") and "https://" not in page


# -- cross-site protection ------------------------------------------------------------------------


def test_loopback_bind_refuses_a_foreign_host_name(store: Store) -> None:
    c = client(store)
    refused = c.get("/console/api/workflows", headers={"Host": "attacker.example:8083"})
    assert refused.status_code == 403
    assert refused.json() == {"error": "Forbidden", "message": "Host 'attacker.example' is not a loopback name; this "
                              "console listens on loopback: open http://127.0.0.1:8083/"}
    assert c.get("/", headers={"Host": "attacker.example"}).status_code == 403
    assert c.get("/console/api/workflows", headers={"Host": "localhost:8083"}).status_code == 200
    assert c.get("/console/api/workflows", headers={"Host": "[::1]:8083"}).status_code == 200


def test_api_refuses_cross_site_requests(store: Store) -> None:
    c = client(store)
    cross = c.get("/console/api/executions", headers={"Sec-Fetch-Site": "cross-site"})
    assert cross.status_code == 403
    assert cross.json()["message"] == ("cross-site request refused (Sec-Fetch-Site: cross-site); the console API "
                                       "serves its own pages only")
    other = c.get("/console/api/executions", headers={"Origin": "http://evil.example"})
    assert other.status_code == 403
    assert other.json()["message"] == ("cross-origin request refused (Origin: http://evil.example); the console "
                                       "API serves its own pages only")
    assert c.get("/console/api/executions", headers={"Origin": LOOPBACK, "Sec-Fetch-Site": "same-origin"}).status_code == 200
    # A page may be opened from a link on another site; it only reads through the API.
    assert c.get("/", headers={"Sec-Fetch-Site": "cross-site"}).status_code == 200


# -- workflows ----------------------------------------------------------------------------------


def test_workflows_summary(store: Store) -> None:
    wf = workflow()
    for i, (status, seconds) in enumerate([("SUCCEEDED", 60), ("SUCCEEDED", 80), ("FAILED", 5), ("SUCCEEDED", 100),
                                           ("SUCCEEDED", 150)]):
        add_execution(store, f"run-{i}", status=status, seconds=seconds, start=T0 + timedelta(hours=i))
    add_execution(store, "other", workflow="other")
    served = [Served(workflow=wf, state_machine_arn=f"{ACCOUNT_ARN}:stateMachine:nightly")]
    body = client(store, served).get("/console/api/workflows").json()
    (row,) = body["workflows"]
    assert row["name"] == "nightly" and row["tasks"] == 2 and row["executions"] == 5
    assert row["success"] == {"succeeded": 4, "finished": 5, "rate": 0.8}
    assert row["latest"] == {"status": "SUCCEEDED", "duration_ms": 150_000}
    assert row["usual_duration_ms"] == 80_000  # median of the earlier successful runs: 60, 80, 100
    assert [r["name"] for r in row["recent"]] == ["run-4", "run-3", "run-2", "run-1", "run-0"]
    assert row["schedule"]["expression"] == "cron(10 2 * * ? *)"
    assert row["schedule"]["timezone"] == "Europe/Berlin"
    assert len(row["schedule"]["next"]) == 3 and row["schedule"]["next"][0].endswith(("+01:00", "+02:00"))
    assert row["last_start"] == "2026-01-01T04:00:00.000+00:00"
    assert row["schedule"]["status"] == "active" and row["schedule"]["last_fire"] is None  # not yet seen by the scheduler


def test_workflows_show_the_schedule_as_the_scheduler_holds_it(store: Store) -> None:
    from orchestrator.scheduler.core import schedule_json

    wf = workflow()
    assert wf.schedule is not None
    row = store.register_schedule(workflow="nightly", state_machine_arn="sm", expression=wf.schedule.expression,
                                  timezone=wf.schedule.timezone, schedule=schedule_json(wf.schedule), enabled=True,
                                  now="2026-01-01T00:00:00Z")
    store.claim_fires([("nightly", row["generation"], [("2026-01-01T01:10:00Z", "nightly-fire")],
                        "2026-01-01T01:10:00Z")], owner_pid=1, owner_start=None, now="2026-01-01T01:10:00Z")
    store.finish_fires([("nightly", "2026-01-01T01:10:00Z", "STARTED", None, None)], now="2026-01-01T01:10:01Z")
    store.pause_schedule("nightly", True, "2026-01-02T00:00:00Z")
    served = [Served(workflow=wf, state_machine_arn="sm")]
    (summary,) = client(store, served).get("/console/api/workflows").json()["workflows"]
    assert summary["schedule"]["status"] == "paused"
    assert summary["schedule"]["last_fire"] == "2026-01-01T01:10:00Z"
    assert summary["schedule"]["last_fire_status"] == "STARTED"


def test_workflow_never_run(store: Store) -> None:
    served = [Served(workflow=workflow(schedule=None), state_machine_arn=f"{ACCOUNT_ARN}:stateMachine:nightly")]
    (row,) = client(store, served).get("/console/api/workflows").json()["workflows"]
    assert row["schedule"] is None and row["latest"] is None and row["success"]["rate"] is None


# -- executions ---------------------------------------------------------------------------------


def test_executions_filters(store: Store) -> None:
    add_execution(store, "a-1", status="SUCCEEDED", start=T0)
    add_execution(store, "a-2", status="FAILED", start=T0 + timedelta(hours=1))
    add_execution(store, "b-1", workflow="other", status="RUNNING", start=T0 + timedelta(hours=2))
    add_execution(store, "100%_done", status="SUCCEEDED", start=T0 + timedelta(hours=3))
    c = client(store)

    def names(**params: str) -> list[str]:
        return [e["name"] for e in c.get("/console/api/executions", params=params).json()["executions"]]
    assert names() == ["100%_done", "b-1", "a-2", "a-1"]
    assert names(workflow="nightly") == ["100%_done", "a-2", "a-1"]
    assert names(status="RUNNING") == ["b-1"]
    assert names(q="a-") == ["a-2", "a-1"]
    assert names(q="%") == ["100%_done"]  # a LIKE wildcard typed is searched for, not expanded
    assert names(q="_") == ["100%_done"]
    assert names(since="2026-01-01T01:00:00Z", until="2026-01-01T03:00:00Z") == ["b-1", "a-2"]
    assert names(since="2026-01-01T02:00:00+01:00") == ["100%_done", "b-1", "a-2"]  # 01:00 UTC
    first = c.get("/console/api/executions").json()["executions"][0]
    assert first["duration_ms"] == 60_000 and first["workflow"] == "nightly"


@pytest.mark.parametrize(("params", "message"), [
    ({"status": "DONE"}, "status='DONE' is not an execution status; give one of RUNNING, SUCCEEDED, FAILED, "
                         "TIMED_OUT, ABORTED, PENDING_REDRIVE"),
    ({"since": "yesterday"}, "since='yesterday' is not an ISO-8601 time; give e.g. since=2026-01-31T00:00:00Z"),
    ({"limit": "many"}, "limit='many' is not a whole number; give limit=50"),
    ({"limit": "0"}, "limit=0 is out of range; give a number from 1 to 500"),
    ({"page": "nonsense"}, "page='nonsense' is not a page cursor; use the 'next' value a previous page returned"),
])
def test_executions_bad_filters(store: Store, params: dict[str, str], message: str) -> None:
    response = client(store).get("/console/api/executions", params=params)
    assert response.status_code == 400
    assert response.json() == {"error": "BadRequest", "message": message}


def test_ten_thousand_executions_page_by_cursor(store: Store) -> None:
    with store._tx() as db:  # one transaction: the rows as 10,000 runs would leave them
        for i in range(10_000):
            start = (T0 + timedelta(seconds=i)).isoformat(timespec="milliseconds")
            db.execute("INSERT INTO executions (arn, name, state_machine_arn, workflow, scope, status, start_date,"
                       " stop_date, plan) VALUES (?, ?, 'sm', ?, 's', ?, ?, ?, ?)",
                       (f"arn-{i}", f"run-{i:05d}", "nightly" if i % 2 else "other",
                        "FAILED" if i % 10 == 0 else "SUCCEEDED", start, start, '{"big": "' + "x" * 2000 + '"}'))
    c = client(store)
    seen: list[str] = []
    page = ""
    begin = time.perf_counter()
    for _ in range(3):
        body = c.get("/console/api/executions", params={"workflow": "nightly", "limit": "100", "page": page}).json()
        seen.extend(e["name"] for e in body["executions"])
        page = body["next"]
    assert time.perf_counter() - begin < 5  # generous: the figure is measured in bench/, this catches a full scan per row
    assert body["total"] == 5_000
    assert seen[:2] == ["run-09999", "run-09997"] and len(seen) == 300 and len(set(seen)) == 300
    assert seen[-1] == "run-09401"
    failed = c.get("/console/api/executions", params={"status": "FAILED", "limit": "500"}).json()
    assert failed["total"] == 1_000 and len(failed["executions"]) == 500 and failed["next"]
    last = c.get("/console/api/executions", params={"status": "FAILED", "limit": "500", "page": failed["next"]}).json()
    assert len(last["executions"]) == 500 and last["next"] is None and last["executions"][-1]["name"] == "run-00000"


# -- one execution ------------------------------------------------------------------------------


def test_failed_execution_detail_puts_the_failed_task_and_its_log_first(store: Store, tmp_path: Path) -> None:
    arn = add_execution(store, "bad", status="FAILED", events=failed_history(), seconds=8)
    log = tmp_path / "load.log"
    log.write_text("".join(f"line {i}\n" for i in range(100)) + "Traceback: boom\n")
    job(store, arn, "load", tmp_path / "first.log", attempt=1)
    job(store, arn, "load", log, attempt=2, exit_code=7)
    (tmp_path / "first.log").write_text("first try\n")
    body = client(store).get("/console/api/execution", params={"arn": arn}).json()
    assert body["execution"]["status"] == "FAILED" and body["execution"]["redrivable"] is True
    failed = body["failed"]
    assert failed["state"] == "load" and failed["exit_code"] == 7 and failed["attempts"] == 2
    assert failed["error"] == "States.TaskFailed" and failed["cause"] == "exit 3 again"
    assert failed["log_tail"][-2:] == ["line 99", "Traceback: boom"] and len(failed["log_tail"]) == 40
    states = {s["name"]: s for s in body["states"]}
    assert states["load"]["status"] == "CAUGHT" and states["Failed"]["status"] == "FAILED"
    assert [a["exit_code"] for a in states["load"]["attempts"]] == [3, 7]
    assert states["load"]["logs"] == 2 and states["load"]["links"] == {}  # local: no AWS console links
    assert {n["id"] for n in body["graph"]["nodes"]} == {"load", "report", "Failed"}
    assert body["events"] == 11 and body["alerts"] == [] and body["children"] == []


def test_an_execution_on_aws_links_to_the_aws_console(store: Store, tmp_path: Path) -> None:
    arn = add_execution(store, "deployed", status="FAILED", events=failed_history(),
                        base="arn:aws:states:eu-west-1:111122223333")
    job(store, arn, "load", tmp_path / "l.log")
    states = {s["name"]: s for s in client(store).get("/console/api/execution", params={"arn": arn}).json()["states"]}
    assert states["load"]["links"] == {
        "execution": f"https://eu-west-1.console.aws.amazon.com/states/home?region=eu-west-1#/v2/executions/details/{arn}",
        "batch_job": "https://eu-west-1.console.aws.amazon.com/batch/home?region=eu-west-1#jobs/detail/job-load-1"}


def test_child_executions_are_shown_under_the_task_that_started_them(store: Store) -> None:
    parent = add_execution(store, "split", status="SUCCEEDED", events=failed_history()[:4])
    child = f"{ACCOUNT_ARN}:execution:nightly-part-1:child-1"
    store.create_execution(arn=child, name="child-1", state_machine_arn=f"{ACCOUNT_ARN}:stateMachine:nightly-part-1",
                           workflow="nightly", parent_arn=parent, scope="nightly:split/Run part 1#0", input={},
                           start_date="2026-01-01T00:00:01.000+00:00", cwd=".", plan=None, runner_start=None)
    c = client(store)
    (shown,) = c.get("/console/api/execution", params={"arn": parent}).json()["children"]
    assert shown["arn"] == child and shown["state"] == "Run part 1" and shown["status"] == "RUNNING"
    # The child's page draws its own machine, found through its parent's plan.
    body = c.get("/console/api/execution", params={"arn": child}).json()
    assert body["execution"]["parent_arn"] == parent and body["execution"]["redrivable"] is False
    assert {n["id"] for n in body["graph"]["nodes"]} == {"load", "report", "Failed"}
    assert [e["name"] for e in c.get("/console/api/executions").json()["executions"]] == ["split"]


def test_the_alerts_a_run_sent_with_their_deliveries(store: Store) -> None:
    arn = add_execution(store, "bad", status="FAILED", events=failed_history())
    store.put_message(message_id="m1", execution_arn=arn, state_name="Notify failure", topic_arn="arn:aws:sns:t",
                      subject="nightly failed: load", message="load failed\nlast lines: boom", attributes={},
                      created_at=1)
    store.put_delivery(message_id="m1", target="webhook", attempt=1, status="DELIVERED", error=None, at=2)
    (alert,) = client(store).get("/console/api/execution", params={"arn": arn}).json()["alerts"]
    assert alert["subject"] == "nightly failed: load" and alert["state_name"] == "Notify failure"
    assert alert["deliveries"] == [{"target": "webhook", "attempt": 1, "status": "DELIVERED", "error": None}]


def test_a_served_workflow_gets_its_critical_path(store: Store) -> None:
    at = [T0 + timedelta(seconds=x) for x in range(10)]
    events = [event(1, 0, "ExecutionStarted", at[0]),
              event(2, 1, "TaskStateEntered", at[0], name="load"), event(3, 2, "TaskScheduled", at[0]),
              event(4, 3, "TaskStarted", at[0]), event(5, 4, "TaskSucceeded", at[2]),
              event(6, 5, "TaskStateExited", at[2], name="load"),
              event(7, 6, "TaskStateEntered", at[3], name="report"), event(8, 7, "TaskScheduled", at[3]),
              event(9, 8, "TaskStarted", at[3]), event(10, 9, "TaskSucceeded", at[5]),
              event(11, 10, "TaskStateExited", at[5], name="report"), event(12, 11, "ExecutionSucceeded", at[5])]
    arn = add_execution(store, "ok", events=events)
    served = [Served(workflow=workflow(), state_machine_arn=f"{ACCOUNT_ARN}:stateMachine:nightly")]
    body = client(store, served).get("/console/api/execution", params={"arn": arn}).json()
    assert body["critical_path"] == ["load", "report"]
    assert {s["name"]: s.get("blocked_ms") for s in body["states"]} == {"load": None, "report": 1000}
    # Not served (no DAG known): no path is made up.
    assert client(store).get("/console/api/execution", params={"arn": arn}).json()["critical_path"] == []


def test_poll_answers_unchanged_until_something_happens(store: Store) -> None:
    arn = add_execution(store, "live", status="RUNNING", events=failed_history()[:4])
    c = client(store)
    first = c.get("/console/api/execution", params={"arn": arn, "graph": "0"}).json()
    assert "graph" not in first and first["states"][0]["status"] == "RUNNING"
    again = c.get("/console/api/execution", params={"arn": arn, "since": first["version"]}).json()
    assert again == {"unchanged": True, "version": first["version"]}
    store.append_event(arn, failed_history()[4])
    changed = c.get("/console/api/execution", params={"arn": arn, "since": first["version"]}).json()
    assert changed["version"] != first["version"] and changed["states"][0]["status"] == "FAILED"


def test_kept_states_follow_what_the_local_services_record(store: Store) -> None:
    arn = add_execution(store, "live", status="RUNNING", events=failed_history()[:4])
    c = client(store)
    before = c.get("/console/api/execution", params={"arn": arn}).json()
    assert "request_id" not in before["states"][0]["attempts"][0]
    store.put_invocation(request_id="r1", execution_arn=arn, state_name="load", function_name="f", status="RUNNING",
                         started_at=int(T0.timestamp() * 1000) + 1500, duration_ms=None, error=None,
                         log_path="/l.log", task_attempt=1)
    after = c.get("/console/api/execution", params={"arn": arn, "since": before["version"]}).json()
    assert after["states"][0]["attempts"][0]["request_id"] == "r1" and after["states"][0]["logs"] == 1


def test_unknown_execution_and_missing_arn(store: Store) -> None:
    c = client(store)
    missing = c.get("/console/api/execution", params={"arn": "arn:nope"})
    assert missing.status_code == 404
    assert missing.json()["message"] == f"No execution 'arn:nope' in the store {store.path}; pick one on /executions"
    assert c.get("/console/api/execution", params={"arn": "arn:nope", "since": "1"}).status_code == 404
    bare = c.get("/console/api/history")
    assert bare.status_code == 400 and bare.json()["message"] == "name the execution: arn=EXECUTION_ARN"


def test_history_pages_after_an_event(store: Store) -> None:
    arn = add_execution(store, "bad", status="FAILED", events=failed_history())
    c = client(store)
    body = c.get("/console/api/history", params={"arn": arn, "after": "8", "limit": "2"}).json()
    assert [e["id"] for e in body["events"]] == [9, 10] and body["more"] is True
    body = c.get("/console/api/history", params={"arn": arn, "after": "10"}).json()
    assert [e["type"] for e in body["events"]] == ["ExecutionFailed"] and body["more"] is False


def test_log_chunks_follow_the_file_as_it_grows(store: Store, tmp_path: Path) -> None:
    arn = add_execution(store, "bad", status="RUNNING", events=failed_history()[:4])
    log = tmp_path / "load.log"
    log.write_text("one\n")
    job(store, arn, "load", log)
    c = client(store)
    first = c.get("/console/api/log", params={"arn": arn, "task": "load"}).json()
    assert first["text"] == "one\n" and first["next"] == 4 and first["logs"] == 1
    with log.open("a") as handle:
        handle.write("two ✓\n")
    second = c.get("/console/api/log", params={"arn": arn, "task": "load", "offset": str(first["next"])}).json()
    assert second["text"] == "two ✓\n" and second["next"] == log.stat().st_size
    none = c.get("/console/api/log", params={"arn": arn, "task": "report"}).json()
    assert none["text"] == "" and none["logs"] == 0
    bad = c.get("/console/api/log", params={"arn": arn, "task": "load", "attempt": "3"})
    assert bad.status_code == 404 and bad.json()["message"] == "task 'load' has 1 log(s); give attempt=1 to 1"
    assert c.get("/console/api/log", params={"arn": arn}).json()["message"] == "name the task whose log to read: task=NAME"
    tail = c.get("/console/api/tail", params={"arn": arn, "task": "load", "lines": "1"}).json()
    assert tail == {"task": "load", "lines": ["two ✓"]}


def test_a_large_log_is_read_in_bounded_chunks_without_splitting_characters(store: Store, tmp_path: Path) -> None:
    arn = add_execution(store, "big", status="SUCCEEDED", events=failed_history()[:4])
    log = tmp_path / "big.log"
    log.write_bytes(("é" * 100_000).encode())  # 200,000 bytes of two-byte characters
    job(store, arn, "load", log)
    c = client(store)
    text, offset = "", 0
    while True:
        chunk = c.get("/console/api/log", params={"arn": arn, "task": "load", "offset": str(offset)}).json()
        if not chunk["text"]:
            break
        assert len(chunk["text"].encode()) <= 64 * 1024
        text, offset = text + chunk["text"], chunk["next"]
    assert text == "é" * 100_000
