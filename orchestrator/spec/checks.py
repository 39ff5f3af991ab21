"""Semantic checks of a spec document: the rules a JSON Schema cannot say well.

Each check is a plain function ``check_x(ctx)`` adding ``Issue``\\s; ``CHECKS`` lists them in the order
they run. Checks skip values of the wrong type: the schema already reports those, and a check
that tripped over them would only say the same thing twice.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Container, Iterator
from datetime import UTC, datetime
from typing import Any

from orchestrator import limits, model, templates
from orchestrator.errors import closest
from orchestrator.spec import bounds
from orchestrator.spec.durations import EXAMPLES, DurationError, format_duration, parse_duration
from orchestrator.spec.issues import Issue, Path, quote, show

JOB_KINDS = ("batch", "lambda", "python")
TASK_KEYS = frozenset({"name", "description", "after", "timeout", "retries", "expected_duration", *JOB_KINDS})
FARGATE_COMPUTE = frozenset({"FARGATE", "FARGATE_SPOT"})
DEFAULT_QUEUE = "default"  # where a Batch job without a queue goes (compiler.tasks, local.batch)

# Step Functions: state machine names (limits.STATE_MACHINE_NAME_MAX) may not contain whitespace,
# brackets, wildcards, these special characters or control characters.
STATE_MACHINE_NAME_FORBIDDEN = re.compile(r'[\s{}\[\]<>?*"#%\\^|~`$&,;:/\x00-\x1f\x7f-\x9f]')
# A task name is a state name (limits.STATE_NAME_MAX) and part of a Batch job name (letters, digits, - and _).
TASK_NAME_CHARS = re.compile(r"[^A-Za-z0-9_-]")

# AWS Batch on Fargate: the vCPU/memory (MiB) pairs a job may ask for.
FARGATE_SIZES = limits.FARGATE_MEMORY
# Every vCPU/memory pair Fargate takes.
_FARGATE_PAIRS = frozenset((vcpus, memory) for vcpus, sizes in FARGATE_SIZES.items() for memory in sizes)
_FARGATE_RULES = {
    0.25: "512, 1024 or 2048 MiB",
    0.5: "1024-4096 MiB in steps of 1024",
    1.0: "2048-8192 MiB in steps of 1024",
    2.0: "4096-16384 MiB in steps of 1024",
    4.0: "8192-30720 MiB in steps of 1024",
    8.0: "16384-61440 MiB in steps of 4096",
    16.0: "32768-122880 MiB in steps of 8192",
}

HANDLER = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*")
# "module:qualname" or "path/to/file.py:qualname"; qualnames of nested functions keep "<locals>".
FUNCTION = re.compile(r"([A-Za-z_]\w*(\.[A-Za-z_]\w*)*|[^:\s]+\.py):[A-Za-z_<][\w.<>]*")
EMAIL = re.compile(r"[^@\s,;]+@[^@\s,;]+\.[^@\s,;]+")
SNS_TOPIC_ARN = re.compile(r"arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?")
SECRET_ARN = re.compile(
    r"arn:aws[a-z-]*:(secretsmanager:[a-z0-9-]+:\d{12}:secret:.+|ssm:[a-z0-9-]+:\d{12}:parameter/.+)"
)
ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class Context:
    """The document being checked and the issues found so far."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.doc = document
        self.issues: list[Issue] = []
        # Found once: a dozen checks go over every task, and the checks never change the document.
        tasks = document.get("tasks")
        self._tasks = [(index, task) for index, task in enumerate(tasks) if isinstance(task, dict)] \
            if isinstance(tasks, list) else []
        # Each task's job kinds (check_jobs wants exactly one), and every job given as a mapping,
        # with its task and kind, in task order and JOB_KINDS order.
        self._kinds = [(index, task, [kind for kind in JOB_KINDS if kind in task]) for index, task in self._tasks]
        self._jobs = [(index, task, kind, job) for index, task, kinds in self._kinds for kind in kinds
                      if isinstance(job := task[kind], dict)]
        defaults = document.get("defaults")
        self._defaults: dict[str, Any] = defaults if isinstance(defaults, dict) else {}
        # An integer no float can hold (10**400): bounds.check_values reports it, and the checks
        # after it, which read numbers as floats, are not run.
        self.past_floats = False

    def add(self, path: Path, message: str, fix: str | None = None) -> None:
        self.issues.append(Issue(path, message, fix))

    def tasks(self) -> Iterator[tuple[int, dict[str, Any]]]:
        return iter(self._tasks)

    def kinds(self) -> Iterator[tuple[int, dict[str, Any], list[str]]]:
        """``(index, task, the job kinds it has)`` for every task."""
        return iter(self._kinds)

    def jobs(self) -> Iterator[tuple[int, dict[str, Any], str, dict[str, Any]]]:
        """``(index, task, kind, job)`` for every job that is a mapping."""
        return iter(self._jobs)

    def task_name(self, task: dict[str, Any]) -> str | None:
        name = task.get("name")
        return name if isinstance(name, str) else None

    def defaults(self) -> dict[str, Any]:
        return self._defaults

    def declared_queues(self) -> list[str] | None:
        queues = self.doc.get("queues")
        if not isinstance(queues, list):
            return None
        return [q["name"] for q in queues if isinstance(q, dict) and isinstance(q.get("name"), str)]


