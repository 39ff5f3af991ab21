"""The Python API: declare a workflow in code, get the same model a spec file gives.

    >>> wf = Workflow("nightly-sales", schedule="cron(10 2 * * ? *)", notify=["ops@example.com"])
    >>> optimize = wf.batch("optimize-db", image="postgres:16", command=["vacuumdb", "--all"],
    ...                     timeout="2h", retries=3)
    >>> @wf.task(timeout="5m", after=[optimize])
    ... def check_freshness(event, context):
    ...     return {"fresh": True}
    >>> report = wf.batch("weekly-report", image="reports:1", command=["report"],
    ...                   after=[optimize, check_freshness])
    >>> [t.name for t in wf.build().tasks]
    ['optimize-db', 'check-freshness', 'weekly-report']

The builder records a spec document (contract 1 of DESIGN.md) and where each part was declared;
``build()`` validates it with ``orchestrator.spec.from_dict``, the very function that loads YAML
and JSON, so a mistake in Python is reported like one in a spec: all problems at once, each with
its file:line and a fix.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Generic, Literal, ParamSpec, Required, TypedDict, TypeVar, overload

if TYPE_CHECKING:
    from types import FrameType

    from typing_extensions import TypeIs  # typing's own from Python 3.13

    from orchestrator import model
    from orchestrator.spec.validate import KnownValid

# The model, the error classes and ``inspect`` are imported where they are used: a workflow module
# that a local Lambda zygote imports for its handlers declares tasks with this builder but never
# builds, and leaving the model's dataclasses (with ``dataclasses`` and ``inspect``) unimported
# has the zygote ready for the first task ~10 ms sooner (``tests/test_cli_startup.py``).

P = ParamSpec("P")
R = TypeVar("R")

Duration = str | int | float
"""Seconds as a number, or a string such as ``"90s"``, ``"5m"``, ``"2h"``, ``"1h30m"``."""


# The option arguments, typed as the spec's fields (contract 1 of DESIGN.md). Each also accepts the
# model's own value (``model.Retry``, ``model.Schedule``, ``model.Queue``, ``model.Notify``).
class RetryOptions(TypedDict, total=False):
    attempts: int
    interval: Duration
    backoff_rate: float
    max_delay: Duration
    jitter: Literal["FULL", "NONE"]
    errors: Sequence[str]


class ScheduleOptions(TypedDict, total=False):
    expression: Required[str]
    timezone: str
    flexible_window: Duration
    overlap: Literal["skip", "allow", "queue"]
    catch_up: Literal["none", "latest", "all"]
    catch_up_limit: int
    starting_deadline: Duration
    enabled: bool


class NotifyOptions(TypedDict, total=False):
    email: str | Sequence[str]
    topic_arn: str
    webhook: str
    on: Sequence[Literal["failure", "recovery", "success"]]


class QueueOptions(TypedDict, total=False):
    name: Required[str]
    priority: int
    compute: Sequence[Literal["FARGATE_SPOT", "FARGATE", "SPOT", "EC2"]]
    max_vcpus: int


class DefaultsOptions(TypedDict, total=False):
    timeout: Duration
    retries: int | model.Retry | RetryOptions
    queue: str
    image: str


class PermissionOptions(TypedDict, total=False):
    actions: Required[Sequence[str]]
    resources: Sequence[str]


if TYPE_CHECKING:
    Retries = int | model.Retry | RetryOptions


def __getattr__(name: str) -> Any:
    # ``Retries`` and ``WorkflowLike`` name model classes: built on first use (PEP 562).
    if name not in ("Retries", "WorkflowLike"):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from orchestrator import model

    aliases = {"Retries": int | model.Retry | RetryOptions, "WorkflowLike": Workflow | model.Workflow}
    globals().update(aliases)
    return aliases[name]


def _model_value(value: object, kind: str) -> bool:
    """Whether ``value`` is an instance of the model's class ``kind``. It can be one only once the
    model is imported, so the builder recognises the model's values without importing it."""
    model = sys.modules.get("orchestrator.model")
    return model is not None and isinstance(value, getattr(model, kind))


def _is_retry(value: object) -> TypeIs[model.Retry]:
    return _model_value(value, "Retry")


def _is_schedule(value: object) -> TypeIs[model.Schedule]:
    return _model_value(value, "Schedule")


def _is_notify(value: object) -> TypeIs[model.Notify]:
    return _model_value(value, "Notify")


def _is_queue(value: object) -> TypeIs[model.Queue]:
    return _model_value(value, "Queue")


