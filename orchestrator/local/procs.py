"""Starting job and worker processes so that none outlives the runner.

Two mechanisms, because each covers what the other cannot:

* ``PR_SET_PDEATHSIG`` (Linux, set in the child between fork and exec) kills the direct child the
  moment its parent *thread* dies. That is why every process is started by one long-lived
  launcher thread: started from an engine worker thread, the job would be killed when that
  thread ended, not when the runner did.
* A watchdog process holds the read end of a pipe. The runner tells it each process group it
  starts (every job runs in its own session, so ``killpg`` reaches the job's whole tree, which
  the death signal does not). When the runner dies, even by SIGKILL, the kernel closes the
  pipe; the watchdog reads EOF and kills every group (and Docker container) still registered.

    >>> launcher = Launcher.shared()
    >>> proc = launcher.spawn(["true"])
    >>> proc.wait()
    0
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import IO, Any

_PR_SET_PDEATHSIG = 1

_WATCHDOG = r"""
import os, signal, subprocess, sys
groups, containers = set(), set()
for line in sys.stdin:
    op, kind, ident = line[0], line[1], line[2:].strip()
    target = groups if kind == "g" else containers
    value = int(ident) if kind == "g" else ident
    (target.add if op == "+" else target.discard)(value)
for pgid in groups:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except OSError:
        pass
for name in containers:
    subprocess.run(["docker", "kill", name], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
"""


def _libc_prctl() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None
    prctl: Callable[..., int] = libc.prctl
    return prctl


_PRCTL = _libc_prctl()


def _die_with_parent() -> None:
    """Runs in the child between fork and exec: SIGKILL me when my parent thread dies."""
    if _PRCTL is not None:
        _PRCTL(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


class Launcher:
    """Starts processes from one long-lived thread and registers them with the watchdog."""

    _shared: Launcher | None = None
    _shared_lock = threading.Lock()

    def __init__(self) -> None:
        self._requests: queue.SimpleQueue[tuple[Callable[[], Any], Future[Any]]] = queue.SimpleQueue()
        self._watchdog_lock = threading.Lock()
        self._watchdog: subprocess.Popen[str] | None = None
        self._thread = threading.Thread(target=self._loop, name="orchestrator-launcher", daemon=True)
        self._thread.start()

    @classmethod
    def shared(cls) -> Launcher:
        """One launcher per runner process."""
        with cls._shared_lock:
            if cls._shared is None or cls._shared._pid != os.getpid():
                cls._shared = cls()
                cls._shared._pid = os.getpid()
            return cls._shared

    _pid: int = 0

    def _loop(self) -> None:
        while True:
            fn, future = self._requests.get()
            try:
                future.set_result(fn())
            except BaseException as exc:  # handed to the caller, who re-raises it
                future.set_exception(exc)

    def spawn(self, args: list[str], *, cwd: str | None = None, env: dict[str, str] | None = None,
              stdin: int | IO[Any] | None = subprocess.DEVNULL, stdout: int | IO[Any] | None = None,
              stderr: int | IO[Any] | None = None, text: bool = False,
              container: str | None = None) -> subprocess.Popen[Any]:
        """Start ``args`` in a new session that dies with the runner; raises OSError like Popen."""
        def start() -> subprocess.Popen[Any]:
            proc = subprocess.Popen(args, cwd=cwd, env=env, stdin=stdin, stdout=stdout, stderr=stderr,
                                    text=text, start_new_session=True, preexec_fn=_die_with_parent)
            self._tell(f"+g{proc.pid}")
            if container:
                self._tell(f"+c{container}")
            return proc
        future: Future[subprocess.Popen[Any]] = Future()
        self._requests.put((start, future))
        return future.result()

    def forget(self, proc: subprocess.Popen[Any], container: str | None = None) -> None:
        """The process has been reaped: stop tracking its group (so a reused pgid is never hit)."""
        self._tell(f"-g{proc.pid}")
        if container:
            self._tell(f"-c{container}")

    def _tell(self, line: str) -> None:
        with self._watchdog_lock:
            if self._watchdog is None or self._watchdog.poll() is not None:
                self._watchdog = subprocess.Popen(
                    [sys.executable, "-S", "-c", _WATCHDOG], stdin=subprocess.PIPE, text=True,
                    start_new_session=True)
            assert self._watchdog.stdin is not None
            self._watchdog.stdin.write(line + "\n")
            self._watchdog.stdin.flush()


def kill_group(proc: subprocess.Popen[Any], sig: int = signal.SIGKILL) -> None:
    """Signal the whole process group of ``proc`` (it leads its own session)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def process_start_time(pid: int) -> str | None:
    """The kernel's start time of ``pid`` (Linux), to tell a live runner from a reused pid."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return fields[19]
    except (OSError, IndexError):
        return None
