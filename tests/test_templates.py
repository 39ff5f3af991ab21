"""Templates: parsing and its errors, the zone table, and the engine rendering the compiled ASL
exactly as Python's zoneinfo says, across DST changes in several zones."""

from __future__ import annotations

import doctest
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from compiler_support import run_in_engine
from hypothesis import given, settings
from hypothesis import strategies as st

from orchestrator import model, templates
from orchestrator.compiler import compile_workflow
from orchestrator.compiler.tasks import job_definition
from orchestrator.local.runs import run_workflow
from orchestrator.templates import Ref, TemplateError, parse

ZONES = ("Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata", "Pacific/Chatham", "UTC",
         "America/Sao_Paulo", "Africa/Casablanca")
VALUE = "{{ date - 1 }}/{{ date }}/{{ date + 1 }}/{{ hour }}/{{ date - 365 }}"


def expected(zone: str, instant: datetime) -> str:
    """What the template means, straight from zoneinfo: the reference the engine must match."""
    local = instant.astimezone(ZoneInfo(zone))
    day = local.date()
    return "/".join([(day - timedelta(days=1)).isoformat(), day.isoformat(), (day + timedelta(days=1)).isoformat(),
                     local.strftime("%H"), (day - timedelta(days=365)).isoformat()])


def workflow(zone: str) -> model.Workflow:
    return model.Workflow(name="tz", schedule=model.Schedule(expression="rate(1 hour)", timezone=zone), tasks=(
        model.Task(name="job", job=model.BatchJob(image="x", command=("run", VALUE), environment={"V": VALUE})),))


def rendered(zone: str, instants: list[datetime]) -> list[tuple[str, str]]:
    """(command item, environment value) the engine computes from the compiled ASL for each instant."""
    result = compile_workflow(workflow(zone))
    out = []
    for instant in instants:
        stamp = instant.strftime("%Y-%m-%dT%H:%M:%SZ")
        run, aws = run_in_engine(result, input={"scheduled_time": stamp})
        assert run.status == "SUCCEEDED", (run.error, run.cause)
        overrides = aws.submitted["job"]["ContainerOverrides"]
        env = {e["Name"]: e["Value"] for e in overrides["Environment"]}
        out.append((overrides["Command"][1], env["V"]))
    return out


class TestParse:
    def test_references_and_literal_text(self) -> None:
        assert parse("a{{scheduled_time}}b{{  input.x.y_2 }}{{ execution_name }}") == (
            "a", Ref("scheduled_time", column=2), "b", Ref("input", field=("x", "y_2"), column=21),
            Ref("execution_name", column=39))
        assert parse("plain } }} {") == ("plain } }} {",)
        assert parse("{{ date+7 }}") == (Ref("date", days=7, column=1),)

    @pytest.mark.parametrize(("text", "message", "fix"), [
        ("x {{ date", "'{{' at character 3 is not closed by '}}'", "close it: 'x {{ date }}'"),
        ("{{ dtae - 2 }}", "{{ dtae - 2 }}: unknown value 'dtae'; the values are scheduled_time, date, hour, "
                           "execution_name, input.FIELD", "'{{ date - 2 }}'"),
        ("{{ nothing }}", "{{ nothing }}: unknown value 'nothing'; the values are scheduled_time, date, hour, "
                          "execution_name, input.FIELD", "one of them, e.g. {{ date - 1 }}"),
        ("{{}}", "{{}} names no value", "one of scheduled_time, date, hour, execution_name, input.FIELD, "
                                        "e.g. {{ date - 1 }}"),
        ("{{ date - 0 }}", "{{ date - 0 }}: the day offset must be a whole number of days from 1 to 3660",
         "e.g. {{ date - 1 }} for the day before"),
        ("{{ date - 1.5 }}", "{{ date - 1.5 }}: the day offset must be a whole number of days from 1 to 3660",
         "e.g. {{ date - 1 }} for the day before"),
        ("{{ hour + 1 }}", "{{ hour + 1 }}: only a date takes a day offset", "e.g. {{ date - 1 }}"),
        ("{{ input.a-b }}", "{{ input.a-b }}: only a date takes a day offset", "e.g. {{ date - 1 }}"),
        ("{{ input. }}", "{{ input. }}: name an input field, of letters, digits and '_'",
         "e.g. {{ input.region }} for the input's \"region\""),
    ])
    def test_errors_say_what_and_how_to_fix(self, text: str, message: str, fix: str) -> None:
        with pytest.raises(TemplateError) as caught:
            parse(text)
        assert (caught.value.message, caught.value.fix) == (message, fix)


