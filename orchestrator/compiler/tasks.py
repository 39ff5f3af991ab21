"""Service integrations as data: one function renders a Batch task, one a Lambda task.

Every task state reads the execution input at ``$.input`` and writes a *small* result to
``$.results.<task>``; ``render_task`` picks Batch or Lambda from ``task.runs_on`` (Python tasks go
to Lambda when they fit in 15 minutes, otherwise to Batch running ``python -m orchestrator.batch_entry``).
Deploy-time values are ``${Placeholder}`` strings built by ``placeholders.placeholder``, and every
service ARN by ``arns.integration``.

    >>> from orchestrator import model
    >>> wf = model.Workflow(name="wf", tasks=(model.Task(name="t", job=model.LambdaTask(handler="m:f")),))
    >>> render_task(wf.tasks[0], wf, next=None, catch_to=None).resource
    'arn:aws:states:::lambda:invoke'
"""

from __future__ import annotations

import dataclasses
import operator
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from types import MappingProxyType

from orchestrator import arns, logical_time, model, placeholders, templates
from orchestrator.arns import IntegrationPattern
from orchestrator.compiler import asl
from orchestrator.errors import CompileError
from orchestrator.limits import BATCH_JOB_NAME_MAX, BATCH_MIN_ATTEMPT_DURATION, LAMBDA_MAX_TIMEOUT
from orchestrator.placeholders import FUNCTION, JOB_DEFINITION, JOB_QUEUE, STATE_MACHINE, placeholder

# --- Choices within AWS's limits (the limits themselves are in orchestrator.limits) ----------------
# Batch retryStrategy.attempts for infrastructure failures (Spot reclaims, host loss). Batch
# allows 1..10; 3 survives two reclaims in a row without hiding real application failures,
# which EXIT at once (the last EvaluateOnExit rule).
SPOT_RETRY_ATTEMPTS = 3
# Time allowed per Batch attempt on top of attemptDurationSeconds: attemptDurationSeconds only
# counts RUNNING time, and a .sync task also covers SUBMITTED/RUNNABLE/STARTING (image pulls,
# Spot capacity). Batch retries run *inside* one .sync task, so the state's TimeoutSeconds must
# cover every attempt, or Step Functions would abandon a job Batch is still legitimately retrying.
BATCH_ATTEMPT_MARGIN = 300
# Lambda: lambda:invoke returns when the function does; a little slack covers invocation latency
# and cold starts so the state never times out before the function itself would.
LAMBDA_TIMEOUT_MARGIN = 30
DEFAULT_QUEUE = "default"
RUNNER_MODULE = "orchestrator.batch_entry"

# AWS's recommended retriers for transient service errors of the integration itself; they go
# before a user's States.ALL retrier, which must come last.
BATCH_API_ERRORS = ("Batch.AWSBatchException", "Batch.ServerException", "Batch.TooManyRequestsException")
LAMBDA_API_ERRORS = (
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
)
# The Step Functions console template for "Lambda: Invoke" (Workflow Studio) uses 1 s, 3
# attempts, backoff 2 with full jitter; Batch API throttling gets the same shape.
BATCH_API_RETRIER = asl.Retrier(
    errors=BATCH_API_ERRORS, interval=1, max_attempts=3, backoff_rate=2, jitter_full=True
)
LAMBDA_API_RETRIER = asl.Retrier(
    errors=LAMBDA_API_ERRORS, interval=1, max_attempts=3, backoff_rate=2, jitter_full=True
)

# Batch retryStrategy.evaluateOnExit: retry what the infrastructure did to the job, exit on what
# the job did. Rules are evaluated in order; OnStatusReason/OnReason accept a trailing "*".
SPOT_EVALUATE_ON_EXIT = (
    {"OnStatusReason": "Host EC2*", "Action": "RETRY"},  # EC2 Spot reclaim / host terminated
    {"OnStatusReason": "Your Spot Task was interrupted*", "Action": "RETRY"},  # Fargate Spot
    {"OnReason": "CannotPullContainerError*", "Action": "RETRY"},  # transient registry errors
    {"OnReason": "*", "Action": "EXIT"},
)

