"""Screenshots of the console's three pages, and how long a 1,000-task execution page takes to draw.

    python bench/console_screenshots.py                  # PNGs in bench/screenshots/
    python bench/console_screenshots.py --out shots --tasks 1000 --loads 5

What it does, all for real: a demo project (a small fan-out workflow whose ``right`` task fails
until a file exists) is served by ``orchestrator serve``'s app (the Step Functions API and the
console on one port, uvicorn on 127.0.0.1); runs are started through the Step Functions API
(boto3), three that succeed and one that fails; a 1,000-task execution (ten stages of ten
parallel chains of ten tasks, every task with a waiting and a running time) is written into the
same store. Headless Chromium (Debian's ``chromium`` and ``chromium-driver``) then opens each page
and saves a full-page PNG, and loads the 1,000-task page ``--loads`` times: the figure is the
time from navigation start to the page's own ``console:rendered`` mark (graph, timeline and task
panel drawn; the event table follows): the first load, when the server has nothing kept, and the
median and worst of the others. Target: under one second. Then 10,000
executions are added to the store and the executions API (first page, a filter, a name search,
100 pages deep by cursor) and the executions page are timed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DEMO = """\
name: demo-fanout
description: Prepare, two branches, then finish; 'right' fails until the file 'ok' exists
schedule: {expression: "cron(0 * * * ? *)", timezone: Europe/Berlin}
notify: {email: [ops@example.com]}
tasks:
  - name: prepare
    batch: {image: "alpine:3", command: [sh, -c, "echo preparing input; sleep 0.4; echo prepared 3 files"]}
    timeout: 5m
  - name: left
    batch: {image: "alpine:3", command: [sh, -c, "for i in 1 2 3; do echo left step $i; sleep 0.2; done"]}
    timeout: 5m
    after: [prepare]
  - name: right
    batch: {image: "alpine:3", command: [sh, -c, "echo checking; test -f ok || { echo 'missing file: ok' >&2; exit 3; }"]}
    timeout: 5m
    after: [prepare]
  - name: finish
    batch: {image: "alpine:3", command: [sh, -c, "echo all done"]}
    timeout: 5m
    after: [left, right]
