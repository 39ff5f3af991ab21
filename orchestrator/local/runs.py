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
import hashlib
import json
import os
import sqlite3
import sys
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar, overload

from orchestrator import arns, limits, model, placeholders
from orchestrator.api import WorkflowLike, workflow_model
from orchestrator.arns import IntegrationPattern
from orchestrator.engine import Execution, ExecutionResult, start
from orchestrator.engine.errors import StatesError
from orchestrator.engine.integrations import (
    Integration,
    TaskCall,
    TaskFailure,
    unconfigured,
)
from orchestrator.errors import OrchestratorError
from orchestrator.local.cloudwatch import LocalLogs
from orchestrator.local.environment import wait_time_scale
from orchestrator.local.identity import TaskIdentity
from orchestrator.local.kept import package_fingerprint as _package_fingerprint
from orchestrator.local.lambda_ import LocalLambda, plan_functions, start_lambda
from orchestrator.local.procs import process_start_time, runner_alive
from orchestrator.local.sns import Outbox, configured_outbox
from orchestrator.local.store import ExecutionRow, StateMachineRow, Store
from orchestrator.logical_time import with_scheduled_time

if TYPE_CHECKING:
    # Imported where used: a run with no Batch job never builds local Batch (its module, images
    # and concurrent.futures are ~8 ms of every run's start), one without a mock config no mocks.
    from orchestrator.local.batch import Capacity, ComputeEnvironment, JobListener, LocalBatch
    from orchestrator.local.mocks import MockCase, MockConfig, Mocks

RUNNER_DIED = "Local.RunnerExited"
# The role a locally registered state machine reports (DescribeStateMachine's roleArn).
LOCAL_ROLE_ARN = arns.role("orchestrator-local")
# A child execution's last event → its status.
_CHILD_END = {"ExecutionSucceeded": "SUCCEEDED", "ExecutionFailed": "FAILED", "ExecutionAborted": "ABORTED",
              "ExecutionTimedOut": "TIMED_OUT"}


class Interrupted(OrchestratorError):
    """The user interrupted a local run (Ctrl-C); the execution was stopped, not lost."""


class RedriveError(OrchestratorError):
    """The execution cannot be redriven (still running, or it succeeded)."""


# -- placeholders and the plan ----------------------------------------------------------------


# The Batch jobs' log group as the local logs integration knows it (their log files, by stream).
LOCAL_JOB_LOG_GROUP = "/aws/batch/job"


def local_arn(placeholder_name: str, workflow: str) -> str:
    """The local fake ARN for a ``${Placeholder}`` (the one helper that builds them).

    >>> local_arn("JobQueue_default", "wf")
    'arn:aws:batch:us-east-1:123456789012:job-queue/default'
    >>> local_arn("StateMachine_wf-part-2", "wf")
    'arn:aws:states:us-east-1:123456789012:stateMachine:wf-part-2'
    """
    kind, _, name = placeholder_name.partition("_")
    if kind == placeholders.JOB_QUEUE:
        return arns.job_queue(name)
    if kind == placeholders.JOB_DEFINITION:
        return arns.job_definition(name)
    if kind == placeholders.FUNCTION:
        return arns.function(name)
    if kind == placeholders.STATE_MACHINE:
        return arns.state_machine(name)
    if "Topic" in kind:
        return arns.sns_topic(f"{workflow}-{name or 'alerts'}")
    if "Role" in kind:
        return arns.role(name or kind)
    if kind == placeholders.JOB_LOG_GROUP:
        return LOCAL_JOB_LOG_GROUP
    return arns.local(placeholder_name)


def local_definition(definition: Any, workflow: str) -> Any:
    """``definition`` with every ``${...}`` replaced by its local ARN (``placeholders.substitute``)."""
    return placeholders.substitute(definition, lambda key: local_arn(key, workflow))


def _env(mapping: Mapping[str, str]) -> dict[str, str]:
    return {str(k): str(v) for k, v in mapping.items()}


