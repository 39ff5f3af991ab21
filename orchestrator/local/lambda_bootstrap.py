"""The worker process of local Lambda: one warm execution environment for one function.

Run as a script so a worker starts without importing this package (its own directory must not
shadow the user's modules). A worker reads one JSON request per line and answers one JSON line;
the handler's own prints go to the log file, like CloudWatch Logs, framed by Lambda's START / END /
REPORT lines. Two ways to start one:

* ``python lambda_bootstrap.py LOG_PATH``: a fresh interpreter that is the worker (requests on
  stdin, answers on the original stdout);
* ``python lambda_bootstrap.py --zygote SOCKET_FD HANDLER...``: a *zygote* that imports the
  handlers' modules once, then forks one worker per function on request (``--zygote SOCKET_FD
  --later``: one started before its functions were known, which waits for a ``load`` first). Every Python task of a
  workflow is a function of its own and its module is the workflow file, which imports this
  package: a fresh interpreter per function costs 40-150 ms of imports, a fork about 1 ms. The
  fork keeps what Lambda isolates per function: its own process (a crash, ``os._exit`` or a
  timeout kill ends one worker only), its own environment variables, log stream and timeout.
  What it shares is module initialisation, which runs once in the zygote; the zygote is started
  with the functions' own environment (one zygote per distinct environment), so module-level
  code that reads ``os.environ`` sees the same values as on Lambda, except the per-function
  ``AWS_LAMBDA_*`` names, which are set when the worker forks.

The zygote protocol is one datagram per message on a ``SOCK_SEQPACKET`` socket:
``{"op": "load", "handlers": [...], "set": {...}, "unset": [...]}`` (to a ``--later`` zygote, before
anything else; not answered) changes its environment to the functions' and imports their modules;
``spawn N`` is answered with N pids (``123 124``) and, attached, two file descriptors for each (the
worker's request pipe and answer pipe; the worker was forked ahead, and its first request line
binds it to its function: ``{"log_path": ..., "env": {...}}``); ``{"op": "reap", "pids": [...]}``
reaps those workers and is answered ``{"exits": {pid: code}}`` (negative: the signal that killed
it, as ``Popen`` reports it). A spawn is the one message of every new function, so it is a word
the zygote compares, not JSON it parses: parsing it would copy the pages of the JSON decoder in
the zygote again after every fork.
When the parent closes the socket, the zygote kills and reaps its workers and exits.
"""

from __future__ import annotations

import array
import contextlib
import gc
import importlib
import importlib.util
import json
import os
import select
import signal
import socket
import sys
import time
import traceback
from collections.abc import Callable
from typing import IO, Any


class LambdaContext:
    """The handler's ``context`` with the attributes Lambda's Python runtime provides."""

    def __init__(self, request: dict[str, Any]) -> None:
        self.aws_request_id: str = request["request_id"]
        self.function_name: str = request["function_name"]
        self.function_version = "$LATEST"
        self.invoked_function_arn: str = request["function_arn"]
        self.memory_limit_in_mb: int = int(request["memory"])
        self.log_group_name: str = f"/aws/lambda/{self.function_name}"
        self.log_stream_name: str = request["log_stream"]
        self._deadline_ms: float = float(request["deadline_ms"])
        self.identity = None
        self.client_context = None

    def get_remaining_time_in_millis(self) -> int:
        return max(int(self._deadline_ms - time.time() * 1000), 0)


def load_handler(spec: str) -> Callable[..., Any]:
    """``module:function``, ``path/to/file.py:function`` or Lambda's ``module.function``."""
    if ":" in spec:
        module_part, _, name = spec.rpartition(":")
    else:
        module_part, _, name = spec.rpartition(".")
    if module_part.endswith(".py") or "/" in module_part:
        path = os.path.abspath(module_part)
        mod_name = "_handler_" + os.path.splitext(os.path.basename(path))[0]
        module_spec = importlib.util.spec_from_file_location(mod_name, path)
        if module_spec is None or module_spec.loader is None:
            raise ImportError(f"cannot load {path}")
        module = importlib.util.module_from_spec(module_spec)
        sys.modules[mod_name] = module
        module_spec.loader.exec_module(module)
    else:
        module = importlib.import_module(module_part)
    handler: Callable[..., Any] = getattr(module, name)
    return handler


def _error(exc: BaseException, error_type: str | None = None) -> dict[str, Any]:
    frames = traceback.extract_tb(exc.__traceback__)[1:]  # drop this bootstrap's own frame
    return {"ok": False, "errorType": error_type or type(exc).__name__, "errorMessage": str(exc),
            "stackTrace": traceback.format_list(frames)}


def _redirect_output(log_path: str) -> None:
    try:
        log_fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    except FileNotFoundError:  # its directory was removed while the service ran
        os.makedirs(os.path.dirname(log_path), exist_ok=True)
        log_fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(log_fd, 1)
    os.dup2(log_fd, 2)
    os.close(log_fd)
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    sys.stderr.reconfigure(line_buffering=True)  # type: ignore[union-attr]


