"""What the compiler's passes need of the interpreter while they run, restored on the way out.

Both are wanted by the whole compile (``compile_workflow``) and by ``decompose`` when it is called
on its own; nested, the inner one changes nothing. :class:`Beside` runs a piece of work in a
forked child on another core while the caller goes on with its own.

    >>> import gc, sys
    >>> before = sys.getrecursionlimit()
    >>> with paused_gc(), recursion_limit(before + 500):
    ...     gc.isenabled(), sys.getrecursionlimit() - before
    (False, 500)
    >>> gc.isenabled(), sys.getrecursionlimit() == before
    (True, True)
"""

from __future__ import annotations

import contextlib
import gc
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector. Compiling 10,000 tasks allocates millions of dicts,
    lists and nodes that all stay alive until the end, so its full passes find nothing to free
    yet cost a fifth to a third of the time; the compiler makes no reference cycles that need it."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@contextlib.contextmanager
def recursion_limit(at_least: int) -> Iterator[None]:
    """Lift the recursion limit to ``at_least`` (never lower it). The passes recurse once per
    nesting level and the search once per task of a chain; Python 3.11 frames are cheap (no C
    stack per Python call), so the default 1,000 is only a guard."""
    old = sys.getrecursionlimit()
    if at_least > old:
        sys.setrecursionlimit(at_least)
    try:
        yield
    finally:
        if at_least > old:
            sys.setrecursionlimit(old)


class Beside:
    """``work()`` computed in a forked child, on another core, while the caller does its own
    share; :meth:`result` then reads the bytes it returned, or None when the child failed (the
    caller computes the same thing itself: the outcome never depends on whether it forked).

    :meth:`start` forks only where that is safe and pays: a POSIX ``fork``, at least two CPUs
    this process may run on, and no other thread (a fork copies only the calling thread, so a lock
    another thread holds would stay held in the child: in a server, compiling stays serial). The
    child shares the parent's memory copy-on-write, touches no file the parent uses, and leaves
    by ``os._exit`` (no atexit handlers, no flushing of the parent's buffers). :meth:`close`
    kills and reaps a child whose result is not wanted, so none outlives its caller.

        >>> beside = Beside.start(lambda: b"done")
        >>> beside is None or (beside.result() == b"done")
        True
    """

    def __init__(self, pid: int, fd: int) -> None:
        self._pid: int | None = pid
        self._fd: int | None = fd

    @classmethod
    def start(cls, work: Callable[[], bytes]) -> Beside | None:
        if not _may_fork():
            return None
        read, write = os.pipe()
        try:
            pid = os.fork()
        except OSError:
            os.close(read)
            os.close(write)
            return None
        if pid == 0:  # the child: do the work, hand it over, leave
            code = 1
            try:
                os.close(read)
                view = memoryview(work())
                while view:
                    view = view[os.write(write, view):]
                code = 0
            finally:
                os._exit(code)
        os.close(write)
        return cls(pid, read)

    def result(self) -> bytes | None:
        """What the child's ``work()`` returned (waits for it), or None when it failed."""
        if self._fd is None or self._pid is None:
            return None
        chunks = []
        try:
            while chunk := os.read(self._fd, 1 << 20):
                chunks.append(chunk)
        except OSError:
            return None
        finally:
            os.close(self._fd)
            self._fd = None
        _, status = os.waitpid(self._pid, 0)
        self._pid = None
        return b"".join(chunks) if os.waitstatus_to_exitcode(status) == 0 else None

    def close(self) -> None:
        """Stop the child if it is still working, and reap it."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        if self._pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self._pid, signal.SIGKILL)
            os.waitpid(self._pid, 0)
            self._pid = None


def _may_fork() -> bool:
    return threading.active_count() == 1 and _can_fork()


def _can_fork() -> bool:
    """A POSIX fork, and at least two CPUs this process may run on."""
    if not hasattr(os, "fork"):
        return False
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return cpus >= 2
