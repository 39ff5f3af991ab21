"""Loading files: YAML/JSON with positions, Python modules, and every way a file can be wrong."""

from __future__ import annotations

import importlib
import json
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml

from orchestrator import model
from orchestrator.errors import SpecError, ValidationError
from orchestrator.spec import from_dict, load, load_all, to_dict, validate_file

DESIGN_JSON = {
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

DESIGN_MODEL = model.Workflow(
    name="nightly-sales",
    schedule=model.Schedule(expression="cron(10 2 * * ? *)", timezone="Europe/Berlin"),
    notify=model.Notify(email=("ops@example.com",)),
    tasks=(
        model.Task(name="optimize-db",
                   job=model.BatchJob(image="postgres:16", command=("vacuumdb", "--all"), vcpus=1.0, memory=2048),
                   timeout=7200, retry=model.Retry(attempts=3), expected_duration=1200.0),
        model.Task(name="check-freshness", job=model.LambdaTask(handler="lambdas.checks:freshness"),
                   timeout=300, after=("optimize-db",)),
        model.Task(name="weekly-report", job=model.BatchJob(image="reports:1", command=("report", "--weekly")),
                   after=("optimize-db", "check-freshness")),
    ),
)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


# -- the DESIGN.md example -----------------------------------------------------------------------
def test_design_example_loads_exactly(tmp_path: Path) -> None:
    assert from_dict(DESIGN_JSON) == DESIGN_MODEL
    json_file = tmp_path / "nightly.json"
    json_file.write_text(json.dumps(DESIGN_JSON, indent=1))
    yaml_file = tmp_path / "nightly.yaml"
    yaml_file.write_text(yaml.safe_dump(DESIGN_JSON, sort_keys=False))
    assert load(json_file) == load(yaml_file) == DESIGN_MODEL
    assert from_dict(to_dict(DESIGN_MODEL)) == DESIGN_MODEL


def test_python_api_builds_the_design_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "state_machines" / "nightly_sales.py", """\
        from orchestrator import Workflow

        wf = Workflow("nightly-sales", schedule={"expression": "cron(10 2 * * ? *)", "timezone": "Europe/Berlin"},
                      notify={"email": ["ops@example.com"]})
        optimize = wf.batch("optimize-db", image="postgres:16", command=["vacuumdb", "--all"], vcpus=1,
                            memory=2048, timeout="2h", retries={"attempts": 3}, expected_duration="20m")
        check = wf.lambda_("check-freshness", handler="lambdas.checks:freshness", timeout="5m", after=[optimize])
        wf.batch("weekly-report", image="reports:1", command=["report", "--weekly"], after=[optimize, check])
        """)
    assert load("state_machines/nightly_sales.py") == DESIGN_MODEL


# -- positions -----------------------------------------------------------------------------------
def test_json_problems_have_line_and_column(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "w.json", """\
        {"name": "w",
         "tasks": [
           {"name": "a", "batch": {"image": "x", "memory": 100}},
           {"name": "b", "batch": {"image": "x"}, "timeout": "2 hours"}
         ]}
        """)
    assert [p.render() for p in validate_file("w.json")] == [
        "w.json:3:42: task 'a' field 'batch.memory': Fargate has no 1 vCPU / 100 MiB size; "
        "1 vCPU takes 2048-8192 MiB in steps of 1024\n    fix: vcpus: 1, memory: 2048",
        "w.json:4:43: task 'b' field 'timeout': timeout has unit 'hours'; durations use s, m, h or d; "
        "got '2 hours'\n    fix: timeout: \"2h\"",
    ]


def test_json_syntax_error_is_underlined(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "w.json", '{"name": "w",\n "tasks": [}\n')
    with pytest.raises(SpecError) as caught:
        load("w.json")
    assert str(caught.value) == (
        "w.json:2:12: JSON syntax error: Expecting value\n"
        '     "tasks": [}\n'
        "               ^\n"
        "    fix: check the commas, quotes and brackets around the marked text"
    )


def test_json_numbers_are_read_the_json_way(tmp_path: Path) -> None:
    path = write(tmp_path / "w.json", '{"name": "w", "tasks": [{"name": "a", "batch": {"image": "x"}, "timeout": 1e3}]}')
    assert load(path).tasks[0].timeout == 1000


