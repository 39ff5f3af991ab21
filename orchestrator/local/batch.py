"""Local AWS Batch: queues with priorities, compute environments with capacity, real processes.

A submitted job goes SUBMITTED → PENDING (until its ``DependsOn`` jobs finish) → RUNNABLE (until
its vCPUs and memory fit in a compute environment of its queue, tried in order; higher-priority
queues are placed first) → STARTING → RUNNING → SUCCEEDED | FAILED, with AWS's status reasons.
Each attempt runs the job's command in its container when a Docker engine answers and the image
can be had (see ``images``: ``ORCHESTRATOR_CONTAINERS=auto|always|never``), else as a host
process in the project directory, in its own session so a timeout (``attemptDurationSeconds``)
kills the whole process tree. ``retryStrategy.evaluateOnExit`` decides RETRY or EXIT per attempt.
Array jobs run their children in parallel; the parent fails if any child fails.

Capacity is this machine (``os.cpu_count()`` vCPUs, physical memory) unless
``ORCHESTRATOR_LOCAL_VCPUS`` / ``ORCHESTRATOR_LOCAL_MEMORY`` (MiB) say otherwise.

The ``.sync`` result is the DescribeJobs job as Step Functions returns it (PascalCase keys: Step
Functions' optimized integrations capitalise SDK fields), so a compiled ResultSelector works
unchanged; a failed job is ``TaskFailure("States.TaskFailed", <that JSON>)``, as on AWS.

    >>> import tempfile
    >>> from orchestrator.local.store import Store
    >>> batch = LocalBatch(Store(tempfile.mkdtemp()), {"noop": JobDefinition(name="noop", command=("true",))},
    ...                    use_docker=False)
    >>> batch.run_job({"JobName": "n", "JobQueue": "default", "JobDefinition": "noop"})["Status"]
    'SUCCEEDED'
"""

from __future__ import annotations

import contextlib
import fnmatch
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from orchestrator import arns
from orchestrator.arns import IntegrationPattern
from orchestrator.engine.integrations import TaskCall, TaskFailure
from orchestrator.local.images import CONTAINERS_ENV, ContainerMode, ImageBuildSpec, Images, container_mode
from orchestrator.local.procs import JOB_TOKEN_ENV, Launcher, kill_group, kill_marked, wait_exit
from orchestrator.local.store import Store

DEFAULT_QUEUE = "default"
DEFAULT_CE = "local"
TIMEOUT_GRACE_SECONDS = 2.0  # SIGTERM, then SIGKILL this much later (AWS gives ECS's stopTimeout)

# AWS Batch's status reasons, verbatim.
REASON_EXITED = "Essential container in task exited"
REASON_TIMEOUT = "Job attempt duration exceeded timeout"
REASON_DEPENDENCY = "Dependent Job failed"
REASON_START = "Task failed to start"
REASON_TOO_BIG = ("MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT - The job resource requirement (vCPU/memory/GPU)"
                  " is higher than that can be met by the CE(s) attached to the job queue.")
REASON_CANCELLED = "Terminated by Step Functions: the execution stopped waiting for this job"
REASON_ARRAY_CHILD = "Array Child Job failed"


def now_ms() -> int:
    return int(time.time() * 1000)


@dataclass(frozen=True, slots=True, kw_only=True)
class JobDefinition:
    """What a job definition placeholder means locally (built from the workflow's BatchJob)."""

    name: str
    image: str = ""
    command: tuple[str, ...] = ()
    vcpus: float = 1.0
    memory: int = 2048
    environment: Mapping[str, str] = field(default_factory=dict)
    timeout: int | None = None
    # retryStrategy, used when SubmitJob sets none (the compiled states leave it to the definition).
    retry_attempts: int = 1
    evaluate_on_exit: tuple[Mapping[str, str], ...] = ()
    # Secret environment variables: locally their values come from the runner's own environment
    # (no Secrets Manager / SSM here); a container gets them passed through by name.
    secrets: tuple[str, ...] = ()
    # Build the image from the project's Dockerfile when containers are used (``images``).
    build: ImageBuildSpec | None = None

    @property
    def retry_strategy(self) -> dict[str, Any]:
        """The definition's retryStrategy in SubmitJob's shape (empty: none)."""
        if self.retry_attempts <= 1 and not self.evaluate_on_exit:
            return {}
        strategy: dict[str, Any] = {"Attempts": self.retry_attempts}
        if self.evaluate_on_exit:
            strategy["EvaluateOnExit"] = [dict(rule) for rule in self.evaluate_on_exit]
        return strategy

    @property
    def arn(self) -> str:
        return arns.job_definition(self.name)