def seconds(value: Any) -> float | None:
    """``value`` as seconds when it is a valid duration, else ``None`` (reported elsewhere)."""
    try:
        return parse_duration(value)
    except DurationError:
        return None


def effective_timeout(ctx: Context, task: dict[str, Any]) -> tuple[float | None, bool]:
    """The task's timeout in seconds (its own or the defaults'), and whether it was inherited."""
    if "timeout" in task:
        return seconds(task["timeout"]) or None, False  # zero is reported as a bad duration already
    if "timeout" in ctx.defaults():
        return seconds(ctx.defaults()["timeout"]) or None, True
    return None, False


def check_duration(
    ctx: Context, path: Path, value: Any, *, allow_zero: bool = False, whole: bool = True
) -> float | None:
    """Report a bad duration at ``path``; return its seconds when it is good."""
    kind = type(value)
    if (kind is int and 0 < value <= limits.JSON_INT_MAX) or (
        kind is float and 0 < value < math.inf and (not whole or value.is_integer())
    ):
        return float(value)  # a plain number of seconds, as most are: good, with nothing to parse
    key = str(path[-1])
    try:
        result = parse_duration(value)
    except DurationError as error:
        fix = f"{key}: {quote(error.suggestion)}" if error.suggestion else f"{key}: \"5m\" (durations are {EXAMPLES})"
        ctx.add(path, f"{key} {error}", fix)
        return None
    if result == 0 and not allow_zero:
        ctx.add(path, f"{key} must be longer than 0 seconds; got {show(value)}",
                f"give a positive duration such as {key}: \"1h\", or leave {key} out")
        return None
    if whole and result != int(result):
        ctx.add(path, f"{key} must be whole seconds; got {show(value)}", f"{key}: {round(result) or 1}")
        return None
    return result


# -- the workflow --------------------------------------------------------------------------------
def check_workflow_name(ctx: Context) -> None:
    name = ctx.doc.get("name")
    if not isinstance(name, str):
        return
    path: Path = ("name",)
    fixed = re.sub(r"-{2,}", "-", STATE_MACHINE_NAME_FORBIDDEN.sub("-", name)).strip("-")[: limits.STATE_MACHINE_NAME_MAX] or "my-workflow"
    if not name:
        ctx.add(path, "name must not be empty", 'name: "nightly-sales"')
    elif STATE_MACHINE_NAME_FORBIDDEN.search(name):
        bad = "".join(dict.fromkeys(STATE_MACHINE_NAME_FORBIDDEN.findall(name)))
        ctx.add(path, f"name {name!r} has {bad!r}, which Step Functions state machine names may not contain "
                "(whitespace, brackets, ?*\"#%\\^|~`$&,;:/ or control characters)", f"name: {quote(fixed)}")
    elif len(name) > limits.STATE_MACHINE_NAME_MAX:
        ctx.add(path, f"name is {len(name)} characters; a state machine name is at most {limits.STATE_MACHINE_NAME_MAX}",
                f"name: {quote(fixed)}")


def check_schedule(ctx: Context) -> None:
    schedule = ctx.doc.get("schedule")
    expression: Any
    path: Path
    if isinstance(schedule, str):
        expression, path, key = schedule, ("schedule",), "schedule"
    elif isinstance(schedule, dict):
        expression, path, key = schedule.get("expression"), ("schedule", "expression"), "expression"
    else:
        return
    from orchestrator.spec import cron  # only a workflow with a schedule needs it (and zoneinfo)

    zone_name = schedule.get("timezone") if isinstance(schedule, dict) else None
    if isinstance(expression, str):
        try:
            parsed = cron.parse_expression(expression)
        except cron.ScheduleError as error:
            fix = f"{key}: {error.fix}" if error.fix else None
            if fix is None and expression.strip().startswith("cron"):
                fix = ("cron(minutes hours day-of-month month day-of-week year) takes minutes 0-59, hours 0-23, "
                       "day-of-month 1-31, month 1-12 or JAN-DEC, day-of-week 1-7 or SUN-SAT, year 1970-2199")
            ctx.add(path, f"{key} {error}", fix)
        else:
            if isinstance(parsed, cron.Cron) and not cron.next_fire_times(
                model.Schedule(expression=expression), 1, after=datetime(1969, 12, 31, tzinfo=UTC)
            ):
                ctx.add(path, f"{key} {expression!r} never fires: no date matches all its fields",
                        "check the day-of-month, month and year fields (e.g. February has no 30th)")
    if isinstance(schedule, dict):
        if isinstance(zone_name, str):
            guess = cron.check_timezone(zone_name)
            if guess is not None:
                did_you_mean = f"; did you mean {guess!r}?" if guess else ""
                ctx.add(("schedule", "timezone"), f"timezone {zone_name!r} is not an IANA time zone{did_you_mean}",
                        f"timezone: {quote(guess or 'Europe/Berlin')}")
        window = schedule.get("flexible_window")
        if window is not None and not isinstance(window, bool):
            check_flexible_window(ctx, window)
        check_catch_up(ctx, schedule)


# A missed fire is "late" after a minute (EventBridge Scheduler's precision), so a deadline under
# that would drop fires that are merely on time.
STARTING_DEADLINE_MIN = 60


