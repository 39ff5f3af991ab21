"""Starting job and worker processes so that none outlives the runner.

Every job runs in its own session (``killpg`` then reaches the job's whole tree: a timeout or a
cancel stops what the job started, too), and a watchdog process holds the read end of a pipe
from the runner. When the runner dies, even by SIGKILL, the kernel closes the pipe; the watchdog
reads EOF and kills

* every process group the runner registered (each job and Lambda worker), and
* every process whose environment carries this runner's ``ORCHESTRATOR_RUNNER_TOKEN`` — which
  closes the gap between a fork and its registration, and catches children that left their
  job's group (``setsid``) but kept its environment;
* every Docker container the runner started (removed, whatever its state).

Why not ``PR_SET_PDEATHSIG``: it needs ``preexec_fn``, which turns Python's vfork/posix_spawn
path into fork + interpreter re-entry in the child — 5–8 ms per job instead of under 1 ms here —
and it fires when the *thread* that forked exits, and reaches only the direct child anyway.

    >>> launcher = Launcher.shared()
    >>> proc = launcher.spawn(["true"])
    >>> proc.wait()
    0
    >>> launcher.forget(proc)
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import subprocess
import sys
import threading
import time
import uuid
from typing import IO, Any

TOKEN_ENV = "ORCHESTRATOR_RUNNER_TOKEN"

# Started beside every runner, so it imports as little as it can: signal and subprocess (an
# enum module and threading among others) would triple its interpreter start, which competes for
# the CPU with the runner and its Lambda zygote as a run begins. POSIX fixes SIGKILL at 9.
_WATCHDOG = r"""
import os, sys
SIGKILL = 9
token = sys.argv[1].encode()
groups, containers = set(), set()
for line in sys.stdin:
    op, kind, ident = line[0], line[1], line[2:].strip()
    target = groups if kind == "g" else containers
    value = int(ident) if kind == "g" else ident
    (target.add if op == "+" else target.discard)(value)
for pgid in groups:
    try:
        os.killpg(pgid, SIGKILL)
    except OSError:
        pass
me = os.getpid()
for entry in os.listdir("/proc") if os.path.isdir("/proc") else []:
    if not entry.isdigit() or int(entry) == me:
        continue
    try:
        with open(f"/proc/{entry}/environ", "rb") as f:
            marked = token in f.read().split(b"\0")
    except OSError:
        continue
    if marked:
        try:
            os.kill(int(entry), SIGKILL)
        except OSError:
            pass
# rm -f, not kill: a runner killed while `docker run` was creating its container leaves it in
# "Created", which kill cannot stop and --rm never removes; and a create still in flight in the
# daemon may land after the first pass, so a second pass follows.
if containers:
    import subprocess, time
