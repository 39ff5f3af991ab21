r"""Local AWS Lambda: each function's handler runs in warm worker processes, with its timeout.

A worker (``lambda_bootstrap.py``) is one execution environment: started on the first invoke,
reused by later ones (so per-invoke overhead is a pipe round trip), discarded when an invoke times
out or the handler kills its process, reclaimed when idle (below). Results are shaped like Step
Functions' ``lambda:invoke`` integration; an unhandled exception fails the task with the
exception's type as the error and Lambda's JSON (errorMessage, errorType, requestId, stackTrace)
as the cause; a timeout is ``Sandbox.Timedout``, as on AWS.

Idle workers are bounded, as Lambda reclaims idle execution environments: a ``LocalLambda`` keeps
at most ``IDLE_WORKERS_MAX`` idle workers across all its functions (each Python task is a function
of its own, so a 1,000-task workflow would otherwise hold 1,000 processes until it closes), and
reclaims a worker left unused for ``IDLE_SECONDS``. Past the bound the least recently used idle
workers are killed and reaped (their zygote's in one round trip); an idle lifetime is enforced on
every acquire and release and by a timer, so a long-lived ``orchestrator serve`` gives its workers
back while no execution runs. A function invoked after its worker was reclaimed gets a fresh one
(a cold start, a fork of its zygote: about 1 ms).

    >>> import pathlib, tempfile
    >>> from orchestrator.local.store import Store
    >>> code = pathlib.Path(tempfile.mkdtemp(), "echo.py")
    >>> _ = code.write_text("def handler(event, context):\n    return {'got': event}\n")
    >>> fn = LambdaFunction(name="echo", handler=f"{code}:handler", timeout=3)
    >>> service = LocalLambda(Store(tempfile.mkdtemp()), {"echo": fn})
    >>> service.invoke("echo", [1, 2])["Payload"]
    {'got': [1, 2]}
    >>> service.close()
"""

from __future__ import annotations

import array
import contextlib
import json
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from orchestrator import arns, limits, model, placeholders
from orchestrator.engine.integrations import TaskCall, TaskFailure
from orchestrator.limits import LAMBDA_DEFAULT_TIMEOUT
from orchestrator.local.procs import Launcher, kill_group, pid_alive, wait_exit
from orchestrator.local.store import Store

BOOTSTRAP = str(Path(__file__).with_name("lambda_bootstrap.py"))

# Idle warm workers one LocalLambda keeps, across its functions. A forked worker costs a few MB
# of private memory; 64 keeps a function invoked again within a run (a retry, a Map's items) and
# a server's recently run machines warm without a large workflow holding a process per task.
IDLE_WORKERS_MAX = 64
# How long an unused worker stays warm. AWS does not publish its reclaim time (it is observed
# between minutes and hours); ten minutes keeps a schedule firing every few minutes warm.
IDLE_SECONDS = 600.0
_FD_SIZE = array.array("i").itemsize  # a descriptor passed with SCM_RIGHTS
# Workers one spawn asks for at most (two descriptors each in one message; the kernel takes 253).
_SPAWN_MAX = 64
# One read of a worker's answer: a result up to Lambda's 6 MB payload takes a few.
_READ_SIZE = 1 << 20


@dataclass(frozen=True, slots=True, kw_only=True)
class LambdaFunction:
    """What a function placeholder means locally (from the workflow's LambdaTask / PythonTask)."""

    name: str
    handler: str
    timeout: float = LAMBDA_DEFAULT_TIMEOUT
    memory: int = 512
    environment: Mapping[str, str] = field(default_factory=dict)

    @property
    def arn(self) -> str:
        return arns.function(self.name)


def plan_functions(wf: model.Workflow) -> dict[str, dict[str, Any]]:
    """The plan's ``functions``: each Lambda and Python task as JSON, keyed like its placeholder.

    The key is the name ``${Function_<task>}`` carries, so the mapping follows the compiler; the
    timeout is the task's (or the workflow default), at most Lambda's limit.

        >>> wf = model.Workflow(name="w", tasks=(
        ...     model.Task(name="check", job=model.LambdaTask(handler="checks:run"), timeout=60),))
        >>> plan_functions(wf)["check"]
        {'name': 'check', 'handler': 'checks:run', 'timeout': 60, 'memory': 512, 'environment': {}}
    """
    functions: dict[str, dict[str, Any]] = {}
    for task in wf.tasks:
        if task.runs_on == "batch":
            continue
        job = task.job
        timeout = task.timeout if task.timeout is not None else wf.defaults.timeout
        key = placeholders.safe_name(task.name)
        handler = job.handler if isinstance(job, model.LambdaTask) else getattr(job, "function", "")
        functions[key] = {"name": key, "handler": handler,
                          "timeout": min(timeout, limits.LAMBDA_MAX_TIMEOUT) if timeout is not None
                          else limits.LAMBDA_DEFAULT_TIMEOUT, "memory": job.memory,
                          "environment": {str(k): str(v) for k, v in job.environment.items()}}
    return functions