def check_catch_up(ctx: Context, schedule: dict[str, Any]) -> None:
    deadline = schedule.get("starting_deadline")
    if deadline is not None and not isinstance(deadline, bool):
        seconds = check_duration(ctx, ("schedule", "starting_deadline"), deadline)
        if seconds is not None and seconds < STARTING_DEADLINE_MIN:
            ctx.add(("schedule", "starting_deadline"),
                    f"starting_deadline must be at least {STARTING_DEADLINE_MIN} seconds (a fire is on time "
                    f"within its minute); got {show(deadline)}", 'starting_deadline: "1h"')
    extra = [key for key in ("catch_up_limit", "starting_deadline") if key in schedule]
    if extra and schedule.get("catch_up", "none") == "none":
        ctx.add(("schedule", extra[0]),
                f"{extra[0]} bounds catching up, but catch_up is 'none', so nothing is caught up",
                f'catch_up: all  # or latest; or leave {extra[0]} out')


def check_flexible_window(ctx: Context, window: Any) -> None:
    path: Path = ("schedule", "flexible_window")
    if isinstance(window, (int, float)):
        minutes = float(window)
        if minutes != int(minutes):
            ctx.add(path, f"flexible_window is whole minutes; got {show(window)}", f"flexible_window: {round(minutes) or 1}")
            return
    else:
        total = check_duration(ctx, path, window)
        if total is None:
            return
        minutes = total / 60
        if minutes != int(minutes):
            ctx.add(path, f"flexible_window must be whole minutes; got {show(window)}",
                    f"flexible_window: {quote(format_duration(max(60, round(minutes) * 60)))}")
            return
    if not 1 <= minutes <= limits.FLEXIBLE_WINDOW_MAX:
        ctx.add(path, f"flexible_window must be 1-{limits.FLEXIBLE_WINDOW_MAX} minutes (EventBridge Scheduler); "
                f"got {show(window)}", f"flexible_window: {1 if minutes < 1 else limits.FLEXIBLE_WINDOW_MAX}")


def check_notify(ctx: Context) -> None:
    notify = ctx.doc.get("notify")
    if isinstance(notify, list):
        if not notify:
            ctx.add(("notify",), "notify names nowhere to send alerts",
                    'notify: ["ops@example.com"], or leave notify out')
        for index, address in enumerate(notify):
            _check_email(ctx, ("notify", index), address)
        return
    if not isinstance(notify, dict):
        return
    if not any(notify.get(key) for key in ("email", "topic_arn", "webhook")):
        ctx.add(("notify",), "notify names nowhere to send alerts",
                'notify: {email: ["ops@example.com"]}, or leave notify out')
    email = notify.get("email")
    if isinstance(email, str):
        _check_email(ctx, ("notify", "email"), email)
    elif isinstance(email, list):
        for index, address in enumerate(email):
            _check_email(ctx, ("notify", "email", index), address)
    topic = notify.get("topic_arn")
    if isinstance(topic, str) and not SNS_TOPIC_ARN.fullmatch(topic):
        ctx.add(("notify", "topic_arn"), f"topic_arn is not an SNS topic ARN; got {topic!r}",
                'topic_arn: "arn:aws:sns:eu-central-1:123456789012:alerts"')
    webhook = notify.get("webhook")
    if isinstance(webhook, str):
        if webhook.startswith("http://"):
            ctx.add(("notify", "webhook"), f"webhook must use https (alerts carry error details); got {webhook!r}",
                    f"webhook: {quote('https://' + webhook[len('http://'):])}")
        elif not re.fullmatch(r"https://[^\s/]+(/\S*)?", webhook):
            ctx.add(("notify", "webhook"), f"webhook must be an https:// URL; got {webhook!r}",
                    'webhook: "https://hooks.example.com/alerts"')


def _check_email(ctx: Context, path: Path, address: Any) -> None:
    if isinstance(address, str) and not EMAIL.fullmatch(address):
        parts = [p for p in re.split(r"[\s,;]+", address) if p]
        fix = None
        if len(parts) > 1 and all(EMAIL.fullmatch(p) for p in parts):
            fix = f"one address per item: email: [{', '.join(quote(p) for p in parts)}]"
        ctx.add(path, f"{address!r} is not an e-mail address", fix or 'email: ["ops@example.com"]')


def check_workflow_durations(ctx: Context) -> None:
    if "timeout" in ctx.doc:
        check_duration(ctx, ("timeout",), ctx.doc["timeout"])
    if "timeout" in ctx.defaults():
        check_duration(ctx, ("defaults", "timeout"), ctx.defaults()["timeout"])
    for index, task in ctx.tasks():
        if "timeout" in task:
            check_duration(ctx, ("tasks", index, "timeout"), task["timeout"])
        if "expected_duration" in task:
            check_duration(ctx, ("tasks", index, "expected_duration"), task["expected_duration"],
                           allow_zero=True, whole=False)


