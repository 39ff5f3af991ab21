"""The Python builder: same model as the spec, same problems, located at the declaring line."""

from __future__ import annotations

import inspect

import pytest

from orchestrator import Workflow, model
from orchestrator.api import FunctionTask, TaskRef, _display
from orchestrator.errors import ValidationError
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