def _environment_key(fn: LambdaFunction) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(fn.environment.items()))


def function_name(ref: str) -> str:
    """FunctionName as Lambda accepts it: a name, a (partial) ARN, with or without a qualifier."""
    if ":function:" in ref:
        return ref.split(":function:", 1)[1].split(":", 1)[0]
    return ref.split(":", 1)[0]


def _http_metadata(request_id: str, length: int) -> dict[str, Any]:
    date = datetime.now(UTC).strftime("%a, %d %b %Y %H:%M:%S GMT")
    headers = {"Connection": "keep-alive", "Content-Length": str(length), "Content-Type": "application/json",
               "Date": date, "X-Amz-Executed-Version": "$LATEST", "x-amzn-Remapped-Content-Length": "0",
               "x-amzn-RequestId": request_id}
    return {"AllHttpHeaders": {k: [v] for k, v in headers.items()}, "HttpHeaders": headers,
            "HttpStatusCode": 200}


class _Worker:
    """One warm execution environment: a process answering invocations over two pipes.

    The runner's ends are plain descriptors: a request is one ``os.write`` of a JSON line, an
    answer read with ``os.read`` until its newline (a worker writes nothing else on that pipe).
    """

    def __init__(self, pid: int, requests: int, answers: int, log_path: str, stream: str) -> None:
        self.pid = pid
        self.requests = requests
        self.answers = answers
        self.log_path = log_path
        self.stream = stream
        self.returncode: int | None = None
        # Written ahead of the first request, in the same write: a forked worker's binding line.
        self.pending = b""

    def alive(self) -> bool:
        return self.returncode is None and pid_alive(self.pid)

    def reap(self) -> int:
        """Wait for the (dead or killed) process; its exit code as ``Popen.returncode`` gives it."""
        raise NotImplementedError

    def close_pipes(self) -> None:
        for fd in (self.requests, self.answers):
            with contextlib.suppress(OSError):
                os.close(fd)


class _SpawnedWorker(_Worker):
    """A worker that is a fresh interpreter of its own (where fork cannot be used)."""

    def __init__(self, proc: subprocess.Popen[bytes], log_path: str, stream: str) -> None:
        assert proc.stdin is not None and proc.stdout is not None
        super().__init__(proc.pid, proc.stdin.fileno(), proc.stdout.fileno(), log_path, stream)
        self.proc = proc

    def reap(self) -> int:
        self.returncode = self.proc.wait()
        return self.returncode

    def close_pipes(self) -> None:
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()


class _ForkedWorker(_Worker):
    def __init__(self, zygote: _Zygote, pid: int, requests: int, answers: int, log_path: str,
                 stream: str) -> None:
        super().__init__(pid, requests, answers, log_path, stream)
        self.zygote = zygote

    def reap(self) -> int:
        if self.returncode is None:
            self.zygote.reap([self])
        assert self.returncode is not None
        return self.returncode