def check_retries(ctx: Context) -> None:
    places: list[tuple[Path, Any]] = []
    if "retries" in ctx.defaults():
        places.append((("defaults", "retries"), ctx.defaults()["retries"]))
    places += [(("tasks", i, "retries"), t["retries"]) for i, t in ctx.tasks() if "retries" in t]
    for path, retries in places:
        if not isinstance(retries, dict):
            continue
        interval: float | None = 1.0
        if "interval" in retries:
            interval = check_duration(ctx, path + ("interval",), retries["interval"])
            if interval is not None and interval > limits.SFN_MAX_INTERVAL:
                ctx.add(path + ("interval",), f"interval must be at most {limits.SFN_MAX_INTERVAL} seconds; "
                        f"got {show(retries['interval'])}", "interval: \"1h\"")
                interval = None
        rate = retries.get("backoff_rate")
        if isinstance(rate, (int, float)) and not isinstance(rate, bool) and rate < 1.0:
            ctx.add(path + ("backoff_rate",), "backoff_rate must be at least 1.0 (each wait is the previous one "
                    f"times backoff_rate); got {show(rate)}", "backoff_rate: 2.0")
        if "max_delay" in retries:
            delay = check_duration(ctx, path + ("max_delay",), retries["max_delay"])
            if delay is not None and interval is not None and delay < interval:
                ctx.add(path + ("max_delay",), f"max_delay ({show(retries['max_delay'])}) is shorter than the "
                        f"interval ({format_duration(interval)}), so no retry could wait that long",
                        f"max_delay: {quote(format_duration(interval * 10))}")
            elif delay is not None and delay > limits.SFN_MAX_INTERVAL:
                ctx.add(path + ("max_delay",), f"max_delay must be at most {limits.SFN_MAX_INTERVAL} seconds; "
                        f"got {show(retries['max_delay'])}", "max_delay: \"1d\"")
        errors = retries.get("errors")
        if isinstance(errors, list) and "States.ALL" in errors and len(errors) > 1:
            others = [e for e in errors if e != "States.ALL"]
            ctx.add(path + ("errors",), "States.ALL must be the only error in a retrier (Step Functions rule); "
                    f"got {show(errors)}",
                    'errors: ["States.ALL"] to retry everything, or errors: '
                    f"[{', '.join(quote(str(e)) for e in others)}]")


def check_queues(ctx: Context) -> None:
    queues = ctx.doc.get("queues")
    seen: dict[str, int] = {}
    if isinstance(queues, list):
        for index, queue in enumerate(queues):
            if not isinstance(queue, dict) or not isinstance(queue.get("name"), str):
                continue
            name = queue["name"]
            path: Path = ("queues", index, "name")
            if TASK_NAME_CHARS.search(name) or not name or len(name) > limits.BATCH_QUEUE_NAME_MAX:
                fixed = TASK_NAME_CHARS.sub("-", name).strip("-")[:limits.BATCH_QUEUE_NAME_MAX] or "default"
                ctx.add(path, f"queue name {name!r} must be 1-{limits.BATCH_QUEUE_NAME_MAX} letters, digits, '-' or '_' "
                        "(AWS Batch job queue names)", f"name: {quote(fixed)}")
            elif name in seen:
                ctx.add(path, f"queue {name!r} is declared twice (also queues[{seen[name]}])",
                        "give each queue its own name")
            else:
                seen[name] = index
    declared = ctx.declared_queues()
    if declared is None:
        return  # no queues declared: names refer to queues that exist outside the workflow
    references: list[tuple[Path, Any]] = [(("defaults", "queue"), ctx.defaults().get("queue"))]
    references += [(("tasks", index, kind, "queue"), job.get("queue")) for index, _, kind, job in ctx.jobs()
                   if kind != "lambda"]
    # A Batch job without a queue goes to the one named "default" (compiler and local Batch agree).
    if DEFAULT_QUEUE not in declared and declared and "queue" not in ctx.defaults():
        for index, task in ctx.tasks():
            runs_on_batch = isinstance(task.get("batch"), dict) or (
                isinstance(task.get("python"), dict) and (effective_timeout(ctx, task)[0] or 0) > limits.LAMBDA_MAX_TIMEOUT
            )
            job = task.get("batch", task.get("python"))
            if runs_on_batch and isinstance(job, dict) and "queue" not in job:
                kind = "batch" if "batch" in task else "python"
                ctx.add(("tasks", index, kind), f"the job names no queue and queues declares no {DEFAULT_QUEUE!r} "
                        f"queue for it to fall back on (declared: {', '.join(declared)})",
                        f"queue: {quote(declared[0])}, or defaults: {{queue: {quote(declared[0])}}}")
    for path, name in references:
        if isinstance(name, str) and name not in declared:
            guess = closest(name, declared)
            hint = f"; did you mean {guess!r}?" if guess else f" (declared: {', '.join(declared) or 'none'})"
            ctx.add(path, f"queue {name!r} is not declared in queues{hint}",
                    f"queue: {quote(guess)}" if guess else f"add it to queues: - name: {quote(name)}")


# -- tasks ---------------------------------------------------------------------------------------
def check_task_names(ctx: Context) -> None:
    first: dict[str, int] = {}
    for index, task in ctx.tasks():
        name = task.get("name")
        if not isinstance(name, str):
            continue
        if name and len(name) <= limits.STATE_NAME_MAX and name not in first and not TASK_NAME_CHARS.search(name):
            first[name] = index  # the usual case, decided without building a fix
            continue
        path: Path = ("tasks", index, "name")
        fixed = re.sub(r"-{2,}", "-", TASK_NAME_CHARS.sub("-", name)).strip("-")[: limits.STATE_NAME_MAX] or "task"
        if not name:
            ctx.add(path, "task name must not be empty", 'name: "load-data"')
        elif TASK_NAME_CHARS.search(name):
            bad = "".join(dict.fromkeys(TASK_NAME_CHARS.findall(name)))
            ctx.add(path, f"task name {name!r} has {bad!r}; task names become Step Functions state names and "
                    "AWS Batch job names, so use only letters, digits, '-' and '_'", f"name: {quote(fixed)}")
        elif len(name) > limits.STATE_NAME_MAX:
            ctx.add(path, f"task name is {len(name)} characters; a Step Functions state name is at most "
                    f"{limits.STATE_NAME_MAX}", f"name: {quote(fixed)}")
        if name in first:
            ctx.add(path, f"task name {name!r} is already used by tasks[{first[name]}]; names must be unique",
                    f"name: {quote(_unique(name, first))}")
        else:
            first[name] = index


