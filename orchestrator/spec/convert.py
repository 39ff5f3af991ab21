"""Between a valid spec document and the model: ``build`` (document -> model, after validation) and
``to_dict`` (model -> canonical document).

The canonical document is the shortest spec that means the same: defaults are left out, durations
are strings such as ``"2h"``, a retry policy that only sets attempts is a number. So
``from_dict(to_dict(wf)) == wf`` for every valid workflow.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from orchestrator import model
from orchestrator.spec.durations import format_duration, parse_duration


def _seconds(value: Any) -> int:
    return int(parse_duration(value))


def _float_seconds(value: Any) -> float:
    # A number in a valid document is already seconds (finite and not negative): what
    # parse_duration would return, without its checks, for each of 10,000 tasks.
    kind = type(value)
    return float(value) if kind is float or kind is int else parse_duration(value)


# The enum members by value, looked up directly: calling the enum costs a few microseconds a job.
_PLATFORMS = {platform.value: platform for platform in model.Platform}


def _optional_seconds(data: Mapping[str, Any], key: str) -> int | None:
    return _seconds(data[key]) if key in data else None


def build(doc: Mapping[str, Any]) -> model.Workflow:
    """The model of a document that passed validation."""
    defaults = doc.get("defaults", {})
    return model.Workflow(
        name=doc["name"],
        description=doc.get("description"),
        schedule=_schedule(doc["schedule"]) if "schedule" in doc else None,
        notify=_notify(doc["notify"]) if "notify" in doc else None,
        timeout=_optional_seconds(doc, "timeout"),
        defaults=model.Defaults(
            timeout=_optional_seconds(defaults, "timeout"),
            retry=_retry(defaults["retries"]) if "retries" in defaults else None,
            queue=defaults.get("queue"),
            image=defaults.get("image"),
        ),
        queues=tuple(_queue(q) for q in doc.get("queues", [])),
        tags=dict(doc.get("tags", {})),
        tasks=tuple(_task(t) for t in doc["tasks"]),
    )


def _schedule(value: Any) -> model.Schedule:
    if isinstance(value, str):
        return model.Schedule(expression=value.strip())
    window = value.get("flexible_window")
    if isinstance(window, str):
        window = int(parse_duration(window)) // 60
    return model.Schedule(
        expression=value["expression"].strip(),
        timezone=value.get("timezone", "UTC"),
        flexible_window=None if window is None else int(window),
        overlap=value.get("overlap", "skip"),
        catch_up=value.get("catch_up", "none"),
        catch_up_limit=value.get("catch_up_limit", model.CATCH_UP_LIMIT_DEFAULT),
        starting_deadline=_optional_seconds(value, "starting_deadline"),
        enabled=value.get("enabled", True),
    )


def _notify(value: Any) -> model.Notify:
    if isinstance(value, list):
        return model.Notify(email=tuple(value))
    email = value.get("email", ())
    return model.Notify(
        email=(email,) if isinstance(email, str) else tuple(email),
        topic_arn=value.get("topic_arn"),
        webhook=value.get("webhook"),
        on=tuple(value.get("on", ("failure",))),
    )


def _retry(value: Any) -> model.Retry:
    if not isinstance(value, Mapping):
        return model.Retry(attempts=int(value))
    base = model.Retry()
    return model.Retry(
        attempts=int(value.get("attempts", base.attempts)),
        interval=_seconds(value["interval"]) if "interval" in value else base.interval,
        backoff_rate=float(value.get("backoff_rate", base.backoff_rate)),
        max_delay=_optional_seconds(value, "max_delay"),
        jitter=model.Jitter(value.get("jitter", base.jitter)),
        errors=tuple(value.get("errors", base.errors)),
    )


def _queue(value: Mapping[str, Any]) -> model.Queue:
    base = model.Queue(name=value["name"])
    return model.Queue(
        name=value["name"],
        priority=int(value.get("priority", base.priority)),
        compute=tuple(model.Compute(c) for c in value.get("compute", base.compute)),
        max_vcpus=int(value.get("max_vcpus", base.max_vcpus)),
    )


def _permissions(value: Any) -> tuple[model.Permission, ...]:
    if not value:
        return ()  # most jobs: no generator to set up
    return tuple(
        model.Permission(actions=tuple(p["actions"]), resources=tuple(p.get("resources", ("*",))))
        for p in value
    )


def _build(value: Any) -> model.ImageBuild | None:
    if value is None:
        return None
    if isinstance(value, str):
        return model.ImageBuild(context=value)
    return model.ImageBuild(context=value["context"], dockerfile=value.get("dockerfile", "Dockerfile"))


def _job(task: Mapping[str, Any]) -> model.Job:
    if "batch" in task:
        b = task["batch"]
        return model.BatchJob(
            image=b["image"], command=tuple(b.get("command", ())),
            vcpus=float(b.get("vcpus", 1.0)), memory=int(b.get("memory", 2048)),
            environment=b.get("environment", model.EMPTY_MAP), secrets=b.get("secrets", model.EMPTY_MAP),
            array_size=None if b.get("array_size") is None else int(b["array_size"]), queue=b.get("queue"),
            permissions=_permissions(b["permissions"]) if "permissions" in b else (),
            platform=_PLATFORMS[b.get("platform", "FARGATE")],
            build=_build(b["build"]) if "build" in b else None,
        )
    if "lambda" in task:
        f = task["lambda"]
        return model.LambdaTask(
            handler=f["handler"], memory=int(f.get("memory", 512)), environment=f.get("environment", model.EMPTY_MAP),
            permissions=_permissions(f.get("permissions")),
        )
    p = task["python"]
    return model.PythonTask(
        function=p["function"], memory=int(p.get("memory", 512)), vcpus=float(p.get("vcpus", 1.0)),
        image=p.get("image"), environment=p.get("environment", model.EMPTY_MAP), queue=p.get("queue"),
        permissions=_permissions(p.get("permissions")),
    )


def _task(value: Mapping[str, Any]) -> model.Task:
    return model.Task(
        name=value["name"],
        job=_job(value),
        after=tuple(value.get("after", ())),
        timeout=_seconds(value["timeout"]) if "timeout" in value else None,
        retry=_retry(value["retries"]) if "retries" in value else None,
        expected_duration=_float_seconds(value["expected_duration"]) if "expected_duration" in value else None,
        description=value.get("description"),
    )


# -- model -> document ---------------------------------------------------------------------------
def _number(value: float) -> int | float:
    return int(value) if value == int(value) else value


def _duration(value: float) -> str | int | float:
    if value == int(value) and value > 0:
        return format_duration(int(value))
    return _number(value)


def to_dict(wf: model.Workflow) -> dict[str, Any]:
    """The canonical spec of ``wf``: ``from_dict(to_dict(wf)) == wf``.

        >>> from orchestrator.model import BatchJob, Task, Workflow
        >>> to_dict(Workflow(name="w", tasks=(Task(name="a", job=BatchJob(image="x"), timeout=5400),)))
        {'name': 'w', 'tasks': [{'name': 'a', 'batch': {'image': 'x'}, 'timeout': '1h30m'}]}
    """
    doc: dict[str, Any] = {"name": wf.name}
    if wf.description is not None:
        doc["description"] = wf.description
    if wf.schedule is not None:
        doc["schedule"] = schedule_doc(wf.schedule)
    if wf.notify is not None:
        doc["notify"] = notify_doc(wf.notify)
    if wf.timeout is not None:
        doc["timeout"] = _duration(wf.timeout)
    defaults: dict[str, Any] = {}
    if wf.defaults.timeout is not None:
        defaults["timeout"] = _duration(wf.defaults.timeout)
    if wf.defaults.retry is not None:
        defaults["retries"] = retry_doc(wf.defaults.retry)
    if wf.defaults.queue is not None:
        defaults["queue"] = wf.defaults.queue
    if wf.defaults.image is not None:
        defaults["image"] = wf.defaults.image
    if defaults:
        doc["defaults"] = defaults
    if wf.queues:
        doc["queues"] = [queue_doc(q) for q in wf.queues]
    if wf.tags:
        doc["tags"] = dict(wf.tags)
    doc["tasks"] = [_task_doc(t) for t in wf.tasks]
    return doc


def schedule_doc(schedule: model.Schedule) -> str | dict[str, Any]:
    """The spec form of a schedule: the bare expression when nothing else is set.

    >>> schedule_doc(model.Schedule(expression="rate(1 hour)"))
    'rate(1 hour)'
    """
    if schedule == model.Schedule(expression=schedule.expression):
        return schedule.expression
    out: dict[str, Any] = {"expression": schedule.expression}
    if schedule.timezone != "UTC":
        out["timezone"] = schedule.timezone
    if schedule.flexible_window is not None:
        out["flexible_window"] = schedule.flexible_window
    if schedule.overlap != "skip":
        out["overlap"] = schedule.overlap
    if schedule.catch_up != "none":
        out["catch_up"] = schedule.catch_up
    if schedule.catch_up_limit != model.CATCH_UP_LIMIT_DEFAULT:
        out["catch_up_limit"] = schedule.catch_up_limit
    if schedule.starting_deadline is not None:
        out["starting_deadline"] = schedule.starting_deadline
    if not schedule.enabled:
        out["enabled"] = False
    return out


def notify_doc(notify: model.Notify) -> list[str] | dict[str, Any]:
    """The spec form of where alerts go: a list of addresses when that is all.

    >>> notify_doc(model.Notify(email=("ops@example.com",)))
    ['ops@example.com']
    """
    if notify.topic_arn is None and notify.webhook is None and notify.email and notify.on == ("failure",):
        return list(notify.email)
    out: dict[str, Any] = {}
    if notify.email:
        out["email"] = list(notify.email)
    if notify.topic_arn is not None:
        out["topic_arn"] = notify.topic_arn
    if notify.webhook is not None:
        out["webhook"] = notify.webhook
    if notify.on != ("failure",):
        out["on"] = list(notify.on)
    return out


def retry_doc(retry: model.Retry) -> int | dict[str, Any]:
    """The spec form of a retry policy: a number when only the attempts differ from the default.

    >>> retry_doc(model.Retry(attempts=5)), retry_doc(model.Retry(attempts=2, interval=30))
    (5, {'attempts': 2, 'interval': '30s'})
    """
    base = model.Retry()
    if retry == model.Retry(attempts=retry.attempts):
        return retry.attempts
    out: dict[str, Any] = {"attempts": retry.attempts}
    if retry.interval != base.interval:
        out["interval"] = _duration(retry.interval)
    if retry.backoff_rate != base.backoff_rate:
        out["backoff_rate"] = retry.backoff_rate
    if retry.max_delay is not None:
        out["max_delay"] = _duration(retry.max_delay)
    if retry.jitter != base.jitter:
        out["jitter"] = retry.jitter.value
    if retry.errors != base.errors:
        out["errors"] = list(retry.errors)
    return out


def queue_doc(queue: model.Queue) -> dict[str, Any]:
    """The spec form of a queue: its name and what differs from the defaults.

    >>> queue_doc(model.Queue(name="urgent", priority=10))
    {'name': 'urgent', 'priority': 10}
    """
    base = model.Queue(name=queue.name)
    out: dict[str, Any] = {"name": queue.name}
    if queue.priority != base.priority:
        out["priority"] = queue.priority
    if queue.compute != base.compute:
        out["compute"] = [c.value for c in queue.compute]
    if queue.max_vcpus != base.max_vcpus:
        out["max_vcpus"] = queue.max_vcpus
    return out


def _permissions_doc(permissions: tuple[model.Permission, ...]) -> list[dict[str, Any]]:
    out = []
    for p in permissions:
        item: dict[str, Any] = {"actions": list(p.actions)}
        if p.resources != ("*",):
            item["resources"] = list(p.resources)
        out.append(item)
    return out


def _job_doc(job: model.Job) -> tuple[str, dict[str, Any]]:
    out: dict[str, Any]
    if isinstance(job, model.BatchJob):
        base_b = model.BatchJob(image=job.image)
        out = {"image": job.image}
        if job.command:
            out["command"] = list(job.command)
        if job.vcpus != base_b.vcpus:
            out["vcpus"] = _number(job.vcpus)
        if job.memory != base_b.memory:
            out["memory"] = job.memory
        if job.environment:
            out["environment"] = dict(job.environment)
        if job.secrets:
            out["secrets"] = dict(job.secrets)
        if job.array_size is not None:
            out["array_size"] = job.array_size
        if job.queue is not None:
            out["queue"] = job.queue
        if job.permissions:
            out["permissions"] = _permissions_doc(job.permissions)
        if job.platform != base_b.platform:
            out["platform"] = job.platform.value
        if job.build is not None:
            out["build"] = (job.build.context if job.build.dockerfile == "Dockerfile"
                            else {"context": job.build.context, "dockerfile": job.build.dockerfile})
        return "batch", out
    if isinstance(job, model.LambdaTask):
        out = {"handler": job.handler}
        if job.memory != model.LambdaTask(handler=job.handler).memory:
            out["memory"] = job.memory
        if job.environment:
            out["environment"] = dict(job.environment)
        if job.permissions:
            out["permissions"] = _permissions_doc(job.permissions)
        return "lambda", out
    base_p = model.PythonTask(function=job.function)
    out = {"function": job.function}
    if job.memory != base_p.memory:
        out["memory"] = job.memory
    if job.vcpus != base_p.vcpus:
        out["vcpus"] = _number(job.vcpus)
    if job.image is not None:
        out["image"] = job.image
    if job.environment:
        out["environment"] = dict(job.environment)
    if job.queue is not None:
        out["queue"] = job.queue
    if job.permissions:
        out["permissions"] = _permissions_doc(job.permissions)
    return "python", out


def _task_doc(task: model.Task) -> dict[str, Any]:
    kind, job = _job_doc(task.job)
    out: dict[str, Any] = {"name": task.name}
    if task.description is not None:
        out["description"] = task.description
    out[kind] = job
    if task.after:
        out["after"] = list(task.after)
    if task.timeout is not None:
        out["timeout"] = _duration(task.timeout)
    if task.retry is not None:
        out["retries"] = retry_doc(task.retry)
    if task.expected_duration is not None:
        out["expected_duration"] = _duration(task.expected_duration)
    return out