class _Zygote:
    """A process that imported a group of functions' handler modules once and forks their workers.

    See ``lambda_bootstrap``: one per distinct function environment, started on the first invoke
    of one of its functions; requests are one at a time (a lock), each a datagram and a reply.
    Workers come forked ahead and unbound; invokes that want one at the same time (a DAG's layer
    starting) get theirs from one spawn: the thread that asks asks for every thread waiting
    behind it, which then take theirs without a round trip of their own.
    """

    def __init__(self, launcher: Launcher, handlers: list[str] | None, *, cwd: str, env: dict[str, str]) -> None:
        """``handlers`` None: the functions are not known yet, ``load`` names them before the first fork."""
        self._launcher = launcher
        self._lock = threading.Lock()
        self._count_lock = threading.Lock()
        self._waiting = 0  # threads in ``fork`` that have not taken a worker yet (under _count_lock)
        # Workers received and not yet bound (under _lock): pid, request pipe, answer pipe.
        self._ready: list[tuple[int, int, int]] = []
        self.cwd = cwd
        self.env = env
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            self.proc = launcher.spawn([sys.executable, BOOTSTRAP, "--zygote", str(theirs.fileno()),
                                        *(handlers if handlers is not None else ["--later"])],
                                       cwd=cwd, env=env, pass_fds=(theirs.fileno(),))
        finally:
            theirs.close()
        self._socket = ours

    def load(self, handlers: list[str], env: dict[str, str]) -> None:
        """Name the functions of a zygote started without them, and the environment they get."""
        message = {"op": "load", "handlers": handlers, "set": {k: v for k, v in env.items() if self.env.get(k) != v},
                   "unset": sorted(set(self.env) - set(env))}
        with self._lock, contextlib.suppress(OSError):  # one that died is found on the first fork
            self._socket.send(json.dumps(message).encode())
        self.env = env

    def _ask(self, message: bytes, fds_max: int = 0) -> tuple[bytes, list[int]]:
        # Under self._lock: one request, its reply and the descriptors it carries.
        self._socket.send(message)
        space = socket.CMSG_SPACE(fds_max * _FD_SIZE) if fds_max else 0
        reply, ancillary, _flags, _addr = self._socket.recvmsg(1 << 16, space)
        fds = array.array("i")
        for level, kind, data in ancillary:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                fds.frombytes(data[:len(data) - len(data) % _FD_SIZE])
        if not reply:
            for fd in fds:
                os.close(fd)
            raise OSError("the local Lambda zygote exited")
        return reply, list(fds)

    def _spawn(self, count: int) -> list[tuple[int, int, int]]:
        # Under self._lock: ``count`` workers in one round trip, the first one last (taken first).
        reply, fds = self._ask(b"spawn %d" % count, 2 * count)
        pids = [int(pid) for pid in reply.split()]
        if not pids or len(fds) != 2 * len(pids):
            for fd in fds:
                os.close(fd)
            raise OSError("the local Lambda zygote answered a spawn without the workers' pipes")
        for pid in pids:
            self._launcher.adopt(pid)
        return [(pid, fds[2 * i], fds[2 * i + 1]) for i, pid in reversed(list(enumerate(pids)))]

    def fork(self, log_path: str, stream: str, env: dict[str, str]) -> _ForkedWorker:
        with self._count_lock:
            self._waiting += 1
        with self._lock:
            with self._count_lock:
                self._waiting -= 1
                wanted = self._waiting + 1  # this thread and those waiting for the lock behind it
            if not self._ready:
                self._ready = self._spawn(min(wanted, _SPAWN_MAX))
            pid, requests, answers = self._ready.pop()
        worker = _ForkedWorker(self, pid, requests, answers, log_path, stream)
        # The binding line (the worker was forked before its function was known): the variables
        # the function has and the zygote has not.
        own = {k: v for k, v in env.items() if self.env.get(k) != v}
        worker.pending = (json.dumps({"log_path": log_path, "env": own}) + "\n").encode()
        return worker

    def reap(self, workers: list[_ForkedWorker]) -> None:
        """Reap workers (one, or all of a closing run's, killed) in one round trip; each keeps its
        exit code (negative: the signal, as ``Popen`` reports it; a zygote gone counts as SIGKILL)."""
        if not workers:
            return
        try:
            with self._lock:
                reply = self._ask(json.dumps({"op": "reap", "pids": [w.pid for w in workers]}).encode())[0]
            exits = json.loads(reply)["exits"]
        except OSError:
            exits = {}
        for worker in workers:
            worker.returncode = int(exits.get(str(worker.pid), -signal.SIGKILL))
        self._launcher.release(*(w.pid for w in workers))

    def close(self, *, unused: bool = False) -> None:
        """Stop the zygote and its workers; ``unused``: one that never forked, killed at once
        (it may still be starting, and waiting for it to notice would hold up the caller)."""
        with self._lock:
            self._socket.close()
            ready, self._ready = self._ready, []
        for _pid, requests, answers in ready:
            os.close(requests)
            os.close(answers)
        # Closing the socket tells the zygote to kill its workers and exit; one that hangs is killed
        # (one already reaped is not: its pid may be another process's by now).
        if self.proc.poll() is None and (unused or not wait_exit(self.proc, 5.0)):
            kill_group(self.proc)
        self.proc.wait()
        # Workers received and never bound: reaped by the zygote, or (one killed from outside)
        # they end by themselves as their request pipes close.
        self._launcher.release(*(pid for pid, _requests, _answers in ready))
        self._launcher.forget(self.proc)