for delay in (0, 2):
    if containers and delay:
        time.sleep(delay)
    for name in containers:
        subprocess.run(["docker", "rm", "-f", name], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
"""


class Launcher:
    """Starts processes in their own sessions and registers them with the runner's watchdog."""

    _shared: Launcher | None = None
    _shared_lock = threading.Lock()

    def __init__(self) -> None:
        self.token = uuid.uuid4().hex
        self._pid = os.getpid()
        self._watchdog_lock = threading.Lock()
        self._watchdog: subprocess.Popen[str] | None = None

    @classmethod
    def shared(cls) -> Launcher:
        """One launcher (one watchdog) per runner process."""
        with cls._shared_lock:
            if cls._shared is None or cls._shared._pid != os.getpid():
                cls._shared = cls()
            return cls._shared

    def spawn(self, args: list[str], *, cwd: str | None = None, env: dict[str, str] | None = None,
              stdin: int | IO[Any] | None = subprocess.DEVNULL, stdout: int | IO[Any] | None = None,
              stderr: int | IO[Any] | None = None, text: bool = False,
              container: str | None = None, pass_fds: tuple[int, ...] = ()) -> subprocess.Popen[Any]:
        """Start ``args`` in a new session that dies with the runner; raises OSError like Popen."""
        self._ensure_watchdog()
        marked = {**(os.environ if env is None else env), TOKEN_ENV: self.token}
        proc = subprocess.Popen(args, cwd=cwd, env=marked, stdin=stdin, stdout=stdout, stderr=stderr,
                                text=text, start_new_session=True, pass_fds=pass_fds)
        self._tell(f"+g{proc.pid}")
        if container:
            self._tell(f"+c{container}")
        return proc

    def adopt(self, pid: int) -> None:
        """Track a process group started by one of ours (a forked Lambda worker leads its own)."""
        self._tell(f"+g{pid}")

    def release(self, *pids: int) -> None:
        """The adopted groups' leaders have been reaped (all of a closing run's in one write)."""
        if pids:
            self._tell("\n".join(f"-g{pid}" for pid in pids))

    def forget(self, proc: subprocess.Popen[Any], container: str | None = None) -> None:
        """The process has been reaped: stop tracking its group (so a reused pgid is never hit)."""
        self._tell(f"-g{proc.pid}")
        if container:
            self._tell(f"-c{container}")

    def _ensure_watchdog(self) -> None:
        with self._watchdog_lock:
            if self._watchdog is None or self._watchdog.poll() is not None:
                # Its own session: a Ctrl-C in the terminal reaches the runner, not the watchdog.
                self._watchdog = subprocess.Popen(
                    [sys.executable, "-S", "-c", _WATCHDOG, f"{TOKEN_ENV}={self.token}"],
                    stdin=subprocess.PIPE, text=True, start_new_session=True)

    def _tell(self, line: str) -> None:
        with self._watchdog_lock:
            if self._watchdog is None:
                return
            assert self._watchdog.stdin is not None
            self._watchdog.stdin.write(line + "\n")
            self._watchdog.stdin.flush()


def wait_exit(proc: subprocess.Popen[Any], timeout: float) -> bool:
    """Wait up to ``timeout`` s for ``proc`` to exit; True if it did (reaped).

    A pidfd wakes the moment the process exits; ``Popen.wait(timeout)`` would poll with sleeps
    that add milliseconds to every short job.
    """
    if proc.returncode is not None:
        return True
    pidfd_open = getattr(os, "pidfd_open", None)
    if pidfd_open is not None:
        try:
            fd = pidfd_open(proc.pid)
        except OSError:
            fd = -1
        if fd >= 0:
            try:
                ready, _, _ = select.select([fd], [], [], max(timeout, 0.0))
            finally:
                os.close(fd)
            if not ready:
                return False
            proc.wait()
            return True
    deadline = time.monotonic() + timeout
    delay = 0.0005
    while True:
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=min(delay, max(deadline - time.monotonic(), 0.0)))
            return True
        if time.monotonic() >= deadline:
            return False
        delay = min(delay * 2, 0.05)


def kill_group(proc: subprocess.Popen[Any], sig: int = signal.SIGKILL) -> None:
    """Signal the whole process group of ``proc`` (it leads its own session)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)


JOB_TOKEN_ENV = "ORCHESTRATOR_JOB_TOKEN"


def kill_marked(name: str, value: str, sig: int = signal.SIGKILL) -> int:
    """Signal every process whose environment has ``name=value``; how many were signalled.

    A job's process group does not hold what the job moved to a new session (``setsid``,
    daemonising tools), but the environment is inherited, so a per-attempt mark finds those too.
    Linux only (``/proc``); elsewhere nothing is found.
    """
    mark = f"{name}={value}".encode()
    me, count = os.getpid(), 0
    try:
        entries = os.listdir("/proc")
    except OSError:
        return 0
    for entry in entries:
        if not entry.isdigit() or int(entry) == me:
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as f:
                marked = mark in f.read().split(b"\0")
        except OSError:
            continue
        if marked:
            with contextlib.suppress(OSError):
                os.kill(int(entry), sig)
                count += 1
    return count


def pid_alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie — dead, not yet reaped — counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def runner_alive(pid: int, start: str | None) -> bool:
    """True while the runner ``pid`` runs and is the process recorded (``start``), not a reuse of its pid."""
    return pid_alive(pid) and (start is None or process_start_time(pid) == start)


def process_start_time(pid: int) -> str | None:
    """The kernel's start time of ``pid`` (Linux), to tell a live runner from a reused pid."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return fields[19]
    except (OSError, IndexError):
        return None