def build_plan(wf: model.Workflow, definitions: Mapping[str, Any], main: str, cwd: str) -> dict[str, Any]:
    """What the local services need, as JSON: definitions (substituted), job definitions, functions.

    Job definitions and functions are keyed by the name their placeholder carries
    (``${JobDefinition_<task>}``, ``${Function_<task>}``), so the mapping follows the compiler.
    """
    # Here, not at the top: a plain ASL run, ``executions`` and ``logs`` need no compiler.
    from orchestrator.compiler.tasks import job_definition

    job_definitions: dict[str, Any] = {}
    for task in wf.tasks:
        if task.runs_on != "batch":
            continue
        job = task.job
        key = placeholders.safe_name(task.name)
        # What the task's job definition carries on AWS (its Task state leaves it out).
        settings = job_definition(task, wf)
        secrets = sorted(job.secrets) if isinstance(job, model.BatchJob) else []
        build = job.build if isinstance(job, model.BatchJob) else None
        job_definitions[key] = {"name": key, "image": settings.image or "", "command": list(settings.command),
                                "vcpus": settings.vcpus, "memory": settings.memory,
                                "environment": _env(settings.environment), "timeout": settings.attempt_seconds,
                                "retry_attempts": settings.retry_attempts,
                                "evaluate_on_exit": [dict(rule) for rule in settings.evaluate_on_exit],
                                "secrets": secrets,
                                "build": None if build is None else {"context": build.context,
                                                                     "dockerfile": build.dockerfile}}
    functions = plan_functions(wf)
    # Keyed like their ${JobQueue_<name>} placeholders, so a queue name with odd characters matches.
    queues = [{"name": placeholders.safe_name(q.name), "priority": q.priority, "max_vcpus": q.max_vcpus} for q in wf.queues]
    return {"workflow": wf.name, "main": main, "cwd": cwd,
            "definitions": {name: local_definition(d, wf.name) for name, d in definitions.items()},
            "job_definitions": job_definitions, "functions": functions, "queues": queues,
            "email": list(wf.notify.email) if wf.notify else [],
            "webhook": wf.notify.webhook if wf.notify else None,
            # An execution that ends TIMED_OUT or ABORTED alerts as on AWS (the EventBridge rule).
            "alert_ended": wf.notify is not None and "failure" in wf.notify.on, "timeout": wf.timeout,
            # The failure path's service calls, which the live table shows only once a failure reached
            # them (named here, so a run of a kept plan needs no compiler for them).
            "alert_path": failure_path_states()}


def failure_path_states() -> list[str]:
    """``alerts.SERVICE_STATES`` (the log tail read, the notifications, the previous run's
    check), sorted: states of the machine, not tasks of the workflow."""
    from orchestrator.compiler import alerts

    return sorted(alerts.SERVICE_STATES)


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


def cached_plan(store: Store, wf: model.Workflow, cwd: str, *, key: str | None = None) -> dict[str, Any]:
    """``compile_plan(wf, cwd)``, kept in ``store``: a workflow run again unchanged is not compiled again.

    Compiling is pure (the same workflow and compiler give the same plan), so the plan is kept
    under a digest of what it is a function of: the workflow model (its repr shows every field),
    the directory, and this package (its version, and each source file's path, size and
    modification time) with the Python version, so editing the workflow or upgrading the package
    compiles again. A hit skips importing the compiler and compiling: ~25 ms of a one-task run,
    about a second of a 1,000-task one.
    """
    key = key or plan_key(wf, cwd)
    plan: dict[str, Any] | None = store.compiled_plan(key)
    if plan is None or not isinstance(plan.get("definitions"), dict) or plan.get("main") not in plan["definitions"]:
        # Not kept, or a row that is no plan (a store edited by hand): compile, and keep it again.
        plan = compile_plan(wf, cwd)
        store.put_compiled_plan(key, plan)
    return plan


def plan_key(wf: model.Workflow, cwd: str) -> str:
    """What ``cached_plan`` keeps the plan of ``wf`` compiled in ``cwd`` under."""
    return hashlib.sha256(f"{_package_fingerprint()}\n{cwd}\n{wf!r}".encode()).hexdigest()


def plain_plan(name: str, definition: Mapping[str, Any], *, cwd: str | None = None,
               aws_endpoint: str | None = None) -> dict[str, Any]:
    """The plan of one plain ASL state machine (no workflow behind it), for ``run_plan`` and serve.

    It has no job definitions or functions: its Batch and Lambda calls reach the local services
    with nothing registered, and every other service fails as AWS does without permissions,
    unless a mock answers it. The definition is kept as given (CreateStateMachine substitutes
    nothing); ``plain.run_definition`` resolves ``${Placeholder}`` strings of a compiled file first.
    ``aws_endpoint`` sends unmocked ``aws-sdk:*``, sqs, sns, events and dynamodb calls there
    (``forward``); it is kept in the plan, so a redrive sends them there again.

        >>> plain_plan("m", {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})["main"]
        'm'
    """
    plan: dict[str, Any] = {"workflow": name, "main": name, "cwd": cwd or os.getcwd(),
                            "definitions": {name: dict(definition)}, "job_definitions": {}, "functions": {},
                            "queues": [], "email": [], "webhook": None}
    if aws_endpoint is not None:
        from orchestrator.local.forward import check_endpoint

        plan["aws_endpoint"] = check_endpoint(aws_endpoint)
    return plan


# -- the result --------------------------------------------------------------------------------


_T = TypeVar("_T")


class _ReadBack(Generic[_T]):
    """A ``RunResult`` field that, unless it was given, is read from the run's store on first use.

    ``orchestrator run`` prints its summary from the store and never reads them: reading a
    200-task run's 1,006 history events back costs ~9 ms, its logs' paths ~6 ms more.
    """

    def __set_name__(self, owner: type, name: str) -> None:
        self._name = name
        self._key = f"_{name}"

    @overload
    def __get__(self, result: None, owner: type | None = None) -> _T | None: ...

    @overload
    def __get__(self, result: RunResult, owner: type | None = None) -> _T: ...

    def __get__(self, result: RunResult | None, owner: type | None = None) -> _T | None:
        if result is None:
            return None  # the dataclass default: read when asked for
        value: _T | None = result.__dict__.get(self._key)
        if value is None:
            value = result._read_back(self._name)
            result.__dict__[self._key] = value
        return value

    def __set__(self, result: RunResult, value: _T | None) -> None:
        result.__dict__[self._key] = value