_SIMPLE_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def field_path(prefix: str, key: str) -> str:
    """A JSONPath reference to ``prefix.key``; bracket notation for keys that are not identifiers.

    >>> field_path("$.results", "load_db"), field_path("$.results", "load-db")
    ('$.results.load_db', "$.results['load-db']")
    """
    if _SIMPLE_KEY.fullmatch(key):
        return f"{prefix}.{key}"
    return f"{prefix}['{key}']"


def result_path(task: str) -> str:
    return field_path("$.results", task)


def failed_path(task: str) -> str:
    """Where a task's Catch puts ``{Error, Cause}``: keyed by task, so the alert can name it."""
    return field_path("$.failed", task)


def job_name(task: str) -> str:
    """The Batch JobName: the task name, made Batch-safe.

    Why not ``States.Format('{}-{}', task, $$.Execution.Name)``: task and execution names are each
    up to 80 characters, 161 in all, over Batch's 128, and JSONPath cannot slice a string;
    execution names may also hold characters Batch rejects (``.``, ``+``, ``@``). Batch job names
    need not be unique, so the static task name is always valid and stays readable in the Batch
    console; the execution is attached as a job tag and as ORCHESTRATOR_EXECUTION_ID instead.
    """
    name = re.sub(r"[^A-Za-z0-9_-]", "_", task)[:BATCH_JOB_NAME_MAX]
    return name if name[:1].isalnum() else ("j" + name)[:BATCH_JOB_NAME_MAX]


def retriers(task: model.Task, wf: model.Workflow, service: asl.Retrier) -> tuple[asl.Retrier, ...]:
    """User retry → ASL Retry, around the service retrier: specific errors first, States.ALL last."""
    retry = task.retry if task.retry is not None else wf.defaults.retry
    if retry is None or retry.attempts == 0:
        return (service,)
    catch_all = "States.ALL" in retry.errors
    user = asl.Retrier(
        errors=("States.ALL",) if catch_all else retry.errors,
        interval=retry.interval,
        max_attempts=retry.attempts,
        backoff_rate=retry.backoff_rate,
        max_delay=retry.max_delay,
        jitter_full=retry.jitter is model.Jitter.FULL,
    )
    return (service, user) if catch_all else (user, service)


def _timeout(task: model.Task, wf: model.Workflow) -> int | None:
    return task.timeout if task.timeout is not None else wf.defaults.timeout


def _catch(task: str, catch_to: str | None) -> tuple[asl.Catcher, ...]:
    if catch_to is None:
        return ()
    return (asl.Catcher(next=catch_to, result_path=failed_path(task)),)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class JobDefinition:
    """What a Batch-run task's job definition carries, and so its Task state need not.

    The CDK stack registers one job definition per task with exactly these settings
    (``cdk.batch``), and the local runs give local Batch the same (``local.runs.build_plan``), so a
    job submitted with only its name, queue and definition runs the same everywhere.

        >>> from orchestrator import model
        >>> wf = model.Workflow(name="w", tasks=(model.Task(name="t", timeout=30,
        ...     job=model.BatchJob(image="alpine:3", command=("echo", "hi"))),))
        >>> settings = job_definition(wf.tasks[0], wf)
        >>> settings.command, settings.attempt_seconds, settings.environment["ORCHESTRATOR_TASK"]
        (('echo', 'hi'), 60, 't')
    """

    image: str | None  # None: a Python task with neither its own image nor the workflow's default
    command: tuple[str, ...]  # as written (a templated one is set again by each run's SubmitJob)
    vcpus: float
    memory: int  # MiB
    environment: Mapping[str, str]  # the job's own untemplated variables, the workflow's and task's names
    attempt_seconds: int | None  # Batch timeout.attemptDurationSeconds
    retry_attempts: int  # Batch retryStrategy.attempts
    evaluate_on_exit: tuple[Mapping[str, str], ...]  # Batch retryStrategy.evaluateOnExit


