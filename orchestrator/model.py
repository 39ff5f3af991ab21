"""The workflow model: frozen, typed dataclasses.

Every stage after loading works on these values only. They are normalised: durations are whole
seconds, dependencies are task names, optional parts are ``None`` (never ``0`` or ``""`` standing in
for "absent"). Building one does not validate it: ``orchestrator.spec.from_dict`` validates a spec
and returns a model, and the Python API (``orchestrator.api``) goes through the same function, so
both forms give the same model and the same errors.

Change a value with ``dataclasses.replace``::

    >>> from dataclasses import replace
    >>> job = BatchJob(image="postgres:16", command=("vacuumdb", "--all"))
    >>> replace(job, vcpus=2.0).vcpus
    2.0
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

from orchestrator.limits import LAMBDA_MAX_TIMEOUT

# The empty read-only mapping: nothing holds the dict behind it, so every job and workflow without
# environment, secrets or tags shares this one (a spec of 10,000 jobs made 20,000 of them).
EMPTY_MAP: Mapping[str, str] = MappingProxyType({})


def _frozen_map(value: Mapping[str, str] | None) -> Mapping[str, str]:
    if not value:
        return EMPTY_MAP
    return MappingProxyType(dict(value))


class Platform(enum.StrEnum):
    FARGATE = "FARGATE"
    EC2 = "EC2"


class Compute(enum.StrEnum):
    """Capacity a queue draws on, in order: Spot first is the cheap default, on-demand the fallback."""

    FARGATE_SPOT = "FARGATE_SPOT"
    FARGATE = "FARGATE"
    SPOT = "SPOT"
    EC2 = "EC2"


class Jitter(enum.StrEnum):
    FULL = "FULL"
    NONE = "NONE"


OverlapPolicy = Literal["skip", "allow", "queue"]
CatchUp = Literal["none", "latest", "all"]
# The local scheduler: at most this many missed fires are started after downtime unless a
# schedule says otherwise, and never more than the maximum (a bound on one wake-up's work).
CATCH_UP_LIMIT_DEFAULT = 100
CATCH_UP_LIMIT_MAX = 10_000


@dataclass(frozen=True, slots=True, kw_only=True)
class Retry:
    """Application retries for one task; becomes the Step Functions state's Retry.

    ``attempts`` is Step Functions' MaxAttempts: retries after the first try (0 disables).
    """

    attempts: int = 3
    interval: int = 1
    backoff_rate: float = 2.0
    max_delay: int | None = None
    jitter: Jitter = Jitter.NONE
    errors: tuple[str, ...] = ("States.ALL",)


@dataclass(frozen=True, slots=True, kw_only=True)
class Permission:
    """One IAM statement the job role (or Lambda role) gets: least privilege, stated per task."""

    actions: tuple[str, ...]
    resources: tuple[str, ...] = ("*",)


@dataclass(frozen=True, slots=True, kw_only=True)
class ImageBuild:
    """Build a job's image from a Dockerfile of the project (paths relative to the project directory).

    Locally ``docker build -t <image>`` runs when containers are used; on AWS the CDK stack builds
    and pushes it as an image asset (ECR), and the job definition uses what it pushed.
    """

    context: str
    dockerfile: str = "Dockerfile"


@dataclass(frozen=True, slots=True, kw_only=True)
class BatchJob:
    """A container job on AWS Batch (``batch:submitJob.sync``); locally a process or container.

    ``secrets`` maps an environment variable to a Secrets Manager or SSM Parameter Store ARN —
    never a plain value, so no secret lands in a definition, a log or the history.
    """

    image: str
    command: tuple[str, ...] = ()
    vcpus: float = 1.0
    memory: int = 2048  # MiB
    environment: Mapping[str, str] = field(default_factory=lambda: _frozen_map(None))
    secrets: Mapping[str, str] = field(default_factory=lambda: _frozen_map(None))
    array_size: int | None = None
    queue: str | None = None
    permissions: tuple[Permission, ...] = ()
    platform: Platform = Platform.FARGATE
    build: ImageBuild | None = None  # ``image`` is the tag the build gets

    def __post_init__(self) -> None:
        if self.environment is not EMPTY_MAP:  # the default (most jobs): nothing to freeze
            object.__setattr__(self, "environment", _frozen_map(self.environment))
        if self.secrets is not EMPTY_MAP:
            object.__setattr__(self, "secrets", _frozen_map(self.secrets))


@dataclass(frozen=True, slots=True, kw_only=True)
class LambdaTask:
    """A short task on AWS Lambda; ``handler`` is ``"module:function"``. Its timeout is the task's."""

    handler: str
    memory: int = 512  # MiB
    environment: Mapping[str, str] = field(default_factory=lambda: _frozen_map(None))
    permissions: tuple[Permission, ...] = ()

    def __post_init__(self) -> None:
        if self.environment is not EMPTY_MAP:
            object.__setattr__(self, "environment", _frozen_map(self.environment))


