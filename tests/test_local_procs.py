"""The runner's watchdog: what it imports as it starts beside every run, and what it kills."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from orchestrator.local.procs import _WATCHDOG, TOKEN_ENV, Launcher, pid_alive


def test_the_watchdog_starts_without_signal_or_subprocess() -> None:
    # Its interpreter start competes for the CPU with the runner and its zygote as a run begins;
    # signal (an enum module) and subprocess (threading, selectors) tripled it. With no container
    # to remove it needs neither.
    probe = _WATCHDOG + "\nprint(' '.join(m for m in ('signal', 'subprocess', 'enum') if m in sys.modules))"
    done = subprocess.run([sys.executable, "-S", "-c", probe, f"{TOKEN_ENV}=nobody"],
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == []


def test_the_watchdog_kills_registered_groups_and_marked_processes_when_the_runner_goes() -> None:
    launcher = Launcher()
    grouped = launcher.spawn(["sleep", "30"])
    # Marked with the runner's token but in no registered group, as a job's setsid child would be.
    marked = subprocess.Popen(["sleep", "30"], env={**os.environ, TOKEN_ENV: launcher.token},
                              start_new_session=True)
    try:
        watchdog = launcher._watchdog
        assert watchdog is not None and watchdog.stdin is not None
        watchdog.stdin.close()  # what the kernel does when the runner dies
        assert watchdog.wait(30) == 0
        deadline = time.monotonic() + 10
        while (grouped.poll() is None or marked.poll() is None) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert grouped.returncode == -9 and marked.returncode == -9
        assert not pid_alive(grouped.pid)
    finally:
        for proc in (grouped, marked):
            if proc.poll() is None:
                proc.kill()
                proc.wait()