def test_valid_json_is_read_without_the_yaml_composer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Locations are only looked up for a problem to report: composing 10,000 tasks costs seconds.
    def no_compose(*args: object, **kwargs: object) -> None:
        raise AssertionError("the YAML composer ran for a valid JSON spec")

    monkeypatch.setattr(yaml, "compose", no_compose)
    path = tmp_path / "nightly.json"
    path.write_text(json.dumps(DESIGN_JSON, indent=1))
    assert load(path) == DESIGN_MODEL


def test_json_duplicate_key_is_located(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "w.json", """\
        {"name": "w",
         "tasks": [{"name": "a", "batch": {"image": "x"}, "timeout": 60, "timeout": 90}]}
        """)
    assert [p.render() for p in validate_file("w.json")] == [
        "w.json:2:66: key 'timeout' appears twice in one mapping (first at line 2); YAML would silently "
        "keep only the last\n    fix: keep one 'timeout'",
    ]


def test_json_duplicate_key_the_composer_cannot_read_is_still_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def unreadable(*args: object, **kwargs: object) -> None:
        raise yaml.YAMLError("cannot read")

    monkeypatch.setattr(yaml, "compose", unreadable)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "w.json").write_text('{"name": "w", "name": "v", "tasks": [{"name": "a", "batch": {"image": "x"}}]}')
    assert [p.render() for p in validate_file("w.json")] == [
        "w.json: a key appears twice in one mapping; JSON readers would silently keep only the last"
        "\n    fix: keep one of each key",
    ]


BAD_SPECS = Path(__file__).parent / "bad_specs"
def _expanded_size_at_most(data: object, limit: int) -> bool:
    """Whether ``data`` has at most ``limit`` values with YAML aliases expanded (each use counted):
    an alias bomb of the hostile-input corpus is small as YAML and enormous as JSON."""
    count, stack = 0, [data]
    while stack:
        value = stack.pop()
        count += 1
        if count > limit:
            return False
        if isinstance(value, dict):
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return True



@pytest.mark.parametrize("name", sorted(p.name for p in BAD_SPECS.glob("*.yaml")))
def test_json_problems_are_those_of_the_located_document(name: str, tmp_path: Path) -> None:
    """The fast path (json module, locations found on demand) reports exactly what validating
    with every location known up front reports, for every bad spec of the corpus as JSON."""
    from orchestrator.spec.loader import _json_locations

    if name.startswith("hostile_"):
        pytest.skip("refused by the loader's bounds before validating (tests/test_spec_bad.py)")
    try:
        data = yaml.safe_load((BAD_SPECS / name).read_text())
    except (yaml.YAMLError, UnicodeDecodeError):
        pytest.skip("not readable as YAML, so not convertible to JSON")
    if not _expanded_size_at_most(data, 100_000):
        pytest.skip("aliases expand it past what a JSON file of it could hold")
    text = json.dumps(data, indent=2, default=str)
    data = json.loads(text)
    path = tmp_path / "spec.json"
    path.write_text(text)
    positions, duplicates = _json_locations(text, str(path))
    try:
        from_dict(data, source=str(path), positions=positions)
    except ValidationError as error:
        expected = [p.render() for p in duplicates + list(error.problems)]
    else:
        expected = [p.render() for p in duplicates]
    assert [p.render() for p in validate_file(path)] == expected


def test_from_dict_positions_use_nearest_ancestor() -> None:
    document = {"name": "w", "tasks": [{"name": "a", "batch": {"image": "x", "vcpus": 3}}]}
    with pytest.raises(ValidationError) as caught:
        from_dict(document, source="flow.py", positions={(): (1, 0), ("tasks", 0): (7, 0)})
    assert caught.value.problems[0].where == "flow.py:7: task 'a' field 'batch.vcpus'"


def test_problems_are_all_collected_in_file_order() -> None:
    document = {"name": "bad name", "tasks": [{"name": "a", "batch": {"image": "x"}, "after": ["b"]},
                                              {"name": "b b", "lambda": {"handler": "x"}}]}
    with pytest.raises(ValidationError) as caught:
        from_dict(document)
    assert [p.where for p in caught.value.problems] == [
        "<spec>: field 'name'",
        "<spec>: task 'a' field 'after[0]'",
        "<spec>: task 'b b' field 'name'",
        "<spec>: task 'b b' field 'lambda.handler'",
    ]