@dataclass(frozen=True, kw_only=True)
class RunResult:
    """How a local run ended, where it is stored, and where its logs are.

    ``history`` (the events as GetExecutionHistory returns them) and ``logs`` (each task's log
    files) are read from the store when first asked for, and then kept.
    """

    execution_arn: str
    name: str
    status: str
    output: Any
    error: str | None
    cause: str | None
    history: _ReadBack[list[dict[str, Any]]] = _ReadBack()
    home: Path
    redrive_count: int = 0
    reused: tuple[str, ...] = ()
    logs: _ReadBack[dict[str, list[str]]] = _ReadBack()
    # Calls answered by the mock config: (epoch ms, state name, Task attempt, SUCCEEDED | FAILED).
    mocked: tuple[tuple[int, str, int, str], ...] = ()
    # The store the run wrote to, which ``history`` and ``logs`` are read from.
    _store: Store | None = field(default=None, repr=False, compare=False)

    @property
    def succeeded(self) -> bool:
        return self.status == "SUCCEEDED"

    def _read_back(self, what: str) -> Any:
        """``history`` or ``logs`` as stored: from the run's store, or from its home once the
        store was closed (``orchestrator run`` closes it when the process is done with it)."""
        def read(store: Store) -> Any:
            return store.events(self.execution_arn) if what == "history" else _logs(store, self.execution_arn)

        if self._store is not None:
            try:
                return read(self._store)
            except sqlite3.ProgrammingError:  # closed
                pass
        store = Store(self.home)
        try:
            return read(store)
        finally:
            store.close()

    def __getstate__(self) -> dict[str, Any]:
        """Copied or pickled with its history and logs, and without the store's connection."""
        state = {f.name: getattr(self, f.name) for f in fields(self)}
        state["_store"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        for name, value in state.items():
            object.__setattr__(self, name, value)


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


def plan_lambda(store: Store, plan: Mapping[str, Any]) -> LocalLambda:
    """Local Lambda with the plan's functions, its workers started (they import while the run begins)."""
    return start_lambda(store, plan["functions"], str(plan.get("cwd") or os.getcwd()))


def _unanswered(call: TaskCall) -> Any:
    raise unconfigured(call)


def list_executions(store: Store) -> Integration:
    """``aws-sdk:sfn:listExecutions`` answered from the local store (the overlap guard asks it).

    Newest first, as AWS lists them, in the SDK integration's PascalCase; at most ``MaxResults``
    (AWS's default 100, at most ``limits.LIST_PAGE_MAX``), no NextToken. A run whose runner died
    is marked FAILED first (``reconcile``), so it cannot hold a queue forever.
    """
    def integration(call: TaskCall) -> Any:
        params = call.parameters if isinstance(call.parameters, Mapping) else {}
        arn = params.get("StateMachineArn")
        if not isinstance(arn, str):
            raise TaskFailure("Sfn.InvalidArnException", "Invalid Arn: 'StateMachineArn' is required")
        limit = min(int(params.get("MaxResults") or 100), limits.LIST_PAGE_MAX)
        reconcile(store)
        status = params.get("StatusFilter")
        rows = store.executions(status=status if isinstance(status, str) else None, state_machine_arn=arn)
        return {"Executions": [
            {"ExecutionArn": r.arn, "StateMachineArn": r.state_machine_arn, "Name": r.name, "Status": r.status,
             "StartDate": r.start_date, **({"StopDate": r.stop_date} if r.stop_date else {})}
            for r in rows[:limit]]}

    return integration


class LocalRun:
    """The services of one run and the integrations every execution of the run uses."""

    def __init__(self, store: Store, plan: Mapping[str, Any], *, redrive_count: int = 0,
                 mock: Mocks | None = None, virtual_time: bool = False,
                 on_event: EventListener | None = None, on_job: JobListener | None = None,
                 notice: Callable[[str], None] | None = None,
                 compute: list[ComputeEnvironment] | None = None,
                 on_reuse: Callable[[str], None] | None = None, capacity: Capacity | None = None,
                 lambda_: LocalLambda | None = None) -> None:
        self.store = store
        # A plain machine's plan may name an endpoint for its unmocked service calls (--aws-endpoint).
        self.forward: Integration | None = None
        if plan.get("aws_endpoint"):
            from orchestrator.local.forward import Forwarder

            self.forward = Forwarder(str(plan["aws_endpoint"]), region=arns.REGION)
        self.wait_time_scale = wait_time_scale()
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
        # The engine executions of this run that are still going, by ARN (StopExecution), and
        # whether the run was detached from the store (a server shutting down: nothing more is
        # written, so the execution stays as it was marked, ready for redrive).
        self._live: dict[str, Execution] = {}
        self._stops: dict[str, tuple[str | None, str | None]] = {}
        self._events_lock = threading.Lock()
        self._detached = False
        self._cwd = str(plan.get("cwd") or os.getcwd())
        self.notice: Callable[[str], None] = notice or (lambda text: print(text, file=sys.stderr))
        self._on_job = on_job
        self._compute = compute
        self._capacity = capacity
        self._batch: LocalBatch | None = None
        self.logs = LocalLogs(store)
        # A shared ``lambda_`` (serve: one per state machine revision) keeps its warm workers across
        # runs and is closed by its owner, not here.
        self._owns_lambda = lambda_ is None
        self.lambda_ = lambda_ if lambda_ is not None else plan_lambda(store, plan)
        self.outbox: Outbox = configured_outbox(store, email=plan.get("email") or [], webhook=plan.get("webhook"),
                                                printer=self.notice)

    @property
    def batch(self) -> LocalBatch:
        """The run's local Batch, built on first use (the first job submitted)."""
        with self._lock:
            if self._batch is None:
                self._batch = self._build_batch()
            return self._batch

    def _build_batch(self) -> LocalBatch:
        from orchestrator.local.batch import Capacity, JobDefinition, JobQueue, LocalBatch, default_compute
        from orchestrator.local.images import ImageBuildSpec

        plan, capacity = self.plan, self._capacity
        definitions = {k: JobDefinition(name=v["name"], image=v["image"], command=tuple(v["command"]),
                                        vcpus=float(v["vcpus"]), memory=int(v["memory"]),
                                        environment=v["environment"],
                                        timeout=v.get("timeout"), secrets=tuple(v.get("secrets") or ()),
                                        retry_attempts=int(v.get("retry_attempts") or 1),
                                        evaluate_on_exit=tuple(v.get("evaluate_on_exit") or ()),
                                        build=ImageBuildSpec.from_plan(v.get("build")))
                       for k, v in plan["job_definitions"].items()}
        queue_specs = plan.get("queues") or []
        ce = capacity.compute if capacity is not None else (self._compute or default_compute())
        queues = [JobQueue(name=q["name"], priority=int(q["priority"]), compute_environments=tuple(c.name for c in ce),
                           max_vcpus=q.get("max_vcpus"))
                  for q in queue_specs]
        # ``python -m orchestrator.batch_entry`` reads the execution input from this store.
        return LocalBatch(self.store, definitions, queues=queues, compute=ce, cwd=self._cwd, notice=self.notice,
                          on_job=self._on_job, process_env={"ORCHESTRATOR_HOME": str(self.store.home)},
                          capacity=capacity or Capacity(ce))

    def _submit_job(self, call: TaskCall) -> Any:
        return self.batch(call)

    def close(self) -> None:
        self.store.sync_results()
        self.outbox.flush(timeout=30)
        if self._owns_lambda:
            self.lambda_.close()
        with self._lock:
            batch = self._batch
        if batch is not None:
            batch.close()

    def stop(self, arn: str, error: str | None, cause: str | None) -> bool:
        """StopExecution for one execution of this run: ABORTED, its running tasks cancelled.

        False when it is not running here. A stop that arrives between the execution's row being
        stored and its engine starting is kept and applied as soon as it starts.
        """
        with self._lock:
            execution = self._live.get(arn)
            if execution is None:
                self._stops[arn] = (error, cause)
        if execution is not None:
            execution.stop(error, cause)
        return True

    def running(self) -> list[str]:
        """ARNs of this run's executions that are still going."""
        with self._lock:
            return list(self._live)

    def detach(self, error: str, cause_of: Callable[[ExecutionRow], str]) -> list[str]:
        """Mark every execution still going as FAILED (``error``), write nothing more, stop it.

        For a process shutting down: the marked executions are what ``redrive`` picks up, with
        every completed task's result kept; their jobs are cancelled as they are stopped.
        Returns the ARNs marked.
        """
        with self._events_lock:
            self._detached = True
            marked = self.running()
            for arn in marked:
                row = self.store.execution(arn)
                self.store.append_event(arn, {
                    "id": self.store.last_event_id(arn) + 1, "previousEventId": 0, "timestamp": _now_iso(),
                    "type": "ExecutionFailed",
                    "executionFailedEventDetails": {"error": error, "cause": cause_of(row)}})
                self.store.finish_execution(arn, status="FAILED", output=None, error=error, cause=cause_of(row),
                                            stop_date=_now_iso())
        for arn in marked:
            with self._lock:
                execution = self._live.get(arn)
            if execution is not None:
                execution.stop(error, None)
            self.store.fail_open_jobs(arn, "Job stopped: the local runner exited")
        return marked

    # -- integrations -------------------------------------------------------------------------

    def integrations(self, scope: str, identity: TaskIdentity, arn: str) -> dict[str, Integration]:
        """The services for the execution ``arn``; calls from its distributed Map children come here too."""
        services: dict[str, Integration] = {
            "batch:submitJob": self._submit_job, "lambda:invoke": self.lambda_,
            "sns:publish": self.forward or self.outbox,
            "aws-sdk:sfn:listExecutions": list_executions(self.store),  # the overlap guard (compiler.overlap)
            # The failure path's read of the failed attempt's last log lines.
            "aws-sdk:cloudwatchlogs:getLogEvents": self.logs.call,
            # Everything else (sqs, dynamodb, events, aws-sdk:*, activities): a mock answers a
            # mocked state whatever its resource; an unmocked call goes to the forwarding
            # endpoint when one is set, else fails as AWS does without permissions.
            "*": self.forward or _unanswered}
        if self.mock is not None:  # a mocked activity needs no worker (an unmocked one still has none)
            services["activity"] = _unanswered
        wrapped = {key: self._wrap(key, service, scope, identity, arn) for key, service in services.items()}
        wrapped["states:startExecution"] = self._wrap("states:startExecution", None, scope, identity, arn)
        return wrapped

    def _wrap(self, key: str, service: Integration | None, scope: str, identity: TaskIdentity,
              arn: str) -> Integration:
        # An alert reached again on redrive is sent again; a callback task waits for its token again.
        # The failure path's log read is made again too: a redriven attempt has a log of its own.
        replay = key not in ("sns:publish", "aws-sdk:cloudwatchlogs:getLogEvents")

        def integration(call: TaskCall) -> Any:
            # No task starts before the results of those completed ahead of it are on disk (the
            # fsync ran while the engine recorded the events in between; see ``store``).
            self.store.sync_results()
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
                # Never sent to the service; stored like any result, so a redrive keeps the mock's answer.
                try:
                    result = self.mock.answer(call)
                except (TaskFailure, StatesError):
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

    def store_row(self, machine: str, input: Any, *, name: str, scope: str, parent_arn: str | None,
                  redrive: ExecutionRow | None = None) -> tuple[str, int, str | None]:
        """Store the execution's row as RUNNING (or restart it for a redrive), before it runs.

        Returns (execution ARN, event id offset, runner start) for ``run_execution(prepared=)``;
        a caller that must answer with a stored execution (StartExecution) does this first.
        """
        sm_arn = arns.state_machine(machine)
        arn = arns.execution(sm_arn, name)
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
        return arn, offset, runner_start

    def run_execution(self, machine: str, input: Any, *, name: str, scope: str, parent_arn: str | None,
                      cancel: threading.Event | None = None, redrive: ExecutionRow | None = None,
                      started: Callable[[str], None] | None = None,
                      prepared: tuple[str, int, str | None] | None = None) -> ExecutionResult:
        """Run one state machine of the plan to its end, persisting as it goes.

        ``prepared`` is what ``store_row`` returned when the row was stored beforehand.
        """
        definition = self.plan["definitions"][machine]
        sm_arn = arns.state_machine(machine)
        arn, offset, runner_start = prepared or self.store_row(machine, input, name=name, scope=scope,
                                                               parent_arn=parent_arn, redrive=redrive)
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
            with self._events_lock:
                if self._detached:
                    return
                self.store.append_event(arn, stored, offset=offset)
            kind = str(stored.get("type"))
            if kind in _CHILD_END:
                # The row ends with its terminal event, on the engine's thread, so a caller polling
                # DescribeExecution sees the end without waiting for this run's thread to wake up
                # (it writes the same values again when it does).
                details = stored.get(f"{kind[0].lower()}{kind[1:]}EventDetails") or {}
                raw_output = details.get("output")
                self._finish_row(arn, status=_CHILD_END[kind],
                                 output=json.loads(raw_output) if isinstance(raw_output, str) else None,
                                 error=details.get("error"), cause=details.get("cause"))
            if self._on_event is not None:
                self._on_event(arn, stored)

        def on_child_event(child_arn: str, event: Mapping[str, Any]) -> None:
            self._child_event(child_arn, event, parent_arn=arn, scope=scope, runner_start=runner_start)

        execution = start(definition, input, virtual_time=self.virtual_time,
                          integrations=self.integrations(scope, identity, arn), on_event=on_event,
                          on_child_event=on_child_event, execution_name=name, state_machine_arn=sm_arn,
                          wait_time_scale=self.wait_time_scale)
        with self._lock:
            self._live[arn] = execution
            pending_stop = self._stops.pop(arn, None)
        if pending_stop is not None:
            execution.stop(*pending_stop)
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
            # The engine stops waiting for a cancelled task at once; its job's processes are
            # killed on the task's own thread. The runner returns (and may exit) once they are.
            with self._lock:
                batch = self._batch
            if batch is not None:
                batch.wait_cancelled(batch.stop_seconds)
            self.store.finish_execution(arn, status=result.status, output=None, error=result.error,
                                        cause=result.cause, stop_date=_now_iso())
            raise Interrupted(f"Interrupted: execution {name!r} is ABORTED; `orchestrator redrive {name}` "
                              "finishes it without re-running completed tasks.") from None
        except BaseException:
            self._finish_row(arn, status="FAILED", output=None, error="States.Runtime",
                             cause="Internal error in the local runner")
            raise
        finally:
            with self._lock:
                self._live.pop(arn, None)
        self._finish_row(arn, status=result.status, output=result.output, error=result.error, cause=result.cause)
        return result

    def _finish_row(self, arn: str, *, status: str, output: Any, error: str | None, cause: str | None) -> None:
        with self._events_lock:
            if not self._detached:
                self.store.finish_execution(arn, status=status, output=output, error=error, cause=cause,
                                            stop_date=_now_iso())

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
            arn = arns.execution(arns.state_machine(machine), name)
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
    for a in [arn] + [c.arn for c in store.children(arn)]:
        for job in store.jobs(a):
            logs.setdefault(job["state_name"] or job["job_name"], []).extend(job["log_paths"])
        for inv in store.invocations(a):
            if inv["log_path"]:
                paths = logs.setdefault(inv["state_name"] or inv["function_name"], [])
                if inv["log_path"] not in paths:
                    paths.append(inv["log_path"])
    return logs


def _load(wf: WorkflowLike | str | os.PathLike[str]) -> model.Workflow:
    if not isinstance(wf, (str, os.PathLike)):
        return workflow_model(wf, where="run_workflow()", usage="run_workflow({})")
    from orchestrator import spec

    loaded: model.Workflow = spec.load(wf)
    return loaded


def select_test_case(mock_config: MockConfig | str | os.PathLike[str] | None, test_case: str | None,
                     plan: Mapping[str, Any]) -> MockCase | None:
    """The test case for one execution of ``plan``'s main state machine (None without a mock config).

    Every state the case mocks must be a Task state of the plan: a typo would otherwise let the
    real task run, which a mocked test must never do.
    """
    if mock_config is None:
        if test_case is not None:
            raise OrchestratorError("A test case needs a mock config: pass --mock-config FILE with --test-case "
                                    "(or set SFN_MOCK_CONFIG=FILE).")
        return None
    from orchestrator.local.mocks import MockConfig, MockConfigError

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
            f"(Task states: {', '.join(known) or 'none'}); correct the state name in "
            f"StateMachines.{case.state_machine}.TestCases.{test_case}.")
    return case


