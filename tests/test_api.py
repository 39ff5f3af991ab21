"""The Python builder: same model as the spec, same problems, located at the declaring line."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from orchestrator import Workflow, model
from orchestrator.api import FunctionTask, TaskRef, _display, workflow_model
from orchestrator.compiler import compile_workflow
from orchestrator.errors import NotAWorkflowError, ValidationError
from orchestrator.spec import from_dict, to_dict

HERE = _display(__file__)


def line() -> int:
    """The caller's line number."""
    frame = inspect.currentframe()
    assert frame is not None and frame.f_back is not None
    return frame.f_back.f_lineno


def freshness(event: object, context: object) -> dict[str, bool]:
    return {"fresh": True}


def test_design_example_same_model_as_spec() -> None:
    wf = Workflow("nightly-sales", schedule={"expression": "cron(10 2 * * ? *)", "timezone": "Europe/Berlin"},
                  notify={"email": ["ops@example.com"]})
    optimize = wf.batch("optimize-db", image="postgres:16", command=["vacuumdb", "--all"], vcpus=1, memory=2048,
                        timeout="2h", retries={"attempts": 3}, expected_duration="20m")
    check = wf.lambda_("check-freshness", handler="lambdas.checks:freshness", timeout="5m", after=[optimize])
    wf.batch("weekly-report", image="reports:1", command=["report", "--weekly"], after=[optimize, check])
    spec = {
        "name": "nightly-sales",
        "schedule": {"expression": "cron(10 2 * * ? *)", "timezone": "Europe/Berlin"},
        "notify": {"email": ["ops@example.com"]},
        "tasks": [
            {"name": "optimize-db", "batch": {"image": "postgres:16", "command": ["vacuumdb", "--all"],
                                              "vcpus": 1, "memory": 2048},
             "timeout": "2h", "retries": {"attempts": 3}, "expected_duration": "20m"},
            {"name": "check-freshness", "lambda": {"handler": "lambdas.checks:freshness"},
             "timeout": "5m", "after": ["optimize-db"]},
            {"name": "weekly-report", "batch": {"image": "reports:1", "command": ["report", "--weekly"]},
             "after": ["optimize-db", "check-freshness"]},
        ],
    }
    assert wf.build() == from_dict(spec)


def test_shift_operators_add_dependencies() -> None:
    wf = Workflow("shifts")
    a = wf.batch("a", image="x")
    b = wf.batch("b", image="x")
    c = wf.batch("c", image="x")
    d = wf.batch("d", image="x")
    a >> [b, c]
    [b, c] >> d
    assert wf.build().dependencies == {"a": (), "b": ("a",), "c": ("a",), "d": ("b", "c")}


def test_task_decorator_plain_and_with_options() -> None:
    wf = Workflow("deco")
    first = wf.task(freshness)
    second = wf.task(name="late-check", timeout="2h", memory=4096, after=[first], description="slow")(freshness)
    assert isinstance(first, FunctionTask) and isinstance(second, TaskRef)
    assert first({}, None) == {"fresh": True}
    built = wf.build()
    assert [t.name for t in built.tasks] == ["freshness", "late-check"]
    assert built.tasks[0].job == model.PythonTask(function="test_api:freshness")
    assert built.tasks[1].runs_on == "batch" and built.tasks[0].runs_on == "lambda"
    assert built.tasks[1].description == "slow"


def test_problems_point_at_the_declaring_line() -> None:
    wf = Workflow("located")
    declared = line() + 1
    wf.batch("big", image="x", vcpus=4, memory=4096, timeout="2 hours")
    with pytest.raises(ValidationError) as caught:
        wf.build()
    assert [p.render() for p in caught.value.problems] == [
        f"{HERE}:{declared}: task 'big' field 'batch.memory': Fargate has no 4 vCPU / 4096 MiB size; 4 vCPU takes "
        "8192-30720 MiB in steps of 1024\n    fix: vcpus: 4, memory: 8192",
        f"{HERE}:{declared}: task 'big' field 'timeout': timeout has unit 'hours'; durations use s, m, h or d; "
        "got '2 hours'\n    fix: timeout: \"2h\"",
    ]


def test_workflow_level_problems_point_at_the_constructor() -> None:
    declared = line() + 1
    wf = Workflow("tz", schedule={"expression": "rate(1 day)", "timezone": "Europe/Berln"})
    wf.batch("a", image="x")
    with pytest.raises(ValidationError) as caught:
        wf.build()
    assert str(caught.value) == (
        f"{HERE}:{declared}: field 'schedule.timezone': timezone 'Europe/Berln' is not an IANA time zone; "
        "did you mean 'Europe/Berlin'?\n    fix: timezone: \"Europe/Berlin\""
    )


def test_command_string_is_reported_not_split_into_characters() -> None:
    wf = Workflow("cmd")
    declared = line() + 1
    wf.batch("a", image="x", command="echo hi")  # type: ignore[arg-type]
    with pytest.raises(ValidationError) as caught:
        wf.build()
    assert str(caught.value) == (
        f"{HERE}:{declared}: task 'a' field 'batch.command': command must be a list; got a string, 'echo hi'\n"
        "    fix: command: [\"echo\", \"hi\"]"
    )


def test_unknown_upstream_and_duplicate_names() -> None:
    wf = Workflow("deps")
    first = line() + 1
    wf.batch("load", image="x")
    second = line() + 1
    wf.batch("load", image="x", after=["extrct"])
    with pytest.raises(ValidationError) as caught:
        wf.build()
    assert [p.where for p in caught.value.problems] == [
        f"{HERE}:{second}: task 'load' field 'name'",
        f"{HERE}:{second}: task 'load' field 'after[0]'",
    ]
    assert first < second