def _own_path() -> None:
    # The script's own directory (this package's modules: batch, store, ...) must not shadow the
    # user's modules; the project directory takes its place, as /var/task does on Lambda.
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != here]
    sys.path.insert(0, os.getcwd())


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _start_line(rid: str) -> bytes:
    return f"START RequestId: {rid} Version: $LATEST\n".encode()


def _end_lines(rid: str, duration: float, memory: object) -> bytes:
    return (f"END RequestId: {rid}\nREPORT RequestId: {rid}\tDuration: {duration:.2f} ms"
            f"\tBilled Duration: {int(duration) + 1} ms\tMemory Size: {memory} MB\n").encode()


def _result(result: Any) -> bytes:
    """The answer line of a handler's result; raises TypeError or ValueError if it is no JSON."""
    return b'{"ok": true, "result": ' + json.dumps(result).encode() + b"}\n"


def _invoke(request: dict[str, Any], handlers: dict[str, Callable[..., Any]]) -> bytes:
    """One invocation: the handler runs framed by START and END/REPORT in the log; the answer line.

    Lambda's own log lines go straight to the log's descriptor, one write each (START before the
    handler runs, so a handler that kills its process leaves it behind); the handler's output goes
    through ``sys.stdout``/``sys.stderr``, flushed before END.
    """
    rid = request["request_id"]
    os.write(1, _start_line(rid))
    t0 = time.perf_counter()
    answer: bytes
    try:
        handler = handlers.get(request["handler"])
        if handler is None:
            try:
                handler = handlers[request["handler"]] = load_handler(request["handler"])
            except Exception as exc:
                raise _ImportModuleError(f"Unable to import module '{request['handler']}': {exc}") from exc
        result = handler(request["event"], LambdaContext(request))
        try:
            answer = _result(result)
        except (TypeError, ValueError) as exc:
            response = _error(exc, "Runtime.MarshalError")
            response["errorMessage"] = f"Unable to marshal response: {exc}"
            answer = json.dumps(response).encode() + b"\n"
    except _ImportModuleError as exc:
        answer = json.dumps(_error(exc, "Runtime.ImportModuleError")).encode() + b"\n"
    except Exception as exc:
        response = _error(exc)
        print(f"[ERROR] {response['errorType']}: {response['errorMessage']}")
        print("".join(traceback.format_exception(exc)), end="")
        answer = json.dumps(response).encode() + b"\n"
    duration = (time.perf_counter() - t0) * 1000
    sys.stdout.flush()
    sys.stderr.flush()
    os.write(1, _end_lines(rid, duration, request["memory"]))
    return answer


def serve(requests: IO[bytes], answers: int, handlers: dict[str, Callable[..., Any]]) -> None:
    """Answer invocations (a JSON line each, on ``answers``) until ``requests`` ends; handlers are
    loaded once and kept (warm)."""
    for line in requests:
        _write_all(answers, _invoke(json.loads(line), handlers))


def main() -> None:
    log_path = sys.argv[1]
    _own_path()
    answers = os.dup(1)
    _redirect_output(log_path)
    serve(sys.stdin.buffer, answers, {})


# -- the zygote ---------------------------------------------------------------------------------

_MESSAGE_MAX = 1 << 20  # one request (a reap with its list of pids, a load with its handlers), far below this
_SPAWN = b"spawn"
# Spares kept forked ahead at most: a spare costs a fork and a few MB until it is used, and one
# left when the run closes was forked for nothing.
_SPARES_MAX = 8


def _worker(requests_fd: int, answers_fd: int, control_fd: int, handlers: dict[str, Callable[..., Any]]) -> None:
    """In the forked child: wait to be bound to a function, become its worker, exit without returning.

    The child is forked *before* it is needed (the zygote's spare), so the fork and the child's
    first scheduling overlap the engine's work instead of adding ~2 ms to an invocation. Its first
    line on ``requests`` binds it: ``{"log_path": ..., "env": {...}}``. Everything it runs is
    kept to plain calls on descriptors: each page of the zygote's memory a worker writes to (an
    object's reference count is enough) is copied for it, a few microseconds each.
    """
    code = 0
    try:
        # The zygote's socket object is never closed in this process (it exits with os._exit).
        os.close(control_fd)
        os.setsid()  # its own process group: a timeout's killpg reaches what the handler started
        requests = open(requests_fd, "rb")  # noqa: SIM115 - read until the worker exits
        _warm_up(handlers)
        bind = requests.readline()
        if not bind:  # never handed out (the zygote is closing)
            os._exit(0)
        binding = json.loads(bind)
        environ = os.environ
        for key, value in binding["env"].items():
            environ[key] = value
        _redirect_output(binding["log_path"])
        serve(requests, answers_fd, handlers)
    except BaseException:  # noqa: BLE001 - the worker must never return into the zygote's loop
        traceback.print_exc()
        code = 1
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