def run_workflow(wf: WorkflowLike | str | os.PathLike[str], input: Any = None, *,
                 home: str | os.PathLike[str] | None = None,
                 mock_config: MockConfig | str | os.PathLike[str] | None = None,
                 test_case: str | None = None, progress: bool = False, virtual_time: bool = False,
                 name: str | None = None, compute: list[ComputeEnvironment] | None = None,
                 notice: Callable[[str], None] | None = None,
                 scheduled_time: str | datetime | None = None, lambda_: LocalLambda | None = None) -> RunResult:
    """Validate, compile and run a workflow (the builder, the model, or a file) here; the execution
    is stored under ``home``.

    The input (an object) carries ``scheduled_time`` (contract 5): ``scheduled_time`` when given
    (the local scheduler and ``backfill`` pass the fire time), else the one the input has, else
    the start time. ISO-8601 text with a zone or an aware datetime; stored as UTC ``...Z``.

    The workflow's Lambda zygotes are started before it is compiled, so they import its modules
    meanwhile. ``lambda_`` is one the caller started earlier still (``start_lambda`` with the
    workflow's ``plan_functions``, as ``orchestrator run`` does before importing the engine); the
    run is then stored in its store, and the caller closes it.
    """
    workflow = _load(wf)
    input = with_scheduled_time(input, scheduled_time)
    owned = lambda_ is None
    store = Store(home) if lambda_ is None else lambda_.store
    local = lambda_ or start_lambda(store, plan_functions(workflow), os.getcwd())
    try:
        key = plan_key(workflow, os.getcwd())
        plan = cached_plan(store, workflow, os.getcwd(), key=key)
        mock = select_test_case(mock_config, test_case, plan)
        execution_name = name or f"{workflow.name}-{datetime.now(UTC).strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:6]}"
        return _drive(store, plan, input, execution_name=execution_name, redrive=None, mock=mock, progress=progress,
                      virtual_time=virtual_time, compute=compute, notice=notice, lambda_=local, plan_key=key)
    finally:
        if owned:
            local.close()