def job_definition(task: model.Task, wf: model.Workflow) -> JobDefinition:
    """The job definition settings of ``task``, which runs on Batch (see :class:`JobDefinition`)."""
    job = task.job
    if isinstance(job, model.BatchJob):
        image: str | None = job.image
        command: tuple[str, ...] = job.command
    elif isinstance(job, model.PythonTask):
        image = job.image or wf.defaults.image
        command = ("python", "-m", RUNNER_MODULE, job.function)
    else:
        raise CompileError(f"Task '{task.name}' is a Lambda task and cannot run on Batch.")
    timeout = _timeout(task, wf)
    return JobDefinition(
        image=image,
        command=command,
        vcpus=job.vcpus,
        memory=job.memory,
        # Templated values vary per run, so the Task state sets them (``_submitted``).
        environment=MappingProxyType({
            **{k: v for k, v in job.environment.items() if not templates.has_template(v)},
            "ORCHESTRATOR_WORKFLOW": wf.name,
            "ORCHESTRATOR_TASK": task.name,
        }),
        attempt_seconds=None if timeout is None else max(BATCH_MIN_ATTEMPT_DURATION, timeout),
        retry_attempts=SPOT_RETRY_ATTEMPTS,
        evaluate_on_exit=SPOT_EVALUATE_ON_EXIT,
    )


def batch_task(
    task: model.Task,
    wf: model.Workflow,
    *,
    next: str | None,
    catch_to: str | None,
    output_path: str | None = None,
) -> asl.Task:
    """``batch:submitJob.sync``: runs the job and waits for it, with Spot-aware Batch retries.

    The image and secrets live in the job definition (SubmitJob can override neither), hence
    one ``${JobDefinition_<task>}`` per task. So do the settings that are the same for every run
    (:func:`job_definition`: command, resources, environment, timeout, retry strategy): sent
    again in each SubmitJob they would give the same job, and took two thirds of the state's
    bytes, so a machine held a third as many tasks before it had to be split. What is left varies
    per run or is SubmitJob's alone: the job's name, queue and array size, the execution's id
    (ORCHESTRATOR_EXECUTION_ID, so the runner can read the execution input with DescribeExecution
    instead of through environment variables, which ECS caps at 8 KiB of overrides) and the tags.
    """
    if isinstance(task.job, model.LambdaTask):
        raise CompileError(f"Task '{task.name}' is a Lambda task and cannot run on Batch.")
    submitted = _submitted(task.job)
    queue, array_size = submitted.queue or wf.defaults.queue or DEFAULT_QUEUE, submitted.array_size
    # Overrides are merged into the job definition's container by name; only values set at run
    # time belong here: templated ones (``templates``: compiled to intrinsics) and the execution's.
    env: list[dict[str, str]] = [
        {"Name": k, "Value.$": templates.intrinsic(templates.parse(v))} for k, v in submitted.environment
    ]
    env += [
        {"Name": "ORCHESTRATOR_EXECUTION_ID", "Value.$": "$$.Execution.Id"},
        # Logical time (contract 5): which run this is, from the input "Wrap input" completed,
        # so AWS and the local engine give a job the same value. ~110 bytes of the 8 KiB ECS
        # allows for container overrides.
        {"Name": logical_time.EXECUTION_NAME_ENV, "Value.$": "$$.Execution.Name"},
        {"Name": logical_time.ENV, "Value.$": "$.input.scheduled_time"},
    ]
    overrides = asl._drop_empty(
        [
            ("Command.$", None if submitted.command is None else templates.command_intrinsic(submitted.command)),
            ("Environment", env),
        ]
    )
    timeout = _timeout(task, wf)
    attempt = None if timeout is None else max(BATCH_MIN_ATTEMPT_DURATION, timeout)
    tags = dict(wf.tags)
    tags.update({"orchestrator:workflow": wf.name, "orchestrator:task": task.name})
    tags["orchestrator:execution.$"] = "$$.Execution.Name"
    parameters = asl._drop_empty(
        [
            ("JobName", job_name(task.name)),
            ("JobQueue", placeholder(JOB_QUEUE, queue)),
            ("JobDefinition", placeholder(JOB_DEFINITION, task.name)),
            ("ArrayProperties", {"Size": array_size} if array_size is not None else None),
            ("ContainerOverrides", overrides),
            ("Tags", tags),
        ]
    )
    # Only fields DescribeJobs always returns: a ResultSelector path that is missing fails the
    # state with States.Runtime. The Batch API model makes jobName, jobId, jobQueue, status,
    # startedAt and jobDefinition required in JobDetail; statusReason, container (so
    # Container.LogStreamName: absent for array parents and non-awslogs drivers) and attempts are
    # optional, so none of those is selected (the alert path finds the log stream in a failure's
    # Cause instead). JobName is the task name, so it is not repeated. ~70 bytes per task.
    selector = {"JobId.$": "$.JobId", "Status.$": "$.Status"}
    return asl.Task(
        name=task.name,
        comment=task.description,
        resource=arns.integration("batch", "submitJob", IntegrationPattern.SYNC),
        parameters=parameters,
        result_selector=selector,
        result_path=result_path(task.name),
        output_path=output_path,
        timeout_seconds=None if attempt is None else (attempt + BATCH_ATTEMPT_MARGIN) * SPOT_RETRY_ATTEMPTS,
        retry=retriers(task, wf, BATCH_API_RETRIER),
        catch=_catch(task.name, catch_to),
        next=next,
    )


