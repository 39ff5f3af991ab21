"""Local Lambda: the invoke result shape, errors as on AWS, timeouts, the context, warm workers."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from orchestrator.arns import IntegrationPattern
from orchestrator.engine.clock import RealClock
from orchestrator.engine.integrations import TaskCall, TaskFailure
from orchestrator.local.lambda_ import LambdaFunction, LocalLambda, function_name
from orchestrator.local.store import Store

HANDLERS = '''
import os, time
def echo(event, context):
    return {"event": event, "request": context.aws_request_id, "name": context.function_name,
            "memory": context.memory_limit_in_mb, "arn": context.invoked_function_arn,
            "stream": context.log_stream_name, "remaining": context.get_remaining_time_in_millis() > 0,
            "env": os.environ.get("GREETING"), "pid": os.getpid()}
def boom(event, context):
    print("about to fail")
    raise KeyError("missing")
def slow(event, context):
    time.sleep(30)
def unserialisable(event, context):
    return object()
'''


@pytest.fixture()
def service(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> LocalLambda:
    (tmp_path / "handlers.py").write_text(HANDLERS)
    monkeypatch.chdir(tmp_path)
    fns = {
        "echo": LambdaFunction(name="echo", handler="handlers:echo", memory=256, environment={"GREETING": "hi"}),
        "boom": LambdaFunction(name="boom", handler="handlers:boom"),
        "slow": LambdaFunction(name="slow", handler="handlers.slow", timeout=0.5),
        "marshal": LambdaFunction(name="marshal", handler="handlers:unserialisable"),
        "byfile": LambdaFunction(name="byfile", handler=str(tmp_path / "handlers.py") + ":echo"),
    }
    svc = LocalLambda(Store(tmp_path / "home"), fns, cwd=str(tmp_path))
    yield svc
    svc.close()


def invoke_call(params: dict[str, object]) -> TaskCall:
    return TaskCall(resource="arn:aws:states:::lambda:invoke", service="lambda", action="invoke",
                    pattern=IntegrationPattern.REQUEST_RESPONSE, sync_version=None, parameters=params,
                    state_name="t", execution_arn="arn:aws:states:us-east-1:123456789012:execution:wf:e",
                    context={}, timeout_seconds=None, heartbeat_seconds=None, attempt=0,
                    cancel=threading.Event(), clock=RealClock())


def test_invoke_result_has_the_lambda_invoke_integration_shape(service: LocalLambda) -> None:
    out = service(invoke_call({"FunctionName": "arn:aws:lambda:us-east-1:123456789012:function:echo",
                               "Payload": {"a": 1}}))
    assert set(out) == {"ExecutedVersion", "Payload", "SdkHttpMetadata", "SdkResponseMetadata", "StatusCode"}
    assert out["StatusCode"] == 200 and out["ExecutedVersion"] == "$LATEST"
    assert out["SdkHttpMetadata"]["HttpStatusCode"] == 200
    payload = out["Payload"]
    assert payload["event"] == {"a": 1}
    assert payload["request"] == out["SdkResponseMetadata"]["RequestId"]
    assert (payload["name"], payload["memory"], payload["env"]) == ("echo", 256, "hi")
    assert payload["arn"] == "arn:aws:lambda:us-east-1:123456789012:function:echo"
    assert payload["remaining"] is True
    assert "[$LATEST]" in payload["stream"]


def test_workers_stay_warm_between_invokes(service: LocalLambda) -> None:
    first = service.invoke("echo", {})["Payload"]["pid"]
    assert service.invoke("echo", {})["Payload"]["pid"] == first


def test_handler_by_file_path(service: LocalLambda) -> None:
    assert service.invoke("byfile", [1])["Payload"]["event"] == [1]


def test_unhandled_exception_is_the_error_type_with_lambdas_cause(service: LocalLambda) -> None:
    with pytest.raises(TaskFailure) as failure:
        service.invoke("boom", {})
    assert failure.value.error == "KeyError"
    cause = json.loads(failure.value.cause or "")
    assert set(cause) == {"errorMessage", "errorType", "requestId", "stackTrace"}
    assert cause["errorType"] == "KeyError" and cause["errorMessage"] == "'missing'"
    assert 'in boom' in cause["stackTrace"][-1]


def test_timeout_kills_the_worker_with_sandbox_timedout(service: LocalLambda) -> None:
    with pytest.raises(TaskFailure) as failure:
        service.invoke("slow", {})
    assert failure.value.error == "Sandbox.Timedout"
    assert "Task timed out after 0.50 seconds" in json.loads(failure.value.cause or "")["errorMessage"]


def test_unserialisable_result_is_a_marshal_error(service: LocalLambda) -> None:
    with pytest.raises(TaskFailure) as failure:
        service.invoke("marshal", {})
    assert failure.value.error == "Runtime.MarshalError"


def test_unknown_function_is_resource_not_found(service: LocalLambda) -> None:
    with pytest.raises(TaskFailure, match="Function not found: arn:aws:lambda:us-east-1:123456789012:function:nope"):
        service.invoke("nope", {})


def test_logs_have_lambda_framing_and_prints(service: LocalLambda) -> None:
    with pytest.raises(TaskFailure):
        service(invoke_call({"FunctionName": "boom", "Payload": {}}))
    (inv,) = service.store.invocations("arn:aws:states:us-east-1:123456789012:execution:wf:e")
    text = Path(inv["log_path"]).read_text()
    assert "START RequestId: " + inv["request_id"] in text
    assert "about to fail" in text and "REPORT RequestId: " in text
    assert inv["status"] == "FAILED" and inv["error"] == "KeyError"


def test_function_name_accepts_names_arns_and_qualifiers() -> None:
    assert function_name("arn:aws:lambda:us-east-1:1:function:f:$LATEST") == "f"
    assert function_name("f:prod") == "f"
    assert function_name("f") == "f"


def test_event_invocation_returns_202_at_once(service: LocalLambda) -> None:
    out = service(invoke_call({"FunctionName": "echo", "Payload": {}, "InvocationType": "Event"}))
    assert out["StatusCode"] == 202 and out["Payload"] == ""


WORKER_KILL_SCRIPT = """
import sys
from orchestrator.local.lambda_ import LambdaFunction, LocalLambda
from orchestrator.local.store import Store
svc = LocalLambda(Store(sys.argv[1]), {"hang": LambdaFunction(name="hang", handler="hang:handler", timeout=60)})
svc.invoke("hang", {})
"""


def test_a_worker_mid_invoke_dies_with_its_runner(tmp_path: Path) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    repo = Path(__file__).resolve().parents[1]
    pidfile = tmp_path / "worker.pid"
    (tmp_path / "hang.py").write_text(
        "import os, time\n"
        f"def handler(event, context):\n    open({str(pidfile)!r}, 'w').write(str(os.getpid()))\n    time.sleep(60)\n")
    (tmp_path / "runner.py").write_text(WORKER_KILL_SCRIPT)
    runner = subprocess.Popen([sys.executable, "runner.py", str(tmp_path / "home")], cwd=tmp_path,
                              env={**os.environ, "PYTHONPATH": str(repo)})
    deadline = time.monotonic() + 20
    while not pidfile.exists() or not pidfile.read_text():
        assert time.monotonic() < deadline and runner.poll() is None
        time.sleep(0.02)
    worker = int(pidfile.read_text())
    os.kill(runner.pid, signal.SIGKILL)
    runner.wait()
    deadline = time.monotonic() + 15  # the watchdog wakes at once; a loaded machine may schedule it late
    while True:
        try:
            with open(f"/proc/{worker}/stat") as f:
                if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                    break
        except OSError:
            break
        assert time.monotonic() < deadline, "the Lambda worker outlived its runner"
        time.sleep(0.02)


# -- forked workers (the zygote) ----------------------------------------------------------------

ZYGOTE_HANDLERS = '''
import os
IMPORTED_WITH = os.environ.get("TABLE")        # module-level code sees the function's environment
IMPORTS = int(os.environ.get("IMPORTS", "0"))
with open("imports.log", "a") as f:
    f.write("x")
def where(event, context):
    return {"pid": os.getpid(), "table": IMPORTED_WITH, "name": os.environ["AWS_LAMBDA_FUNCTION_NAME"]}
def crash(event, context):
    os._exit(3)
'''


@pytest.fixture()
def forked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> LocalLambda:
    (tmp_path / "zh.py").write_text(ZYGOTE_HANDLERS)
    monkeypatch.chdir(tmp_path)
    fns = {name: LambdaFunction(name=name, handler=f"zh:{handler}", environment=env)
           for name, handler, env in (("a", "where", {"TABLE": "t1"}), ("b", "where", {"TABLE": "t1"}),
                                      ("c", "where", {"TABLE": "t2"}), ("crash", "crash", {"TABLE": "t1"}))}
    svc = LocalLambda(Store(tmp_path / "home"), fns, cwd=str(tmp_path))
    yield svc
    svc.close()


def test_functions_of_one_environment_import_their_module_once(forked: LocalLambda, tmp_path: Path) -> None:
    a = forked.invoke("a", {})["Payload"]
    b = forked.invoke("b", {})["Payload"]
    assert a["pid"] != b["pid"]                       # a process per function, as on Lambda
    assert (a["name"], b["name"]) == ("a", "b")
    assert a["table"] == b["table"] == "t1"
    assert (tmp_path / "imports.log").read_text() == "x"  # one import for both


def test_another_environment_gets_its_own_module_initialisation(forked: LocalLambda, tmp_path: Path) -> None:
    assert forked.invoke("a", {})["Payload"]["table"] == "t1"
    assert forked.invoke("c", {})["Payload"]["table"] == "t2"
    assert (tmp_path / "imports.log").read_text() == "xx"


def test_a_crash_ends_one_invocation_only(forked: LocalLambda) -> None:
    before = forked.invoke("a", {})["Payload"]["pid"]
    with pytest.raises(TaskFailure) as failed:
        forked.invoke("crash", {})
    assert failed.value.error == "Runtime.ExitError"
    assert "exit status 3" in json.loads(failed.value.cause)["errorMessage"]
    assert forked.invoke("a", {})["Payload"]["pid"] == before       # the other worker is still warm
    assert forked.invoke("b", {})["Payload"]["table"] == "t1"       # and the zygote still forks


def test_close_leaves_no_worker_or_zygote_behind(forked: LocalLambda) -> None:
    from orchestrator.local.procs import pid_alive

    pids = [forked.invoke(name, {})["Payload"]["pid"] for name in ("a", "c")]
    zygotes = [z.proc.pid for z in forked._zygotes.values()]
    assert len(zygotes) == 2
    forked.close()
    assert not any(pid_alive(pid) for pid in pids + zygotes)


PLAN_FUNCTIONS = {name: {"name": name, "handler": f"zh:{handler}", "timeout": 5, "memory": 128, "environment": env}
                  for name, handler, env in (("a", "where", {}), ("b", "where", {}), ("c", "where", {"TABLE": "t2"}))}


def test_a_zygote_started_before_its_functions_were_known_serves_them(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from orchestrator.local.lambda_ import prestart_zygote, start_lambda

    (tmp_path / "zh.py").write_text(ZYGOTE_HANDLERS)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TABLE", raising=False)
    early = prestart_zygote(str(tmp_path))
    assert early is not None
    # Set after the zygote started, before the functions were known: module code still sees it,
    # as it would have in a zygote started with the functions.
    monkeypatch.setenv("TABLE", "set later")
    svc = start_lambda(Store(tmp_path / "home"), PLAN_FUNCTIONS, str(tmp_path), zygote=early)
    try:
        assert svc._zygotes[()] is early
        a, b = svc.invoke("a", {})["Payload"], svc.invoke("b", {})["Payload"]
        assert a["table"] == b["table"] == "set later" and a["pid"] != b["pid"]
        assert svc.invoke("c", {})["Payload"]["table"] == "t2"  # its own environment: its own zygote
        assert (tmp_path / "imports.log").read_text() == "xx"
    finally:
        svc.close()
    assert early.proc.returncode is not None


def test_an_early_zygote_no_function_can_use_is_stopped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from orchestrator.local.lambda_ import prestart_zygote, start_lambda

    (tmp_path / "zh.py").write_text(ZYGOTE_HANDLERS)
    monkeypatch.chdir(tmp_path)
    only_own = {"c": PLAN_FUNCTIONS["c"]}
    for functions, change in ((only_own, None), (PLAN_FUNCTIONS, "PYTHONHASHSEED")):
        early = prestart_zygote(str(tmp_path))
        assert early is not None
        if change:  # read as the interpreter starts: too late for the zygote already running
            monkeypatch.setenv(change, "7")
        svc = start_lambda(Store(tmp_path / "home"), functions, str(tmp_path), zygote=early)
        try:
            assert early.proc.returncode is not None and early not in svc._zygotes.values()
            assert svc.invoke("c", {})["Payload"]["table"] == "t2"
        finally:
            svc.close()


def test_doctests() -> None:
    import doctest

    from orchestrator.local import lambda_

    result = doctest.testmod(lambda_)
    assert result.attempted > 0 and result.failed == 0


# -- the bound on idle workers -------------------------------------------------------------------

IDLE_HANDLERS = '''
import os
def where(event, context):
    return {"pid": os.getpid()}
'''


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def reaped(pid: int) -> bool:
    """Gone entirely: neither running nor a zombie waiting for its parent's waitpid."""
    return not Path(f"/proc/{pid}").exists()


