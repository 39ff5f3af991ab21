"""The local scheduler's accuracy and cost with 1,000 schedules loaded.

    python bench/scheduler.py                       # every figure (about 6 minutes)
    python bench/scheduler.py --minutes 1 --idle-seconds 30

What it measures, against the wall clock:

* **lateness, spread**: 1,000 schedules ``cron(* * * * ? *)`` with a one-minute flexible window,
  so about 17 fires a second, each at the second its window offset picks. Lateness is when the
  scheduler called StartExecution minus when the fire was due (its time plus its offset); the
  scheduler runs in this process on the wall clock (``orchestrator.scheduler.Scheduler``, the
  SQLite store in a temporary directory) and the service records each call and returns at once,
  so this is the scheduler's own delay, not the cost of running an execution.
* **lateness, burst**: the same 1,000 schedules without a window, so all fire at the top of each
  minute: the last of a burst waits for the 999 before it (each claimed and recorded in the store).
* **idle CPU**: a real ``orchestrator serve`` process serving 1,000 workflows with a daily
  schedule, measured from /proc over ``--idle-seconds`` once its scheduler has registered them
  all, beside the same server serving one unscheduled workflow (the endpoint's own idle cost).
"""

from __future__ import annotations

import argparse
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from orchestrator import model  # noqa: E402
from orchestrator.local.store import Store  # noqa: E402
from orchestrator.scheduler import Scheduler, WallClock, window_offset  # noqa: E402
from orchestrator.server.service import ServedWorkflow  # noqa: E402

SCHEDULES = 1000
TASKS = (model.Task(name="t", job=model.BatchJob(image="alpine:3", command=("true",))),)


class Recorder:
    """The Service the scheduler talks to: records when each start was asked for."""

    def __init__(self, workflows: list[model.Workflow]) -> None:
        self.served = [ServedWorkflow(workflow=wf, path="bench",
                                      state_machine_arn=f"arn:aws:states:us-east-1:000000000000:stateMachine:{wf.name}")
                       for wf in workflows]
        self.by_name = {wf.name: wf for wf in workflows}
        self.calls: list[tuple[str, float]] = []  # (execution name, when asked); lateness is worked out after

    def served_workflows(self) -> list[ServedWorkflow]:
        return self.served

    def start_execution(self, request: dict[str, Any]) -> dict[str, Any]:
        called = time.time()
        self.calls.append((request["name"], called))
        return {"executionArn": request["stateMachineArn"] + ":" + request["name"], "startDate": called}

    def lateness(self) -> list[float]:
        late = []
        for name, called in self.calls:
            workflow, _, stamp = name.rpartition("-")
            when = datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
            schedule = self.by_name[workflow].schedule
            assert schedule is not None
            late.append(called - (when + window_offset(workflow, schedule, when)).timestamp())
        return late

    def list_executions(self, request: dict[str, Any]) -> dict[str, Any]:
        return {"executions": []}


def percentiles(values: list[float]) -> tuple[float, float, float]:
    ordered = sorted(values)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return statistics.median(ordered), p99, ordered[-1]


def lateness(window: int | None, minutes: float) -> tuple[int, tuple[float, float, float]]:
    workflows = [model.Workflow(name=f"s{i:04d}", tasks=TASKS, schedule=model.Schedule(
        expression="cron(* * * * ? *)", flexible_window=window)) for i in range(SCHEDULES)]
    service = Recorder(workflows)
    with tempfile.TemporaryDirectory() as home:
        scheduler = Scheduler(service, Store(home), clock=WallClock())
        scheduler.start()
        time.sleep(minutes * 60)
        scheduler.stop()
        fired = sum(1 for f in Store(home).schedule_fires() if f["status"] == "STARTED")
    assert fired == len(service.calls)
    return fired, percentiles(service.lateness())


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def idle_serve(count: int, seconds: float) -> tuple[float, float]:
    """(startup seconds, CPU % while idle) of `orchestrator serve` with ``count`` daily schedules."""
    with tempfile.TemporaryDirectory() as tmp:
        docs = []
        for i in range(max(count, 1)):
            schedule = '\nschedule: {expression: "cron(0 3 * * ? *)", timezone: Europe/Berlin}' if count else ""
            docs.append(f'name: s{i:04d}{schedule}\ntasks:\n  - name: t\n    batch: {{image: "alpine:3", '
                        'command: ["true"]}\n')
        (Path(tmp) / "many.yaml").write_text("---\n".join(docs))
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        env = {**os.environ, "PYTHONPATH": str(ROOT), "ORCHESTRATOR_HOME": f"{tmp}/home"}
        began = time.monotonic()
        proc = subprocess.Popen([sys.executable, "-m", "orchestrator.cli", "serve", "many.yaml", "--port", str(port)],
                                cwd=tmp, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            while True:  # ready: the endpoint answers and the scheduler holds every schedule
                time.sleep(0.5)
                if proc.poll() is not None:
                    raise SystemExit("orchestrator serve exited early")
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                except OSError:
                    continue
                if not count or len(Store(f"{tmp}/home").schedules()) == count:
                    break
            startup = time.monotonic() - began
            time.sleep(2)
            cpu0, wall0 = cpu_seconds(proc.pid), time.monotonic()
            time.sleep(seconds)
            cpu = cpu_seconds(proc.pid) - cpu0
            return startup, 100 * cpu / (time.monotonic() - wall0)
        finally:
            proc.terminate()
            proc.wait(60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=2.0, help="wall minutes per lateness run")
    parser.add_argument("--idle-seconds", type=float, default=60.0)
    args = parser.parse_args()
    load = os.getloadavg()[0]
    print(f"machine: {os.cpu_count()} cores, Python {platform.python_version()} ({platform.python_implementation()}), "
          f"{platform.system()} {platform.machine()}, load average {load:.1f} at start")
    print(f"reproduce: `python bench/scheduler.py --minutes {args.minutes:g} --idle-seconds {args.idle_seconds:g}`")
    print()
    print(f"| {SCHEDULES:,} schedules | fires | lateness p50 ms | p99 ms | max ms |")
    print("|---|---:|---:|---:|---:|")
    for label, window in (("spread (1-minute window)", 1), ("burst (all at :00)", None)):
        fired, (p50, p99, worst) = lateness(window, args.minutes)
        print(f"| {label} | {fired} | {p50 * 1000:.1f} | {p99 * 1000:.1f} | {worst * 1000:.1f} |", flush=True)
    print()
    print("| `orchestrator serve` | startup s | idle CPU % |")
    print("|---|---:|---:|")
    for label, count in ((f"{SCHEDULES:,} daily schedules", SCHEDULES), ("1 workflow, no schedule", 0)):
        startup, cpu = idle_serve(count, args.idle_seconds)
        print(f"| {label} | {startup:.1f} | {cpu:.2f} |", flush=True)


if __name__ == "__main__":
    main()