def run_plan(plan: Mapping[str, Any], input: Any = None, *, home: str | os.PathLike[str] | None = None,
             name: str | None = None, mock: Mocks | None = None, progress: bool = False,
             virtual_time: bool = False, compute: list[ComputeEnvironment] | None = None,
             notice: Callable[[str], None] | None = None,
             scheduled_time: str | datetime | None = None) -> RunResult:
    """Run an already built plan (``build_plan``): hand-written definitions, tests, benchmarks.

    ``scheduled_time`` (ISO-8601 with a zone, or an aware datetime) is put in the input as in
    :func:`run_workflow`; without it the input is passed as it is (a plain ASL definition sees
    exactly what it was given; a compiled workflow's first state fills in its start time).
    """
    if scheduled_time is not None:
        input = with_scheduled_time(input, scheduled_time)
    execution_name = name or f"{plan['workflow']}-{uuid.uuid4().hex[:12]}"
    return _drive(Store(home), plan, input, execution_name=execution_name, redrive=None, mock=mock,
                  progress=progress, virtual_time=virtual_time, compute=compute, notice=notice)


def _drive(store: Store, plan: Mapping[str, Any], input: Any, *, execution_name: str,
           redrive: ExecutionRow | None, mock: Mocks | None, progress: bool, virtual_time: bool,
           compute: list[ComputeEnvironment] | None, notice: Callable[[str], None] | None,
           lambda_: LocalLambda | None = None, plan_key: str | None = None) -> RunResult:
    view = None
    if progress:
        from orchestrator.local.progress import ProgressView

        view = ProgressView(plan)
    redrive_count = 0 if redrive is None else redrive.redrive_count + 1
    run = LocalRun(store, plan, redrive_count=redrive_count, mock=mock, virtual_time=virtual_time,
                   on_event=view.on_event if view else None, on_job=view.on_job if view else None,
                   notice=(view.notice if view else notice), compute=compute,
                   on_reuse=view.on_reuse if view else None, lambda_=lambda_)
    resumed = run.outbox.redeliver()
    if resumed:
        run.notice(f"[sns] resuming {len(resumed)} delivery(ies) an earlier runner left unfinished")
    if plan_key is None:
        register_plan(store, plan)
    else:
        register_kept_plan(store, plan_key, plan)
    try:
        with view if view is not None else contextlib.nullcontext():
            return _run_main(run, input, execution_name=execution_name, redrive=redrive)
    finally:
        run.close()