# Forked workers need fork() and file descriptor passing (POSIX); elsewhere each is spawned.
_CAN_FORK = hasattr(os, "fork") and hasattr(socket, "send_fds") and hasattr(socket, "SOCK_SEQPACKET")


def _zygote_env(environment: Mapping[str, str]) -> dict[str, str]:
    """A zygote's environment: the runner's, with its functions' own variables."""
    return {**os.environ, **environment, "PYTHONUNBUFFERED": "1"}


def prestart_zygote(cwd: str) -> _Zygote | None:
    """A zygote started before the workflow is loaded, for ``start_lambda(zygote=...)``: its
    interpreter starts while the runner loads the workflow, ~40 ms the first task would wait for.
    None where workers are not forked."""
    if not _CAN_FORK:
        return None
    return _Zygote(Launcher.shared(), None, cwd=cwd, env=_zygote_env({}))


class LocalLambda:
    """The ``lambda:invoke`` integration with a warm pool of workers per function."""

    def __init__(self, store: Store, functions: Mapping[str, LambdaFunction], *, cwd: str | None = None,
                 launcher: Launcher | None = None, idle_max: int = IDLE_WORKERS_MAX,
                 idle_seconds: float = IDLE_SECONDS, clock: Callable[[], float] = time.monotonic) -> None:
        self.store = store
        self.functions = dict(functions)
        self.cwd = cwd or os.getcwd()
        self._launcher = launcher or Launcher.shared()
        self._idle: dict[str, list[_Worker]] = {}
        # Every idle worker with its function and when it was released, least recently used first.
        self._idle_order: OrderedDict[_Worker, tuple[str, float]] = OrderedDict()
        self._idle_max = idle_max
        # Past the bound, eviction goes down to three quarters of it at once, so the reap is one
        # zygote round trip per idle_max/4 invokes of new functions instead of one per invoke.
        self._idle_after_eviction = idle_max - idle_max // 4
        self._idle_seconds = idle_seconds
        self._clock = clock
        self._timer: threading.Timer | None = None
        self._zygotes: dict[tuple[tuple[str, str], ...], _Zygote] = {}
        self._lock = threading.Lock()
        self._closed = False
        self.log_root = store.logs_dir / "lambda"
        self._log_root = str(self.log_root)
        self._log_dirs: set[str] = set()  # the functions' log directories made so far

    def adopt(self, zygote: _Zygote) -> None:
        """Take a zygote ``prestart_zygote`` started before the functions were known, for those with
        no environment variables of their own (it has the runner's); stop it if none can use it."""
        handlers = sorted({f.handler for f in self.functions.values() if not f.environment})
        env = _zygote_env({})
        changed = {k for k in env.keys() | zygote.env.keys() if env.get(k) != zygote.env.get(k)}
        # What the interpreter read as it started (PYTHONPATH, PYTHONHASHSEED, ...) cannot change later.
        if not handlers or zygote.cwd != self.cwd or any(k.startswith("PYTHON") for k in changed):
            zygote.close(unused=True)
            return
        zygote.load(handlers, env)
        with self._lock:
            self._zygotes[()] = zygote

    def prewarm(self) -> None:
        """Start the zygotes now, so their imports overlap the run's start instead of its first task."""
        if _CAN_FORK:
            for fn in {_environment_key(f): f for f in self.functions.values()}.values():
                self._zygote(fn)

    def __call__(self, call: TaskCall) -> Any:
        params = call.parameters if isinstance(call.parameters, Mapping) else {}
        name = function_name(str(params.get("FunctionName", "")))
        payload = params.get("Payload")
        if params.get("InvocationType") == "Event":
            threading.Thread(target=self._invoke_quietly, args=(name, payload, call), daemon=True).start()
            rid = str(uuid.uuid4())
            return {"Payload": "", "SdkHttpMetadata": _http_metadata(rid, 0),
                    "SdkResponseMetadata": {"RequestId": rid}, "StatusCode": 202}
        return self.invoke(name, payload, cancel=call.cancel, execution_arn=call.execution_arn,
                           state_name=call.state_name, task_attempt=call.attempt + 1)

    def _invoke_quietly(self, name: str, payload: Any, call: TaskCall) -> None:
        # An async invoke's failure is in the store and the log, as on AWS; nobody waits for it.
        with contextlib.suppress(TaskFailure):
            self.invoke(name, payload, execution_arn=call.execution_arn, state_name=call.state_name,
                        task_attempt=call.attempt + 1)

    def invoke(self, name: str, payload: Any, *, cancel: threading.Event | None = None,
               execution_arn: str | None = None, state_name: str | None = None,
               task_attempt: int | None = None) -> dict[str, Any]:
        """Run the handler once; the lambda:invoke result or ``TaskFailure``."""
        fn = self.functions.get(name)
        if fn is None:
            raise TaskFailure(
                "Lambda.ResourceNotFoundException",
                f"Function not found: {arns.function(name)} (Service: AWSLambda; "
                f"Status Code: 404; Error Code: ResourceNotFoundException; Request ID: {uuid.uuid4()})")
        if isinstance(payload, str):
            try:
                event = json.loads(payload)
            except ValueError:
                event = payload
        else:
            event = payload if payload is not None else {}
        rid = str(uuid.uuid4())
        started = int(time.time() * 1000)
        evicted: list[_Worker] = []
        try:
            return self._invoke(fn, event, rid, started, evicted, cancel, execution_arn, state_name, task_attempt)
        finally:
            # Killed as the new worker was taken: most have finished dying by now, so the reap
            # (which waits for each) costs this invoke little.
            if evicted:
                self._discard_all(evicted)

    def _invoke(self, fn: LambdaFunction, event: Any, rid: str, started: int, evicted: list[_Worker],
                cancel: threading.Event | None, execution_arn: str | None, state_name: str | None,
                task_attempt: int | None) -> dict[str, Any]:
        worker = self._acquire(fn, evicted)
        request = {"request_id": rid, "handler": fn.handler, "event": event, "function_name": fn.name,
                   "function_arn": fn.arn, "memory": fn.memory, "log_stream": worker.stream,
                   "deadline_ms": time.time() * 1000 + fn.timeout * 1000}
        t0 = time.monotonic()
        outcome, response = self._roundtrip(worker, request, fn.timeout, cancel)
        duration = (time.monotonic() - t0) * 1000
        if outcome == "ok":
            self._release(fn.name, worker)
        else:
            self._discard(worker)
        error: tuple[str, str] | None = None
        if outcome == "timeout":
            message = f"RequestId: {rid} Error: Task timed out after {fn.timeout:.2f} seconds"
            with open(worker.log_path, "a") as log:
                log.write(f"{datetime.now(UTC).isoformat()} {message}\n")
            error = ("Sandbox.Timedout", json.dumps({"errorMessage": message, "errorType": "Sandbox.Timedout"}))
        elif outcome == "cancelled":
            error = ("States.Cancelled", "The execution stopped waiting for this invocation.")
        elif outcome == "died":
            code = worker.returncode
            message = f"RequestId: {rid} Error: Runtime exited with error: exit status {code}"
            error = ("Runtime.ExitError", json.dumps({"errorType": "Runtime.ExitError", "errorMessage": message}))
        elif response is not None and not response.get("ok"):
            cause = {"errorMessage": response["errorMessage"], "errorType": response["errorType"],
                     "requestId": rid, "stackTrace": response["stackTrace"]}
            error = (str(response["errorType"]), json.dumps(cause))
        self.store.put_invocation(
            request_id=rid, execution_arn=execution_arn, state_name=state_name, function_name=fn.name,
            status="FAILED" if error else "SUCCEEDED", started_at=started, duration_ms=duration,
            error=error[0] if error else None, log_path=worker.log_path, task_attempt=task_attempt)
        if error is not None:
            raise TaskFailure(*error)
        assert response is not None
        body = json.dumps(response["result"])
        return {"ExecutedVersion": "$LATEST", "Payload": response["result"],
                "SdkHttpMetadata": _http_metadata(rid, len(body)),
                "SdkResponseMetadata": {"RequestId": rid}, "StatusCode": 200}

    def _roundtrip(self, worker: _Worker, request: dict[str, Any], timeout: float,
                   cancel: threading.Event | None) -> tuple[str, dict[str, Any] | None]:
        data = worker.pending + (json.dumps(request) + "\n").encode()
        worker.pending = b""
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(worker.requests, view):]
        except OSError:  # BrokenPipeError: the worker is gone
            worker.reap()
            return "died", None
        deadline = time.monotonic() + timeout
        fd = worker.answers
        chunks: list[bytes] = []
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return "timeout", None
            if cancel is not None and cancel.is_set():
                return "cancelled", None
            ready, _, _ = select.select([fd], [], [], min(remaining, 0.05 if cancel is not None else remaining))
            if ready:
                chunk = os.read(fd, _READ_SIZE)
                if not chunk:
                    worker.reap()
                    return "died", None
                chunks.append(chunk)
                if chunk.endswith(b"\n"):  # an answer is the only thing a worker writes here
                    response: dict[str, Any] = json.loads(b"".join(chunks))
                    return "ok", response

    def _acquire(self, fn: LambdaFunction, evicted: list[_Worker]) -> _Worker:
        """An idle worker of ``fn``, or a new one; a new one past the bound on idle workers adds
        the least recently used idle ones to ``evicted``, killed now and reaped by the caller."""
        found: _Worker | None = None
        with self._lock:
            idle = self._idle.get(fn.name)
            while idle:
                worker = idle.pop()
                del self._idle_order[worker]
                if worker.alive():
                    found = worker
                    break
            expired = self._take_expired(self._clock())
            if found is None and len(self._idle_order) >= self._idle_max:
                # The new worker, idle once this invoke releases it, would pass the bound: the
                # eviction _release would make then is made now, so the victims die meanwhile.
                while len(self._idle_order) >= self._idle_after_eviction:
                    evicted.append(self._take_oldest())
        for worker in evicted:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(worker.pid, signal.SIGKILL)
        if expired:
            self._discard_all(expired)
        if found is not None:
            return found
        day = time.strftime("%Y/%m/%d", time.gmtime())
        hex_id = uuid.uuid4().hex
        stream = f"{day}/[$LATEST]{hex_id}"
        log_dir = os.path.join(self._log_root, fn.name)
        if log_dir not in self._log_dirs:  # a worker makes it again if it was removed meanwhile
            os.makedirs(log_dir, exist_ok=True)
            self._log_dirs.add(log_dir)
        log_path = os.path.join(log_dir, f"{day.replace('/', '-')}-{hex_id}.log")
        own = {"AWS_LAMBDA_FUNCTION_NAME": fn.name, "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(fn.memory),
               "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST", "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{fn.name}",
               "AWS_LAMBDA_LOG_STREAM_NAME": stream, "AWS_REGION": arns.REGION, "AWS_DEFAULT_REGION": arns.REGION,
               "_HANDLER": fn.handler, "PYTHONUNBUFFERED": "1"}
        if _CAN_FORK:
            zygote = self._zygote(fn)
            with contextlib.suppress(OSError):
                return zygote.fork(log_path, stream, own)
            # The zygote died (killed from outside): forget it; the next invoke starts a new one,
            # this one runs in a fresh interpreter. Workers it had handed out and nobody bound
            # end as it is closed (their request pipes close).
            with self._lock:
                if self._zygotes.get(_environment_key(fn)) is zygote:
                    del self._zygotes[_environment_key(fn)]
            zygote.close(unused=True)
        env = {**os.environ, **fn.environment, **own}
        proc = self._launcher.spawn([sys.executable, BOOTSTRAP, log_path], cwd=self.cwd, env=env,
                                    stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        return _SpawnedWorker(proc, log_path, stream)

    def _zygote(self, fn: LambdaFunction) -> _Zygote:
        key = _environment_key(fn)
        dead: _Zygote | None = None
        with self._lock:
            zygote = self._zygotes.get(key)
            if zygote is None or zygote.proc.poll() is not None:
                dead = zygote
                # Every function of this environment shares the zygote: their modules are imported once.
                handlers = sorted({f.handler for f in self.functions.values() if _environment_key(f) == key})
                zygote = self._zygotes[key] = _Zygote(self._launcher, handlers, cwd=self.cwd,
                                                      env=_zygote_env(fn.environment))
        if dead is not None:  # killed from outside: the workers it handed out unbound end now
            dead.close(unused=True)
        return zygote

    def _release(self, name: str, worker: _Worker) -> None:
        with self._lock:
            if self._closed:
                evicted = [worker]
            else:
                now = self._clock()
                self._idle.setdefault(name, []).append(worker)
                self._idle_order[worker] = (name, now)
                evicted = self._take_expired(now)
                if len(self._idle_order) > self._idle_max:
                    while len(self._idle_order) > self._idle_after_eviction:
                        evicted.append(self._take_oldest())
                if self._timer is None and self._idle_seconds < float("inf"):
                    self._arm(self._idle_seconds)
        if evicted:
            self._discard_all(evicted)

    def reclaim(self) -> int:
        """Stop the workers idle for ``idle_seconds`` or longer now; how many were stopped."""
        with self._lock:
            expired = self._take_expired(self._clock())
        self._discard_all(expired)
        return len(expired)

    def _take_oldest(self) -> _Worker:
        # Under the lock: the least recently used idle worker, out of the pool.
        worker, (name, _since) = self._idle_order.popitem(last=False)
        self._idle[name].remove(worker)
        return worker

    def _take_expired(self, now: float) -> list[_Worker]:
        # Under the lock; the pool's order is release order, so the expired ones are at its front.
        expired: list[_Worker] = []
        while self._idle_order:
            _name, since = next(iter(self._idle_order.values()))
            if now - since < self._idle_seconds:
                break
            expired.append(self._take_oldest())
        return expired

    def _arm(self, delay: float) -> None:
        # Under the lock. The timer reclaims for a pool that is not invoked again (a server's
        # machine that no longer runs); invokes reclaim on their own on acquire and release.
        timer = threading.Timer(delay, self._on_timer)
        timer.daemon = True
        self._timer = timer
        timer.start()

    def _on_timer(self) -> None:
        self.reclaim()
        with self._lock:
            self._timer = None
            if self._closed or not self._idle_order:
                return
            _name, since = next(iter(self._idle_order.values()))
            self._arm(max(since + self._idle_seconds - self._clock(), 0.0) + 0.01)

    def _discard(self, worker: _Worker) -> None:
        self._discard_all([worker])

    def _discard_all(self, workers: list[_Worker]) -> None:
        """Kill workers, then reap them: a zygote's in one round trip (a run closing with 200 warm
        workers paid about 1.5 ms per worker when each was reaped on its own)."""
        for worker in workers:
            if worker.returncode is None:  # a reaped worker's pid may be another process's by now
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(worker.pid, signal.SIGKILL)
                # One forked a moment ago may not have made its process group yet (setsid).
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(worker.pid, signal.SIGKILL)
        by_zygote: dict[int, tuple[_Zygote, list[_ForkedWorker]]] = {}
        for worker in workers:
            if isinstance(worker, _ForkedWorker) and worker.returncode is None:
                by_zygote.setdefault(id(worker.zygote), (worker.zygote, []))[1].append(worker)
        for zygote, group in by_zygote.values():
            zygote.reap(group)
        for worker in workers:
            worker.reap()
            worker.close_pipes()
            if isinstance(worker, _SpawnedWorker):
                self._launcher.forget(worker.proc)

    def close(self) -> None:
        """Stop every warm worker."""
        with self._lock:
            self._closed = True
            workers = list(self._idle_order)
            self._idle.clear()
            self._idle_order.clear()
            timer, self._timer = self._timer, None
        if timer is not None:
            timer.cancel()
            if timer is not threading.current_thread():
                timer.join()
        self._discard_all(workers)
        with self._lock:
            zygotes = list(self._zygotes.values())
            self._zygotes.clear()
        for zygote in zygotes:
            zygote.close()


def start_lambda(store: Store, functions: Mapping[str, Mapping[str, Any]], cwd: str | None = None, *,
                 zygote: _Zygote | None = None) -> LocalLambda:
    """Local Lambda with plan-shaped ``functions`` (``plan_functions``), its zygotes started now.

    A zygote takes an interpreter start and the import of its handlers' modules (~0.1 s for a
    workflow file); started before the caller compiles and imports the engine, it is ready by
    the first invoke instead of holding it up. ``zygote``: one ``prestart_zygote`` started
    earlier still, adopted (or stopped, if no function can use it).
    """
    local = LocalLambda(store, {k: LambdaFunction(name=v["name"], handler=v["handler"], timeout=float(v["timeout"]),
                                                  memory=int(v["memory"]), environment=v["environment"])
                                for k, v in functions.items()}, cwd=cwd)
    if zygote is not None:
        local.adopt(zygote)
    local.prewarm()
    return local
