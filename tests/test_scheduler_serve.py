"""The scheduler inside real ``orchestrator serve`` processes, on a fast shared clock
(``ORCHESTRATOR_SCHEDULER_CLOCK``: one scheduled minute per two real seconds): killed with SIGKILL
and restarted, every missed minute fires exactly once under ``catch_up: all``; two servers on one
store start each fire once."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from orchestrator.local.store import Store
from orchestrator.scheduler.fires import parse_scheduled_time

REPO = Path(__file__).resolve().parents[1]
START = "2026-03-29T00:00:00Z"
SPEED = 60  # scheduled seconds per real second
SPEC = """name: every
schedule: {expression: "cron(* * * * ? *)", catch_up: all, overlap: allow}
tasks:
  - name: tick
    batch: {image: "alpine:3", command: [sh, -c, "true"]}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def project(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    (tmp_path / "every.yaml").write_text(SPEC)
    env = {**os.environ, "PYTHONPATH": str(REPO), "ORCHESTRATOR_HOME": str(tmp_path / "home"),
           "ORCHESTRATOR_CONTAINERS": "never", "ORCHESTRATOR_SCHEDULER_CLOCK": f"{START},{SPEED},{time.time()}"}
    return tmp_path, env


def serve(cwd: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "orchestrator.cli", "serve", "every.yaml", "--port",
                             str(free_port())], cwd=cwd, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


def fired(home: Path) -> list[datetime]:
    """The scheduled time of every execution in the store, in start order."""
    rows = Store(home).executions()
    return sorted((parse_scheduled_time(r.input["scheduled_time"]) for r in rows), key=lambda t: t)


def wait_for(home: Path, count: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while len(fired(home)) < count:
        assert time.monotonic() < deadline, f"only {len(fired(home))} fires after {timeout} s"
        time.sleep(0.2)


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)
    proc.wait(30)


def assert_every_minute_once(times: list[datetime]) -> None:
    assert len(times) == len(set(times)), "a fire started twice"
    first, last = times[0], times[-1]
    expected = [first + timedelta(minutes=i) for i in range(int((last - first).total_seconds() // 60) + 1)]
    assert times == expected, "a minute was missed"


def test_serve_killed_between_fires_catches_up_each_missed_minute_once(project: tuple[Path, dict[str, str]]) -> None:
    cwd, env = project
    home = cwd / "home"
    first = serve(cwd, env)
    try:
        wait_for(home, 2)
    finally:
        first.kill()  # SIGKILL: no clean-up at all
        first.wait(10)
    before = fired(home)
    time.sleep(5)  # five scheduled minutes pass with no scheduler
    second = serve(cwd, env)
    try:
        wait_for(home, len(before) + 7)
    finally:
        stop(second)
    times = fired(home)
    assert_every_minute_once(times)
    assert times[: len(before)] == before
    fires = Store(home).schedule_fires("every")
    assert len(fires) == len(times) and {f["status"] for f in fires} == {"STARTED"}


def test_two_servers_on_one_store_start_each_fire_once(project: tuple[Path, dict[str, str]]) -> None:
    cwd, env = project
    home = cwd / "home"
    servers = [serve(cwd, env), serve(cwd, env)]
    try:
        wait_for(home, 6)
    finally:
        for proc in servers:
            stop(proc)
    times = fired(home)
    assert_every_minute_once(times)
    owners = {f["owner_pid"] for f in Store(home).schedule_fires("every")}
    assert owners <= {p.pid for p in servers}