def _alert_ended(run: LocalRun, arn: str, name: str, status: str) -> None:
    """What the EventBridge rule of the CDK stack sends on AWS for TIMED_OUT and ABORTED."""
    from orchestrator.compiler.alerts import ended_alert

    subject, message = ended_alert(str(run.plan["workflow"]), status=status, name=name, execution=arn,
                                   region=arns.REGION, timeout=run.plan.get("timeout"))
    run.outbox.publish({"TopicArn": local_arn(placeholders.ALERT_TOPIC, str(run.plan["workflow"])),
                        "Subject": subject, "Message": message,
                        "MessageAttributes": {"event": {"DataType": "String", "StringValue": status.lower()}}},
                       execution_arn=arn)


def _main_scope(plan: Mapping[str, Any], execution_name: str, redrive: ExecutionRow | None) -> str:
    return redrive.scope if redrive is not None else f"{plan['main']}:{execution_name}"


def _run_main(run: LocalRun, input: Any, *, execution_name: str, redrive: ExecutionRow | None,
              prepared: tuple[str, int, str | None] | None = None) -> RunResult:
    store, plan = run.store, run.plan
    main = str(plan["main"])
    result = run.run_execution(main, input, name=execution_name, scope=_main_scope(plan, execution_name, redrive),
                               parent_arn=None, redrive=redrive, prepared=prepared)
    arn = result.execution_arn
    if result.status in ("TIMED_OUT", "ABORTED") and plan.get("alert_ended"):
        _alert_ended(run, arn, execution_name, result.status)
    return RunResult(execution_arn=arn, name=execution_name, status=result.status, output=result.output,
                     error=result.error, cause=result.cause, home=store.home, redrive_count=run.redrive_count,
                     reused=tuple(run.reused), mocked=tuple(run.mocked), _store=store)