_PLAIN_NAME = re.compile(r"[A-Za-z0-9_-]+")


@dataclasses.dataclass(frozen=True, slots=True)
class _Submitted:
    queue: str | None
    array_size: int | None
    command: tuple[str, ...] | None  # only when it holds a template (it varies per run)
    environment: tuple[tuple[str, str], ...]  # only the variables whose values hold a template


def _submitted(job: model.Job) -> _Submitted:
    """What of a Batch-run job goes into its SubmitJob, the rest being in its job definition
    (:func:`job_definition`): its queue and array size, and what varies per run, a templated
    command and templated environment values. :func:`batch_task` reads the job through this
    alone and :func:`kind_key` keys on it, so whatever the state is made to show of a job, kinds
    keep apart.
    """
    return _Submitted(*_submitted_values(job))


def _submitted_values(
    job: model.Job,
) -> tuple[str | None, int | None, tuple[str, ...] | None, tuple[tuple[str, str], ...]]:
    """The fields of :func:`_submitted`'s answer, in order: a plain tuple, so jobs that submit
    alike are found alike by a hash in C (``kinds_of``)."""
    if isinstance(job, model.BatchJob):
        queue, array_size, command = job.queue, job.array_size, job.command
    elif isinstance(job, model.PythonTask):
        queue, array_size, command = job.queue, None, ("python", "-m", RUNNER_MODULE, job.function)
    else:
        raise TypeError(f"not a Batch-run job: {type(job).__name__}")
    templated = any(templates.has_template(item) for item in command)
    environment = job.environment
    return (
        queue,
        array_size,
        command if templated else None,
        tuple((k, v) for k, v in environment.items() if templates.has_template(v)) if environment else (),
    )


# Task fields that never reach the rendered state (of ``job``, the key takes what ``_submitted`` reads).
_NOT_RENDERED = frozenset({"name", "job", "after", "expected_duration"})
_RENDERED_FIELDS = tuple(f.name for f in dataclasses.fields(model.Task) if f.name not in _NOT_RENDERED)
if "timeout" not in _RENDERED_FIELDS:
    raise AssertionError("kinds_of() reads where a task runs (Task.runs_on) from its job and its timeout")
_rendered_fields: Callable[[model.Task], tuple[object, ...]] = (
    operator.attrgetter(*_RENDERED_FIELDS)
    if len(_RENDERED_FIELDS) > 1
    else lambda task: (getattr(task, _RENDERED_FIELDS[0]),)
)


