"""``run_workflow``: a workflow run on this machine, persisted, and resumable with ``redrive``.

The path is the deployed one: validate (``spec.load``), compile (``compile_workflow``), then the
main state machine runs on the embedded engine with the local services plugged in — Batch,
Lambda, the SNS outbox, and ``states:startExecution`` for child state machines, which run here
too. Deploy-time ``${Placeholder}`` values become local fake ARNs first (one helper,
:func:`local_arn`), and a *plan* records what each job definition and function means (built from
the workflow model) together with the substituted definitions, so ``redrive`` needs nothing but
the store.

Crash safety and redrive
------------------------
Every history event is committed to SQLite as it happens, and every Task state that succeeds
stores its result keyed by (scope, task, n): the scope is the execution for the main machine and
``<parent scope>/<task>#<n>`` for a child, the task is the state name inside every enclosing Map
iteration (``Outer[1]/Inner[0]/load``, see ``identity``), and n counts that task's earlier
completions in this run (a loop, or a retried Parallel/Map, completes a state more than once), so
keys are the same on every run. If the runner dies, its job processes die with it (see ``procs``),
and the execution is found RUNNING with a dead runner pid: it is marked FAILED
(``Local.RunnerExited``). ``redrive`` then runs the same definitions again with every integration
wrapped: a task whose result is stored returns it at once instead of running (AWS's Redrive
semantics: completed steps are not re-run), everything else runs for real. A first run never
reads stored results. The history continues after an ``ExecutionRedriven`` event whose
``redriveCount`` says which run the following events belong to. SNS publishes are never
replayed, so an alert path taken again on redrive alerts again. A distributed Map's items are
child executions of their own (stored with the Map's execution as parent, events and all); their
tasks get no key, so a redrive runs the Map Run again with new children.

    >>> import tempfile
    >>> from orchestrator import model
    >>> wf = model.Workflow(name="hello", tasks=(
    ...     model.Task(name="hi", job=model.BatchJob(image="alpine:3", command=("true",))),))
    >>> run = run_workflow(wf, home=tempfile.mkdtemp())     # doctest: +SKIP
    >>> run.status                                           # doctest: +SKIP
    'SUCCEEDED'
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sys
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from orchestrator import model
from orchestrator.engine import ExecutionResult, start
from orchestrator.engine.integrations import Integration, IntegrationPattern, TaskCall, TaskFailure
from orchestrator.errors import OrchestratorError
from orchestrator.local.batch import (
    ACCOUNT,
    REGION,
    ComputeEnvironment,
    JobDefinition,
    JobListener,
    JobQueue,
    LocalBatch,
    default_compute,
)
from orchestrator.local.identity import TaskIdentity
from orchestrator.local.images import ImageBuildSpec
from orchestrator.local.lambda_ import DEFAULT_TIMEOUT, LambdaFunction, LocalLambda
from orchestrator.local.mocks import MockCase, MockConfig, MockConfigError
from orchestrator.local.procs import process_start_time, runner_alive
from orchestrator.local.sns import Outbox, configured_outbox
from orchestrator.local.store import ExecutionRow, Store

PLACEHOLDER = re.compile(r"\$\{([^}]+)\}")
RUNNER_DIED = "Local.RunnerExited"
# A child execution's last event → its status.
_CHILD_END = {"ExecutionSucceeded": "SUCCEEDED", "ExecutionFailed": "FAILED", "ExecutionAborted": "ABORTED",
              "ExecutionTimedOut": "TIMED_OUT"}


class Interrupted(OrchestratorError):
    """The user interrupted a local run (Ctrl-C); the execution was stopped, not lost."""


class RedriveError(OrchestratorError):
    """The execution cannot be redriven (still running, or it succeeded)."""


# -- placeholders and the plan ----------------------------------------------------------------


def _safe(name: str) -> str:
    """The name part of a compiler placeholder (``${Kind_<safe>}``) for ``name``."""
    from orchestrator.compiler.tasks import placeholder

    text = placeholder("X", name)
    return text[len("${X_"):-1]


def local_arn(placeholder_name: str, workflow: str) -> str:
    """The local fake ARN for a ``${Placeholder}`` (the one helper that builds them).

    >>> local_arn("JobQueue_default", "wf")
    'arn:aws:batch:us-east-1:000000000000:job-queue/default'
    >>> local_arn("StateMachine_wf-part-2", "wf")
    'arn:aws:states:us-east-1:000000000000:stateMachine:wf-part-2'
    """
    kind, _, name = placeholder_name.partition("_")
    base = f"{REGION}:{ACCOUNT}"
    if kind == "JobQueue":
        return f"arn:aws:batch:{base}:job-queue/{name}"
    if kind == "JobDefinition":
        return f"arn:aws:batch:{base}:job-definition/{name}:1"
    if kind == "Function":
        return f"arn:aws:lambda:{base}:function:{name}"
    if kind == "StateMachine":
        return f"arn:aws:states:{base}:stateMachine:{name}"
    if "Topic" in kind:
        return f"arn:aws:sns:{base}:{workflow}-{name or 'alerts'}"
    if "Role" in kind:
        return f"arn:aws:iam::{ACCOUNT}:role/{name or kind}"
    return f"arn:aws:local:{base}:{placeholder_name}"


def substitute(value: Any, workflow: str) -> Any:
    """Replace every ``${...}`` in a definition with its local ARN (as CDK definitionSubstitutions)."""
    if isinstance(value, str):
        return PLACEHOLDER.sub(lambda m: local_arn(m.group(1), workflow), value)
    if isinstance(value, list):
        return [substitute(v, workflow) for v in value]
    if isinstance(value, dict):
        return {k: substitute(v, workflow) for k, v in value.items()}
    return value


def _env(mapping: Mapping[str, str]) -> dict[str, str]:
    return {str(k): str(v) for k, v in mapping.items()}


def build_plan(wf: model.Workflow, definitions: Mapping[str, Any], main: str, cwd: str) -> dict[str, Any]:
    """What the local services need, as JSON: definitions (substituted), job definitions, functions.

    Job definitions and functions are keyed by the name their placeholder carries
    (``${JobDefinition_<task>}``, ``${Function_<task>}``), so the mapping follows the compiler.
    """
    job_definitions: dict[str, Any] = {}
    functions: dict[str, Any] = {}
    for task in wf.tasks:
        timeout = task.timeout if task.timeout is not None else wf.defaults.timeout
        job = task.job
        key = _safe(task.name)
        if task.runs_on == "batch":
            if isinstance(job, model.BatchJob):
                command, image, vcpus, memory = list(job.command), job.image, job.vcpus, job.memory
            elif isinstance(job, model.PythonTask):
                command = ["python", "-m", "orchestrator.batch_entry", job.function]
                image, vcpus, memory = job.image or wf.defaults.image or "", job.vcpus, job.memory
            else:
                continue
            secrets = sorted(job.secrets) if isinstance(job, model.BatchJob) else []
            build = job.build if isinstance(job, model.BatchJob) else None
            job_definitions[key] = {"name": key, "image": image, "command": command, "vcpus": vcpus,
                                    "memory": memory, "environment": _env(job.environment),
                                    "timeout": timeout, "secrets": secrets,
                                    "build": None if build is None else {"context": build.context,
                                                                         "dockerfile": build.dockerfile}}
        else:
            handler = job.handler if isinstance(job, model.LambdaTask) else getattr(job, "function", "")
            functions[key] = {"name": key, "handler": handler,
                              "timeout": min(timeout, model.LAMBDA_MAX_TIMEOUT) if timeout is not None
                              else DEFAULT_TIMEOUT, "memory": job.memory, "environment": _env(job.environment)}
    # Keyed like their ${JobQueue_<name>} placeholders, so a queue name with odd characters matches.
    queues = [{"name": _safe(q.name), "priority": q.priority, "max_vcpus": q.max_vcpus} for q in wf.queues]
    return {"workflow": wf.name, "main": main, "cwd": cwd,
            "definitions": {name: substitute(d, wf.name) for name, d in definitions.items()},
            "job_definitions": job_definitions, "functions": functions, "queues": queues,
            "email": list(wf.notify.email) if wf.notify else [],
            "webhook": wf.notify.webhook if wf.notify else None}


def compile_plan(wf: model.Workflow, cwd: str) -> dict[str, Any]:
    from orchestrator.compiler import compile_workflow

    result = compile_workflow(wf)
    definitions = dict(result.definitions)
    main: Any = result.main
    if isinstance(main, str):
        main_name = main
    else:  # the main definition itself
        main_name = next((n for n, d in definitions.items() if d is main), wf.name)
        definitions.setdefault(main_name, main)
    return build_plan(wf, definitions, main_name, cwd)


# -- the result --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class RunResult:
    """How a local run ended, where it is stored, and where its logs are."""

    execution_arn: str
    name: str
    status: str
    output: Any
    error: str | None
    cause: str | None
    history: list[dict[str, Any]]
    home: Path
    redrive_count: int = 0
    reused: tuple[str, ...] = ()
    logs: dict[str, list[str]] = field(default_factory=dict)
    # Calls answered by the mock config: (epoch ms, state name, Task attempt, SUCCEEDED | FAILED).
    mocked: tuple[tuple[int, str, int, str], ...] = ()

    @property
    def succeeded(self) -> bool:
        return self.status == "SUCCEEDED"


def _iso(value: Any) -> str:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="milliseconds")
    return str(value)


def _ms(iso: str | None) -> int | None:
    return None if iso is None else int(datetime.fromisoformat(iso).timestamp() * 1000)


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _jsonable_event(event: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(event)
    out["timestamp"] = _iso(event.get("timestamp"))
    return out


# -- one local run (an execution tree) ---------------------------------------------------------


EventListener = Callable[[str, dict[str, Any]], None]


class LocalRun:
    """The services of one run and the integrations every execution of the run uses."""

    def __init__(self, store: Store, plan: Mapping[str, Any], *, redrive_count: int = 0,
                 mock: MockCase | None = None, virtual_time: bool = False,
                 on_event: EventListener | None = None, on_job: JobListener | None = None,
                 notice: Callable[[str], None] | None = None,
                 compute: list[ComputeEnvironment] | None = None,
                 on_reuse: Callable[[str], None] | None = None) -> None:
        self.store = store
        self._on_reuse = on_reuse
        self.plan = plan
        self.redrive_count = redrive_count
        self.mock = mock
        self.virtual_time = virtual_time
        self._on_event = on_event
        self.reused: list[str] = []
        self.mocked: list[tuple[int, str, int, str]] = []
        self._lock = threading.Lock()
        self._completions: dict[tuple[str, str], int] = {}
        cwd = str(plan.get("cwd") or os.getcwd())
        self.notice: Callable[[str], None] = notice or (lambda text: print(text, file=sys.stderr))
        definitions = {k: JobDefinition(name=v["name"], image=v["image"], command=tuple(v["command"]),
                                        vcpus=float(v["vcpus"]), memory=int(v["memory"]),
                                        environment=v["environment"],
                                        timeout=v.get("timeout"), secrets=tuple(v.get("secrets") or ()),
                                        build=ImageBuildSpec.from_plan(v.get("build")))
                       for k, v in plan["job_definitions"].items()}
        queue_specs = plan.get("queues") or []
        ce = compute or default_compute()
        queues = [JobQueue(name=q["name"], priority=int(q["priority"]), compute_environments=tuple(c.name for c in ce),
                           max_vcpus=q.get("max_vcpus"))
                  for q in queue_specs]
        # ``python -m orchestrator.batch_entry`` reads the execution input from this store.
        self.batch = LocalBatch(store, definitions, queues=queues, compute=ce, cwd=cwd, notice=self.notice,
                                on_job=on_job, process_env={"ORCHESTRATOR_HOME": str(store.home)})
        functions = {k: LambdaFunction(name=v["name"], handler=v["handler"], timeout=float(v["timeout"]),
                                       memory=int(v["memory"]), environment=v["environment"])
                     for k, v in plan["functions"].items()}
        self.lambda_ = LocalLambda(store, functions, cwd=cwd)
        self.lambda_.prewarm()
        self.outbox: Outbox = configured_outbox(store, email=plan.get("email") or [], webhook=plan.get("webhook"),
                                                printer=self.notice)

    def close(self) -> None:
        self.outbox.flush(timeout=30)
        self.lambda_.close()
        self.batch.close()

    # -- integrations -------------------------------------------------------------------------

    def integrations(self, scope: str, identity: TaskIdentity, arn: str) -> dict[str, Integration]:
        """The services for the execution ``arn``; calls from its distributed Map children come here too."""
        services: dict[str, Integration] = {
            "batch:submitJob": self.batch, "lambda:invoke": self.lambda_, "sns:publish": self.outbox}
        wrapped = {key: self._wrap(key, service, scope, identity, arn) for key, service in services.items()}
        wrapped["states:startExecution"] = self._wrap("states:startExecution", None, scope, identity, arn)
        return wrapped

    def _wrap(self, key: str, service: Integration | None, scope: str, identity: TaskIdentity,
              arn: str) -> Integration:
        # An alert reached again on redrive is sent again; a callback task waits for its token again.
        replay = key != "sns:publish"

        def integration(call: TaskCall) -> Any:
            # A distributed Map child (its own ARN) records its events in its own history, which
            # ``identity`` does not follow: its calls get no key, so they always run.
            task = identity.claim(call.state_name, call.parameters) if call.execution_arn == arn else None
            keep = replay and task is not None and call.pattern is not IntegrationPattern.WAIT_FOR_TASK_TOKEN
            occurrence = 0
            if keep:
                assert task is not None
                # A state runs again in a loop or when an enclosing Parallel/Map retries; the n-th
                # completion within one iteration path replays the n-th stored result.
                with self._lock:
                    occurrence = self._completions.get((scope, task), 0)
                if self.redrive_count > 0:
                    found, stored = self.store.get_result(scope, f"{task}#{occurrence}")
                    if found:
                        self._completed(scope, task)
                        self.reused.append(call.state_name)
                        if self._on_reuse is not None:
                            self._on_reuse(call.state_name)
                        return stored
            if self.mock is not None and self.mock.mocks(call.state_name):
                try:
                    result = self.mock.respond(call.state_name)  # stored too: a redrive keeps the mock's answer
                except TaskFailure:
                    self.mocked.append((int(time.time() * 1000), call.state_name, call.attempt + 1, "FAILED"))
                    raise
                self.mocked.append((int(time.time() * 1000), call.state_name, call.attempt + 1, "SUCCEEDED"))
            elif service is None:
                # A call without a key starts a child whose scope is new every time, so that its
                # stored results are never replayed for another call (e.g. another Map Run child).
                child_scope = (f"{scope}/{task}#{occurrence}" if task is not None
                               else f"{scope}/{call.state_name}@{uuid.uuid4().hex}")
                result = self._start_child(call, child_scope)
            else:
                result = service(call)
            if keep:
                assert task is not None
                self.store.put_result(scope, f"{task}#{occurrence}", call.state_name, result, self.redrive_count)
                self._completed(scope, task)
            return result
        return integration

    def _completed(self, scope: str, task: str) -> None:
        with self._lock:
            self._completions[(scope, task)] = self._completions.get((scope, task), 0) + 1

    # -- executions ---------------------------------------------------------------------------

    def run_execution(self, machine: str, input: Any, *, name: str, scope: str, parent_arn: str | None,
                      cancel: threading.Event | None = None, redrive: ExecutionRow | None = None,
                      started: Callable[[str], None] | None = None) -> ExecutionResult:
        """Run one state machine of the plan to its end, persisting as it goes."""
        definition = self.plan["definitions"][machine]
        sm_arn = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{machine}"
        arn = f"arn:aws:states:{REGION}:{ACCOUNT}:execution:{machine}:{name}"
        runner_start = process_start_time(os.getpid())
        offset = 0
        if redrive is None:
            self.store.create_execution(arn=arn, name=name, state_machine_arn=sm_arn, workflow=self.plan["workflow"],
                                        parent_arn=parent_arn, scope=scope, input=input, start_date=_now_iso(),
                                        cwd=str(self.plan.get("cwd")), plan=self.plan if parent_arn is None else None,
                                        runner_start=runner_start)
        else:
            offset = self.store.last_event_id(arn)
            self.store.restart_execution(arn, self.redrive_count, runner_start)
        if started is not None:
            started(arn)

        identity = TaskIdentity()

        def on_event(event: Mapping[str, Any]) -> None:
            identity.observe(event)
            stored = _jsonable_event(event)
            if redrive is not None and stored.get("type") == "ExecutionStarted":
                stored = {"id": stored["id"], "previousEventId": 0, "timestamp": stored["timestamp"],
                          "type": "ExecutionRedriven",
                          "executionRedrivenEventDetails": {"redriveCount": self.redrive_count}}
            self.store.append_event(arn, stored, offset=offset)
            if self._on_event is not None:
                self._on_event(arn, stored)

        def on_child_event(child_arn: str, event: Mapping[str, Any]) -> None:
            self._child_event(child_arn, event, parent_arn=arn, scope=scope, runner_start=runner_start)

        execution = start(definition, input, virtual_time=self.virtual_time,
                          integrations=self.integrations(scope, identity, arn), on_event=on_event,
                          on_child_event=on_child_event, execution_name=name, state_machine_arn=sm_arn)
        try:
            while True:
                try:
                    # Waiting in slices keeps the main thread responsive to Ctrl-C.
                    result = execution.wait(0.1 if cancel is not None or parent_arn is None else None)
                    break
                except TimeoutError:
                    if cancel is not None and cancel.is_set():
                        execution.stop("States.Aborted", "The parent execution stopped waiting for this one.")
        except KeyboardInterrupt:
            # StopExecution: running tasks are cancelled (jobs killed), the run is ABORTED and
            # can be redriven; completed tasks keep their stored results.
            execution.stop("Local.Interrupted", "Interrupted (Ctrl-C) on the local runner.")
            result = execution.wait(30)
            self.store.finish_execution(arn, status=result.status, output=None, error=result.error,
                                        cause=result.cause, stop_date=_now_iso())
            raise Interrupted(f"Interrupted: execution {name!r} is ABORTED; `orchestrator redrive {name}` "
                              "finishes it without re-running completed tasks.") from None
        except BaseException:
            self.store.finish_execution(arn, status="FAILED", output=None, error="States.Runtime",
                                        cause="Internal error in the local runner", stop_date=_now_iso())
            raise
        self.store.finish_execution(arn, status=result.status, output=result.output, error=result.error,
                                    cause=result.cause, stop_date=_now_iso())
        return result

    def _child_event(self, arn: str, event: Mapping[str, Any], *, parent_arn: str, scope: str,
                     runner_start: str | None) -> None:
        """Store one event of a distributed Map child execution (a Map Run item), row and all.

        The engine numbers a child's events from 1 in its own history (``ExecutionStarted`` …
        ``ExecutionSucceeded|Failed|Aborted``); the child is stored as an execution whose parent
        is the one running the Map, so ``executions list/show/history`` and ``logs`` see it. Its
        tasks are never stored or replayed (see ``_wrap``); a redrive of the parent runs the Map
        Run again with new children.
        """
        stored = _jsonable_event(event)
        kind = stored.get("type")
        if kind == "ExecutionStarted":
            raw = (event.get("executionStartedEventDetails") or {}).get("input")
            child_input = json.loads(raw) if isinstance(raw, str) else raw
            name = arn.rsplit(":", 1)[-1]
            # …:execution:<machine>/<label>:<uuid> runs the state machine …:stateMachine:<machine>/<label>
            machine_arn = arn.rsplit(":", 1)[0].replace(":execution:", ":stateMachine:", 1)
            self.store.create_execution(arn=arn, name=name, state_machine_arn=machine_arn,
                                        workflow=self.plan["workflow"], parent_arn=parent_arn,
                                        scope=f"{scope}/{name}", input=child_input, start_date=_now_iso(),
                                        cwd=str(self.plan.get("cwd")), plan=None, runner_start=runner_start)
        self.store.append_event(arn, stored)
        if self._on_event is not None:
            self._on_event(arn, stored)
        if kind in _CHILD_END:
            details = stored.get(f"{str(kind)[0].lower()}{str(kind)[1:]}EventDetails") or {}
            raw_output = details.get("output")
            self.store.finish_execution(
                arn, status=_CHILD_END[str(kind)],
                output=json.loads(raw_output) if isinstance(raw_output, str) else None,
                error=details.get("error"), cause=details.get("cause"), stop_date=_now_iso())

    def _start_child(self, call: TaskCall, child_scope: str) -> Any:
        params = call.parameters if isinstance(call.parameters, Mapping) else {}
        sm_arn = str(params.get("StateMachineArn", ""))
        machine = sm_arn.rsplit(":", 1)[-1]
        if machine not in self.plan["definitions"]:
            raise TaskFailure("StepFunctions.StateMachineDoesNotExistException",
                              f"State Machine Does Not Exist: '{sm_arn}'")
        raw_input = params.get("Input")
        child_input = json.loads(raw_input) if isinstance(raw_input, str) else ({} if raw_input is None else raw_input)
        name = str(params.get("Name") or uuid.uuid4())
        if "Name" in params:
            arn = f"arn:aws:states:{REGION}:{ACCOUNT}:execution:{machine}:{name}"
            try:
                self.store.execution(arn)
            except OrchestratorError:
                pass
            else:  # names are unique per state machine, as on AWS (a redrive gets a fresh child name)
                raise TaskFailure("StepFunctions.ExecutionAlreadyExistsException", f"Execution Already Exists: '{arn}'")
        if call.pattern is not IntegrationPattern.SYNC:
            started: list[str] = []
            ready = threading.Event()

            def note(arn: str) -> None:
                started.append(arn)
                ready.set()
            threading.Thread(target=self.run_execution, args=(machine, child_input), daemon=True, kwargs={
                "name": name, "scope": child_scope, "parent_arn": call.execution_arn, "started": note}).start()
            ready.wait()
            return {"ExecutionArn": started[0], "StartDate": int(time.time() * 1000)}
        result = self.run_execution(machine, child_input, name=name, scope=child_scope,
                                    parent_arn=call.execution_arn, cancel=call.cancel)
        v2 = call.sync_version == 2
        described: dict[str, Any] = {
            "ExecutionArn": result.execution_arn, "Input": child_input if v2 else json.dumps(child_input),
            "InputDetails": {"Included": True}, "Name": name, "StateMachineArn": sm_arn, "Status": result.status,
            "StartDate": _ms(_iso(result.start_time)) if result.start_time else None,
            "StopDate": _ms(_iso(result.stop_time)) if result.stop_time else None}
        if result.status == "SUCCEEDED":
            described["Output"] = result.output if v2 else json.dumps(result.output)
            described["OutputDetails"] = {"Included": True}
            return described
        described["Error"], described["Cause"] = result.error, result.cause
        raise TaskFailure("States.TaskFailed", json.dumps({k: v for k, v in described.items() if v is not None}))


# -- entry points -------------------------------------------------------------------------------


def _logs(store: Store, arn: str) -> dict[str, list[str]]:
    logs: dict[str, list[str]] = {}
    arns = [arn] + [c.arn for c in store.children(arn)]
    for a in arns:
        for job in store.jobs(a):
            logs.setdefault(job["state_name"] or job["job_name"], []).extend(job["log_paths"])
        for inv in store.invocations(a):
            if inv["log_path"]:
                paths = logs.setdefault(inv["state_name"] or inv["function_name"], [])
                if inv["log_path"] not in paths:
                    paths.append(inv["log_path"])
    return logs


def _load(wf: model.Workflow | str | os.PathLike[str]) -> model.Workflow:
    if isinstance(wf, model.Workflow):
        return wf
    from orchestrator import spec

    loaded: model.Workflow = spec.load(wf)
    return loaded


def _mock_case(mock_config: MockConfig | str | os.PathLike[str] | None, test_case: str | None,
               plan: Mapping[str, Any]) -> MockCase | None:
    if mock_config is None:
        if test_case is not None:
            raise OrchestratorError("A test case needs a mock config: pass --mock-config FILE with --test-case.")
        return None
    config = mock_config if isinstance(mock_config, MockConfig) else MockConfig.load(mock_config)
    if test_case is None:
        raise OrchestratorError(f"{config.source}: name the test case to use (--test-case NAME).")
    case = config.case(str(plan["main"]), test_case)
    from orchestrator.local.progress import task_states

    known = [name for definition in plan["definitions"].values() for name, _ in task_states(definition)]
    unknown = sorted(set(case.states) - set(known))
    if unknown:
        # A typo would otherwise run the real task silently, which a mocked test must not do.
        raise MockConfigError(
            f"{config.source}: test case {test_case!r} mocks {', '.join(map(repr, unknown))}, which "
            f"{'is' if len(unknown) == 1 else 'are'} not a Task state of {plan['workflow']!r} "
            f"(Task states: {', '.join(known) or 'none'}).")
    return case


def run_workflow(wf: model.Workflow | str | os.PathLike[str], input: Any = None, *,
                 home: str | os.PathLike[str] | None = None,
                 mock_config: MockConfig | str | os.PathLike[str] | None = None,
                 test_case: str | None = None, progress: bool = False, virtual_time: bool = False,
                 name: str | None = None, compute: list[ComputeEnvironment] | None = None,
                 notice: Callable[[str], None] | None = None) -> RunResult:
    """Validate, compile and run a workflow here; the execution is stored under ``home``."""
    workflow = _load(wf)
    plan = compile_plan(workflow, os.getcwd())
    store = Store(home)
    mock = _mock_case(mock_config, test_case, plan)
    execution_name = name or f"{workflow.name}-{datetime.now(UTC).strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:6]}"
    return _drive(store, plan, input, execution_name=execution_name, redrive=None, mock=mock, progress=progress,
                  virtual_time=virtual_time, compute=compute, notice=notice)


def run_plan(plan: Mapping[str, Any], input: Any = None, *, home: str | os.PathLike[str] | None = None,
             name: str | None = None, mock: MockCase | None = None, progress: bool = False,
             virtual_time: bool = False, compute: list[ComputeEnvironment] | None = None,
             notice: Callable[[str], None] | None = None) -> RunResult:
    """Run an already built plan (``build_plan``): hand-written definitions, tests, benchmarks."""
    execution_name = name or f"{plan['workflow']}-{uuid.uuid4().hex[:12]}"
    return _drive(Store(home), plan, input, execution_name=execution_name, redrive=None, mock=mock,
                  progress=progress, virtual_time=virtual_time, compute=compute, notice=notice)


def _drive(store: Store, plan: Mapping[str, Any], input: Any, *, execution_name: str,
           redrive: ExecutionRow | None, mock: MockCase | None, progress: bool, virtual_time: bool,
           compute: list[ComputeEnvironment] | None, notice: Callable[[str], None] | None) -> RunResult:
    view = None
    if progress:
        from orchestrator.local.progress import ProgressView

        view = ProgressView(plan)
    redrive_count = 0 if redrive is None else redrive.redrive_count + 1
    run = LocalRun(store, plan, redrive_count=redrive_count, mock=mock, virtual_time=virtual_time,
                   on_event=view.on_event if view else None, on_job=view.on_job if view else None,
                   notice=(view.notice if view else notice), compute=compute,
                   on_reuse=view.on_reuse if view else None)
    resumed = run.outbox.redeliver()
    if resumed:
        run.notice(f"[sns] resuming {len(resumed)} delivery(ies) an earlier runner left unfinished")
    main = str(plan["main"])
    scope = redrive.scope if redrive is not None else f"{main}:{execution_name}"
    try:
        with view if view is not None else contextlib.nullcontext():
            result = run.run_execution(main, input, name=execution_name, scope=scope, parent_arn=None,
                                       redrive=redrive)
    finally:
        run.close()
    arn = result.execution_arn
    return RunResult(execution_arn=arn, name=execution_name, status=result.status, output=result.output,
                     error=result.error, cause=result.cause, history=store.events(arn), home=store.home,
                     redrive_count=redrive_count, reused=tuple(run.reused), logs=_logs(store, arn),
                     mocked=tuple(run.mocked))


def reconcile(store: Store) -> None:
    """Mark executions whose runner died (RUNNING, runner pid gone or reused) as FAILED."""
    for row in store.executions(status="RUNNING"):
        if row.runner_pid is None or runner_alive(row.runner_pid, row.runner_start):
            continue
        cause = (f"The local runner (pid {row.runner_pid}) exited before the execution finished. "
                 f"`orchestrator redrive {row.name}` finishes it without re-running completed tasks.")
        store.append_event(row.arn, {"id": store.last_event_id(row.arn) + 1, "previousEventId": 0,
                                     "timestamp": _now_iso(), "type": "ExecutionFailed",
                                     "executionFailedEventDetails": {"error": RUNNER_DIED, "cause": cause}})
        store.finish_execution(row.arn, status="FAILED", output=None, error=RUNNER_DIED, cause=cause,
                               stop_date=_now_iso())
        store.fail_open_jobs(row.arn, "Job stopped: the local runner exited")


def redrive_execution(execution: str, *, home: str | os.PathLike[str] | None = None, progress: bool = False,
                      compute: list[ComputeEnvironment] | None = None,
                      notice: Callable[[str], None] | None = None) -> RunResult:
    """Redrive a FAILED, TIMED_OUT or ABORTED execution (or one whose runner died) to its end."""
    store = Store(home)
    reconcile(store)
    row = store.resolve(execution)
    if row.parent_arn is not None:
        parent = store.execution(row.parent_arn)
        raise RedriveError(f"{row.name!r} is a child execution; redrive its parent {parent.name!r} instead.")
    if row.status == "RUNNING":
        raise RedriveError(f"{row.name!r} is still running (runner pid {row.runner_pid}); wait for it or stop it.")
    if row.status == "SUCCEEDED":
        raise RedriveError(f"{row.name!r} succeeded; only FAILED, TIMED_OUT or ABORTED executions can be redriven.")
    if not row.plan:
        raise RedriveError(f"{row.name!r} has no stored plan; it cannot be redriven locally.")
    if row.cwd and os.path.isdir(row.cwd):
        row.plan["cwd"] = row.cwd
    return _drive(store, row.plan, row.input, execution_name=row.name, redrive=row, mock=None,
                  progress=progress, virtual_time=False, compute=compute, notice=notice)