# -- YAML streams and file errors ----------------------------------------------------------------
def test_yaml_stream_holds_several_workflows(tmp_path: Path) -> None:
    path = write(tmp_path / "two.yaml", """\
        name: one
        tasks: [{name: a, batch: {image: x}}]
        ---
        name: two
        tasks: [{name: a, batch: {image: x}}]
        """)
    assert [wf.name for wf in load_all(path)] == ["one", "two"]
    with pytest.raises(SpecError) as caught:
        load(path)
    assert caught.value.problems[0].message == "defines 2 workflows ('one', 'two'); load() wants exactly one"
    assert caught.value.problems[0].fix == (
        f"use load_all({str(path)!r}) and pick one by name, or pass --workflow one on the command line"
    )


def test_empty_yaml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "empty.yaml").write_text("# nothing yet\n")
    with pytest.raises(SpecError, match=r"^empty.yaml: is empty; a spec needs at least 'name' and 'tasks'"):
        load("empty.yaml")


def test_missing_file_suggests_a_sibling(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "nightly.yaml").write_text("name: x\n")
    with pytest.raises(SpecError) as caught:
        load("nighlty.yaml")
    assert str(caught.value) == "nighlty.yaml: no such file\n    fix: did you mean 'nightly.yaml'?"


def test_wrong_suffix_and_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "w.toml").write_text("")
    with pytest.raises(SpecError, match=r"^w.toml: is not a workflow file \(suffix '.toml'\)"):
        load("w.toml")
    (tmp_path / "d.yaml").mkdir()
    with pytest.raises(SpecError, match=r"^d.yaml: is a directory, not a workflow file"):
        load("d.yaml")


# -- Python files --------------------------------------------------------------------------------
def test_python_module_name_and_function_reference(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "state_machines" / "daily.py", """\
        from orchestrator import Workflow

        wf = Workflow("daily", schedule="rate(1 day)")

        @wf.task(timeout="5m")
        def check_freshness(event, context):
            return {"fresh": True}
        """)
    workflow = load("state_machines/daily.py")
    job = workflow.tasks[0].job
    assert isinstance(job, model.PythonTask)
    assert job.function == "state_machines.daily:check_freshness"
    assert workflow.tasks[0].name == "check-freshness"


def test_python_file_with_several_workflows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "flows.py", """\
        from orchestrator import Workflow
        from orchestrator.model import BatchJob, Task, Workflow as Model

        a = Workflow("first")
        a.batch("t", image="x")
        b = Model(name="second", tasks=(Task(name="t", job=BatchJob(image="x")),))
        also_a = a
        """)
    assert [wf.name for wf in load_all("flows.py")] == ["first", "second"]
    with pytest.raises(SpecError, match=r"defines 2 workflows \('first', 'second'\)"):
        load("flows.py")


def test_python_file_without_workflow(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "nothing.py", "x = 1\n")
    with pytest.raises(SpecError) as caught:
        load("nothing.py")
    assert caught.value.problems[0].render().startswith("nothing.py: defines no workflow at module level")


def test_python_file_raising_on_import(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "broken.py", """\
        from orchestrator import Workflow

        wf = Workflow("broken")
        limit = 1 / 0
        """)
    with pytest.raises(SpecError) as caught:
        load("broken.py")
    assert str(caught.value) == (
        "broken.py:4: importing it raised ZeroDivisionError: division by zero\n"
        "    fix: fix the error raised at line 4: limit = 1 / 0"
    )


def test_python_file_importing_a_missing_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "needs.py", "import no_such_module_here\n")
    with pytest.raises(SpecError, match=r"^needs.py:1: importing it raised ModuleNotFoundError: "
                                        r"No module named 'no_such_module_here'"):
        load("needs.py")


def test_python_syntax_error_is_underlined(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "typo.py", "from orchestrator import Workflow\nwf = Workflow('x'\n")
    with pytest.raises(SpecError) as caught:
        load("typo.py")
    problem = caught.value.problems[0]
    assert problem.where == "typo.py:2:14"
    assert problem.message == "Python syntax error: '(' was never closed\n    wf = Workflow('x'\n                 ^^^^"