def kind_key(task: model.Task, submitted: _Submitted | None = None) -> tuple[object, ...] | None:
    """What the state :func:`batch_task` renders for ``task`` depends on besides its name, when
    the name is plain (letters, digits, ``_``, ``-``); None for other tasks. ``submitted``:
    ``_submitted(task.job)``, when the caller has it.

    Two tasks with the same key render states that differ only where the name is written, in as
    many characters (``job_name``, ``placeholder`` and ``field_path`` keep a plain name as it is,
    up to a "j" prefix and brackets that the key covers), so the compiler measures, renders and
    serialises one state per kind (``emit.Stencil``, ``compile._leaf_costs``). Every task
    field but those in ``_NOT_RENDERED`` is part of the key, so a field added to ``model.Task``
    later splits kinds (safe) rather than being silently shared.

    >>> from orchestrator import model
    >>> job = model.BatchJob(image="alpine:3", command=("true",))
    >>> a, b = (model.Task(name=n, job=job) for n in ("load-a", "load-b"))
    >>> kind_key(a) == kind_key(b) != kind_key(model.Task(name="load_a", job=job))
    True
    """
    if task.runs_on != "batch" or not _PLAIN_NAME.fullmatch(task.name):
        return None
    fields = _rendered_fields(task)
    try:
        hash(fields)
    except TypeError:
        return None
    return (
        type(task.job),
        _submitted(task.job) if submitted is None else submitted,  # all of the job that the state shows
        fields,
        len(task.name),
        task.name[0].isalnum(),  # job_name() prefixes "j" otherwise
        task.name.isidentifier(),  # $.results.x, else $.results['x']
    )


def kinds_of(tasks: Iterable[model.Task]) -> dict[str, tuple[object, ...] | None]:
    """:func:`kind_key` of every task, by name, with one object per distinct kind (so a caller
    may key tables by its ``id``: hashing a kind hashes the job's fields again); a job shared by
    many tasks is read once.

    >>> from orchestrator import model
    >>> job = model.BatchJob(image="alpine:3", command=("true",))
    >>> kinds = kinds_of([model.Task(name="a1", job=job), model.Task(name="b2", job=job)])
    >>> kinds["a1"] is kinds["b2"]
    True
    """
    jobs: dict[int, tuple[model.Job, _Submitted | None]] = {}
    # One _Submitted per distinct value: a spec read from a file has a job object of its own
    # for every task, and most of them submit alike. The kind's shortcut below keys on that
    # object, not on the job.
    alike: dict[tuple[object, ...], _Submitted] = {}
    distinct: dict[tuple[object, ...], tuple[object, ...]] = {}
    # By what kind_key reads of the task and its job (the job type and its submitted values, by
    # identity): hashing a whole kind hashes the job's fields again, in Python, for every task.
    known: dict[tuple[object, ...], tuple[object, ...] | None] = {}
    kinds: dict[str, tuple[object, ...] | None] = {}
    for task in tasks:
        job, name = task.job, task.name
        seen = jobs.get(id(job))
        if seen is None or seen[0] is not job:
            submitted = None
            if not isinstance(job, model.LambdaTask):
                values = _submitted_values(job)
                submitted = alike.get(values)
                if submitted is None:
                    submitted = alike[values] = _Submitted(*values)
            seen = jobs[id(job)] = (job, submitted)
        submitted = seen[1]
        if submitted is None:
            kinds[name] = None
            continue
        fields = _rendered_fields(task)
        # Where the task runs follows from its job's type and its timeout (one of the fields).
        shortcut = (
            type(job), id(submitted), fields, len(name), _PLAIN_NAME.fullmatch(name) is not None,
            name[:1].isalnum(), name.isidentifier(),
        )
        try:
            kind = known.get(shortcut, _UNKNOWN)
            hashable = True
        except TypeError:  # an unhashable field: kind_key says so
            kind, hashable = _UNKNOWN, False
        if kind is not _UNKNOWN:
            kinds[name] = kind
            continue
        kind = kind_key(task, submitted)
        kinds[name] = kind = None if kind is None else distinct.setdefault(kind, kind)
        if hashable:
            known[shortcut] = kind
    return kinds


# known.get's answer for a shortcut not seen yet (None is a kind: the task has none); compared by
# identity, so it is a tuple of its own that no kind can be (the empty tuple is shared).
_UNKNOWN: tuple[object, ...] = (object(),)