def _unique(name: str, taken: Container[str]) -> str:
    number = 2
    while f"{name}-{number}" in taken:
        number += 1
    return f"{name}-{number}"


def check_jobs(ctx: Context) -> None:
    queues = isinstance(ctx.doc.get("queues"), list)  # else no job has a queue to fit (_check_queue_fit)
    for index, task, kinds in ctx.kinds():
        path: Path = ("tasks", index)
        if not kinds:
            if any(closest(str(key), JOB_KINDS) for key in task if key not in TASK_KEYS):
                continue  # a misspelt "lamda": the unknown-field problem already says so
            ctx.add(path, "task has no job; give it exactly one of batch, lambda or python",
                    f'- name: {quote(ctx.task_name(task) or "task")}\n'
                    '  batch: {image: "python:3.12-slim", command: ["python", "job.py"]}')
            continue
        if len(kinds) > 1:
            listed = " and ".join(repr(k) for k in kinds)
            ctx.add(path + (kinds[1],), f"task has both {listed}; a task runs exactly one job",
                    f"split it: keep {kinds[0]!r} here and move {kinds[1]!r} to a new task with "
                    f"after: [{quote(ctx.task_name(task) or 'task')}]")
            continue
        kind, job = kinds[0], task[kinds[0]]
        if not isinstance(job, dict):
            continue
        timeout, inherited = effective_timeout(ctx, task)
        if kind == "batch":
            at = path + ("batch",)
            _check_batch(ctx, at, job)
            if queues:
                _check_queue_fit(ctx, at, job, job.get("platform", "FARGATE"))
            if timeout is not None and timeout < limits.BATCH_MIN_ATTEMPT_DURATION:
                at = path if inherited else path + ("timeout",)
                ctx.add(at, f"batch task {'inherits the' if inherited else 'has'} timeout {format_duration(timeout)}; "
                        f"AWS Batch needs at least {limits.BATCH_MIN_ATTEMPT_DURATION} s (attemptDurationSeconds)",
                        'timeout: "1m"')
        elif kind == "lambda":
            _check_handler(ctx, path + ("lambda", "handler"), job.get("handler"))
            _check_lambda_memory(ctx, path + ("lambda",), job)
            if timeout is not None and timeout > limits.LAMBDA_MAX_TIMEOUT:
                _lambda_too_long(ctx, path, task, job, timeout, inherited)
        else:
            _check_function(ctx, path + ("python", "function"), job.get("function"))
            if timeout is not None and timeout > limits.LAMBDA_MAX_TIMEOUT:
                reason = (f"it runs on AWS Batch (its timeout {format_duration(timeout)} is over Lambda's 15 "
                          "minutes)")
                _check_fargate(ctx, path + ("python",), job, reason)
                if queues:
                    _check_queue_fit(ctx, path + ("python",), job, "FARGATE")
            else:
                _check_lambda_memory(ctx, path + ("python",), job)


def _lambda_too_long(
    ctx: Context, path: Path, task: dict[str, Any], job: dict[str, Any], timeout: float, inherited: bool
) -> None:
    handler = job.get("handler") if isinstance(job.get("handler"), str) else "module:function"
    origin = "inherits the timeout" if inherited else "has timeout"
    value = ctx.defaults()["timeout"] if inherited else task["timeout"]
    at = path if inherited else path + ("timeout",)
    ctx.add(at, f"lambda task {origin} {show(value)} ({int(timeout)} s), but Lambda stops a function after "
            f"{limits.LAMBDA_MAX_TIMEOUT} s (15 minutes)",
            f"make it a python task, which runs on AWS Batch when its timeout is over 15 minutes: "
            f"python: {{function: {quote(str(handler))}}}; or make it a batch task with an image; "
            "or give it timeout: \"15m\" or less")


def _check_handler(ctx: Context, path: Path, handler: Any) -> None:
    if not isinstance(handler, str) or HANDLER.fullmatch(handler):
        return
    ctx.add(path, f"handler must be \"module:function\"; got {handler!r}",
            f"handler: {quote(_guess_reference(handler))}")


def _check_function(ctx: Context, path: Path, function: Any) -> None:
    if not isinstance(function, str) or FUNCTION.fullmatch(function):
        return
    ctx.add(path, f"function must be \"module:function\" or \"path/to/file.py:function\"; got {function!r}",
            f"function: {quote(_guess_reference(function))}")


def _guess_reference(text: str) -> str:
    text = text.strip()
    if ":" in text:
        module, _, function = text.rpartition(":")
        module = module.removesuffix(".py").replace("/", ".")
        return f"{module}:{function}"
    module, _, function = text.rpartition(".")
    if module and function and "/" not in text:
        return f"{module}:{function}"  # AWS's "module.function" style
    return "package.module:function"