"""
TARGET_MS = 1000.0


def _big_definition(stages: int, branches: int, chain: int) -> dict[str, Any]:
    """``stages`` Parallel states in a row, each of ``branches`` chains of ``chain`` Task states."""
    states: dict[str, Any] = {}
    for s in range(stages):
        branch_list = []
        for b in range(branches):
            names = [f"s{s:02d}-b{b:02d}-t{t:02d}" for t in range(chain)]
            inner = {n: {"Type": "Task", "Resource": "arn:aws:states:::batch:submitJob.sync",
                         **({"Next": names[i + 1]} if i + 1 < chain else {"End": True})} for i, n in enumerate(names)}
            branch_list.append({"StartAt": names[0], "States": inner})
        states[f"stage {s}"] = {"Type": "Parallel", "Branches": branch_list,
                                **({"Next": f"stage {s + 1}"} if s + 1 < stages else {"End": True})}
    return {"StartAt": "stage 0", "States": states}


def write_big_execution(store: Any, tasks: int) -> str:
    """A finished execution of ``tasks`` tasks (rounded to stages × 10 × 10), history and all."""
    stages = max(1, round(tasks / 100))
    definition = _big_definition(stages, 10, 10)
    name = f"big-{stages * 100}"
    from orchestrator import arns

    arn = f"arn:aws:states:{arns.REGION}:{arns.ACCOUNT}:execution:{name}:{name}-run"
    t0 = datetime.now(UTC) - timedelta(hours=2)
    iso = lambda at: at.isoformat(timespec="milliseconds")  # noqa: E731
    plan = {"workflow": name, "main": name, "definitions": {name: definition}, "job_definitions": {}, "functions": {}}
    store.create_execution(arn=arn, name=f"{name}-run", state_machine_arn=arn.replace(":execution:", ":stateMachine:")
                           .rsplit(":", 1)[0], workflow=name, parent_arn=None, scope=name, input={"tasks": tasks},
                           start_date=iso(t0), cwd=".", plan=plan, runner_start=None)
    events: list[dict[str, Any]] = []

    def add(kind: str, at: datetime, previous: int, **details: Any) -> int:
        event: dict[str, Any] = {"id": len(events) + 1, "previousEventId": previous, "timestamp": iso(at), "type": kind}
        if details:
            key = ("stateEnteredEventDetails" if kind.endswith("Entered") else "stateExitedEventDetails"
                   if kind.endswith("Exited") else kind[0].lower() + kind[1:] + "EventDetails")
            event[key] = details
        events.append(event)
        return int(event["id"])

    at = t0
    last = add("ExecutionStarted", at, 0, input="{}")
    for s in range(stages):
        entered = add("ParallelStateEntered", at, last, name=f"stage {s}", input="{}")
        started = add("ParallelStateStarted", at, entered)
        stage_end = at
        for b in range(10):
            clock, previous = at, started
            for t in range(10):
                state = f"s{s:02d}-b{b:02d}-t{t:02d}"
                wait, run = timedelta(seconds=(b * 7 + t * 3) % 11), timedelta(seconds=20 + (b * 13 + t * 5) % 40)
                e = add("TaskStateEntered", clock, previous, name=state, input="{}")
                e = add("TaskScheduled", clock, e, resource="submitJob.sync", resourceType="batch")
                e = add("TaskStarted", clock + wait, e, resource="submitJob.sync", resourceType="batch")
                clock = clock + wait + run
                e = add("TaskSucceeded", clock, e, output=json.dumps({"JobId": state, "Status": "SUCCEEDED"}))
                previous = add("TaskStateExited", clock, e, name=state, output="{}")
            stage_end = max(stage_end, clock)
        e = add("ParallelStateSucceeded", stage_end, started)
        last = add("ParallelStateExited", stage_end, e, name=f"stage {s}", output="{}")
        at = stage_end
    add("ExecutionSucceeded", at, last, output="{}")
    with store._tx() as db:  # one transaction: what a run commits event by event
        db.executemany("INSERT INTO events (execution_arn, id, timestamp, type, body) VALUES (?, ?, ?, ?, ?)",
                       [(arn, e["id"], e["timestamp"], e["type"], json.dumps(e)) for e in events])
    store.finish_execution(arn, status="SUCCEEDED", output={"ok": True}, error=None, cause=None, stop_date=iso(at))
    return arn


def write_many_executions(store: Any, count: int) -> None:
    """``count`` finished executions of three workflows, a tenth of them failed, one a minute."""
    t0 = datetime.now(UTC) - timedelta(minutes=count + 10)
    rows = []
    for i in range(count):
        start = (t0 + timedelta(minutes=i)).isoformat(timespec="milliseconds")
        stop = (t0 + timedelta(minutes=i, seconds=30 + i % 50)).isoformat(timespec="milliseconds")
        workflow = ("nightly-sales", "etl-fanout", "disk-hygiene")[i % 3]
        rows.append((f"arn:aws:states:us-east-1:123456789012:execution:{workflow}:run-{i:05d}", f"run-{i:05d}",
                     workflow, "FAILED" if i % 10 == 0 else "SUCCEEDED", start, stop))
    with store._tx() as db:  # one transaction: the rows 10,000 runs leave behind
        db.executemany("INSERT INTO executions (arn, name, state_machine_arn, workflow, scope, status, input,"
                       " start_date, stop_date, plan) VALUES (?, ?, 'sm', ?, 'scope', ?, '{}', ?, ?, '{}')",
                       [(a, n, w, st, b, e) for a, n, w, st, b, e in rows])


def _time_get(url: str, runs: int = 5) -> tuple[float, dict[str, Any]]:
    """Median wall ms of a GET (over ``runs``) and its JSON body."""
    import urllib.request

    times, body = [], {}
    for _ in range(runs):
        begin = time.perf_counter()
        with urllib.request.urlopen(url) as response:
            body = json.loads(response.read())
        times.append((time.perf_counter() - begin) * 1000)
    return statistics.median(times), body


def _serve(service: Any) -> tuple[Any, str, threading.Thread]:
    import uvicorn

    from orchestrator.server.app import create_app

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(service), log_level="warning", access_log=False, lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            raise SystemExit("the console server did not start within 20 s")
        time.sleep(0.02)
    return server, f"http://127.0.0.1:{port}", thread


def _full_page(driver: Any, path: Path, width: int) -> None:
    height = int(driver.execute_script("return document.documentElement.scrollHeight"))
    driver.set_window_size(width, min(max(height, 700), 5000))
    time.sleep(0.3)
    driver.save_screenshot(str(path))


def _wait(driver: Any, script: str, timeout: float = 30) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = driver.execute_script(script)
        if value:
            return value
        time.sleep(0.05)
    raise SystemExit(f"timed out waiting for: {script}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--out", default=str(ROOT / "bench" / "screenshots"), help="where the PNGs go")
    parser.add_argument("--tasks", type=int, default=1000, help="tasks of the large execution (multiple of 100)")
    parser.add_argument("--loads", type=int, default=5, help="times the large page is loaded for the timing")
    parser.add_argument("--executions", type=int, default=10_000, help="executions in the store for the list timing")
    args = parser.parse_args(argv)
    from tests.console_browser import chrome, skip_reason

    reason = skip_reason()
    if reason:
        print(f"cannot take screenshots: {reason}")
        return 1
    import boto3
    from botocore.config import Config

    from orchestrator.server.service import Service

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    project = Path(tempfile.mkdtemp(prefix="console-bench-"))
    (project / "demo.yaml").write_text(DEMO)
    os.chdir(project)
    os.environ["ORCHESTRATOR_LOCAL_DOCKER"] = "0"  # the demo's jobs are shell commands, run as processes
    service = Service(home=project / ".orchestrator", notice=lambda text: None)
    (served,) = service.serve([project / "demo.yaml"])
    server, url, thread = _serve(service)
    sfn = boto3.client("stepfunctions", endpoint_url=url, region_name="us-east-1", aws_access_key_id="x",
                       aws_secret_access_key="x", config=Config(retries={"max_attempts": 1}))
    (project / "ok").write_text("")
    for i in range(3):
        arn = sfn.start_execution(stateMachineArn=served.state_machine_arn, name=f"demo-ok-{i}",
                                  input=json.dumps({"day": i}))["executionArn"]
        service.wait(arn, 60)
    (project / "ok").unlink()
    failed = sfn.start_execution(stateMachineArn=served.state_machine_arn, name="demo-failed",
                                 input=json.dumps({"day": 3}))["executionArn"]
    service.wait(failed, 60)
    big = write_big_execution(service.store, args.tasks)
    width = 1440
    timings: list[float] = []
    fetched: list[float] = []  # when the execution's JSON had arrived (the rest is drawing)
    with chrome(width, 1000) as driver:
        shots = [("workflows", f"{url}/", "document.querySelector('tr[data-workflow]')"),
                 ("executions", f"{url}/executions", "document.querySelector('tr[data-arn]')"),
                 ("execution-failed", f"{url}/executions/{failed}",
                  "document.querySelector('#failed-log') && document.querySelector('#task-log').textContent")]
        for name, page, ready in shots:
            driver.set_window_size(width, 1000)
            driver.get(page)
            _wait(driver, f"return {ready}")
            _full_page(driver, out / f"console-{name}.png", width)
        for _ in range(args.loads):
            driver.set_window_size(width, 1000)
            driver.get(f"{url}/executions/{big}")
            timings.append(float(_wait(driver, "const m = performance.getEntriesByName('console:rendered');"
                                               " return m.length ? m[0].startTime : 0")))
            fetched.append(float(driver.execute_script(
                "return performance.getEntriesByName('console:fetched')[0].startTime")))
        drawn = driver.execute_script("return [document.querySelectorAll('svg.graph g.node').length,"
                                      " document.querySelectorAll('svg.timeline g.trow').length]")
        driver.save_screenshot(str(out / f"console-execution-{args.tasks}-tasks.png"))
        write_many_executions(service.store, args.executions)
        api = f"{url}/console/api/executions"
        first_ms, first = _time_get(api)
        filtered_ms, _ = _time_get(f"{api}?workflow=etl-fanout&status=FAILED")
        search_ms, _ = _time_get(f"{api}?q=run-0420")
        cursor, deep_pages = first["next"], 0
        deep_begin = time.perf_counter()
        while cursor and deep_pages < 100:  # walk 100 pages deep (5,000 executions)
            import urllib.parse

            _, page = _time_get(f"{api}?page={urllib.parse.quote(cursor)}", runs=1)
            cursor, deep_pages = page["next"], deep_pages + 1
        deep_ms = (time.perf_counter() - deep_begin) * 1000 / max(1, deep_pages)
        list_loads = []
        for _ in range(args.loads):
            driver.get(f"{url}/executions")
            _wait(driver, "return document.querySelectorAll('tr[data-arn]').length >= 50")
            list_loads.append(float(driver.execute_script(
                "return performance.now()")))
    server.should_exit = True
    thread.join(10)
    service.close()
    load = os.getloadavg()[0]
    print(f"machine: {os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()} "
          f"{platform.machine()}, load average {load:.1f} at the end")
    print(f"reproduce: `python bench/console_screenshots.py --tasks {args.tasks} --loads {args.loads}`")
    where = out.relative_to(ROOT) if out.is_relative_to(ROOT) else out
    print(f"screenshots: {', '.join(sorted(p.name for p in out.glob('console-*.png')))} in {where}")
    warm = timings[1:] or timings
    print(f"{args.tasks}-task execution page ({drawn[0]} graph boxes, {drawn[1]} timeline rows), from navigation "
          f"to drawn: first load {timings[0]:.0f} ms (nothing kept yet: the server reads and derives the history "
          f"and lays the machine out), then median {statistics.median(warm):.0f} ms, worst "
          f"{max(warm):.0f} ms over {len(warm)} loads (target {TARGET_MS:.0f} ms: "
          f"{'met' if max(warm) < TARGET_MS else 'NOT met'}); drawing after the data arrived: median "
          f"{statistics.median([t - f for t, f in zip(timings, fetched, strict=True)]):.0f} ms")
    print(f"executions API with {first['total']:,} executions (median of 5 GETs over HTTP): first page "
          f"{first_ms:.0f} ms, workflow+status filter {filtered_ms:.0f} ms, name search {search_ms:.0f} ms; "
          f"{deep_pages} pages deep by cursor: {deep_ms:.0f} ms a page")
    print(f"executions page with {first['total']:,} executions: median {statistics.median(list_loads):.0f} ms, "
          f"worst {max(list_loads):.0f} ms from navigation to the first 50 rows drawn, over {len(list_loads)} loads")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