def lambda_task(
    task: model.Task,
    wf: model.Workflow,
    *,
    next: str | None,
    catch_to: str | None,
    output_path: str | None = None,
) -> asl.Task:
    """``lambda:invoke`` (request-response) with the execution context, input and upstream results.

    The function's return value is kept whole (``$.Payload``): a Lambda task's result is what it
    returned, so keep it small; results of all tasks share the 256 KiB state payload.
    """
    job = task.job
    payload: dict[str, object] = {
        "execution": {
            "Id.$": "$$.Execution.Id",
            "Name.$": "$$.Execution.Name",
            "StartTime.$": "$$.Execution.StartTime",
        },
        "workflow": wf.name,
        "task": task.name,
    }
    if isinstance(job, model.LambdaTask):
        payload["handler"] = job.handler
    elif isinstance(job, model.PythonTask):
        payload["function"] = job.function
    else:
        raise CompileError(f"Task '{task.name}' is a Batch job and cannot run on Lambda.")
    payload["input.$"] = "$.input"
    if task.after:
        payload["upstream"] = {dep + ".$": result_path(dep) for dep in task.after}
    timeout = _timeout(task, wf)
    function_timeout = min(timeout, LAMBDA_MAX_TIMEOUT) if timeout is not None else LAMBDA_MAX_TIMEOUT
    return asl.Task(
        name=task.name,
        comment=task.description,
        resource=arns.integration("lambda", "invoke"),
        parameters={"FunctionName": placeholder(FUNCTION, task.name), "Payload": payload},
        result_selector={"Payload.$": "$.Payload"},
        result_path=result_path(task.name),
        output_path=output_path,
        timeout_seconds=function_timeout + LAMBDA_TIMEOUT_MARGIN,
        retry=retriers(task, wf, LAMBDA_API_RETRIER),
        catch=_catch(task.name, catch_to),
        next=next,
    )


def render_task(
    task: model.Task,
    wf: model.Workflow,
    *,
    next: str | None,
    catch_to: str | None,
    output_path: str | None = None,
) -> asl.Task:
    """The one Task state for ``task``, named after it (contract 2). ``output_path`` is set on
    the last state of a Parallel branch (see ``render``)."""
    render = batch_task if task.runs_on == "batch" else lambda_task
    return render(task, wf, next=next, catch_to=catch_to, output_path=output_path)


def child_task(
    name: str,
    child: str,
    *,
    needs: Sequence[str],
    next: str | None,
    catch_to: str | None,
    catch_path: str,
) -> asl.Task:
    """Run child state machine ``child`` with ``states:startExecution.sync:2``.

    The child is named in ``StateMachineArn`` as ``${StateMachine_<child>}``: the text between
    ``StateMachine_`` and ``}`` is exactly the child's file name without ``.asl.json`` (child
    names only use characters the placeholder keeps).

    The child gets the execution input and only the results its tasks read (``needs``), and
    returns only the results of its tasks that later tasks read; ``.sync:2`` hands back the
    child's Output as parsed JSON, which lands in ``$.branch_results`` for the merge Pass that
    follows (see ``render``). So no payload carries every result of a 4,000-task workflow.
    """
    if placeholders.safe_name(child) != child:
        raise CompileError(f"Child state machine name '{child}' must use only A-Z a-z 0-9 _ -.")
    return asl.Task(
        name=name,
        resource=arns.integration("states", "startExecution", IntegrationPattern.SYNC, version=2),
        parameters={
            "StateMachineArn": placeholder(STATE_MACHINE, child),
            "Input": {
                "input.$": "$.input",
                "results": {dep + ".$": result_path(dep) for dep in needs},
                # Links the child to this execution in the console (AWS's documented key).
                "AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID.$": "$$.Execution.Id",
            },
        },
        result_selector={"results.$": "$.Output.results"},
        result_path="$.branch_results",
        retry=(
            asl.Retrier(
                errors=(
                    "StepFunctions.ExecutionLimitExceeded",
                    "StepFunctions.AWSStepFunctionsException",
                    "StepFunctions.SdkClientException",
                ),
                interval=1,
                max_attempts=3,
                backoff_rate=2,
                jitter_full=True,
            ),
        ),
        catch=() if catch_to is None else (asl.Catcher(next=catch_to, result_path=catch_path),),
        next=next,
    )
