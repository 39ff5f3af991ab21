"""The ``orchestrator`` command: exit codes, and bad input reported without a traceback."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import pytest

from orchestrator.cli import main

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "state_machines"


def test_validate_examples_ok(capsys: pytest.CaptureFixture[str]) -> None:
    paths = [str(EXAMPLES / n) for n in ("nightly_sales.py", "etl_fanout.py", "disk_hygiene.yaml")]
    assert main(["validate", *paths]) == 0
    out = capsys.readouterr().out
    assert "workflow 'nightly-sales' (4 tasks)" in out
    assert "workflow 'etl-fanout' (14 tasks)" in out


def test_validate_reports_every_problem_and_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = tmp_path / "bad.yaml"
    spec.write_text("name: x\ntasks:\n  - name: a\n    batch: {image: i}\n    timout: 5m\n    after: [b]\n")
    assert main(["validate", str(spec)]) == 1
    err = capsys.readouterr().err
    assert "2 problems found" in err
    assert f"{spec}:5:5: task 'a' field 'timout': unknown field 'timout'; did you mean 'timeout'?" in err
    assert "after names 'b', which is not a task" in err
    assert "Traceback" not in err


def test_missing_file_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(tmp_path / "nope.yaml")]) == 1
    assert "no such file" in capsys.readouterr().err


def test_show_json_prints_the_spec(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["show", str(EXAMPLES / "nightly_sales.py"), "--json"]) == 0
    spec = json.loads(capsys.readouterr().out)
    assert spec["name"] == "nightly-sales"
    assert [t["name"] for t in spec["tasks"]] == ["load-sales", "optimize-db", "check-freshness", "weekly-report"]


def test_show_lists_next_fire_times(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["show", str(EXAMPLES / "nightly_sales.py")]) == 0
    out = capsys.readouterr().out
    assert out.count("next: ") == 5
    assert "cron(10 2 * * ? *) (Europe/Berlin)" in out


def test_init_scaffolds_a_working_project(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "proj"
    assert main(["init", str(target)]) == 0
    assert (target / "workflow.py").exists() and (target / "handlers.py").exists()
    assert main(["validate", str(target / "workflow.py")]) == 0
    # init never overwrites what is there
    assert main(["init", str(target)]) == 1
    assert "already exist" in capsys.readouterr().err


def test_console_script_help_and_usage_error() -> None:
    done = subprocess.run([sys.executable, "-m", "orchestrator.cli", "--help"], capture_output=True, text=True)
    assert done.returncode == 0
    for command in ("validate", "show", "init", "compile", "graph", "run", "executions", "logs", "redrive"):
        assert command in done.stdout
    done = subprocess.run([sys.executable, "-m", "orchestrator.cli", "frobnicate"], capture_output=True, text=True)
    assert done.returncode == 2
    assert "invalid choice: 'frobnicate'" in done.stderr


def test_compile_writes_contract_files_and_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = EXAMPLES / "nightly_sales.py"
    assert main(["compile", str(spec), "--out", str(tmp_path), "--report"]) == 0
    out = capsys.readouterr().out
    written = tmp_path / "nightly-sales.asl.json"
    definition = json.loads(written.read_text())
    task_states = _task_states(definition)
    assert {"load-sales", "optimize-db", "check-freshness", "weekly-report"} <= set(task_states)
    assert "nightly-sales" in out and "$/run" in out
    # the checked-in golden file is the same bytes
    assert written.read_text() == (EXAMPLES / "nightly-sales.asl.json").read_text()


PROJECT_SPEC = "name: hello\ntasks:\n  - name: hi\n    batch: {image: alpine:3}\n"


def project(tmp_path: Path) -> Path:
    """A directory with a spec, a helper module (no workflow), a Python workflow and a mock config."""
    root = tmp_path / "project"
    root.mkdir()
    (root / "hello.yaml").write_text(PROJECT_SPEC)
    (root / "helpers.py").write_text("GREETING = 'hi'\n")
    (root / "__init__.py").write_text("")
    (root / "py_flow.py").write_text("from orchestrator import Workflow\nwf = Workflow('py-flow')\n"
                                     "wf.batch('t', image='alpine:3')\n")
    (root / "mocks.json").write_text('{"not": "a workflow"}')  # a directory's .json files are not taken
    return root


def test_validate_a_directory_skips_modules_without_a_workflow(tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    root = project(tmp_path)
    assert main(["validate", str(root)]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"ok: {root / 'hello.yaml'}: workflow 'hello' (1 tasks)",
        f"skipped: {root / 'helpers.py'}: defines no workflow",
        f"ok: {root / 'py_flow.py'}: workflow 'py-flow' (1 tasks)",
    ]
    # Named explicitly, a module must define one.
    assert main(["validate", str(root / "helpers.py")]) == 1
    assert f"{root / 'helpers.py'}: defines no workflow at module level" in capsys.readouterr().err


def test_validate_a_directory_reports_every_bad_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = project(tmp_path)
    (root / "bad.yaml").write_text("name: bad\ntasks: []\n")
    (root / "worse.yml").write_text("name: [\n")
    assert main(["validate", str(root)]) == 1
    captured = capsys.readouterr()
    assert f"{root / 'bad.yaml'}:2:1: field 'tasks'" in captured.err and f"{root / 'worse.yml'}:" in captured.err
    assert f"ok: {root / 'hello.yaml'}: workflow 'hello' (1 tasks)" in captured.out


def test_compile_a_directory_and_check_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root, out = project(tmp_path), tmp_path / "out"
    assert main(["compile", str(root), "--out", str(out), "--check"]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err == [f"missing: {out / 'hello.asl.json'}", f"missing: {out / 'py-flow.asl.json'}",
                   f"regenerate with: orchestrator compile {root} --out {out}"]
    assert not out.exists()  # --check writes nothing
    assert main(["compile", str(root), "--out", str(out)]) == 0
    assert capsys.readouterr().out.splitlines() == [f"wrote {out / 'hello.asl.json'}", f"wrote {out / 'py-flow.asl.json'}"]
    assert main(["compile", str(root), "--out", str(out), "--check"]) == 0
    assert capsys.readouterr().out == f"ok: the compiled files in {out} are current\n"
    (out / "hello.asl.json").write_text("{}")
    assert main(["compile", str(root), "--out", str(out), "--check"]) == 1
    assert capsys.readouterr().err.splitlines()[0] == f"stale: {out / 'hello.asl.json'}"


def test_two_workflows_of_one_name_cannot_share_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = project(tmp_path)
    (root / "again.yaml").write_text(PROJECT_SPEC)
    assert main(["compile", str(root), "--out", str(tmp_path / "out")]) == 1
    assert capsys.readouterr().err.splitlines()[-2:] == [
        f"{tmp_path / 'out' / 'hello.asl.json'}: is compiled from both workflow 'hello' and 'hello'",
        "    fix: give the workflows different names"]


def _task_states(definition: dict[str, object]) -> list[str]:
    found: list[str] = []
    states = definition.get("States")
    assert isinstance(states, dict)
    for name, state in states.items():
        if state.get("Type") == "Task":
            found.append(name)
        for branch in state.get("Branches", ()):
            found.extend(_task_states(branch))
    return found


def test_compile_bad_spec_exits_1_without_traceback(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = tmp_path / "cyclic.yaml"
    spec.write_text(
        "name: loop\ntasks:\n"
        "  - {name: a, batch: {image: i}, after: [b]}\n"
        "  - {name: b, batch: {image: i}, after: [a]}\n"
    )
    assert main(["compile", str(spec), "--out", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert "a -> b -> a" in err or "b -> a -> b" in err
    assert "Traceback" not in err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("fmt,start", [("mermaid", "flowchart TD"), ("dot", "digraph")])
def test_graph_formats(fmt: str, start: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["graph", str(EXAMPLES / "etl_fanout.py"), "--format", fmt]) == 0
    out = capsys.readouterr().out
    assert out.startswith(start)
    assert "build-dimensions" in out
    assert main(["graph", str(EXAMPLES / "etl_fanout.py"), "--format", fmt, "--compiled"]) == 0
    assert "Parallel" in capsys.readouterr().out


def test_aws_console_link(capsys: pytest.CaptureFixture[str]) -> None:
    arn = "arn:aws:states:eu-west-1:123456789012:execution:nightly-sales:abc"
    assert main(["aws", "console", arn]) == 0
    assert capsys.readouterr().out.strip() == (
        f"https://eu-west-1.console.aws.amazon.com/states/home?region=eu-west-1#/v2/executions/details/{arn}"
    )


def test_deploy_without_substitutions_names_every_placeholder(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["deploy", "--state-machine-only", str(EXAMPLES / "nightly_sales.py"), "--role-arn",
                 "arn:aws:iam::123456789012:role/sfn", "--region", "eu-west-1"])
    assert code == 1
    err = capsys.readouterr().err
    assert "6 placeholders have no value" in err
    assert "${JobQueue_default}: the ARN of Batch job queue 'default'" in err
    assert "Traceback" not in err


def test_workflow_choice_in_a_file_with_several(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = tmp_path / "two.py"
    spec.write_text(
        "from orchestrator import Workflow\n"
        "a = Workflow('one')\na.batch('x', image='i', command=['true'])\n"
        "b = Workflow('two')\nb.batch('y', image='i', command=['true'])\n"
    )
    for command in ("show", "run"):
        assert main([command, str(spec)]) == 1
        assert "defines 2 workflows (one, two)" in capsys.readouterr().err
        assert main([command, str(spec), "--workflow", "three"]) == 1
        assert "has no workflow named 'three' (it has: one, two)" in capsys.readouterr().err
    assert main(["show", str(spec), "--workflow", "two", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["name"] == "two"


@pytest.mark.parametrize("argv", [
    ["compile", "a.json", "b.yaml", "--out", "out", "--check"],
    ["run", "wf.py", "--input", "{}", "--containers", "never"],
    ["executions", "show", "abc"],
    ["aws", "executions", "list", "sm", "--json", "--limit", "3"],
    ["messages", "redeliver", "--failed"],
])
def test_the_parser_of_one_command_reads_its_arguments_as_the_whole_parser(argv: list[str]) -> None:
    from orchestrator.cli import build_parser

    one = build_parser(only=argv[0])
    assert one.parse_args(argv) == build_parser().parse_args(argv)
    commands = next(a for a in one._actions if isinstance(a, argparse._SubParsersAction))
    assert list(commands.choices) == [argv[0]]


def test_every_command_alone_has_the_help_it_has_in_the_whole_parser() -> None:
    # Building one command skips the others' arguments; a parser method used in build_parser
    # that the stand-in does not take would fail here for the other commands.
    from orchestrator.cli import build_parser

    def commands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
        action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        return dict(action.choices)

    whole = commands(build_parser())
    for name, parser in whole.items():
        alone = commands(build_parser(only=name))
        assert list(alone) == [name]
        assert alone[name].format_help() == parser.format_help()


def test_a_first_word_that_is_no_command_gets_the_whole_parser() -> None:
    from orchestrator.cli import build_parser

    assert build_parser(only="frobnicate").format_help() == build_parser().format_help()