# -- in the background (orchestrator serve) ----------------------------------------------------


class BackgroundRun:
    """An execution tree running on its own thread: ``stop`` it, ``wait`` for its result.

    What ``orchestrator serve`` starts: StartExecution returns as soon as the execution's row
    is stored, and DescribeExecution reads the store while it runs.
    """

    def __init__(self, run: LocalRun, input: Any, *, execution_name: str, redrive: ExecutionRow | None,
                 on_end: Callable[[BackgroundRun], None] | None = None) -> None:
        self.run = run
        self.result: RunResult | None = None
        self.error: BaseException | None = None
        self._done = threading.Event()
        self._on_end = on_end
        # The row is stored here, on the caller's thread, so the execution can be described as
        # soon as this returns; the thread only runs it.
        prepared = run.store_row(str(run.plan["main"]), input, name=execution_name, parent_arn=None,
                                 scope=_main_scope(run.plan, execution_name, redrive), redrive=redrive)
        self.arn = prepared[0]

        def body() -> None:
            try:
                self.result = _run_main(run, input, execution_name=execution_name, redrive=redrive,
                                        prepared=prepared)
            except BaseException as exc:  # an engine bug: kept for wait(), the row is already FAILED
                self.error = exc
            finally:
                try:
                    run.close()
                finally:
                    self._done.set()
                    if self._on_end is not None:
                        self._on_end(self)

        self._thread = threading.Thread(target=body, name=f"execution-{execution_name}", daemon=True)
        self._thread.start()

    def stop(self, error: str | None, cause: str | None) -> None:
        self.run.stop(self.arn, error, cause)

    def wait(self, timeout: float | None = None) -> RunResult | None:
        """The result once the execution ended (None if ``timeout`` passed first)."""
        if not self._done.wait(timeout):
            return None
        if self.error is not None:
            raise self.error
        return self.result

    @property
    def done(self) -> bool:
        return self._done.is_set()