class TestCompiled:
    def test_literal_text_is_escaped_for_intrinsics(self) -> None:
        assert templates.intrinsic(parse("it's {x} \\ {{ hour }}")) == (
            "States.Format('it\\'s \\{x\\} \\\\ {}', $logical_time.hour)")

    def test_only_templated_values_become_dynamic(self) -> None:
        wf = model.Workflow(name="w", tasks=(model.Task(name="t", job=model.BatchJob(
            image="x", command=("a", "b"), environment={"PLAIN": "1", "T": "{{ scheduled_time }}"})),))
        definition = compile_workflow(wf).definitions["w"]
        overrides = definition["States"]["t"]["Parameters"]["ContainerOverrides"]
        # What does not vary is left to the job definition (tasks.job_definition).
        assert "Command" not in overrides and "Command.$" not in overrides
        assert all(e["Name"] != "PLAIN" for e in overrides["Environment"])
        assert {"Name": "T", "Value.$": "States.Format('{}', $.input.scheduled_time)"} in overrides["Environment"]
        settings = job_definition(wf.tasks[0], wf)
        assert settings.command == ("a", "b") and settings.environment["PLAIN"] == "1"
        assert "T" not in settings.environment
        assert templates.STATE not in definition["States"]  # no local time read, no JSONata state

    def test_local_time_state_comes_after_the_wrap_in_main_and_first_in_children(self) -> None:
        tasks = tuple(model.Task(name=f"t{i}", job=model.BatchJob(image="x", command=("run", "{{ date }}")),
                                 after=(f"t{i - 1}",) if i else ()) for i in range(40))
        result = compile_workflow(model.Workflow(name="long", tasks=tasks), max_history_events=300)
        assert len(result.definitions) > 1
        main = result.definitions["long"]
        assert main["States"]["Wrap input"]["Next"] == templates.STATE
        for name, definition in result.definitions.items():
            assert definition["States"][templates.STATE]["QueryLanguage"] == "JSONata", name
            if name != "long":
                assert definition["StartAt"] == templates.STATE
        run, aws = run_in_engine(result, input={"scheduled_time": "2026-01-01T00:30:00Z"})
        assert run.status == "SUCCEEDED", (run.error, run.cause)
        assert {p["ContainerOverrides"]["Command"][1] for p in aws.submitted.values()} == {"2026-01-01"}
        assert len(aws.submitted) == 40


class TestZones:
    def test_offset_table_of_a_dst_zone(self) -> None:
        changes, offsets = templates.offset_changes("Europe/Berlin")
        assert len(changes) == 200 and len(offsets) == 201
        assert datetime.fromtimestamp(changes[-1], UTC) == datetime(2099, 10, 25, 1, tzinfo=UTC)
        assert set(offsets) == {3600, 7200}

    @pytest.mark.parametrize("zone", ZONES)
    def test_every_hour_around_both_dst_changes(self, zone: str) -> None:
        # Both 2026 changes of each zone, hour by hour from 6 hours before to 6 after.
        changes = [c for c in templates.offset_changes(zone)[0]
                   if datetime.fromtimestamp(c, UTC).year == 2026] or [1_782_864_000]
        instants = [datetime.fromtimestamp(c, UTC) + timedelta(minutes=90 * i) for c in changes for i in range(-4, 5)]
        assert rendered(zone, instants) == [(expected(zone, t), expected(zone, t)) for t in instants]

    @settings(max_examples=25, deadline=None)
    @given(st.sampled_from(ZONES), st.datetimes(min_value=datetime(2000, 1, 2), max_value=datetime(2099, 12, 30),
                                                timezones=st.just(UTC)))
    def test_any_instant_in_the_table_years(self, zone: str, instant: datetime) -> None:
        instant = instant.replace(microsecond=0)
        assert rendered(zone, [instant]) == [(expected(zone, instant), expected(zone, instant))]

    def test_before_the_table_the_offset_of_2000_holds(self) -> None:
        """The documented limit: Berlin's summer of 1999 is shown as winter time."""
        (command, _), = rendered("Europe/Berlin", [datetime(1999, 7, 1, 12, tzinfo=UTC)])
        assert command.split("/")[3] == "13"  # 12:00 UTC + 1 h; zoneinfo says 14


class TestJob:
    def test_a_batch_job_gets_its_rendered_command_and_environment(self, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.chdir(tmp_path)
        wf = model.Workflow(name="report", schedule=model.Schedule(expression="cron(0 6 * * ? *)",
                                                                    timezone="Europe/Berlin"), tasks=(
            model.Task(name="r", job=model.BatchJob(image="x", command=(
                "sh", "-c", 'printf "%s\\n" "$0" "$DAY" > out.txt', "{{ input.region }}-{{ date - 1 }}"),
                environment={"DAY": "{{ date }} {{ hour }}h"})),))
        result = run_workflow(wf, {"region": "eu"}, home=tmp_path / "home", scheduled_time="2026-03-29T04:00:00Z")
        assert result.status == "SUCCEEDED", result.cause
        assert (tmp_path / "out.txt").read_text().splitlines() == ["eu-2026-03-28", "2026-03-29 06h"]

    def test_a_missing_input_field_fails_the_task_state_as_on_aws(self) -> None:
        wf = model.Workflow(name="w", tasks=(model.Task(name="t", job=model.BatchJob(
            image="x", command=("run", "{{ input.region }}"))),))
        run, _ = run_in_engine(compile_workflow(wf), input={})
        assert run.status == "FAILED" and run.error == "States.Runtime"
        assert "$.input.region" in (run.cause or "")


def test_bad_templates_are_validation_errors(tmp_path: Path) -> None:
    from orchestrator.errors import ValidationError
    from orchestrator.spec import load

    (tmp_path / "wf.yaml").write_text(json.dumps({"name": "w", "tasks": [
        {"name": "t", "python": {"function": "m:f", "environment": {"D": "{{ date }}"}}, "timeout": "5m"},
        {"name": "u", "python": {"function": "m:f", "memory": 2048, "environment": {"D": "{{ date }}"}},
         "timeout": "2h"}]}))
    with pytest.raises(ValidationError) as caught:
        load(tmp_path / "wf.yaml")
    (problem,) = caught.value.problems
    assert problem.render().endswith(
        "task 't' field 'python.environment.D': '{{ date }}': templates work in commands and environment values "
        "of jobs that run on Batch; a Lambda function's environment is fixed when it is deployed\n"
        "    fix: read event['input']['scheduled_time'] (or another input field) in the function")


def test_examples_in_docstrings() -> None:
    from orchestrator import preview

    assert doctest.testmod(templates).failed == 0
    assert doctest.testmod(preview).failed == 0