@dataclass(slots=True)
class ComputeEnvironment:
    name: str
    vcpus: float
    memory: int
    used_vcpus: float = 0.0
    used_memory: int = 0

    def fits(self, vcpus: float, memory: int) -> bool:
        return self.used_vcpus + vcpus <= self.vcpus + 1e-9 and self.used_memory + memory <= self.memory


@dataclass(frozen=True, slots=True, kw_only=True)
class JobQueue:
    """A job queue: higher ``priority`` is placed first; ``max_vcpus`` caps what its jobs use at once
    (on AWS the cap is the compute environments' maxvCpus; one local machine stands in for them)."""

    name: str
    priority: int = 1
    compute_environments: tuple[str, ...] = (DEFAULT_CE,)
    max_vcpus: float | None = None

    @property
    def arn(self) -> str:
        return arns.job_queue(self.name)


def physical_memory_mib() -> int:
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // (1024 * 1024))
    except (ValueError, OSError, AttributeError):
        return 8192


VCPUS_ENV = "ORCHESTRATOR_LOCAL_VCPUS"
MEMORY_ENV = "ORCHESTRATOR_LOCAL_MEMORY"  # MiB


def default_compute() -> list[ComputeEnvironment]:
    """This machine as one compute environment: its CPUs and physical memory (env overrides them)."""
    vcpus = float(os.environ.get(VCPUS_ENV) or os.cpu_count() or 1)
    memory = int(os.environ.get(MEMORY_ENV) or physical_memory_mib())
    return [ComputeEnvironment(DEFAULT_CE, vcpus, memory)]


def name_from_arn(value: str, marker: str) -> str:
    """``arn:...:job-queue/nightly`` → ``nightly``; ``job-definition/x:3`` → ``x``; a bare name as is."""
    if marker in value:
        value = value.split(marker, 1)[1]
    elif value.startswith("arn:"):
        value = value.rsplit("/", 1)[-1]
    return value.split(":", 1)[0] if marker == "job-definition/" else value


def docker_command(*, image: str, command: list[str], env: Mapping[str, str], vcpus: float, memory: int,
                   cwd: str, container: str, secrets: tuple[str, ...] = ()) -> list[str]:
    """The ``docker run`` line for one attempt: the project directory mounted as the work dir.

    Secrets are passed by name only (``-e NAME``: Docker copies the value from this environment),
    so their values never appear in a command line or the job description.
    """
    args = ["docker", "run", "--rm", "--name", container, "--cpus", f"{vcpus:g}", "--memory", f"{memory}m",
            "-v", f"{cwd}:{cwd}", "-w", cwd]
    for key, value in env.items():
        args += ["-e", f"{key}={value}"]
    for name in secrets:
        args += ["-e", name]
    return [*args, image, *command]


def _glob(pattern: str | None, value: str) -> bool:
    """Batch's evaluateOnExit patterns: exact text or a prefix ending in ``*``."""
    return pattern is None or fnmatch.fnmatchcase(value, pattern)


def retry_decision(strategy: Mapping[str, Any], *, exit_code: int | None, reason: str,
                   status_reason: str) -> str:
    """RETRY or EXIT for a failed attempt; with no matching evaluateOnExit entry Batch retries."""
    for rule in strategy.get("EvaluateOnExit") or ():
        if (_glob(rule.get("OnExitCode"), "" if exit_code is None else str(exit_code))
                and _glob(rule.get("OnReason"), reason)
                and _glob(rule.get("OnStatusReason"), status_reason)):
            return str(rule.get("Action", "RETRY")).upper()
    return "RETRY"


@dataclass(slots=True)
class _Ticket:
    priority: int
    seq: int
    vcpus: float
    memory: int
    queue: JobQueue
    granted: threading.Event = field(default_factory=threading.Event)
    ce: ComputeEnvironment | None = None


class Capacity:
    """The vCPUs and memory jobs are placed on, and the jobs waiting for them (RUNNABLE).

    One ``Capacity`` can back several ``LocalBatch`` instances (each with its own job
    definitions), so everything one process runs — every execution ``orchestrator serve``
    starts — shares one machine's capacity, as the jobs of one AWS account share its compute
    environments.

        >>> capacity = Capacity([ComputeEnvironment("local", 2, 4096)])
        >>> [ce.vcpus for ce in capacity.compute]
        [2]
    """

    def __init__(self, compute: list[ComputeEnvironment] | None = None) -> None:
        self.compute = compute or default_compute()
        self.by_name = {ce.name: ce for ce in self.compute}
        self.lock = threading.Condition()
        self.tickets: list[_Ticket] = []
        self.seq = 0
        self.queue_vcpus: dict[str, float] = {}