def start_plan(store: Store, plan: Mapping[str, Any], input: Any = None, *, name: str,
               mock: Mocks | None = None, redrive: ExecutionRow | None = None,
               capacity: Capacity | None = None, virtual_time: bool = False,
               notice: Callable[[str], None] | None = None,
               on_end: Callable[[BackgroundRun], None] | None = None,
               lambda_: LocalLambda | None = None) -> BackgroundRun:
    """Start (or redrive) the plan's main state machine in the background; returns once it is stored.

    ``capacity`` is the local Batch capacity to share with every other run of the process, and
    ``lambda_`` a local Lambda (``plan_lambda``) to share with the other runs of the same plan.

        >>> import tempfile
        >>> plan = plain_plan("hello", {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})
        >>> handle = start_plan(Store(tempfile.mkdtemp()), plan, {"a": 1}, name="first")
        >>> handle.wait(10).output
        {'a': 1}
    """
    redrive_count = 0 if redrive is None else redrive.redrive_count + 1
    run = LocalRun(store, plan, redrive_count=redrive_count, mock=mock, virtual_time=virtual_time,
                   notice=notice, capacity=capacity, lambda_=lambda_)
    return BackgroundRun(run, input, execution_name=name, redrive=redrive, on_end=on_end)


def state_machine_arn(name: str) -> str:
    """The ARN of a local state machine (what ``states:startExecution`` and the API name it by).

        >>> state_machine_arn("wf")
        'arn:aws:states:us-east-1:123456789012:stateMachine:wf'
    """
    return arns.state_machine(name)


def register_plan(store: Store, plan: Mapping[str, Any], *, machine_type: str = "STANDARD") -> list[StateMachineRow]:
    """Create or update the state machine of every definition in ``plan`` (the API then lists them).

    Each is stored with the plan it runs under (its own name as ``main``), so a child machine can be
    started on its own too. An unchanged definition keeps its revision; a changed one gets a new
    revision and ``update_date``, as UpdateStateMachine would.
    """
    rows = []
    for name, definition in plan["definitions"].items():
        arn = state_machine_arn(name)
        text = json.dumps(definition, indent=2)
        own_plan = {**plan, "main": name}
        existing = store.state_machine(arn)
        if existing is not None and existing.definition == text and existing.plan == own_plan:
            rows.append(existing)
            continue
        now = _now_iso()
        row = StateMachineRow(
            arn=arn, name=name, type=existing.type if existing else machine_type, definition=text,
            role_arn=existing.role_arn if existing else LOCAL_ROLE_ARN,
            creation_date=existing.creation_date if existing else now, revision_id=uuid.uuid4().hex,
            description=existing.description if existing else None,
            logging=existing.logging if existing else None, tracing=existing.tracing if existing else None,
            update_date=now if existing else None, workflow=str(plan["workflow"]), plan=own_plan)
        store.put_state_machine(row)
        rows.append(row)
    return rows


def register_kept_plan(store: Store, key: str, plan: Mapping[str, Any]) -> None:
    """``register_plan`` for the plan ``cached_plan`` keeps under ``key``, skipped when its state
    machines are still the revisions it last registered (nothing wrote them since).

    Comparing a large plan with its stored rows reads and parses each machine's plan and renders
    its definition (~0.7 s for a 1,000-task workflow); every writer of a state machine gives it
    a new revision id, so an unchanged id says the row is what this plan registered.
    """
    arns = [state_machine_arn(name) for name in plan["definitions"]]
    recorded = store.registered_revisions(key)
    if recorded and store.state_machine_revisions(arns) == recorded and set(recorded) == set(arns):
        return
    rows = register_plan(store, plan)
    store.record_registered(key, {row.arn: row.revision_id for row in rows})


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


def check_redrivable(store: Store, row: ExecutionRow) -> None:
    """Raise ``RedriveError`` unless ``row`` can be redriven; points its plan at its directory."""
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


def redrive_execution(execution: str, *, home: str | os.PathLike[str] | None = None, progress: bool = False,
                      compute: list[ComputeEnvironment] | None = None,
                      notice: Callable[[str], None] | None = None) -> RunResult:
    """Redrive a FAILED, TIMED_OUT or ABORTED execution (or one whose runner died) to its end."""
    store = Store(home)
    reconcile(store)
    row = store.resolve(execution)
    check_redrivable(store, row)
    return _drive(store, row.plan, row.input, execution_name=row.name, redrive=row, mock=None,
                  progress=progress, virtual_time=False, compute=compute, notice=notice)