def _caller() -> tuple[str, int]:
    """file:line of the user's code that called into this module (skipping our own frames)."""
    frame: FrameType | None = sys._getframe()
    here = os.path.abspath(__file__)
    while frame is not None:
        filename = os.path.abspath(frame.f_code.co_filename)
        if filename != here:
            return frame.f_code.co_filename, frame.f_lineno
        frame = frame.f_back
    return "<python>", 0


def _display(path: str) -> str:
    """A source file as the user would name it: relative to the current directory when inside it."""
    if path.startswith("<"):
        return path
    relative = os.path.relpath(path)
    return path if relative.startswith("..") else relative


def _names(upstream: object) -> list[str]:
    if upstream is None:
        return []
    if isinstance(upstream, (TaskRef, str)):
        upstream = [upstream]
    names: list[str] = []
    if not isinstance(upstream, Iterable):
        # Validation reports it with a location; keep the repr so the message names it.
        return [repr(upstream)]
    for item in upstream:
        if isinstance(item, TaskRef):
            names.append(item.name)
        elif isinstance(item, str):
            names.append(item)
        else:
            # Validation reports it with a location; keep the repr so the message names it.
            names.append(repr(item))
    return names


class TaskRef:
    """A declared task: use it in ``after=[...]`` or with ``>>`` (``a >> b``, ``[a, b] >> c``)."""

    __slots__ = ("_workflow", "name")

    def __init__(self, workflow: Workflow, name: str) -> None:
        self._workflow = workflow
        self.name = name

    def __rshift__(self, other: TaskRef | Sequence[TaskRef]) -> TaskRef | Sequence[TaskRef]:
        targets = [other] if isinstance(other, TaskRef) else list(other)
        for target in targets:
            target._workflow._add_after(target.name, [self.name])
        return other

    def __rrshift__(self, other: Sequence[TaskRef]) -> TaskRef:
        self._workflow._add_after(self.name, _names(other))
        return self

    def __repr__(self) -> str:
        return f"TaskRef({self.name!r})"


class FunctionTask(TaskRef, Generic[P, R]):
    """A Python function declared as a task; still callable as the plain function."""

    __slots__ = ("function",)

    def __init__(self, workflow: Workflow, name: str, function: Callable[P, R]) -> None:
        super().__init__(workflow, name)
        self.function = function

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        return self.function(*args, **kwargs)


def _function_ref(function: Callable[..., Any]) -> str:
    """``module:qualname`` when importable, else ``path.py:qualname``: a script run as __main__, or a
    file ``orchestrator.spec.load`` imported under a private name because it lies outside the
    current directory (that name means nothing to another process)."""
    module = function.__module__
    if module == "__main__" or module is None or module.startswith("_orchestrator_workflow_"):
        import inspect

        path = inspect.getsourcefile(function) or "<unknown>"
        return f"{os.path.relpath(path)}:{function.__qualname__}"
    return f"{module}:{function.__qualname__}"


def _given(**fields: Any) -> dict[str, Any]:
    """The fields that were given (not ``None``), in order; mappings are copied, so the spec does
    not change when the caller later changes theirs."""
    return {key: dict(value) if isinstance(value, Mapping) else value
            for key, value in fields.items() if value is not None}


def _statements(permissions: Sequence[PermissionOptions] | None) -> list[dict[str, Any]] | None:
    return None if permissions is None else [dict(p) for p in permissions]


def _retries(value: Retries | None) -> int | dict[str, Any] | None:
    """A retry option as the spec writes it; the model's ``Retry`` is turned back into its spec form."""
    if _is_retry(value):
        from orchestrator.spec.convert import retry_doc

        return retry_doc(value)
    return dict(value) if isinstance(value, Mapping) else value