def _check_lambda_memory(ctx: Context, path: Path, job: dict[str, Any]) -> None:
    memory = job.get("memory")
    if isinstance(memory, int) and not isinstance(memory, bool) and not limits.LAMBDA_MEMORY_MIN <= memory <= limits.LAMBDA_MEMORY_MAX:
        nearest = min(max(memory, limits.LAMBDA_MEMORY_MIN), limits.LAMBDA_MEMORY_MAX)
        ctx.add(path + ("memory",), f"memory must be {limits.LAMBDA_MEMORY_MIN}-{limits.LAMBDA_MEMORY_MAX} MiB on Lambda; "
                f"got {memory}", f"memory: {nearest}")


def _number(value: Any) -> float | None:
    kind = type(value)
    if kind is float or kind is int:  # the usual case first: a bool is neither
        return float(value)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def _check_batch(ctx: Context, path: Path, job: dict[str, Any]) -> None:
    platform = job.get("platform", "FARGATE")
    if platform == "FARGATE":
        _check_fargate(ctx, path, job, None)
    elif platform == "EC2":
        vcpus = _number(job.get("vcpus"))
        if vcpus is not None and vcpus > 0 and vcpus != int(vcpus):
            ctx.add(path + ("vcpus",), f"vcpus must be a whole number on EC2; got {show(job['vcpus'])}",
                    f"vcpus: {max(1, round(vcpus))}")
    size = job.get("array_size")
    if isinstance(size, int) and not isinstance(size, bool) and not limits.BATCH_MIN_ARRAY_SIZE <= size <= limits.BATCH_MAX_ARRAY_SIZE:
        fix = ("leave array_size out for a single job" if size < limits.BATCH_MIN_ARRAY_SIZE
               else f"array_size: {limits.BATCH_MAX_ARRAY_SIZE}, or split the work over several tasks")
        ctx.add(path + ("array_size",), f"array_size must be {limits.BATCH_MIN_ARRAY_SIZE}-{limits.BATCH_MAX_ARRAY_SIZE} "
                f"(AWS Batch array jobs); got {size}", fix)
    secrets = job.get("secrets")
    if isinstance(secrets, dict):
        for variable, arn in secrets.items():
            at = path + ("secrets", variable)
            if not ENV_NAME.fullmatch(str(variable)):
                ctx.add(at, f"secret name {variable!r} is not an environment variable name",
                        f"{_env_name(str(variable))}: ...")
            elif isinstance(arn, str) and not SECRET_ARN.fullmatch(arn):
                got = "a plain value (not shown)" if not arn.startswith("arn:") else repr(arn)
                ctx.add(at, f"secret {variable} must be the ARN of a Secrets Manager secret or SSM parameter; "
                        f"got {got}",
                        f"store it in Secrets Manager (aws secretsmanager create-secret --name {variable} "
                        f"--secret-string ...) and give its ARN: {variable}: "
                        f'"arn:aws:secretsmanager:REGION:ACCOUNT:secret:{variable}"')


def _check_fargate(ctx: Context, path: Path, job: dict[str, Any], reason: str | None) -> None:
    vcpus_value = job.get("vcpus", 1.0)
    memory_value = job.get("memory", 2048 if path[-1] == "batch" else 512)
    try:
        if (vcpus_value, memory_value) in _FARGATE_PAIRS:
            return  # most jobs: a size Fargate has, decided in one look-up (a bool is no number: fine too)
    except TypeError:
        return  # a list or mapping: the schema reports it
    vcpus, memory = _number(vcpus_value), _number(memory_value)
    if vcpus is None or memory is None or vcpus <= 0 or not float(memory).is_integer():
        return
    sizes = FARGATE_SIZES.get(vcpus)
    if sizes is not None and int(memory) in sizes:
        return
    why = f"; {reason}" if reason else ""
    shown_vcpus = f"{vcpus:g}"
    if sizes is None:
        choice = min((v for v in FARGATE_SIZES if v >= vcpus), default=16.0)
        best = min(FARGATE_SIZES[choice], key=lambda m: (abs(m - memory), -m))
        at = path + ("vcpus",) if "vcpus" in job else path
        ctx.add(at, f"Fargate jobs take 0.25, 0.5, 1, 2, 4, 8 or 16 vCPUs; got {shown_vcpus}{why}",
                f"vcpus: {choice:g}, memory: {best}")
        return
    best = min(sizes, key=lambda m: (abs(m - memory), -m))
    at = path + ("memory",) if "memory" in job else path
    given = "" if "memory" in job else f" (memory defaults to {int(memory)})"
    ctx.add(at, f"Fargate has no {shown_vcpus} vCPU / {int(memory)} MiB size{given}; {shown_vcpus} vCPU takes "
            f"{_FARGATE_RULES[vcpus]}{why}", f"vcpus: {shown_vcpus}, memory: {best}")