def _warm_up(handlers: dict[str, Callable[..., Any]]) -> None:
    # While the spare waits: run what every invocation runs (json, the context, the log lines and
    # the answer), so the copy-on-write page faults they cost are taken now, off the invocation.
    line = json.dumps({"request_id": "warm-up", "handler": "", "event": {}, "function_name": "f",
                       "function_arn": "arn", "memory": 128, "log_stream": "s", "deadline_ms": 0})
    request = json.loads(line.encode())
    context = LambdaContext(request)
    handlers.get(request["handler"])
    _ = (_start_line(context.aws_request_id), _end_lines(context.aws_request_id, time.perf_counter(), 128),
         _result({"ok": context.get_remaining_time_in_millis()}))


def _prefork(handlers: dict[str, Callable[..., Any]], control_fd: int, children: set[int],
             spares: list[tuple[int, int, int]]) -> tuple[int, int, int]:
    """Fork a spare worker; (pid, its request pipe's write end, its answer pipe's read end)."""
    request_r, request_w = os.pipe()
    answer_r, answer_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(request_w)
        os.close(answer_r)
        for _pid, other_w, other_r in spares:  # the other spares' pipes are not this worker's
            os.close(other_w)
            os.close(other_r)
        _worker(request_r, answer_w, control_fd, handlers)
    os.close(request_r)
    os.close(answer_w)
    children.add(pid)
    return pid, request_w, answer_r


def _reap(pid: int, children: set[int]) -> int:
    try:
        _, status = os.waitpid(pid, 0)
        code = os.waitstatus_to_exitcode(status)
    except ChildProcessError:
        code = 0
    children.discard(pid)
    return code


def _load_handlers(specs: list[str], handlers: dict[str, Callable[..., Any]]) -> None:
    for spec in specs:
        # A module that fails to import here is imported again by its worker, which reports the
        # failure on the invocation as Lambda does (Runtime.ImportModuleError); its output is lost.
        with contextlib.suppress(Exception):
            handlers[spec] = load_handler(spec)
    # A module may set a SIGTERM handler as it is imported; a worker has the default, as it would
    # have had in a fresh process (once here instead of once in every worker).
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    # What the imports printed is written now, not again by every fork (the zygote prints nothing
    # after this).
    sys.stdout.flush()
    sys.stderr.flush()
    # Objects imported so far are never collected in a worker; freezing them keeps the collector
    # from touching (and so copying) their pages in every fork.
    gc.freeze()


def zygote() -> None:
    control = socket.socket(fileno=int(sys.argv[2]))
    control_fd = control.fileno()
    _own_path()
    handlers: dict[str, Callable[..., Any]] = {}
    children: set[int] = set()
    # Workers forked ahead, oldest first, and how many to keep: as many as the largest spawn asked
    # for (invokes that come several at once, as a DAG's layer starts), up to _SPARES_MAX. A spare
    # is forked only while no request waits, so it never delays an answer.
    spares: list[tuple[int, int, int]] = []
    target = 1
    loaded = sys.argv[3:] != ["--later"]
    if loaded:
        _load_handlers(sys.argv[3:], handlers)
    waiting = select.poll()
    waiting.register(control_fd, select.POLLIN)
    while True:
        if loaded and len(spares) < target and not waiting.poll(0):
            spares.append(_prefork(handlers, control_fd, children, spares))
            continue
        try:
            data = control.recv(_MESSAGE_MAX)
        except OSError:
            data = b""
        if not data:
            break
        if data.startswith(_SPAWN):  # b"spawn N": N workers, their pids and pipes in one answer
            count = int(data[len(_SPAWN):] or 1)
            handed, spares = spares[:count], spares[count:]
            while len(handed) < count:
                handed.append(_prefork(handlers, control_fd, children, [*spares, *handed]))
            target = min(max(target, count), _SPARES_MAX)
            fds = [fd for _pid, request_w, answer_r in handed for fd in (request_w, answer_r)]
            control.sendmsg([b" ".join(b"%d" % pid for pid, _w, _r in handed)],
                            [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds))])
            for fd in fds:
                os.close(fd)
            continue
        message = json.loads(data)
        if message["op"] == "load":
            # The environment the zygote would have been started with, had its functions been
            # known then; their modules' import-time code sees it.
            for key in message["unset"]:
                os.environ.pop(key, None)
            os.environ.update(message["set"])
            _load_handlers(message["handlers"], handlers)
            loaded = True
        elif message["op"] == "reap":
            # One worker, or many at once (the service closing): one round trip either way.
            exits = {str(pid): _reap(int(pid), children) for pid in message["pids"]}
            control.send(json.dumps({"exits": exits}).encode())
    # Closing: every worker and spare is killed and reaped (their time is this process's children's).
    # A spare forked a moment ago may not have made its process group yet (setsid), so the kill
    # goes to its pid too, and its pipes are closed so it would read the end even if it lived on.
    for _pid, request_w, answer_r in spares:
        os.close(request_w)
        os.close(answer_r)
    for pid in children:
        with contextlib.suppress(OSError):
            os.killpg(pid, signal.SIGKILL)
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    for pid in list(children):
        _reap(pid, children)


class _ImportModuleError(Exception):
    pass


if __name__ == "__main__":
    if sys.argv[1:2] == ["--zygote"]:
        zygote()
    else:
        main()