class Workflow:
    """Builder for a workflow; ``build()`` returns the validated, frozen ``model.Workflow``."""

    def __init__(
        self,
        name: str,
        *,
        schedule: str | model.Schedule | ScheduleOptions | None = None,
        notify: str | Sequence[str] | model.Notify | NotifyOptions | None = None,
        description: str | None = None,
        timeout: Duration | None = None,
        defaults: DefaultsOptions | None = None,
        queues: Sequence[model.Queue | QueueOptions] | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> None:
        self.name = name
        self._source, line = _caller()
        self._doc: dict[str, Any] = {"name": name}
        self._positions: dict[tuple[str | int, ...], tuple[int, int]] = {(): (line, 0)}
        if description is not None:
            self._doc["description"] = description
        # The spec package is imported where a model value needs converting (and by ``build()``):
        # a workflow module that a local Lambda zygote imports for its handlers then leaves it
        # unimported (~35 ms, and memory that every forked worker copies).
        if _is_schedule(schedule):
            from orchestrator.spec.convert import schedule_doc

            self._doc["schedule"] = schedule_doc(schedule)
        elif schedule is not None:
            self._doc["schedule"] = schedule if isinstance(schedule, str) else dict(schedule)
        if _is_notify(notify):
            from orchestrator.spec.convert import notify_doc

            self._doc["notify"] = notify_doc(notify)
        elif isinstance(notify, str):  # one address; list("ops@...") would be its characters
            self._doc["notify"] = [notify]
        elif notify is not None:
            self._doc["notify"] = dict(notify) if isinstance(notify, Mapping) else list(notify)
        if timeout is not None:
            self._doc["timeout"] = timeout
        if defaults is not None:
            self._doc["defaults"] = {**defaults, **_given(retries=_retries(defaults.get("retries")))}
        if queues is not None:
            from orchestrator.spec.convert import queue_doc

            self._doc["queues"] = [queue_doc(q) if _is_queue(q) else dict(q) for q in queues]
        if tags is not None:
            self._doc["tags"] = dict(tags)
        self._doc["tasks"] = []

    # -- declaring tasks -------------------------------------------------------------------
    def _declare(
        self,
        name: str,
        kind: str,
        job: dict[str, Any],
        *,
        after: TaskRef | str | Sequence[TaskRef | str] | None,
        timeout: Duration | None,
        retries: Retries | None,
        expected_duration: Duration | None,
        description: str | None,
    ) -> None:
        """Record a task of ``kind`` with the options every kind shares, at the caller's line."""
        _, line = _caller()
        index = len(self._doc["tasks"])
        self._doc["tasks"].append({"name": name, kind: job, **_given(
            after=_names(after) or None, timeout=timeout, retries=_retries(retries),
            expected_duration=expected_duration, description=description,
        )})
        self._positions[("tasks", index)] = (line, 0)

    def _add_after(self, name: str, upstream: list[str]) -> None:
        for entry in self._doc["tasks"]:
            if entry["name"] == name:
                after = entry.setdefault("after", [])
                after.extend(u for u in upstream if u not in after)
                return

    def batch(
        self,
        name: str,
        *,
        image: str,
        command: Sequence[str] = (),
        vcpus: float | None = None,
        memory: int | None = None,
        environment: Mapping[str, str] | None = None,
        secrets: Mapping[str, str] | None = None,
        array_size: int | None = None,
        queue: str | None = None,
        permissions: Sequence[PermissionOptions] | None = None,
        platform: str | None = None,
        build: str | Mapping[str, str] | None = None,
        after: TaskRef | str | Sequence[TaskRef | str] | None = None,
        timeout: Duration | None = None,
        retries: Retries | None = None,
        expected_duration: Duration | None = None,
        description: str | None = None,
    ) -> TaskRef:
        """A container job on AWS Batch; locally its container when the image can be had, else a process.

        ``build`` (a directory with a Dockerfile, or ``{"context": ..., "dockerfile": ...}``, relative
        to the project directory) builds ``image`` from the project's own Dockerfile, locally and on AWS.
        """
        # A string stays a string so validation reports it (list("echo hi") would be characters).
        job = {"image": image, "command": command if isinstance(command, str) else list(command), **_given(
            vcpus=vcpus, memory=memory, environment=environment, secrets=secrets, array_size=array_size,
            queue=queue, platform=platform, permissions=_statements(permissions),
            build=dict(build) if isinstance(build, Mapping) else build,
        )}
        self._declare(name, "batch", job, after=after, timeout=timeout, retries=retries,
                      expected_duration=expected_duration, description=description)
        return TaskRef(self, name)

    def lambda_(
        self,
        name: str,
        *,
        handler: str,
        memory: int | None = None,
        environment: Mapping[str, str] | None = None,
        permissions: Sequence[PermissionOptions] | None = None,
        after: TaskRef | str | Sequence[TaskRef | str] | None = None,
        timeout: Duration | None = None,
        retries: Retries | None = None,
        expected_duration: Duration | None = None,
        description: str | None = None,
    ) -> TaskRef:
        """A Lambda function given by ``handler`` (``"module:function"``)."""
        job = {"handler": handler, **_given(
            memory=memory, environment=environment, permissions=_statements(permissions),
        )}
        self._declare(name, "lambda", job, after=after, timeout=timeout, retries=retries,
                      expected_duration=expected_duration, description=description)
        return TaskRef(self, name)

    @overload
    def task(self, function: Callable[P, R], /) -> FunctionTask[P, R]: ...

    @overload
    def task(
        self,
        function: None = None,
        /,
        *,
        name: str | None = None,
        after: TaskRef | str | Sequence[TaskRef | str] | None = None,
        timeout: Duration | None = None,
        retries: Retries | None = None,
        expected_duration: Duration | None = None,
        memory: int | None = None,
        vcpus: float | None = None,
        image: str | None = None,
        environment: Mapping[str, str] | None = None,
        queue: str | None = None,
        permissions: Sequence[PermissionOptions] | None = None,
        description: str | None = None,
    ) -> Callable[[Callable[P, R]], FunctionTask[P, R]]: ...

    def task(
        self,
        function: Callable[P, R] | None = None,
        /,
        *,
        name: str | None = None,
        after: TaskRef | str | Sequence[TaskRef | str] | None = None,
        timeout: Duration | None = None,
        retries: Retries | None = None,
        expected_duration: Duration | None = None,
        memory: int | None = None,
        vcpus: float | None = None,
        image: str | None = None,
        environment: Mapping[str, str] | None = None,
        queue: str | None = None,
        permissions: Sequence[PermissionOptions] | None = None,
        description: str | None = None,
    ) -> FunctionTask[P, R] | Callable[[Callable[P, R]], FunctionTask[P, R]]:
        """Declare a Python function as a task: ``@wf.task`` or ``@wf.task(timeout="5m")``.

        The function takes ``(event, context)`` like a Lambda handler. The task name is the
        function name with ``_`` turned into ``-`` unless ``name`` is given.
        """

        def declare(fn: Callable[P, R]) -> FunctionTask[P, R]:
            task_name = name or fn.__name__.replace("_", "-")
            job = {"function": _function_ref(fn), **_given(
                memory=memory, vcpus=vcpus, image=image, queue=queue, environment=environment,
                permissions=_statements(permissions),
            )}
            self._declare(task_name, "python", job, after=after, timeout=timeout, retries=retries,
                          expected_duration=expected_duration, description=description)
            return FunctionTask(self, task_name, fn)

        if function is not None:
            return declare(function)
        return declare

    # -- results -----------------------------------------------------------------------------
    def to_spec(self) -> dict[str, Any]:
        """The spec document declared so far (contract 1), before validation."""
        import copy

        return copy.deepcopy(self._doc)

    def build(self) -> model.Workflow:
        """Validate and return the frozen model; raises ``ValidationError`` listing every problem."""
        return self._build(None)

    def _build(self, known: KnownValid | None) -> model.Workflow:
        """``build()``; a document in ``known`` is built without being checked (``spec.load_all``).

        ``from_dict`` takes its own copy of the document, so the model shares nothing with the
        builder (``to_spec``'s copy would be a second one)."""
        from orchestrator.spec import from_dict

        return from_dict(self._doc, source=_display(self._source), positions=self._positions, known=known)


if TYPE_CHECKING:
    WorkflowLike = Workflow | model.Workflow
    """What every entry point that takes a workflow accepts: the builder, or the model it builds."""


def workflow_model(workflow: object, *, where: str, usage: str) -> model.Workflow:
    """The model of ``workflow``: a ``model.Workflow`` as it is, the builder built (and so
    validated); anything else raises :class:`NotAWorkflowError` naming ``where`` it was passed,
    with a fix written as ``usage`` (the call, ``{}`` standing for the workflow argument).

    >>> wf = Workflow("hello")
    >>> _ = wf.batch("say-hi", image="alpine:3", command=["echo", "hi"])
    >>> workflow_model(wf, where="compile_workflow()", usage="compile_workflow({})").name
    'hello'
    >>> workflow_model("hello.py", where="compile_workflow()", usage="compile_workflow({})")
    Traceback (most recent call last):
    ...
    orchestrator.errors.NotAWorkflowError: compile_workflow(): expected a workflow (orchestrator.Workflow or orchestrator.model.Workflow), got str 'hello.py'
        fix: load the file first: compile_workflow(orchestrator.load('hello.py'))
    """
    from orchestrator import model

    if isinstance(workflow, model.Workflow):
        return workflow
    if isinstance(workflow, Workflow):
        return workflow.build()
    from orchestrator.errors import NotAWorkflowError, Problem

    got = f"{type(workflow).__name__} {_short(workflow)}"
    if isinstance(workflow, (str, os.PathLike)):
        fix = "load the file first: " + usage.format(f"orchestrator.load({os.fspath(workflow)!r})")
    elif isinstance(workflow, TaskRef):
        fix = "pass the workflow the task was declared on, not the task: " + usage.format("wf")
    elif isinstance(workflow, (list, tuple)):
        fix = "pass one workflow at a time: for wf in workflows: " + usage.format("wf")
    else:
        fix = 'build one first: wf = orchestrator.Workflow("nightly"); wf.batch(...); ' + usage.format("wf")
    raise NotAWorkflowError([Problem(
        where=where,
        message=f"expected a workflow (orchestrator.Workflow or orchestrator.model.Workflow), got {got}",
        fix=fix)])


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