@dataclass(slots=True)
class _Job:
    """A job (or one array child) while it lives; ``describe()`` renders the DescribeJobs shape."""

    job_id: str
    name: str
    queue: JobQueue
    definition: JobDefinition
    command: list[str]
    environment: dict[str, str]
    vcpus: float
    memory: int
    attempts_allowed: int
    strategy: dict[str, Any]
    timeout: int | None
    tags: dict[str, Any]
    depends_on: list[dict[str, Any]]
    execution_arn: str | None
    state_name: str | None
    task_attempt: int | None = None  # which attempt of its Task state submitted it (1 = first)
    array_size: int | None = None
    array_index: int | None = None
    status: str = "SUBMITTED"
    status_reason: str | None = None
    created_at: int = field(default_factory=now_ms)
    started_at: int | None = None
    stopped_at: int | None = None
    attempts: list[dict[str, Any]] = field(default_factory=list)
    exit_code: int | None = None
    log_stream: str | None = None
    task_arn: str | None = None
    log_paths: list[str] = field(default_factory=list)
    children: list[_Job] = field(default_factory=list)
    done: threading.Event = field(default_factory=threading.Event)
    # The last description stored (the job's last status change), which is what the ``.sync``
    # call returns once the job is done; None until one was stored, and again after any change.
    described: dict[str, Any] | None = None

    @property
    def arn(self) -> str:
        return arns.batch_job(self.job_id)

    def describe(self) -> dict[str, Any]:
        container: dict[str, Any] = {
            "Image": self.definition.image, "Command": self.command,
            "Environment": [{"Name": k, "Value": v} for k, v in self.environment.items()],
            "ResourceRequirements": [{"Type": "VCPU", "Value": f"{self.vcpus:g}"},
                                     {"Type": "MEMORY", "Value": str(self.memory)}],
            "Volumes": [], "MountPoints": [], "Ulimits": [], "Secrets": [], "NetworkInterfaces": []}
        if self.exit_code is not None:
            container["ExitCode"] = self.exit_code
        if self.log_stream is not None:
            container["LogStreamName"] = self.log_stream
        if self.task_arn is not None:
            container["TaskArn"] = self.task_arn
        job: dict[str, Any] = {
            "JobArn": self.arn, "JobName": self.name, "JobId": self.job_id, "JobQueue": self.queue.arn,
            "Status": self.status, "Attempts": list(self.attempts), "CreatedAt": self.created_at,
            "RetryStrategy": {"Attempts": self.attempts_allowed, **(
                {"EvaluateOnExit": self.strategy["EvaluateOnExit"]} if self.strategy.get("EvaluateOnExit")
                else {})},
            "DependsOn": self.depends_on, "JobDefinition": self.definition.arn, "Parameters": {},
            "Container": container, "Tags": self.tags, "PropagateTags": False,
            "PlatformCapabilities": ["FARGATE"]}
        if self.status_reason is not None:
            job["StatusReason"] = self.status_reason
        if self.started_at is not None:
            job["StartedAt"] = self.started_at
        if self.stopped_at is not None:
            job["StoppedAt"] = self.stopped_at
        if self.timeout is not None:
            job["Timeout"] = {"AttemptDurationSeconds": self.timeout}
        if self.array_size is not None:
            summary: dict[str, int] = {}
            for child in self.children:
                summary[child.status] = summary.get(child.status, 0) + 1
            job["ArrayProperties"] = {"Size": self.array_size, "StatusSummary": summary}
        if self.array_index is not None:
            job["ArrayProperties"] = {"Index": self.array_index}
        return job


JobListener = Callable[[dict[str, Any], str | None, str | None], None]