def idle_service(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, n: int, clock: FakeClock,
                 **kwargs: float) -> LocalLambda:
    (tmp_path / "ih.py").write_text(IDLE_HANDLERS)
    monkeypatch.chdir(tmp_path)
    fns = {f"f{i}": LambdaFunction(name=f"f{i}", handler="ih:where") for i in range(n)}
    return LocalLambda(Store(tmp_path / "home"), fns, cwd=str(tmp_path), clock=clock, **kwargs)  # type: ignore[arg-type]


needs_proc = pytest.mark.skipif(not Path("/proc/self").exists(), reason="checks reaping through /proc")


@needs_proc
def test_idle_workers_are_bounded_and_the_least_recently_used_are_reaped(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from orchestrator.local.procs import pid_alive

    svc = idle_service(tmp_path, monkeypatch, 10, FakeClock(), idle_max=4)
    try:
        pids = [svc.invoke(f"f{i}", {})["Payload"]["pid"] for i in range(10)]
        assert len(set(pids)) == 10
        alive = [pid for pid in pids if pid_alive(pid)]
        assert 0 < len(alive) <= 4
        assert alive == pids[-len(alive):]                     # the most recently used are kept
        assert all(reaped(pid) for pid in pids if pid not in alive)  # the others: no zombie left
        # A function whose worker was evicted gets a fresh one that works; a kept one is still warm.
        again = svc.invoke("f0", {})["Payload"]["pid"]
        assert again not in pids and pid_alive(again)
        assert svc.invoke("f9", {})["Payload"]["pid"] == pids[9]
        assert sum(pid_alive(pid) for pid in [*pids, again]) <= 4
    finally:
        svc.close()
    assert all(reaped(pid) for pid in [*pids, again])


def test_a_function_invoked_repeatedly_keeps_its_worker_under_the_bound(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    svc = idle_service(tmp_path, monkeypatch, 3, FakeClock(), idle_max=1)
    try:
        first = svc.invoke("f0", {})["Payload"]["pid"]
        assert all(svc.invoke("f0", {})["Payload"]["pid"] == first for _ in range(5))
    finally:
        svc.close()


@needs_proc
def test_an_idle_worker_is_reclaimed_after_its_idle_lifetime(tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    clock = FakeClock()
    svc = idle_service(tmp_path, monkeypatch, 3, clock, idle_seconds=60.0)
    try:
        old = svc.invoke("f0", {})["Payload"]["pid"]
        clock.now += 30
        kept = svc.invoke("f1", {})["Payload"]["pid"]
        clock.now += 29.5
        assert svc.reclaim() == 0                               # f0 idle 59.5 s: still warm
        assert svc.invoke("f0", {})["Payload"]["pid"] == old
        clock.now += 60
        fresh = svc.invoke("f2", {})["Payload"]["pid"]          # an acquire reclaims f0 and f1
        assert reaped(old) and reaped(kept)
        assert svc.invoke("f0", {})["Payload"]["pid"] not in (old, fresh)
        clock.now += 60
        assert svc.reclaim() == 2                               # what the timer calls, too
        assert reaped(fresh)
    finally:
        svc.close()


def test_the_timer_reclaims_a_pool_nobody_invokes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from orchestrator.local.procs import pid_alive

    clock = FakeClock()
    svc = idle_service(tmp_path, monkeypatch, 1, clock, idle_seconds=60.0)
    try:
        pid = svc.invoke("f0", {})["Payload"]["pid"]
        timer = svc._timer
        assert timer is not None and timer.daemon and timer.interval == 60.0
        clock.now += 60
        timer.cancel()
        svc._on_timer()                                         # the timer firing, without waiting for it
        assert not pid_alive(pid) and svc._timer is None
    finally:
        svc.close()


def test_close_stops_idle_workers_and_the_timer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from orchestrator.local.procs import pid_alive

    svc = idle_service(tmp_path, monkeypatch, 6, FakeClock(), idle_max=4)
    pids = [svc.invoke(f"f{i}", {})["Payload"]["pid"] for i in range(6)]
    timer = svc._timer
    zygotes = [z.proc.pid for z in svc._zygotes.values()]
    svc.close()
    assert timer is not None and not timer.is_alive()
    assert not any(pid_alive(pid) for pid in pids + zygotes)
    assert not svc._idle_order


# -- workers forked ahead, several at once -------------------------------------------------------

PIPES_HANDLERS = '''
import os
def pipes(event, context):
    fds = os.listdir("/proc/self/fd")
    links = []
    for fd in fds:
        try:
            links.append(os.readlink(f"/proc/self/fd/{fd}"))
        except OSError:
            pass
    return {"pid": os.getpid(), "pipes": sorted(link for link in links if link.startswith("pipe:"))}
'''


@needs_proc
def test_invokes_at_once_each_get_a_worker_of_their_own_with_only_its_own_pipes(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "ph.py").write_text(PIPES_HANDLERS)
    monkeypatch.chdir(tmp_path)
    fns = {f"f{i}": LambdaFunction(name=f"f{i}", handler="ph:pipes") for i in range(12)}
    svc = LocalLambda(Store(tmp_path / "home"), fns, cwd=str(tmp_path))
    try:
        results: dict[str, dict[str, object]] = {}
        svc.invoke("f0", {})  # the zygote is up: the others come while it keeps spares
        start = threading.Barrier(11)

        def call(name: str) -> None:
            start.wait()
            results[name] = svc.invoke(name, {})["Payload"]

        threads = [threading.Thread(target=call, args=(f"f{i}",)) for i in range(1, 12)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len({r["pid"] for r in results.values()}) == 11
        # A worker holds its own request and answer pipe, none of another worker's (nor a spare's).
        seen: dict[str, object] = {}
        for name, result in results.items():
            pipes = result["pipes"]
            assert isinstance(pipes, list) and len(pipes) == 2, (name, pipes)
            for pipe in pipes:
                assert pipe not in seen, (name, seen.get(pipe))
                seen[pipe] = name
        # Invoked again, each is still warm.
        assert all(svc.invoke(name, {})["Payload"]["pid"] == r["pid"] for name, r in results.items())
    finally:
        svc.close()



@needs_proc
def test_a_zygote_killed_from_outside_is_replaced_and_its_unbound_workers_end(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import os
    import signal
    import time

    from orchestrator.local.procs import pid_alive

    svc = idle_service(tmp_path, monkeypatch, 5, FakeClock())
    try:
        warm = svc.invoke("f0", {})["Payload"]["pid"]
        zygote = svc._zygotes[()]
        with zygote._lock:  # as a spawn for three threads leaves two workers for the others
            zygote._ready = zygote._spawn(2)
        unbound = [pid for pid, _requests, _answers in zygote._ready]
        os.kill(zygote.proc.pid, signal.SIGKILL)
        while zygote.proc.poll() is None:  # gone, as the next invoke finds it
            time.sleep(0.01)
        # The next invoke gets a new zygote; the workers the dead one handed out unbound end.
        pids = [svc.invoke(f"f{i}", {})["Payload"]["pid"] for i in (1, 2, 3, 4)]
        assert svc._zygotes[()] is not zygote and svc._zygotes[()].proc.poll() is None
        assert len({warm, *unbound, *pids}) == 7
        assert svc.invoke("f0", {})["Payload"]["pid"] == warm  # the warm worker is still warm
        deadline = time.monotonic() + 10
        while any(pid_alive(pid) for pid in unbound):
            assert time.monotonic() < deadline, "a worker handed out unbound outlived its zygote"
            time.sleep(0.02)
    finally:
        svc.close()
    assert not any(pid_alive(pid) for pid in [warm, *pids])
