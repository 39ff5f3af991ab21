"""The fixed cost of the ``orchestrator`` command: heavy modules stay unimported until a path needs them.

Each check runs a fresh interpreter, since this test process has long imported everything. The
modules named here cost 10-60 ms each at startup (``python -X importtime``); a module-level import
added anywhere on the path brings them back, and these tests name which one came back.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Needed by no part of a local run of a Python workflow that calls no JSONata, mails nothing and
# forwards nothing to AWS.
NOT_ON_THE_RUN_PATH = ("yaml", "jsonata", "smtplib", "email.message", "urllib.request", "ssl",
                       "boto3", "botocore")
ONE_TASK = """from orchestrator import Workflow

wf = Workflow('startup-one')


@wf.task(timeout='1m')
def hello(event, context):
    return {'ok': True}
"""


def _loaded_after(code: str, names: tuple[str, ...], cwd: Path) -> list[str]:
    probe = f"{code}\nimport json, sys\nprint(json.dumps([n for n in {list(names)!r} if n in sys.modules]))"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "ORCHESTRATOR_HOME": str(cwd / "home")}
    done = subprocess.run([sys.executable, "-c", probe], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    loaded: list[str] = json.loads(done.stdout.strip().splitlines()[-1])
    return loaded


def test_help_imports_no_subcommand_module(tmp_path: Path) -> None:
    code = "from orchestrator.cli import main\ntry:\n    main(['--help'])\nexcept SystemExit:\n    pass"
    names = ("rich", "yaml", "jsonata", "orchestrator.compiler", "orchestrator.engine", "orchestrator.local",
             "orchestrator.spec", "orchestrator.api", "orchestrator.model", *NOT_ON_THE_RUN_PATH)
    assert _loaded_after(code, names, tmp_path) == []


def test_package_names_resolve_lazily(tmp_path: Path) -> None:
    # ``import orchestrator`` (run first by every ``orchestrator.*`` import) builds no model.
    code = ("import orchestrator\nfrom orchestrator import *\n"
            "assert Workflow.__module__ == 'orchestrator.api' and ValidationError.__module__ == 'orchestrator.errors'\n"
            "from orchestrator.api import WorkflowLike\nimport orchestrator.model as model\n"
            "assert WorkflowLike == Workflow | model.Workflow\n"
            "for module, name in ((orchestrator, 'nope'), (orchestrator.api, 'nope')):\n"
            "    try:\n        getattr(module, name)\n    except AttributeError as e:\n"
            "        assert str(e) == f\"module {module.__name__!r} has no attribute 'nope'\", e\n"
            "    else:\n        raise AssertionError")
    assert _loaded_after(code, (), tmp_path) == []
    assert _loaded_after("import orchestrator", ("orchestrator.api", "orchestrator.errors"), tmp_path) == []


def test_running_a_python_workflow_leaves_heavy_modules_unimported(tmp_path: Path) -> None:
    (tmp_path / "one_wf.py").write_text(ONE_TASK)
    code = "from orchestrator.cli import main\nassert main(['run', 'one_wf.py']) == 0"
    assert _loaded_after(code, NOT_ON_THE_RUN_PATH, tmp_path) == []


def test_running_python_tasks_leaves_local_batch_and_mocks_unimported(tmp_path: Path) -> None:
    # Local Batch (with images and concurrent.futures) is built on a run's first job and the mock
    # reader with a mock config: neither is on the path of a workflow of Python tasks.
    (tmp_path / "one_wf.py").write_text(ONE_TASK)
    code = "from orchestrator.cli import main\nassert main(['run', 'one_wf.py']) == 0"
    names = ("orchestrator.local.batch", "orchestrator.local.images", "orchestrator.local.mocks", "concurrent.futures")
    assert _loaded_after(code, names, tmp_path) == []


def test_running_a_workflow_again_unchanged_does_not_import_the_compiler(tmp_path: Path) -> None:
    # The first run keeps its compiled plan in the store; the next one of the same workflow reads it,
    # and builds the workflow without checking it again (local.kept).
    (tmp_path / "one_wf.py").write_text(ONE_TASK)
    code = "from orchestrator.cli import main\nassert main(['run', 'one_wf.py']) == 0"
    names = ("orchestrator.compiler", "orchestrator.spec.checks", "jsonschema_rs")
    assert _loaded_after(code, names, tmp_path) == list(names)
    assert _loaded_after(code, names, tmp_path) == []


def test_only_a_workflow_file_with_python_tasks_starts_its_zygote_before_loading_it(tmp_path: Path) -> None:
    # The early zygote's interpreter start overlaps loading the workflow; a Batch-only file
    # would pay it for nothing.
    (tmp_path / "one_wf.py").write_text(ONE_TASK)
    (tmp_path / "batch_wf.py").write_text("from orchestrator import Workflow\nwf = Workflow('startup-batch')\n"
                                         "wf.batch('hi', image='alpine:3', command=['true'])\n")
    for name, expected in (("one_wf.py", 1), ("batch_wf.py", 0)):
        code = ("import orchestrator.local.lambda_ as local_lambda\nstarted = []\n"
                "real = local_lambda.prestart_zygote\n"
                "local_lambda.prestart_zygote = lambda cwd: started.append(cwd) or real(cwd)\n"
                f"from orchestrator.cli import main\nassert main(['run', {name!r}]) == 0\n"
                f"assert len(started) == {expected}, started")
        assert _loaded_after(code, (), tmp_path) == []


def test_importing_a_local_module_leaves_the_engine_unimported(tmp_path: Path) -> None:
    # orchestrator.local's names resolve on first use, so e.g. the SNS outbox or the store alone
    # does not pull in the engine, the compiler and rich.
    code = "import orchestrator.local.store"
    assert _loaded_after(code, ("rich", "orchestrator.compiler", "orchestrator.local.runs"), tmp_path) == []


def test_local_package_names_resolve_lazily(tmp_path: Path) -> None:
    code = ("import orchestrator.local as local\nfrom orchestrator.local import execute, RunResult\n"
            "assert local.run_workflow.__module__ == 'orchestrator.local.runs'\n"
            "try:\n    local.nope\nexcept AttributeError as e:\n"
            "    assert str(e) == \"module 'orchestrator.local' has no attribute 'nope'\"\n"
            "else:\n    raise AssertionError")
    assert _loaded_after(code, ("orchestrator.local.plain",), tmp_path) == ["orchestrator.local.plain"]


def test_commands_module_leaves_the_engine_compiler_and_rich_unimported(tmp_path: Path) -> None:
    # ``run`` imports them only once its Lambda zygotes are starting (see the next test).
    code = "import orchestrator.local.commands"
    names = ("rich", "orchestrator.compiler", "orchestrator.engine.interpreter", "orchestrator.local.runs",
             "orchestrator.local.plain", "orchestrator.local.progress", "orchestrator.spec")
    assert _loaded_after(code, names, tmp_path) == []


def test_engine_package_names_resolve_lazily(tmp_path: Path) -> None:
    # What local Lambda and Batch import for TaskCall does not bring the interpreter in with it.
    code = ("import orchestrator.engine.integrations\nimport orchestrator.engine as engine\n"
            "assert engine.TaskCall is orchestrator.engine.integrations.TaskCall\n"
            "try:\n    engine.nope\nexcept AttributeError as e:\n"
            "    assert str(e) == \"module 'orchestrator.engine' has no attribute 'nope'\"\n"
            "else:\n    raise AssertionError")
    names = ("orchestrator.engine.interpreter", "orchestrator.engine.jsonpath", "orchestrator.engine.validate")
    assert _loaded_after(code, names, tmp_path) == []
    code = "from orchestrator.engine import execute\nassert execute.__module__ == 'orchestrator.engine.interpreter'"
    assert _loaded_after(code, names, tmp_path) == list(names)


def test_run_starts_the_lambda_zygote_before_importing_the_engine_and_compiler(tmp_path: Path) -> None:
    # The zygote's interpreter start and import of the workflow (~0.1 s) overlap the runner's own
    # imports and compile instead of holding up the first task.
    (tmp_path / "one_wf.py").write_text(ONE_TASK)
    code = ("import sys\nimport orchestrator.local.lambda_ as local_lambda\nseen = []\n"
            "real = local_lambda.start_lambda\n"
            "def spy(*args, **kwargs):\n"
            "    seen.append([n for n in ('rich', 'orchestrator.compiler', 'orchestrator.engine.interpreter')"
            " if n in sys.modules])\n"
            "    return real(*args, **kwargs)\n"
            "local_lambda.start_lambda = spy\n"
            "from orchestrator.cli import main\nassert main(['run', 'one_wf.py']) == 0\n"
            "assert seen == [[]], seen")
    assert _loaded_after(code, (), tmp_path) == []


def test_importing_a_workflow_module_leaves_the_spec_package_unimported(tmp_path: Path) -> None:
    # What a local Lambda zygote does for a Python task's handler: its fork copies less, and it
    # is ready sooner (~35 ms for the spec; ~20 ms for the model, its dataclasses and inspect).
    # Building the workflow (``wf.build()``) does import them.
    (tmp_path / "one_wf.py").write_text(ONE_TASK)
    code = "import sys\nsys.path.insert(0, '.')\nimport one_wf"
    names = ("orchestrator.spec", "jsonschema_rs", "yaml", "orchestrator.model", "orchestrator.errors", "dataclasses",
             "inspect")
    assert _loaded_after(code, names, tmp_path) == []


def test_compiling_a_valid_json_spec_leaves_what_it_does_not_need_unimported(tmp_path: Path) -> None:
    # A valid spec is decided by jsonschema-rs; jsonschema (~0.1 s) words problems, PyYAML finds
    # where they are, shlex, traceback and difflib only serve particular problems, and the cron
    # evaluator and the time zone database only schedules and templates.
    spec = {"name": "startup-compile", "tasks": [{"name": "a", "batch": {"image": "x", "command": ["run"]}},
                                                  {"name": "b", "batch": {"image": "x"}, "after": ["a"]}]}
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    code = "from orchestrator.cli import main\nassert main(['compile', 'spec.json', '--out', 'out']) == 0"
    names = ("yaml", "jsonschema", "shlex", "traceback", "difflib", "zoneinfo", "orchestrator.spec.cron", "rich",
             "orchestrator.engine", "orchestrator.local", "orchestrator.cost", *NOT_ON_THE_RUN_PATH)
    assert _loaded_after(code, names, tmp_path) == []
    assert (tmp_path / "out" / "startup-compile.asl.json").is_file()


def test_listing_executions_leaves_the_compiler_and_spec_unimported(tmp_path: Path) -> None:
    code = "from orchestrator.cli import main\nassert main(['executions', 'list']) == 0"
    assert _loaded_after(code, ("orchestrator.compiler", "orchestrator.spec", *NOT_ON_THE_RUN_PATH), tmp_path) == []