class LocalBatch:
    """The ``batch:submitJob`` integration, backed by processes on this machine."""

    def __init__(self, store: Store, job_definitions: Mapping[str, JobDefinition], *,
                 queues: list[JobQueue] | None = None, compute: list[ComputeEnvironment] | None = None,
                 cwd: str | None = None, use_docker: bool | None = None,
                 notice: Callable[[str], None] | None = None, on_job: JobListener | None = None,
                 launcher: Launcher | None = None, timeout_grace: float = TIMEOUT_GRACE_SECONDS,
                 process_env: Mapping[str, str] | None = None, capacity: Capacity | None = None) -> None:
        self.store = store
        self.definitions = dict(job_definitions)
        self._capacity = capacity or Capacity(compute)
        self.compute = self._capacity.compute
        self._ce_by_name = self._capacity.by_name
        all_ce = tuple(ce.name for ce in self.compute)
        self.queues: dict[str, JobQueue] = {DEFAULT_QUEUE: JobQueue(name=DEFAULT_QUEUE, compute_environments=all_ce)}
        for q in queues or ():
            self.queues[q.name] = q
        self.cwd = cwd or os.getcwd()
        # ``use_docker`` (tests, embedders) overrides the one setting, ORCHESTRATOR_CONTAINERS.
        self._mode = (container_mode() if use_docker is None
                      else ContainerMode.ALWAYS if use_docker else ContainerMode.NEVER)
        self._notice = notice or (lambda text: print(text, file=sys.stderr))
        self._noticed: set[str] = set()
        self._on_job = on_job
        self._launcher = launcher or Launcher.shared()
        self._grace = timeout_grace
        # Local plumbing for the processes (ORCHESTRATOR_HOME), kept out of the job's description.
        self._process_env = dict(process_env or {})
        self._lock = threading.Condition()
        self._jobs: dict[str, _Job] = {}
        # The ``.sync`` calls in progress, each with its cancel event: a stopped run waits for
        # those it cancelled (``wait_cancelled``) so no job outlives the runner's Ctrl-C.
        self._sync_calls: dict[object, threading.Event] = {}
        self._array_pool = ThreadPoolExecutor(max_workers=64, thread_name_prefix="batch-array")
        self.log_root = store.logs_dir / "batch"
        self.images = Images(self.cwd, store.logs_dir / "builds")

    @property
    def stop_seconds(self) -> float:
        """How long stopping a running job can take: the 50 ms poll, SIGTERM and the grace
        period, then SIGKILL and reaping (a margin for a loaded machine)."""
        return self._grace + 5.0

    def close(self) -> None:
        """Release the array-child threads (jobs still running keep running until they end)."""
        self._array_pool.shutdown(wait=False)

    # -- the integration ----------------------------------------------------------------------

    def __call__(self, call: TaskCall) -> Any:
        params = call.parameters if isinstance(call.parameters, Mapping) else {}
        if call.pattern is not IntegrationPattern.SYNC:
            job = self._create(params, call.execution_arn, call.state_name, call.attempt + 1)
            threading.Thread(target=self._run, args=(job, threading.Event()), daemon=True,
                             name=f"batch-{job.job_id}").start()
            return {"JobArn": job.arn, "JobId": job.job_id, "JobName": job.name}
        # Registered before the job exists, so a stop that comes while it is created waits for it too.
        key = object()
        with self._lock:
            self._sync_calls[key] = call.cancel
        try:
            job = self._create(params, call.execution_arn, call.state_name, call.attempt + 1, sync=True)
            self._run(job, call.cancel)
        finally:
            with self._lock:
                del self._sync_calls[key]
                self._lock.notify_all()
        described = job.described if job.described is not None else job.describe()
        if job.status != "SUCCEEDED":
            raise TaskFailure("States.TaskFailed", json.dumps(described, separators=(",", ":")))
        return described

    def wait_cancelled(self, timeout: float) -> bool:
        """Wait until every ``.sync`` call cancelled so far has returned (its job's processes killed
        and reaped: SIGTERM, the grace period, SIGKILL); False if one still ran after ``timeout``."""
        deadline = time.monotonic() + timeout
        with self._lock:
            pending = {key for key, cancel in self._sync_calls.items() if cancel.is_set()}
            while pending & self._sync_calls.keys():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._lock.wait(remaining)
        return True

    def run_job(self, params: Mapping[str, Any], cancel: threading.Event | None = None) -> dict[str, Any]:
        """Submit and wait; the DescribeJobs shape (for tests and tools)."""
        job = self._create(params, None, None)
        self._run(job, cancel or threading.Event())
        return job.describe()

    # -- submission ---------------------------------------------------------------------------

    def _definition(self, ref: str) -> JobDefinition:
        name = name_from_arn(ref, "job-definition/")
        definition = self.definitions.get(name) or self.definitions.get(ref)
        if definition is None:
            known = ", ".join(sorted(self.definitions)) or "none"
            raise TaskFailure(
                "Batch.ClientException",
                f"Job definition {ref!r} does not exist locally (known: {known}). (Service: AWSBatch; "
                "Status Code: 400; Error Code: ClientException)")
        return definition

    def _create(self, params: Mapping[str, Any], execution_arn: str | None, state_name: str | None,
                task_attempt: int | None = None, *, sync: bool = False) -> _Job:
        """The job, SUBMITTED. Its row is stored unless the job goes on at once on this thread
        (``sync``, no dependencies, not an array): RUNNABLE follows microseconds later."""
        definition = self._definition(str(params.get("JobDefinition", "")))
        queue_name = name_from_arn(str(params.get("JobQueue") or DEFAULT_QUEUE), "job-queue/")
        queue = self.queues.get(queue_name)
        if queue is None:  # a queue the workflow uses without declaring it: AWS's defaults
            default = self.queues[DEFAULT_QUEUE]
            queue = self.queues.setdefault(queue_name, JobQueue(
                name=queue_name, compute_environments=default.compute_environments))
        overrides = params.get("ContainerOverrides") or {}
        command = [str(c) for c in (overrides.get("Command") or definition.command)]
        substitutions = {str(k): str(v) for k, v in (params.get("Parameters") or {}).items()}
        command = [_ref(c, substitutions) for c in command]
        environment = dict(definition.environment)
        for item in overrides.get("Environment") or ():
            environment[str(item["Name"])] = str(item.get("Value", ""))
        vcpus, memory = definition.vcpus, definition.memory
        for req in overrides.get("ResourceRequirements") or ():
            if req.get("Type") == "VCPU":
                vcpus = float(req["Value"])
            elif req.get("Type") == "MEMORY":
                memory = int(req["Value"])
        # SubmitJob's retryStrategy replaces the job definition's, as on AWS.
        strategy = dict(params.get("RetryStrategy") or {}) or definition.retry_strategy
        attempts = int(strategy.get("Attempts") or definition.retry_attempts or 1)
        timeout_spec = params.get("Timeout") or {}
        timeout = timeout_spec.get("AttemptDurationSeconds", definition.timeout)
        array = (params.get("ArrayProperties") or {}).get("Size")
        job = _Job(job_id=str(uuid.uuid4()), name=str(params.get("JobName") or definition.name), queue=queue,
                   definition=definition, command=command, environment=environment, vcpus=vcpus,
                   memory=memory, attempts_allowed=attempts, strategy=strategy,
                   timeout=None if timeout is None else int(timeout), tags=dict(params.get("Tags") or {}),
                   depends_on=list(params.get("DependsOn") or []), execution_arn=execution_arn,
                   state_name=state_name, task_attempt=task_attempt,
                   array_size=None if array is None else int(array))
        with self._lock:
            self._jobs[job.job_id] = job
        self._update(job, store=not sync or bool(job.depends_on) or job.array_size is not None)
        return job

    def describe_job(self, job_id: str) -> dict[str, Any]:
        with self._lock:
            return self._jobs[job_id].describe()

    # -- lifecycle ----------------------------------------------------------------------------

    def _update(self, job: _Job, status: str | None = None, reason: str | None = None, *,
                store: bool = True) -> None:
        """Tell the listener of the job's new status and, when ``store``, write its row.

        A status is stored where a job can stay in it: SUBMITTED while it waits for its
        dependencies (or runs detached), RUNNABLE while it waits for capacity (``_reserve``),
        RUNNING, and the end. PENDING and STARTING pass in microseconds here, as do SUBMITTED and
        RUNNABLE when nothing holds the job; a row for each would only cost a commit per job.
        """
        if status is not None:
            job.status = status
        if reason is not None:
            job.status_reason = reason
        job.described = None
        if not store and self._on_job is None:
            return
        described = job.describe()
        if store:
            job.described = described
        if store:
            self._store(job, described)
        if self._on_job is not None:
            self._on_job(described, job.execution_arn, job.state_name)

    def _store(self, job: _Job, described: dict[str, Any] | None = None) -> None:
        self.store.put_job(job.describe() if described is None else described, execution_arn=job.execution_arn,
                           state_name=job.state_name, log_paths=job.log_paths, updated_at=now_ms(),
                           task_attempt=job.task_attempt)

    def _finish(self, job: _Job, status: str, reason: str | None) -> None:
        job.stopped_at = now_ms()
        self._update(job, status, reason)
        job.done.set()

    def _run(self, job: _Job, cancel: threading.Event) -> None:
        try:
            self._update(job, "PENDING", store=False)
            if not self._wait_dependencies(job, cancel):
                return
            if job.array_size is not None:
                self._run_array(job, cancel)
            else:
                self._run_attempts(job, cancel)
        finally:
            job.done.set()

    def _wait_dependencies(self, job: _Job, cancel: threading.Event) -> bool:
        for dep in job.depends_on:
            with self._lock:
                other = self._jobs.get(str(dep.get("JobId")))
            if other is None:
                continue
            while not other.done.wait(0.05):
                if cancel.is_set():
                    self._finish(job, "FAILED", REASON_CANCELLED)
                    return False
            if other.status != "SUCCEEDED":
                self._finish(job, "FAILED", REASON_DEPENDENCY)
                return False
        return True

    def _run_array(self, job: _Job, cancel: threading.Event) -> None:
        assert job.array_size is not None
        for index in range(job.array_size):
            child = _Job(job_id=f"{job.job_id}:{index}", name=job.name, queue=job.queue,
                         definition=job.definition, command=job.command, environment=job.environment,
                         vcpus=job.vcpus, memory=job.memory, attempts_allowed=job.attempts_allowed,
                         strategy=job.strategy, timeout=job.timeout, tags=job.tags, depends_on=[],
                         execution_arn=job.execution_arn, state_name=job.state_name,
                         task_attempt=job.task_attempt, array_index=index)
            job.children.append(child)
        job.started_at = now_ms()
        self._update(job, "RUNNING")
        futures = [self._array_pool.submit(self._run_attempts, child, cancel) for child in job.children]
        for future in futures:
            future.result()
        failed = [c for c in job.children if c.status != "SUCCEEDED"]
        job.log_paths = [p for c in job.children for p in c.log_paths]
        self._finish(job, "FAILED" if failed else "SUCCEEDED",
                     REASON_ARRAY_CHILD if failed else None)

    def _run_attempts(self, job: _Job, cancel: threading.Event) -> None:
        for attempt in range(1, job.attempts_allowed + 1):
            ok, exit_code, reason, status_reason = self._attempt(job, attempt, cancel)
            if ok:
                self._finish(job, "SUCCEEDED", None)
                return
            if status_reason in (REASON_CANCELLED, REASON_TOO_BIG) or attempt == job.attempts_allowed:
                self._finish(job, "FAILED", status_reason)
                return
            if retry_decision(job.strategy, exit_code=exit_code, reason=reason,
                              status_reason=status_reason) == "EXIT":
                self._finish(job, "FAILED", status_reason)
                return
        self._finish(job, "FAILED", job.status_reason)

    def _reserve(self, job: _Job, cancel: threading.Event) -> ComputeEnvironment | None:
        ces = [self._ce_by_name[n] for n in job.queue.compute_environments if n in self._ce_by_name]
        if not any(job.vcpus <= ce.vcpus and job.memory <= ce.memory for ce in ces) or (
                job.queue.max_vcpus is not None and job.vcpus > job.queue.max_vcpus):
            return None
        cap = self._capacity
        with cap.lock:
            cap.seq += 1
            ticket = _Ticket(job.queue.priority, cap.seq, job.vcpus, job.memory, job.queue)
            cap.tickets.append(ticket)
            self._dispatch()
        if not ticket.granted.is_set():
            self._store(job)  # RUNNABLE: waiting for capacity, what ``jobs`` and the console show
        while not ticket.granted.wait(0.05):
            if cancel.is_set():
                with cap.lock:
                    if ticket in cap.tickets:
                        cap.tickets.remove(ticket)
                        return None
        return ticket.ce

    def _dispatch(self) -> None:
        """Place waiting jobs, highest queue priority first, FIFO within a priority (lock held)."""
        cap = self._capacity
        cap.tickets.sort(key=lambda t: (-t.priority, t.seq))
        for ticket in list(cap.tickets):
            limit = ticket.queue.max_vcpus
            if limit is not None and cap.queue_vcpus.get(ticket.queue.name, 0.0) + ticket.vcpus > limit + 1e-9:
                continue
            for name in ticket.queue.compute_environments:
                ce = cap.by_name.get(name)
                if ce is not None and ce.fits(ticket.vcpus, ticket.memory):
                    ce.used_vcpus += ticket.vcpus
                    ce.used_memory += ticket.memory
                    ticket.ce = ce
                    cap.queue_vcpus[ticket.queue.name] = cap.queue_vcpus.get(ticket.queue.name, 0.0) + ticket.vcpus
                    cap.tickets.remove(ticket)
                    ticket.granted.set()
                    break

    def _release(self, ce: ComputeEnvironment, job: _Job) -> None:
        cap = self._capacity
        with cap.lock:
            ce.used_vcpus -= job.vcpus
            ce.used_memory -= job.memory
            cap.queue_vcpus[job.queue.name] = cap.queue_vcpus.get(job.queue.name, 0.0) - job.vcpus
            self._dispatch()

    def _container_problem(self, job: _Job) -> str | None:
        """None when this attempt runs in its container, else why not ("" when none was wanted)."""
        image = job.definition.image
        if self._mode is ContainerMode.NEVER or not image:  # no image: a Python task with none anywhere
            return ""
        engine = self.images.engine_problem()
        problem = engine if engine is not None else self.images.problem(image, job.definition.build)
        if problem is not None and self._mode is ContainerMode.AUTO:
            key = "" if engine is not None else image  # no engine: one line for the run, not per image
            with self._lock:
                first = key not in self._noticed
                self._noticed.add(key)
            if first:
                which = "Batch jobs" if engine is not None else f"Batch jobs of image {image}"
                self._notice(f"{which} run as host processes in {self.cwd}: {problem} "
                             f"({CONTAINERS_ENV}=always fails them instead, =never silences this).")
        return problem

    def _attempt(self, job: _Job, attempt: int, cancel: threading.Event) -> tuple[bool, int | None, str, str]:
        """One attempt: (succeeded, exit code, container reason, status reason)."""
        self._update(job, "RUNNABLE", store=False)  # stored by ``_reserve`` if the job has to wait
        ce = self._reserve(job, cancel)
        if ce is None:
            reason = REASON_CANCELLED if cancel.is_set() else REASON_TOO_BIG
            if reason == REASON_TOO_BIG:
                # AWS's reason names no numbers; here the fix is one variable away, so say it.
                biggest = max(self.compute, key=lambda c: (c.vcpus, c.memory))
                cap = "" if job.queue.max_vcpus is None else f", queue {job.queue.name} max {job.queue.max_vcpus:g} vCPUs"
                self._notice(f"Batch job {job.name} needs {job.vcpus:g} vCPUs and {job.memory} MiB; this machine "
                             f"offers {biggest.vcpus:g} vCPUs and {biggest.memory} MiB{cap}. To run it here anyway: "
                             f"{VCPUS_ENV}={max(job.vcpus, biggest.vcpus):g} {MEMORY_ENV}={max(job.memory, biggest.memory)}")
            self._record_attempt(job, None, None, reason, None, None)
            return False, None, "", reason
        try:
            return self._execute(job, attempt, ce, cancel)
        finally:
            self._release(ce, job)

    def _execute(self, job: _Job, attempt: int, ce: ComputeEnvironment,
                 cancel: threading.Event) -> tuple[bool, int | None, str, str]:
        self._update(job, "STARTING", store=False)
        task_id = uuid.uuid4().hex
        stream = f"{job.definition.name}/default/{task_id}"
        log_path = self.log_root / stream
        job.log_stream = stream
        job.task_arn = arns.ecs_task(task_id)
        job.log_paths.append(str(log_path))
        batch_env = {
            "AWS_BATCH_JOB_ID": job.job_id, "AWS_BATCH_JOB_ATTEMPT": str(attempt),
            "AWS_BATCH_CE_NAME": ce.name, "AWS_BATCH_JQ_NAME": job.queue.name,
            "MANAGED_BY_AWS": "STARTED_BY_STEP_FUNCTIONS", "AWS_REGION": arns.REGION,
            "AWS_DEFAULT_REGION": arns.REGION}
        if job.array_index is not None:
            batch_env["AWS_BATCH_JOB_ARRAY_INDEX"] = str(job.array_index)
        env = {**self._process_env, **job.environment, **batch_env}
        container: str | None = None
        problem = self._container_problem(job)
        if problem and self._mode is ContainerMode.ALWAYS:
            # What Batch reports when a task's image cannot be had; evaluateOnExit matches on it.
            reason = f"CannotPullContainerError: {problem}"
            started = now_ms()
            with _open_log(log_path) as log:
                log.write(f"{reason}\n".encode())
            self._record_attempt(job, None, stream, reason, started, now_ms(), reason=reason)
            return False, None, reason, reason
        if problem is None:
            container = f"orchestrator-{task_id}"
            args = docker_command(image=job.definition.image, command=job.command, env=env, vcpus=job.vcpus,
                                  memory=job.memory, cwd=self.cwd, container=container,
                                  secrets=job.definition.secrets)
        else:
            args = host_command(job.command)
        # Marks this attempt's processes, so a timeout also stops those that left its group.
        # The docker CLI itself needs this process's environment (DOCKER_HOST, its config, the
        # secrets it passes on by name); the job's own variables go in as ``-e`` arguments.
        process_env = {**(host_env(env) if container is None else os.environ), JOB_TOKEN_ENV: task_id}
        started = now_ms()
        with _open_log(log_path) as log:
            try:
                if not args:
                    raise FileNotFoundError("the job has no command and host processes have no image entrypoint")
                proc = self._launcher.spawn(args, cwd=self.cwd, env=process_env, stdout=log,
                                            stderr=subprocess.STDOUT, container=container)
            except OSError as exc:
                log.write(f"CannotStartContainerError: {exc}\n".encode())
                reason = f"CannotStartContainerError: {exc}"
                self._record_attempt(job, None, stream, REASON_START, started, now_ms(), reason=reason)
                return False, None, reason, REASON_START
        job.started_at = job.started_at or started
        self._update(job, "RUNNING")
        outcome = self._wait(proc, job.timeout, cancel, container, task_id)
        if outcome == "exited" and container is None:
            # A task's processes end with its essential container on AWS; here, what the job left
            # running in its group goes too. (The group id is not reused while members remain.)
            kill_group(proc)
        self._launcher.forget(proc, container)
        exit_code = proc.returncode
        stopped = now_ms()
        if outcome == "timeout":
            status_reason = REASON_TIMEOUT
        elif outcome == "cancelled":
            status_reason = REASON_CANCELLED
        else:
            status_reason = REASON_EXITED
        job.exit_code = exit_code
        self._record_attempt(job, exit_code, stream, status_reason, started, stopped)
        return outcome == "exited" and exit_code == 0, exit_code, "", status_reason

    def _wait(self, proc: subprocess.Popen[Any], timeout: int | None, cancel: threading.Event,
              container: str | None, token: str) -> str:
        """Wait for the attempt: ``exited``, ``timeout`` or ``cancelled`` (then the tree is killed)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            # Short slices so a cancel (execution stopped, sibling failed) is seen within 50 ms.
            if wait_exit(proc, 0.05):
                return "exited"
            timed_out = deadline is not None and time.monotonic() >= deadline
            if timed_out or cancel.is_set():
                self._stop(proc, container, token)
                return "timeout" if timed_out else "cancelled"

    def _stop(self, proc: subprocess.Popen[Any], container: str | None, token: str) -> None:
        """Stop the attempt's whole process tree: SIGTERM, the grace period, then SIGKILL (as ECS)."""
        if container:
            subprocess.run(["docker", "stop", "-t", str(int(self._grace)), container],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        kill_group(proc, signal.SIGTERM)
        kill_marked(JOB_TOKEN_ENV, token, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=self._grace)
        kill_group(proc, signal.SIGKILL)  # also whatever the job left behind in its group
        kill_marked(JOB_TOKEN_ENV, token)  # and what left the group (setsid) but kept the environment
        proc.wait()

    def _record_attempt(self, job: _Job, exit_code: int | None, stream: str | None, status_reason: str,
                        started: int | None, stopped: int | None, *, reason: str | None = None) -> None:
        container: dict[str, Any] = {"NetworkInterfaces": []}
        if exit_code is not None:
            container["ExitCode"] = exit_code
        if stream is not None:
            container["LogStreamName"] = stream
        if job.task_arn is not None and stream is not None:
            container["TaskArn"] = job.task_arn
        if reason is not None:
            container["Reason"] = reason
        entry: dict[str, Any] = {"Container": container, "StatusReason": status_reason}
        if started is not None:
            entry["StartedAt"] = started
        if stopped is not None:
            entry["StoppedAt"] = stopped
        job.attempts.append(entry)
        job.status_reason = status_reason


def _open_log(path: Path) -> BinaryIO:
    """Open an attempt's log for appending, making its directory the first time it is missing
    (one per job definition: most attempts find it, and skip a failing mkdir and a stat)."""
    try:
        return open(path, "ab")
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        return open(path, "ab")


def host_command(command: list[str]) -> list[str]:
    """A job's command as a host process: ``python``/``python3`` is this interpreter (same packages)."""
    if command and command[0] in ("python", "python3"):
        return [sys.executable, *command[1:]]
    return list(command)


def host_env(env: Mapping[str, str]) -> dict[str, str]:
    """A host process's environment: this one's, the job's on top, and this package importable.

    ``python -m orchestrator.batch_entry`` must import this package even when it runs from a source
    checkout rather than an install; it goes last on PYTHONPATH so it never shadows the project.
    """
    merged = {**os.environ, **env}
    paths = [p for p in merged.get("PYTHONPATH", "").split(os.pathsep) if p]
    if _PACKAGE_ROOT not in paths:
        merged["PYTHONPATH"] = os.pathsep.join([*paths, _PACKAGE_ROOT])
    return merged


# The directory this package imports from (resolved once: ``Path.resolve`` costs ~15 µs a job).
_PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])


def _ref(text: str, params: Mapping[str, str]) -> str:
    """Batch's ``Ref::name`` parameter substitution in a command argument."""
    if text.startswith("Ref::") and text[5:] in params:
        return params[text[5:]]
    return text


def log_text(path: str | Path) -> str:
    try:
        return Path(path).read_text(errors="replace")
    except OSError:
        return ""