def test_python_validation_errors_point_at_the_declaring_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "flow.py", """\
        from orchestrator import Workflow

        wf = Workflow("flow")
        wf.batch("a", image="x", vcpus=2, memory=1024)
        wf.lambda_("b", handler="m:f", timeout="1h", after=["a", "c"])
        """)
    assert [p.render() for p in validate_file("flow.py")] == [
        "flow.py:4: task 'a' field 'batch.memory': Fargate has no 2 vCPU / 1024 MiB size; 2 vCPU takes "
        "4096-16384 MiB in steps of 1024\n    fix: vcpus: 2, memory: 4096",
        "flow.py:5: task 'b' field 'after[1]': after names 'c', which is not a task (tasks: a, b)\n"
        "    fix: remove 'c' or declare a task with that name",
        "flow.py:5: task 'b' field 'timeout': lambda task has timeout '1h' (3600 s), but Lambda stops a function "
        "after 900 s (15 minutes)\n    fix: make it a python task, which runs on AWS Batch when its timeout is "
        "over 15 minutes: python: {function: \"m:f\"}; or make it a batch task with an image; "
        "or give it timeout: \"15m\" or less",
    ]


def test_file_outside_the_current_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project, elsewhere = tmp_path / "project", tmp_path / "elsewhere"
    project.mkdir()
    write(elsewhere / "flow.py", """\
        from orchestrator import Workflow

        wf = Workflow("outside")

        @wf.task
        def step(event, context):
            return event
        """)
    monkeypatch.chdir(project)
    job = load(elsewhere / "flow.py").tasks[0].job
    assert isinstance(job, model.PythonTask)
    assert job.function == "../elsewhere/flow.py:step"  # a private module name would mean nothing elsewhere


def test_schema_alone_accepts_the_design_example() -> None:
    import jsonschema

    from orchestrator.spec import schema

    jsonschema.Draft202012Validator.check_schema(schema())
    jsonschema.Draft202012Validator(schema()).validate(DESIGN_JSON)
    assert list(jsonschema.Draft202012Validator(schema()).iter_errors(to_dict(DESIGN_MODEL))) == []


def test_yaml_anchors_in_x_fields_and_merge_keys(tmp_path: Path) -> None:
    path = write(tmp_path / "anchors.yaml", """\
        name: anchors
        x-job: &job
          image: "python:3.12-slim"
          vcpus: 2
          memory: 4096
        tasks:
          - name: a
            batch: {<<: *job, command: [run, a]}
          - name: b
            batch: {<<: *job, command: [run, b]}
            after: [a]
        """)
    workflow = load(path)
    assert [t.job for t in workflow.tasks] == [
        model.BatchJob(image="python:3.12-slim", vcpus=2.0, memory=4096, command=("run", name)) for name in "ab"
    ]


def test_long_cycles_are_shortened_in_the_message() -> None:
    tasks = [{"name": f"t{i}", "batch": {"image": "x"}, "after": [f"t{i - 1}"]} for i in range(1, 21)]
    tasks[0]["after"] = ["t20"]
    with pytest.raises(ValidationError) as caught:
        from_dict({"name": "loop", "tasks": tasks})
    assert caught.value.problems[0].message == (
        "dependency cycle: t1 -> t20 -> t19 -> t18 -> t17 -> ... -> t5 -> t4 -> t3 -> t2 -> t1 (20 tasks) "
        "(each task runs after the next, so none can start)"
    )


def test_yaml_reads_on_off_yes_no_as_strings_like_yaml_1_2(tmp_path: Path) -> None:
    from orchestrator.spec import load

    spec = tmp_path / "wf.yaml"
    spec.write_text("name: w\nnotify: {email: [ops@example.com], on: [failure, recovery]}\n"
                    "tags: {backup: yes, public: no}\ntasks:\n  - {name: t, lambda: {handler: 'm:f'}}\n")
    wf = load(spec)
    assert wf.notify is not None and wf.notify.on == ("failure", "recovery")
    assert dict(wf.tags) == {"backup": "yes", "public": "no"}


# The values bounds.check_values refuses, as JSON text: the loader decides from the text whether
# that walk is needed, so each must still be reported exactly as the walk reports it.
HOSTILE_JSON_VALUES = [
    "NaN", "Infinity", "-Infinity", "1e999", "-1e999", "9223372036854775808", "-9223372036854775809",
    '"a\\u0000b"', '"bell\\b"', '"feed\\f"', '"del\\u007f"', '"\u0085next line"', '"\u009f"',
    "1" + "0" * 400,  # past what a float holds: the checks that read numbers as floats are not run
]