def _check_queue_fit(ctx: Context, path: Path, job: dict[str, Any], platform: Any) -> None:
    """A job must fit its queue: same platform (Fargate or EC2), and no more vCPUs than the queue has."""
    queues = ctx.doc.get("queues")
    if not isinstance(queues, list):
        return
    name = job.get("queue", ctx.defaults().get("queue"))
    if not isinstance(name, str):
        return
    queue = next((q for q in queues if isinstance(q, dict) and q.get("name") == name), None)
    if queue is None:
        return
    compute = queue.get("compute", ["FARGATE_SPOT", "FARGATE"])
    at = path + ("queue",) if "queue" in job else path
    if isinstance(compute, list) and compute and all(isinstance(c, str) for c in compute):
        fargate_queue = all(c in FARGATE_COMPUTE for c in compute)
        ec2_queue = not any(c in FARGATE_COMPUTE for c in compute)
        if platform == "FARGATE" and ec2_queue:
            ctx.add(at, f"a Fargate job cannot run on queue {name!r}, whose compute is {', '.join(compute)}",
                    'platform: EC2, or a queue with compute: [FARGATE_SPOT, FARGATE]')
            return
        if platform == "EC2" and fargate_queue:
            ctx.add(at, f"an EC2 job cannot run on queue {name!r}, whose compute is {', '.join(compute)}",
                    "leave platform out (Fargate), or a queue with compute: [SPOT, EC2]")
            return
    vcpus, limit = _number(job.get("vcpus", 1.0)), queue.get("max_vcpus", 256)
    if vcpus is not None and isinstance(limit, int) and not isinstance(limit, bool) and vcpus > limit:
        ctx.add(path + ("vcpus",) if "vcpus" in job else path,
                f"the job asks for {vcpus:g} vCPUs but queue {name!r} has max_vcpus {limit}, so it would never start",
                f"vcpus: {limit}, or raise max_vcpus of queue {name!r}")


def check_queue_compute(ctx: Context) -> None:
    """AWS Batch: a job queue's compute environments are all Fargate or all EC2, never mixed."""
    queues = ctx.doc.get("queues")
    for index, queue in enumerate(queues if isinstance(queues, list) else []):
        compute = queue.get("compute") if isinstance(queue, dict) else None
        if not isinstance(compute, list) or not all(isinstance(c, str) for c in compute):
            continue
        fargate = [c for c in compute if c in FARGATE_COMPUTE]
        ec2 = [c for c in compute if c in ("EC2", "SPOT")]
        if fargate and ec2:
            ctx.add(("queues", index, "compute"), f"compute mixes Fargate ({', '.join(fargate)}) and EC2 "
                    f"({', '.join(ec2)}); AWS Batch queues use one or the other",
                    f"compute: [{', '.join(fargate)}], and another queue with compute: [{', '.join(ec2)}]")


def check_environment(ctx: Context) -> None:
    for index, _, kind, job in ctx.jobs():
        env = job.get("environment")
        if not isinstance(env, dict):
            continue
        for variable in env:
            at: Path = ("tasks", index, kind, "environment", variable)
            if not ENV_NAME.fullmatch(str(variable)):
                ctx.add(at, f"{variable!r} is not an environment variable name (letters, digits, '_'; "
                        "not starting with a digit)", f"{_env_name(str(variable))}: ...")
            elif kind != "lambda" and str(variable).startswith("AWS_BATCH"):
                ctx.add(at, f"{variable} is reserved: AWS Batch sets variables starting with AWS_BATCH",
                        f"rename it, e.g. MY_{variable}")


def check_templates(ctx: Context) -> None:
    """``{{ ... }}`` in Batch commands and environment values (see ``orchestrator.templates``)."""
    for index, task, kind, job in ctx.jobs():
        values: list[tuple[Path, str]] = []
        command = job.get("command")
        if kind == "batch" and isinstance(command, list):
            values += [(("tasks", index, kind, "command", j), v) for j, v in enumerate(command)
                       if isinstance(v, str) and templates.has_template(v)]
        env = job.get("environment")
        if isinstance(env, dict):
            values += [(("tasks", index, kind, "environment", k), v) for k, v in env.items()
                       if isinstance(v, str) and templates.has_template(v)]
        if not values:
            continue  # most jobs have no template: no need to work out where they run
        timeout, _ = effective_timeout(ctx, task)
        # Python tasks run on Lambda when they fit in 15 minutes (model.Task.runs_on).
        on_lambda = kind == "lambda" or (kind == "python" and (timeout is None or timeout <= limits.LAMBDA_MAX_TIMEOUT))
        for at, value in values:
            if on_lambda:
                ctx.add(at, f"{value!r}: templates work in commands and environment values of jobs that run "
                        "on Batch; a Lambda function's environment is fixed when it is deployed",
                        "read event['input']['scheduled_time'] (or another input field) in the function")
                continue
            try:
                templates.parse(value)
            except templates.TemplateError as error:
                ctx.add(at, error.message, error.fix)


def _env_name(text: str) -> str:
    fixed = re.sub(r"[^A-Za-z0-9_]", "_", text).upper()
    return f"_{fixed}" if not fixed or fixed[0].isdigit() else fixed


def check_tags(ctx: Context) -> None:
    tags = ctx.doc.get("tags")
    if not isinstance(tags, dict):
        return
    if len(tags) > limits.TAGS_MAX:
        ctx.add(("tags",), f"has {len(tags)} tags; AWS resources take at most {limits.TAGS_MAX}", "drop some tags")
    for key, value in tags.items():
        at: Path = ("tags", key)
        if str(key).lower().startswith("aws:"):
            ctx.add(at, f"tag {key!r} starts with 'aws:', which AWS reserves", f"{str(key)[4:] or 'team'}: ...")
        elif not 1 <= len(str(key)) <= limits.TAG_KEY_MAX:
            ctx.add(at, f"tag keys are 1-{limits.TAG_KEY_MAX} characters; got {len(str(key))}", "use a shorter key")
        elif isinstance(value, str) and len(value) > limits.TAG_VALUE_MAX:
            ctx.add(at, f"tag values are at most {limits.TAG_VALUE_MAX} characters; got {len(value)}", "use a shorter value")