def test_to_spec_is_a_copy_and_round_trips() -> None:
    wf = Workflow("copy", tags={"team": "data"})
    wf.batch("a", image="x", environment={"MODE": "full"})
    spec = wf.to_spec()
    spec["tasks"].clear()
    assert len(wf.to_spec()["tasks"]) == 1
    built = wf.build()
    assert from_dict(to_dict(built)) == built


def test_single_notify_address() -> None:
    wf = Workflow("alerts", notify="ops@example.com")
    wf.batch("a", image="x")
    assert wf.build().notify == model.Notify(email=("ops@example.com",))


# -- the model's own values as options ----------------------------------------------------------


def test_model_retry_schedule_queue_and_notify_values_are_accepted() -> None:
    retry = model.Retry(attempts=2, interval=30, backoff_rate=1.5)
    schedule = model.Schedule(expression="cron(10 2 * * ? *)", timezone="Europe/Berlin")
    queue = model.Queue(name="urgent", priority=10)
    notify = model.Notify(email=("ops@example.com",), webhook="https://hooks.example.com/x")
    built = Workflow("w", schedule=schedule, notify=notify, queues=[queue], defaults={"retries": retry})
    built.batch("a", image="alpine:3", retries=retry, queue="urgent")
    as_dicts = Workflow("w", schedule={"expression": "cron(10 2 * * ? *)", "timezone": "Europe/Berlin"},
                        notify={"email": ["ops@example.com"], "webhook": "https://hooks.example.com/x"},
                        queues=[{"name": "urgent", "priority": 10}],
                        defaults={"retries": {"attempts": 2, "interval": 30, "backoff_rate": 1.5}})
    as_dicts.batch("a", image="alpine:3", retries={"attempts": 2, "interval": 30, "backoff_rate": 1.5},
                   queue="urgent")
    wf = built.build()
    assert wf == as_dicts.build()
    assert (wf.schedule, wf.notify, wf.queues, wf.tasks[0].retry, wf.defaults.retry) == (
        schedule, notify, (queue,), retry, retry)


def test_after_that_is_not_a_task_is_reported_not_raised() -> None:
    wf = Workflow("w")
    wf.batch("a", image="alpine:3", after=5)  # type: ignore[arg-type]
    with pytest.raises(ValidationError) as raised:
        wf.build()
    (problem,) = raised.value.problems
    assert (problem.message, problem.fix) == ("after names '5', which is not a task (tasks: a)",
                                              "remove '5' or declare a task with that name")


# -- the builder accepted wherever a workflow is -------------------------------------------------


def hello() -> Workflow:
    wf = Workflow("hello")
    wf.batch("say-hi", image="alpine:3", command=["echo", "hi"])
    return wf


def test_workflow_model_builds_the_builder_and_passes_a_model_through() -> None:
    built = workflow_model(hello(), where="here", usage="f({})")
    assert built == hello().build()
    assert workflow_model(built, where="here", usage="f({})") is built


@pytest.mark.parametrize(("value", "got", "fix"), [
    ("hello.py", "str 'hello.py'", "load the file first: compile_workflow(orchestrator.load('hello.py'))"),
    (None, "NoneType None",
     'build one first: wf = orchestrator.Workflow("nightly"); wf.batch(...); compile_workflow(wf)'),
    ([1, 2], "list [1, 2]", "pass one workflow at a time: for wf in workflows: compile_workflow(wf)"),
])
def test_compile_workflow_rejects_what_is_not_a_workflow(value: object, got: str, fix: str) -> None:
    with pytest.raises(NotAWorkflowError) as raised:
        compile_workflow(value)  # type: ignore[arg-type]
    (problem,) = raised.value.problems
    assert problem.where == "compile_workflow()"
    assert problem.message == f"expected a workflow (orchestrator.Workflow or orchestrator.model.Workflow), got {got}"
    assert problem.fix == fix


def test_a_task_is_not_its_workflow() -> None:
    wf = Workflow("w")
    a = wf.batch("a", image="alpine:3")
    with pytest.raises(NotAWorkflowError, match=r"got TaskRef TaskRef\('a'\)\n    fix: pass the workflow the task "
                       r"was declared on, not the task: compile_workflow\(wf\)"):
        compile_workflow(a)  # type: ignore[arg-type]


def test_compile_workflow_takes_the_builder() -> None:
    assert compile_workflow(hello()).texts == compile_workflow(hello().build()).texts


def test_compile_workflow_reports_the_builders_problems() -> None:
    wf = Workflow("w")
    declared = line() + 1
    wf.batch("a", image="alpine:3", after=["missing"])
    with pytest.raises(ValidationError) as raised:
        compile_workflow(wf)
    (problem,) = raised.value.problems
    assert problem.where == f"{HERE}:{declared}: task 'a' field 'after[0]'"
    assert problem.message == "after names 'missing', which is not a task (tasks: a)"


def test_run_workflow_takes_the_builder_and_rejects_others(tmp_path: Path) -> None:
    from orchestrator.local import run_workflow

    wf = Workflow("hello")
    wf.batch("say-hi", image="alpine:3", command=["true"])
    assert run_workflow(wf, home=tmp_path / "home").status == "SUCCEEDED"
    with pytest.raises(NotAWorkflowError, match=r"^run_workflow\(\): expected a workflow .*, got int 3"):
        run_workflow(3, home=tmp_path / "home")  # type: ignore[arg-type]