@pytest.mark.parametrize("value", HOSTILE_JSON_VALUES)
def test_json_values_past_the_bounds_are_reported_as_the_walk_reports_them(value: str, tmp_path: Path) -> None:
    from orchestrator.spec.loader import _json_locations

    key = value if value.startswith('"') else '"k"'
    text = ('{"name": "w", "tasks": [{"name": "a", "batch": {"image": "x", "command": ["run", ' + value + ']},\n'
            ' "expected_duration": 5}], "tags": {' + key + ': "v"}}')
    path = tmp_path / "spec.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValidationError) as expected:
        from_dict(json.loads(text), source=str(path), positions=_json_locations(text, str(path))[0])
    assert [p.render() for p in validate_file(path)] == [p.render() for p in expected.value.problems]


def test_a_json_integer_of_more_digits_than_python_reads_is_located(tmp_path: Path) -> None:
    path = tmp_path / "spec.json"
    path.write_text('{"name": "w", "tasks": [{"name": "a", "batch": {"image": "x"},\n "timeout": -' + "9" * 5000 + "}]}")
    assert [p.render() for p in validate_file(path)] == [
        f"{path}:2:13: is an integer of 5000 digits, out of range: AWS takes integers up to 9223372036854775807 "
        "(2^63 - 1)\n    fix: write a smaller number"]


def test_json_values_within_the_bounds_skip_no_problem(tmp_path: Path) -> None:
    """Nineteen digits that fit, escapes that are allowed, and look-alikes inside strings stay valid."""
    path = tmp_path / "spec.json"
    path.write_text('{"name": "w", "tasks": [{"name": "a", "batch": {"image": "x", "command": '
                    '["NaN", "Infinity", "tab\\there\\nand\\r", "\\\\u0000", "caf\u00e9"], '
                    '"array_size": 2}, "expected_duration": 1.5e2}], "tags": {"n": "9223372036854775807"}}')
    assert validate_file(path) == []


@pytest.mark.parametrize(
    ("text", "agree"),
    [
        ('"jobs:run"', True), ('"caf\u00e9"', True),  # the second as UTF-8 text
        ('"caf\\u00e9"', False), ('"a\\\\u001c"', False),  # any \u escape is looked at, to be safe
        ('"jobs:run\\u001c"', False), ('"jobs:run\\u001f"', False), ('"jobs:run\\u0085"', False),
        ('"jobs:run\u0085"', False), ('"\ufeffjobs:run"', False), ('"\\ufeffjobs:run"', False),
    ],
)
def test_json_text_tells_the_schema_check_whether_to_look_for_what_the_engines_disagree_on(
    text: str, agree: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """From the text alone: U+001C-U+001F only come from an escape, U+0085 and U+FEFF also raw."""
    schema_module = importlib.import_module("orchestrator.spec.schema")  # spec.schema is the function

    told: list[bool] = []
    is_valid = schema_module.is_valid

    def spy(document: Any, *, engines_agree: bool = False) -> bool:
        told.append(engines_agree)
        return is_valid(document, engines_agree=engines_agree)

    monkeypatch.setattr(schema_module, "is_valid", spy)
    path = tmp_path / "spec.json"
    path.write_text('{"name": "w", "tasks": [{"name": "a", "python": {"function": "jobs:run"}, '
                    '"description": ' + text + '}]}', encoding="utf-8")
    validate_file(path)
    assert told == [agree]


def test_the_quick_nesting_scan_agrees_with_the_exact_one() -> None:
    """Every text the character-by-character scan refuses, the quick one refuses, at the same place."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from orchestrator.spec import loader

    @settings(max_examples=400, deadline=None)
    @given(st.text(alphabet="[]{}\"'\\\n ax\u00e9", max_size=60))
    def agree(text: str) -> None:
        def outcome(check: object) -> str | None:
            try:
                check(text, "f.yaml")  # type: ignore[operator]
            except SpecError as error:
                return error.problems[0].render()
            return None

        assert outcome(loader._check_nesting) == outcome(loader._nesting_problem)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(loader, "SPEC_MAX_DEPTH", 3)
        agree()
