"""What a run's Batch jobs will be given: templated commands and environment values rendered by the
embedded engine from the compiled ASL, for a chosen scheduled time (``orchestrator show``).

Rendering goes through the compiled states, not a second implementation of ``templates``: each
templated Task state's ``ContainerOverrides`` becomes the Parameters of a Pass that runs after the
workflow's own "Logical time" state, on the engine, with the fire's execution name. What it prints
is what Step Functions computes for that fire.

    >>> from orchestrator import model
    >>> wf = model.Workflow(name="daily", schedule=model.Schedule(expression="cron(0 2 * * ? *)",
    ...     timezone="Europe/Berlin"), tasks=(model.Task(name="report", job=model.BatchJob(
    ...     image="reports:1", command=("report", "--day", "{{ date - 1 }}"))),))
    >>> (job,) = render_jobs(wf, "2026-03-29T00:00:00Z", execution_name="daily-20260329T000000Z")
    >>> job.command
    ('report', '--day', '2026-03-28')
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from orchestrator import model, templates
from orchestrator.errors import OrchestratorError
from orchestrator.logical_time import parse_scheduled_time, with_scheduled_time


@dataclass(frozen=True, slots=True)
class RenderedJob:
    """A templated Batch task's command and its templated environment values, for one run."""

    task: str
    command: tuple[str, ...]
    environment: Mapping[str, str]


def _states(graph: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    for name, state in graph["States"].items():
        yield name, state
        for branch in state.get("Branches", ()):
            yield from _states(branch)


def templated_tasks(wf: model.Workflow) -> list[model.Task]:
    """Batch-run tasks with a template in their command or environment, in declaration order."""
    out = []
    for task in wf.tasks:
        if task.runs_on != "batch" or isinstance(task.job, model.LambdaTask):
            continue
        values = [*(task.job.command if isinstance(task.job, model.BatchJob) else ()),
                  *task.job.environment.values()]
        if any(templates.has_template(v) for v in values):
            out.append(task)
    return out


def render_jobs(wf: model.Workflow, scheduled_time: str | datetime, *, execution_name: str,
                input: Any = None) -> list[RenderedJob]:
    """The templated jobs of ``wf`` as a run at ``scheduled_time`` named ``execution_name`` sees them."""
    from orchestrator.compiler import compile_workflow
    from orchestrator.engine import execute

    tasks = templated_tasks(wf)
    if not tasks:
        return []
    run_input = with_scheduled_time(input, scheduled_time)
    start = parse_scheduled_time(run_input["scheduled_time"])
    result = compile_workflow(wf)
    found: dict[str, tuple[Mapping[str, Any], Mapping[str, Any] | None]] = {}
    for definition in result.definitions.values():
        logical = definition["States"].get(templates.STATE)
        for name, state in _states(definition):
            if state.get("Type") == "Task" and name not in found:
                found[name] = (state, logical)
    out = []
    for task in tasks:
        state, logical = found[task.name]
        overrides = state["Parameters"]["ContainerOverrides"]
        render = {"Type": "Pass", "Parameters": {k: v for k, v in overrides.items()
                                                  if k.split(".")[0] in ("Command", "Environment")}, "End": True}
        states: dict[str, Any] = {"Render": render}
        if logical is not None:
            states[templates.STATE] = {**logical, "Next": "Render"}
        machine = {"StartAt": templates.STATE if logical is not None else "Render", "States": states}
        run = execute(machine, {"input": run_input, "results": {}}, execution_name=execution_name,
                      start_time=start, virtual_time=True)
        if run.status != "SUCCEEDED":
            # Validation accepts only templates that compile, and the input is an object: a failure
            # here is an input field the template names and the input lacks.
            raise OrchestratorError(f"task '{task.name}': its template cannot be rendered for this input: "
                                    f"{run.error}: {run.cause}. Give the field with --input.")
        rendered = run.output
        templated = {k for k, v in task.job.environment.items() if templates.has_template(v)}
        environment = {e["Name"]: e["Value"] for e in rendered.get("Environment", ()) if e["Name"] in templated}
        command = tuple(rendered.get("Command", task.job.command if isinstance(task.job, model.BatchJob) else ()))
        out.append(RenderedJob(task=task.name, command=command, environment=environment))
    return out


def next_run_lines(wf: model.Workflow, after: datetime, input: Any = None) -> list[str]:
    """``orchestrator show``'s lines for the templated jobs of the next fire after ``after`` (a run
    started at ``after`` when the workflow has no schedule), named as the local scheduler names it."""
    import shlex

    from orchestrator.scheduler.fires import execution_name
    from orchestrator.spec import next_fire_times

    if not templated_tasks(wf):
        return []
    fires = next_fire_times(wf.schedule, count=1, after=after) if wf.schedule is not None else []
    when = fires[0] if fires else after
    name = execution_name(wf.name, when)
    stamp = with_scheduled_time(None, when)["scheduled_time"]
    lines = [f"{'next run' if fires else 'a run now'}, scheduled_time {stamp} ({name}):"]
    for job in render_jobs(wf, when, execution_name=name, input=input):
        lines.append(f"  {job.task}: {shlex.join(job.command)}")
        lines.extend(f"    {key}={value}" for key, value in job.environment.items())
    return lines