@dataclass(frozen=True, slots=True, kw_only=True)
class PythonTask:
    """A plain Python function, ``"module:function"``, placed by its timeout.

    At most 15 minutes (Lambda's limit) it runs on Lambda; longer, it runs as a Batch job whose
    container calls the same function (``python -m orchestrator.batch_entry module:function``), so
    a task can grow past Lambda's limit without being rewritten.
    """

    function: str
    memory: int = 512  # MiB
    vcpus: float = 1.0  # used when it runs on Batch
    image: str | None = None  # the Batch image when it runs on Batch; defaults to the workflow's
    environment: Mapping[str, str] = field(default_factory=lambda: _frozen_map(None))
    queue: str | None = None
    permissions: tuple[Permission, ...] = ()

    def __post_init__(self) -> None:
        if self.environment is not EMPTY_MAP:
            object.__setattr__(self, "environment", _frozen_map(self.environment))


Job = BatchJob | LambdaTask | PythonTask


@dataclass(frozen=True, slots=True, kw_only=True)
class Task:
    """One node of the DAG. ``timeout`` and ``expected_duration`` are seconds."""

    name: str
    job: Job
    after: tuple[str, ...] = ()
    timeout: int | None = None
    retry: Retry | None = None
    expected_duration: float | None = None
    description: str | None = None

    @property
    def runs_on(self) -> Literal["batch", "lambda"]:
        """Where this task runs on AWS: Python tasks go to Lambda only if they fit in 15 minutes."""
        if isinstance(self.job, BatchJob):
            return "batch"
        if isinstance(self.job, LambdaTask):
            return "lambda"
        if self.timeout is not None and self.timeout > LAMBDA_MAX_TIMEOUT:
            return "batch"
        return "lambda"


@dataclass(frozen=True, slots=True, kw_only=True)
class Schedule:
    """When the workflow starts: EventBridge Scheduler ``cron(...)``, ``rate(...)`` or ``at(...)``.

    ``flexible_window`` is minutes (EventBridge Scheduler's FlexibleTimeWindow); ``overlap`` says
    what happens when a run is still going at the next fire time; ``catch_up`` what the local
    scheduler does with fire times missed while it was down: ``"latest"`` starts the last one,
    ``"all"`` each, but never more than ``catch_up_limit`` of them and none scheduled more than
    ``starting_deadline`` seconds ago (``None``: no age limit).
    """

    expression: str
    timezone: str = "UTC"
    flexible_window: int | None = None
    overlap: OverlapPolicy = "skip"
    catch_up: CatchUp = "none"
    catch_up_limit: int = CATCH_UP_LIMIT_DEFAULT
    starting_deadline: int | None = None
    enabled: bool = True


@dataclass(frozen=True, slots=True, kw_only=True)
class Queue:
    """A Batch job queue: higher ``priority`` is scheduled first; compute is tried in order."""

    name: str
    priority: int = 1
    compute: tuple[Compute, ...] = (Compute.FARGATE_SPOT, Compute.FARGATE)
    max_vcpus: int = 256


NotifyOn = Literal["failure", "recovery", "success"]
NOTIFY_ON: tuple[NotifyOn, ...] = ("failure", "recovery", "success")


@dataclass(frozen=True, slots=True, kw_only=True)
class Notify:
    """Where failure alerts go: e-mail subscriptions, an existing SNS topic, an https webhook."""

    email: tuple[str, ...] = ()
    topic_arn: str | None = None
    webhook: str | None = None
    # What notifies: "failure" (the default), "recovery" (the first success after a run that did
    # not succeed), "success" (every success).
    on: tuple[NotifyOn, ...] = ("failure",)


@dataclass(frozen=True, slots=True, kw_only=True)
class Defaults:
    """Values every task gets unless it says otherwise."""

    timeout: int | None = None
    retry: Retry | None = None
    queue: str | None = None
    image: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Workflow:
    name: str
    tasks: tuple[Task, ...]
    description: str | None = None
    schedule: Schedule | None = None
    notify: Notify | None = None
    timeout: int | None = None
    defaults: Defaults = field(default_factory=Defaults)
    queues: tuple[Queue, ...] = ()
    tags: Mapping[str, str] = field(default_factory=lambda: _frozen_map(None))

    def __post_init__(self) -> None:
        object.__setattr__(self, "tags", _frozen_map(self.tags))

    def task(self, name: str) -> Task:
        """The task called ``name``; ``KeyError`` if there is none."""
        for task in self.tasks:
            if task.name == name:
                return task
        raise KeyError(name)

    @property
    def dependencies(self) -> dict[str, tuple[str, ...]]:
        """Task name to the names it runs after, in declaration order."""
        return {task.name: task.after for task in self.tasks}