def check_dependencies(ctx: Context) -> None:
    order = [n for _, t in ctx.tasks() if isinstance(n := t.get("name"), str)]
    names = set(order)
    graph: dict[str, list[str]] = {}
    index_of: dict[str, int] = {}
    # Whether every task so far runs only after tasks declared before it. Then declaration order
    # is an order to run them in, so there is no cycle to look for (specs are mostly written, and
    # generated, that way).
    declared_in_order = True
    for index, task in ctx.tasks():
        name = task.get("name")
        if not isinstance(name, str):
            name = None
        after = task.get("after")
        if name is not None and name not in graph:
            graph[name] = []
            index_of[name] = index
        if not isinstance(after, list):
            continue
        try:
            upstreams = set(after)
        except TypeError:  # a list or mapping among the names: the schema says so; looked at one by one
            upstreams = None
        if upstreams is not None and len(upstreams) == len(after) and name not in upstreams and upstreams <= names:
            # The usual case, decided at once: task names only, each once, none its own.
            if name is not None and index_of[name] == index:
                graph[name].extend(after)
                declared_in_order = declared_in_order and upstreams <= graph.keys()
            continue
        declared_in_order = False
        seen: set[str] = set()
        for position, upstream in enumerate(after):
            if not isinstance(upstream, str):
                continue
            path: Path = ("tasks", index, "after", position)
            if upstream == name:
                rest = [u for u in after if u != name]
                fix = f"after: [{', '.join(quote(str(u)) for u in rest)}]" if rest else "leave after out"
                ctx.add(path, f"task {name!r} runs after itself", fix)
            elif upstream in seen:
                ctx.add(path, f"after lists {upstream!r} twice", "list each upstream task once")
            elif upstream not in names:
                guess = closest(upstream, order)
                if guess:
                    fixed = [guess if u == upstream else u for u in after]
                    ctx.add(path, f"after names {upstream!r}, which is not a task; did you mean {guess!r}?",
                            f"after: [{', '.join(quote(str(u)) for u in fixed)}]")
                else:
                    ctx.add(path, f"after names {upstream!r}, which is not a task (tasks: {', '.join(order)})",
                            f"remove {upstream!r} or declare a task with that name")
            elif name is not None and graph.get(name) is not None and index_of[name] == index:
                graph[name].append(upstream)
            seen.add(upstream)
    for cycle in [] if declared_in_order else _cycles(graph, order):
        first = cycle[0]
        shown = " -> ".join(cycle)
        if len(cycle) > 12:  # keep the message readable; the ends say where to cut
            shown = f"{' -> '.join(cycle[:5])} -> ... -> {' -> '.join(cycle[-5:])} ({len(cycle) - 1} tasks)"
        ctx.add(("tasks", index_of[first], "after"),
                f"dependency cycle: {shown} (each task runs after the next, so none can start)",
                f"remove {cycle[1]!r} from the after of {first!r}")


def _cycles(graph: dict[str, list[str]], order: list[str]) -> list[list[str]]:
    """One cycle per strongly connected group, each starting at its first-declared task."""
    rank = {name: i for i, name in enumerate(dict.fromkeys(order))}
    state: dict[str, int] = {}  # 1 on the stack, 2 done
    found: list[list[str]] = []
    covered: set[str] = set()
    for root in rank:
        if root in state:
            continue
        stack: list[tuple[str, Iterator[str]]] = [(root, iter(graph.get(root, [])))]
        path = [root]
        state[root] = 1
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                stack.pop()
                path.pop()
                state[node] = 2
            elif state.get(child) == 1:
                cycle = path[path.index(child):]
                if not covered.intersection(cycle):
                    start = min(range(len(cycle)), key=lambda i: rank[cycle[i]])
                    rotated = cycle[start:] + cycle[:start]
                    found.append(rotated + [rotated[0]])
                    covered.update(cycle)
            elif child not in state:
                state[child] = 1
                path.append(child)
                stack.append((child, iter(graph.get(child, []))))
    return found


CHECKS: tuple[Callable[[Context], None], ...] = (
    bounds.check_values,
    check_workflow_name,
    check_schedule,
    check_notify,
    check_workflow_durations,
    check_retries,
    check_queues,
    check_queue_compute,
    check_tags,
    check_task_names,
    check_jobs,
    check_environment,
    check_templates,
    check_dependencies,
    bounds.check_deploy_sizes,
)


def semantic_issues(document: dict[str, Any], *, values_checked: bool = False) -> list[Issue]:
    """Run every check in ``CHECKS`` over ``document``; ``values_checked`` (the loader found, from
    the text, nothing ``bounds.check_values`` could report) skips that walk over every value."""
    ctx = Context(document)
    for check in CHECKS:
        if not (values_checked and check is bounds.check_values):
            check(ctx)
        if ctx.past_floats:
            break
    return ctx.issues
